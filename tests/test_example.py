"""The bundled example is what the generator makes, and looks like detector scans."""

import numpy as np
from PIL import Image

from tests.conftest import ROOT
from zooheat.marks import read_marks
from zooheat.synthetic import synthetic_subject, write_example

EXAMPLE = ROOT / "example"


def test_bundled_example_is_reproducible(tmp_path):
    table = write_example(tmp_path, 4, seed=0)
    assert table.read_bytes() == (EXAMPLE / "subjects.tsv").read_bytes()
    assert (tmp_path / "truth.csv").read_bytes() == (EXAMPLE / "truth.csv").read_bytes()
    for csv in sorted((tmp_path / "marks").rglob("*.csv")):
        assert csv.read_bytes() == (EXAMPLE / csv.relative_to(tmp_path)).read_bytes()
    for png in sorted((tmp_path / "images").glob("*.png")):
        with Image.open(EXAMPLE / png.relative_to(tmp_path)) as a, Image.open(png) as b:
            assert np.array_equal(np.asarray(a), np.asarray(b))


def test_synthetic_marks_scatter_around_true_blobs():
    s = synthetic_subject(11)
    marks = read_marks(EXAMPLE / "marks" / "blobs" / "synthetic-0000.csv")
    assert len(marks) > 20 and set(marks.extra) == {"user"}
    truth = s.truth["blobs"]
    near = [
        np.min(np.hypot(truth[:, 0] - x, truth[:, 1] - y))
        for x, y in zip(s.marks["blobs"].x, s.marks["blobs"].y, strict=True)
    ]
    assert np.median(near) < 12  # most marks within two scan pixels of a true blob
    assert max(near) > 30  # and misclicks exist
    assert (s.marks["blobs"].r == 0).any()  # r = 0 marks exist
    assert s.image.shape == (384, 390)
    # x6 upscaled: every 6x6 block is one scan pixel
    assert np.array_equal(s.image[::6, ::6].repeat(6, 0).repeat(6, 1), s.image)
    # dark blobs on a lighter background
    tx, ty, _ = truth[0]
    assert s.image[int(ty), int(tx)] < np.median(s.image) - 60


def test_bundled_export_is_reproducible(tmp_path):
    from zooheat.synthetic_export import write_synthetic_export

    write_synthetic_export(tmp_path / "c.csv", 1000, n_subjects=4)
    assert (tmp_path / "c.csv").read_bytes() == (EXAMPLE / "classifications.csv").read_bytes()
