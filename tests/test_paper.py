"""Paper figures: the same bytes anywhere, counts a reader can read back, exact pixels, TrueType."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.conftest import ROOT, committed_paper_sums, copy_workflow, snakemake
from zooheat.arrays import load_array
from zooheat.histogram import histogram_of_marks, zoom_to_image
from zooheat.images import read_image
from zooheat.marks import read_marks
from zooheat.paper import (
    PaperLayout,
    PaperStyle,
    count_levels,
    paper_figure_bytes,
    paper_layout,
    paper_rgba,
)
from zooheat.provenance import package_versions, sha256_of, source_commit

pytestmark = pytest.mark.workflow

FIGURES = yaml.safe_load((ROOT / "config" / "figures.yaml").read_text())["figures"]
EXAMPLE = FIGURES["example-blobs"]
SPINE_PX = 4  # device pixels of a 0.5 pt frame line at these resolutions, half inside


def _sums(folder: Path) -> dict[str, str]:
    return {p.name: sha256_of(p) for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """`snakemake paper` in two clean copies of the workflow, in unrelated folders."""
    first = copy_workflow(tmp_path_factory.mktemp("one") / "zooheat")
    deeper = tmp_path_factory.mktemp("two") / "elsewhere" / "by another name"
    deeper.parent.mkdir(parents=True)
    second = copy_workflow(deeper)
    for workdir in (first, second):
        snakemake(workdir, "paper")
    return first, second


def test_paper_figures_are_byte_identical_in_two_folders_and_match_the_committed_sums(built):
    first, second = (wd / "results" / "paper" for wd in built)
    sums = _sums(first)
    assert sums == _sums(second)
    expected = {f"{name}.{fmt}" for name, fig in FIGURES.items() for fmt in fig["formats"]}
    assert set(sums) == expected | {"provenance.json"}
    committed = committed_paper_sums()
    assert committed == {name: sums[name] for name in expected}, (
        "paper figures changed: if on purpose, `make paper-sums` and commit docs/"
    )
    # the README's picture is the example's paper figure
    assert sha256_of(ROOT / "docs" / "example-paper.png") == sums["example-blobs.png"]
    assert "docs/example-paper.png" in (ROOT / "README.md").read_text()


def test_provenance_names_every_input_with_its_sha256_and_the_versions(built):
    workdir = built[0]
    record = json.loads((workdir / "results" / "paper" / "provenance.json").read_text())
    figure = record["figures"]["example-blobs"]
    assert figure["parameters"] == EXAMPLE | {"label": "marks per bin"}
    inputs = figure["inputs"]
    assert set(inputs) == {
        "example/images/synthetic-0000.png",
        "results/ingest/marks/blobs/15000000.csv",
        "results/zoom/blobs/15000000.npy",
        "results/consensus/blobs/15000000.csv",
    }
    for path, digest in {**inputs, **figure["outputs"], **record["sources"]}.items():
        assert sha256_of(workdir / path) == digest, path
    assert list(record["sources"]) == ["example/classifications.csv"]
    assert record["settings"]["histogram"] == {"bin_size": 6}
    assert record["packages"]["matplotlib"] == package_versions()["matplotlib"]
    # a copy outside git: no commit to name, said as such
    assert record["zooheat"]["commit"] is None and record["zooheat"]["modified"] is None
    assert re.fullmatch("[0-9a-f]{64}", record["zooheat"]["code_sha256"])


def test_source_commit_names_the_commit_and_whether_files_changed(tmp_path):
    if shutil.which("git") is None:
        pytest.fail("git is needed to test the commit a paper figure records")
    env = ["-c", "user.name=zooheat", "-c", "user.email=zooheat@example.org"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "Snakefile").write_text("rule all:\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "Snakefile"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), *env, "commit", "-qm", "one"], check=True)
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert source_commit(tmp_path) == {"commit": head, "modified": False}
    (tmp_path / "Snakefile").write_text("rule all:\n    default_target: True\n")
    assert source_commit(tmp_path) == {"commit": head, "modified": True}


def _pixels(png: Path) -> tuple[np.ndarray, float]:
    """A PNG's RGB pixels and its resolution (dots per inch)."""
    with Image.open(png) as picture:
        return np.asarray(picture.convert("RGB")), picture.info["dpi"][0]


def _read_back(png: Path, layout: PaperLayout, counts: np.ndarray, bin_size: int) -> np.ndarray:
    """Each bin's count as a reader finds it: the bar step whose colour is nearest the colour
    drawn at the bin's centre in panel b (0 where the bin is white)."""
    pixels = _pixels(png)[0].astype(int)
    assert pixels.shape[:2] == (layout.height, layout.width)
    swatches = np.array(
        [pixels[y, x] for x, y in map(layout.bar_centre, range(len(layout.levels)))]
    )
    left, top = layout.heat[:2]
    read = np.zeros(counts.shape, dtype=int)
    for r, c in np.ndindex(counts.shape):
        x = left + int((c + 0.5) * bin_size * layout.scale)
        y = top + int((r + 0.5) * bin_size * layout.scale)
        colour = pixels[y, x]
        if (colour == 255).all():
            continue
        nearest = int(np.argmin(((swatches - colour) ** 2).sum(axis=1)))
        low, high = layout.levels[nearest]
        read[r, c] = high if low <= counts[r, c] <= high else -1
        assert np.abs(swatches[nearest] - colour).max() <= 2, (r, c, colour, swatches[nearest])
    return read


