"""The gallery of N subjects in a real browser: time until interactive, and size on disk.

    .venv/bin/python benchmarks/gallery.py --subjects 10000

Generates N synthetic subjects (two layers, `zooheat example`), runs the real workflow on
them (batches, quick-look PNGs, --cores 2; cached between runs under --data, where a rerun
is a no-op) and then opens results/gallery/index.html from file:// in Debian's chromium
(driven by playwright), several times, each in a fresh page. Measured:

- time until interactive: from the start of navigation to the end of the page's script
  (`window.galleryReady`: the rows parsed, sorted and the first page drawn), and until the
  thumbnails in view have loaded; the target (issue 13) is under 2 s at 10^4 subjects;
- a click on a heading (sorting every row) and typing a filter, until redrawn;
- the gallery's size on disk per subject: the page and the thumbnails, against the
  Snakemake report's 60 kB per figure (a report of 1,000 figures is a 60 MB HTML file,
  measured with snakemake 9.27 when the gallery was proposed).

The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure, synthetic_workflow

TARGET_S = 2.0
REPORT_BYTES_PER_FIGURE = 60e3
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def workflow(n: int, data: Path) -> Path:
    """The workflow's results for N subjects: made, or found from an earlier run."""
    work = synthetic_workflow(
        data / f"n{n}",
        n,
        {
            "panoptes": {"export": None},
            "subjects": "example/subjects.tsv",
            "layers": {"blobs": {"task": "T3", "tool": 0}, "rings": {"task": "T3", "tool": 1}},
            "bin_size": 6,
            "batches": max(2, n // 200),
            "overlay": {"renderer": "quicklook", "formats": ["png"]},
        },
    )
    snakemake = [str(Path(sys.executable).with_name("snakemake")), "--cores", "2"]
    run = measure(snakemake, cwd=work)
    assert run.returncode == 0, run.stderr[-3000:]
    made = "rule gallery:" in run.stdout + run.stderr
    print(f"workflow: {run.wall_s:.1f} s ({'made' if made else 'found'} the gallery)")
    return work / "results"


def browse(page_path: Path, rounds: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium not found: apt-get install chromium")
    times: dict[str, list[float]] = {"ready": [], "thumbnails": [], "sort": [], "filter": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for _ in range(rounds):
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.goto(page_path.as_uri(), wait_until="commit")
            page.wait_for_function("window.galleryReady !== undefined", timeout=60_000)
            times["ready"].append(page.evaluate("window.galleryReady") / 1e3)
            page.wait_for_function(  # those in view: the others load lazily, as scrolled to
                "Array.from(document.images).filter(i => i.getBoundingClientRect().top < "
                "innerHeight).every(i => i.complete && i.naturalWidth > 0)"
            )
            times["thumbnails"].append(page.evaluate("performance.now()") / 1e3)
            for name, action in (
                ("sort", "document.querySelector('th[data-key=marks]').click()"),
                (
                    "filter",
                    "(e => { e.value = '123'; e.dispatchEvent(new Event('input')); })"
                    "(document.getElementById('subject'))",
                ),
            ):
                seconds = page.evaluate(
                    f"() => {{ const t = performance.now(); {action}; "
                    "document.body.offsetHeight; return (performance.now() - t) / 1e3; }"
                )
                times[name].append(seconds)
            page.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "zooheat-gallery"
    )
    args = parser.parse_args()
    n = args.subjects
    results = workflow(n, args.data)
    page = results / "gallery" / "index.html"
    thumbs = sorted((results / "thumbnails").rglob("*.webp"))
    rows = page.read_text().count('"order":')
    assert rows == 2 * n, (rows, n)
    assert len(thumbs) == 2 * n

    times = browse(page, args.rounds)
    median = {name: statistics.median(values) for name, values in times.items()}
    page_bytes = page.stat().st_size
    thumb_bytes = sum(t.stat().st_size for t in thumbs)
    per_subject = (page_bytes + thumb_bytes) / n

    print(f"{n:,} subjects x 2 layers = {rows:,} rows; {args.rounds} page loads in chromium")
    print(f"{'':36} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, label in (
        ("ready", "interactive (script done)"),
        ("thumbnails", "thumbnails in view loaded"),
        ("sort", "sort every row by a column"),
        ("filter", "filter by subject id"),
    ):
        values = times[name]
        print(f"{label:36} {median[name]:9.3f} {min(values):7.3f} {max(values):7.3f}")
    print(f"interactive / 2 s target: {median['ready'] / TARGET_S:.2f}")
    print(
        f"on disk: page {page_bytes / 1e6:.2f} MB, thumbnails {thumb_bytes / 1e6:.1f} MB; "
        f"{per_subject / 1e3:.1f} kB per subject (two layers), "
        f"{per_subject / 2 / 1e3:.1f} kB per figure"
    )
    print(
        f"per figure vs a Snakemake report's 60 kB: {per_subject / 2 / REPORT_BYTES_PER_FIGURE:.2f}"
    )
    print(
        f"ready_s={median['ready']:.3f} thumbnails_s={median['thumbnails']:.3f} "
        f"sort_s={median['sort']:.3f} filter_s={median['filter']:.3f} "
        f"target_ratio={median['ready'] / TARGET_S:.2f} "
        f"kb_per_subject={per_subject / 1e3:.1f}"
    )


if __name__ == "__main__":
    main()
