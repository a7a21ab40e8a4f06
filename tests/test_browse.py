"""The gallery in a real headless Chromium, and the Snakemake report, from the bundled example."""

import csv
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, WORKFLOW_PARTS, jobs_run, snakemake

pytestmark = pytest.mark.workflow

SUBJECTS = ["15000000", "15000001", "15000002", "15000003"]
LAYERS = ["blobs", "rings"]
# Chromium as the Debian package runs it headless here; no background traffic, no sandbox
# (the tests run as root in CI).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The example workflow, run once for this module."""
    workdir = tmp_path_factory.mktemp("browse") / "zooheat"
    workdir.mkdir()
    for part in WORKFLOW_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, workdir / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, workdir / part)
    snakemake(workdir)
    return workdir


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium (installed by .ci/run); the tests fail without it under CI."""
    path = shutil.which(os.environ.get("ZOOHEAT_CHROMIUM", "chromium"))
    problem = None if path else "chromium not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright not installed (make setup)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem + " (CI is set: the browser tests must run)")
        pytest.skip(problem)
    return path


def summary(workdir):
    with open(workdir / "results" / "summary.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_gallery_works_from_disk_in_chromium(made, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    page_path = made / "results" / "gallery" / "index.html"
    requested = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("request", lambda request: requested.append(request.url))
        page.goto(page_path.as_uri())
        page.wait_for_function("window.galleryReady !== undefined")

        def shown():
            return [
                (row.get_attribute("data-subject"), row.get_attribute("data-layer"))
                for row in page.locator("tbody tr").all()
            ]

        # one row per subject and layer
        assert sorted(shown()) == sorted((s, ly) for s in SUBJECTS for ly in LAYERS)
        # every thumbnail loaded, and it links to its figure
        page.wait_for_function(
            "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
        )
        assert page.locator("img").count() == 8
        for link in page.locator("td.thumb a").all():
            assert (page_path.parent / link.get_attribute("href")).resolve().is_file()

        # a click on a heading orders the rows by it: most marks first, then fewest
        rows = summary(made)
        marks = {(r["subject"], r["layer"]): int(r["marks"]) for r in rows}
        page.click("th[data-key=marks]")
        order = [marks[key] for key in shown()]
        assert order == sorted(order, reverse=True)
        assert page.get_attribute("th[data-key=marks]", "aria-sort") == "descending"
        page.click("th[data-key=marks]")
        order = [marks[key] for key in shown()]
        assert order == sorted(order) and len(set(order)) > 1
        page.click("th[data-key=subject]")
        assert [s for s, _ in shown()] == sorted(s for s in SUBJECTS for _ in LAYERS)

        # filters hide the other rows
        page.fill("#subject", "15000001")
        assert sorted(shown()) == [("15000001", "blobs"), ("15000001", "rings")]
        page.select_option("#layer", "rings")
        assert shown() == [("15000001", "rings")]
        assert "rows 1\u20131 of 1 (8 in all)" in page.text_content("#status")
        page.fill("#subject", "")
        page.select_option("#layer", "")
        assert len(shown()) == 8

        page.screenshot(path=str(tmp_path / "gallery.png"), full_page=True)
        browser.close()
    assert (tmp_path / "gallery.png").stat().st_size > 10_000
    # nothing was asked of the network: only the page's own folder and results/
    assert requested and all(url.startswith("file://") for url in requested), requested


def test_the_report_holds_the_figures_and_the_summary(made, tmp_path):
    report = tmp_path / "report.zip"
    proc = snakemake(made, "--report", str(report))
    assert "Missing metadata" not in proc.stdout + proc.stderr
    with zipfile.ZipFile(report) as archive:
        names = archive.namelist()
        figures = sorted(Path(n).name for n in names if n.endswith(".png"))
        assert figures == sorted(f"{ly}-{s}.png" for s in SUBJECTS for ly in LAYERS)
        (summary_name,) = [n for n in names if n.endswith("/summary.csv")]
        assert archive.read(summary_name) == (made / "results" / "summary.csv").read_bytes()
        assert any(n.endswith("/rejects.csv") for n in names), names
        assert any(n.endswith("/report.html") for n in names)


def test_the_gallery_is_made_again_only_when_a_figure_or_the_summary_changes(made):
    gallery = made / "results" / "gallery" / "index.html"
    stamp = gallery.stat().st_mtime_ns
    dry = snakemake(made, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr
    # the report's sample changes: no subject's files, no gallery
    config = made / "config" / "config.yaml"
    config.write_text(config.read_text().replace("figures: 50", "figures: 3"))
    run = snakemake(made)
    assert jobs_run(run) == []
    out = run.stdout + run.stderr
    assert "rule report_figures:" in out and "rule gallery:" not in out
    assert gallery.stat().st_mtime_ns == stamp
    sample = sorted(p.name for p in (made / "results" / "report" / "figures").glob("*.png"))
    # the documented rule: the most contested first, ties in the summary's order
    rows = summary(made)
    ranked = sorted(range(len(rows)), key=lambda i: (-float(rows[i]["contested"] or -1), i))
    assert sample == sorted(f"{rows[i]['layer']}-{rows[i]['subject']}.png" for i in ranked[:3])
    assert len({rows[i]["contested"] for i in ranked[:3]}) > 1  # not every one a tie
    # a subject's marks change: its files, the summary, and so the gallery
    table = made / "results" / "ingest" / "marks" / "blobs" / "15000001.csv"
    lines = table.read_text().splitlines()
    table.write_text("\n".join([*lines, lines[-1]]) + "\n")  # one more mark
    run = snakemake(made)
    out = run.stdout + run.stderr
    assert {w for _, w in jobs_run(run)} <= {
        "layer=blobs, subject=15000001",
        "layer=blobs, subject=15000001, format=png",
    }
    assert "rule gallery:" in out
    assert gallery.stat().st_mtime_ns != stamp