def _step_of(counts: np.ndarray, levels) -> np.ndarray:
    """Each count's step's highest count (what a reader can tell apart), 0 for none."""
    width = levels[0][1] - levels[0][0] + 1
    return -(-counts // width) * width


def test_every_bins_count_reads_back_off_the_colour_bar_of_the_saved_png(built):
    workdir = built[0]
    counts = load_array(workdir / "results" / "histogram" / "blobs" / "15000000.npy")
    image = read_image(workdir / "example" / "images" / "synthetic-0000.png")
    layout = paper_layout(image.shape, int(counts.max()), PaperStyle.from_figure(EXAMPLE))
    read = _read_back(workdir / "results" / "paper" / "example-blobs.png", layout, counts, 6)
    assert (read == counts).all()  # one step per count here: each bin's exact count
    assert counts.max() >= 3 and (counts == 0).any()


def _blocks(pixels: np.ndarray, box, scale: int, border: int) -> np.ndarray:
    """The panel's device pixels as (rows, cols, scale*scale, 3) blocks, frame rows left out."""
    left, top, width, height = box
    panel = pixels[top : top + height, left : left + width]
    rows, cols = height // scale, width // scale
    blocks = panel.reshape(rows, scale, cols, scale, 3).swapaxes(1, 2).reshape(rows, cols, -1, 3)
    return blocks[border:-border, border:-border]


def test_a_paper_figure_of_the_real_moedal_scan(reference, tmp_path):
    # the real scan and the volunteers' blob marks (not shipped: from ../shared)
    image = read_image(reference / "scan.png")
    marks = read_marks(reference / "blobs.csv")
    counts = histogram_of_marks(marks.x, marks.y, image.shape[:2], 6).counts
    assert np.array_equal(counts, np.load(reference / "expected_histogram.npy"))
    zoomed = zoom_to_image(counts, image.shape[:2], 6)
    style = PaperStyle()
    layout = paper_layout(image.shape, int(counts.max()), style)
    # one journal column; the panels at a whole number of device pixels per image pixel,
    # at no less than the resolution asked for
    assert layout.width == round(3.35 * layout.dpi) and layout.dpi >= style.dpi
    assert layout.scale >= 1 and layout.scan[2] == layout.scale * image.shape[1]
    # more counts (14) than max_steps (10): equal steps of 2 counts, from 1
    assert layout.levels[0] == (1, 2) and layout.levels[-1] == (13, 14)

    png = tmp_path / "moedal.png"
    png.write_bytes(paper_figure_bytes(image, zoomed, "png", style=style))
    pixels, dpi = _pixels(png)
    assert dpi == pytest.approx(layout.dpi, abs=0.03)  # stored as dots per metre
    read = _read_back(png, layout, counts, 6)
    assert (read == _step_of(counts, layout.levels)).all()

    # exact pixels: every image pixel is a uniform block of scale x scale device pixels, the
    # scan's own grey in panel a and its count's colour in panel b
    scan_rgb, heat_rgb = paper_rgba(
        image, zoomed, list(layout.levels), np.array(layout.colours, dtype=np.uint8)
    )
    border = -(-SPINE_PX // layout.scale) + 1
    for box, expected in ((layout.scan, scan_rgb), (layout.heat, heat_rgb)):
        blocks = _blocks(pixels, box, layout.scale, border)
        assert (blocks == blocks[:, :, :1]).all()
        assert np.array_equal(blocks[:, :, 0], expected[border:-border, border:-border])

    # the PDF: TrueType text, both panels embedded at the image's own size (no resample)
    pdf = paper_figure_bytes(image, zoomed, "pdf", style=style)
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf
    sizes = re.findall(rb"/Subtype /Image /Width (\d+) /Height (\d+)", pdf)
    assert sizes == [(b"390", b"384")] * 2
    (tmp_path / "moedal.pdf").write_bytes(pdf)


def test_the_bar_never_starts_at_zero_and_groups_many_counts_evenly():
    assert count_levels(0, 10) == [(1, 1)]
    assert count_levels(10, 10) == [(i, i) for i in range(1, 11)]
    levels = count_levels(101, 10)
    widths = {high - low for low, high in levels}
    assert levels[0][0] == 1 and levels[-1][1] >= 101 and len(levels) <= 10 and len(widths) == 1


def test_a_paper_figure_shows_counts_not_a_smoothed_map():
    with pytest.raises(ValueError, match="counts"):
        paper_rgba(
            np.zeros((4, 4)), np.zeros((4, 4), np.float32), [(1, 1)], np.zeros((1, 3), np.uint8)
        )


def test_an_image_too_large_for_any_sane_raster_is_one_clear_error():
    with pytest.raises(Exception, match="width_in"):
        paper_layout((4000, 6000), 3, PaperStyle())


def test_a_figure_naming_a_subject_not_in_the_data_fails_with_one_line(built, tmp_path):
    workdir = built[1]
    figures = tmp_path / "figures.yaml"
    figures.write_text(
        "figures:\n  wrong:\n    subject: '424242'\n    layer: blobs\n", encoding="utf-8"
    )
    proc = snakemake(workdir, "paper", "--config", f"paper={figures}", check=False)
    assert proc.returncode != 0
    assert f"{figures}, figure 'wrong': subject '424242' is not among the subjects" in proc.stderr


def test_batches_draw_the_same_paper_figures(built):
    workdir = built[0]
    before = _sums(workdir / "results" / "paper")
    proc = snakemake(workdir, "paper", "--config", "batches=2")
    assert "rule heatmap_batch" in proc.stderr + proc.stdout
    # the same figures, and the same record: the batch wrote the same files they came from
    assert _sums(workdir / "results" / "paper") == before
