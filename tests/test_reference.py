"""The original MoEDAL example: zooheat reproduces the seed's histogram exactly."""

import numpy as np

from tests.conftest import run_cli


def block_expansion(counts: np.ndarray, size: int) -> np.ndarray:
    return np.kron(counts, np.ones((size, size), dtype=counts.dtype))


def test_plot_reproduces_the_seed_histogram(reference, tmp_path):
    h, z, f = tmp_path / "h.npy", tmp_path / "z.npy", tmp_path / "f.png"
    proc = run_cli(
        "plot",
        reference / "scan.png",
        reference / "blobs.csv",
        "--bin-size",
        "6",
        "--histogram",
        h,
        "--zoomed",
        z,
        "-o",
        f,
    )
    assert proc.returncode == 0, proc.stderr
    expected = np.load(reference / "expected_histogram.npy")
    histogram = np.load(h)
    assert histogram.shape == (64, 65)
    assert np.array_equal(histogram, expected)
    assert histogram.sum() == 36
    assert histogram.max() == 14
    assert np.unravel_index(histogram.argmax(), histogram.shape) == (30, 26)
    zoomed = np.load(z)
    assert zoomed.shape == (384, 390)
    assert np.array_equal(zoomed, block_expansion(expected, 6))
    assert f.stat().st_size > 10_000
    assert "marks=36 binned=36 outside=0 max=14" in proc.stderr


def test_seed_zoom_is_off_the_scan_grid_and_ours_is_not(reference):
    from scipy import ndimage

    from zooheat.histogram import zoom_to_image

    expected = np.load(reference / "expected_histogram.npy")
    seed = ndimage.zoom(expected, 6, order=0)
    ours = zoom_to_image(expected, (384, 390), 6)
    assert np.count_nonzero(seed != block_expansion(expected, 6)) == 154
    assert np.array_equal(ours, block_expansion(expected, 6))
    # each pixel takes the bin it lies in
    rows, cols = np.mgrid[0:384, 0:390]
    assert np.array_equal(ours, expected[rows // 6, cols // 6])
