import re

import numpy as np
import pytest

from zooheat.histogram import histogram_of_marks, scan_grid_shape, zoom_to_image


def test_matches_numpy_histogram2d_when_the_size_divides():
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(0, 390, 5000), [0.0, 390.0, 6.0, 389.999]])
    y = np.concatenate([rng.uniform(0, 384, 5000), [0.0, 384.0, 6.0, 383.999]])
    expected, _, _ = np.histogram2d(y, x, bins=(64, 65), range=((0, 384), (0, 390)))
    result = histogram_of_marks(x, y, (384, 390), 6)
    assert np.array_equal(result.counts, expected)
    assert result.binned == x.size and result.outside == 0


def test_marks_outside_the_image_are_counted_not_binned():
    x = np.array([-0.01, 390.01, 10.0, 10.0, 10.0, 390.0])
    y = np.array([10.0, 10.0, -3.0, 384.5, 10.0, 384.0])
    result = histogram_of_marks(x, y, (384, 390), 6)
    assert result.outside == 4
    assert result.binned == 2
    assert result.counts[1, 1] == 1  # (10, 10)
    assert result.counts[63, 64] == 1  # the far corner counts in the last bin


def test_edge_bin_when_the_size_does_not_divide():
    # 100 x 7 image, bins of 6: rows 0-95 in 16 full bins + rows 96-100 in a 4-pixel bin;
    # columns 0-5 and a 1-pixel column bin for 6-7.
    assert scan_grid_shape((100, 7), 6) == (17, 2)
    x = np.array([6.5, 7.0, 5.99, 0.0])
    y = np.array([99.9, 100.0, 95.99, 96.0])
    result = histogram_of_marks(x, y, (100, 7), 6)
    assert result.counts.shape == (17, 2)
    assert result.counts[16, 1] == 2  # inside the narrow corner bin, far edge included
    assert result.counts[15, 0] == 1
    assert result.counts[16, 0] == 1
    zoomed = zoom_to_image(result.counts, (100, 7), 6)
    assert zoomed.shape == (100, 7)
    # the edge bin covers exactly the leftover pixels
    assert zoomed[96:, 6].tolist() == [2, 2, 2, 2]
    assert zoomed[96:, :6].tolist() == [[1] * 6] * 4
    assert zoomed[90:96, :6].tolist() == [[1] * 6] * 6


def test_bin_size_one_is_the_pixel_grid():
    result = histogram_of_marks([0.5, 2.5], [1.5, 0.2], (2, 3), 1)
    assert result.counts.tolist() == [[0, 0, 1], [1, 0, 0]]


def test_count_dtype_grows_with_the_largest_count():
    assert histogram_of_marks([], [], (12, 12), 6).counts.dtype == np.uint8
    assert histogram_of_marks([1.0] * 255, [1.0] * 255, (12, 12), 6).counts.dtype == np.uint8
    assert histogram_of_marks([1.0] * 256, [1.0] * 256, (12, 12), 6).counts.dtype == np.uint16


def test_no_marks_gives_an_empty_histogram():
    result = histogram_of_marks(np.array([]), np.array([]), (384, 390), 6)
    assert result.counts.shape == (64, 65)
    assert result.counts.sum() == 0 and result.binned == 0 and result.outside == 0


def test_inputs_are_not_modified():
    x = np.array([1.0, 50.0])
    y = np.array([2.0, 3.0])
    counts = histogram_of_marks(x, y, (12, 60), 6).counts
    counts_before = counts.copy()
    zoom_to_image(counts, (12, 60), 6)
    assert x.tolist() == [1.0, 50.0] and y.tolist() == [2.0, 3.0]
    assert np.array_equal(counts, counts_before)


def test_a_line_across_the_image_counts_in_every_bin_it_crosses():
    # a 13x20 image, bins of 6: 3 rows (the last 1 pixel high) and 4 columns (the last 2
    # wide). Two columns' centre lines at x=7 and x=19.5 (the narrow last column), a
    # full-width line at y=12.5 (the last row), one point, and lines beyond the image.
    nan = np.nan
    x = [7.0, 19.5, nan, 3.0, 21.0, nan]
    y = [nan, nan, 12.5, 3.0, nan, -1.0]
    h = histogram_of_marks(x, y, (13, 20), 6)
    expected = np.zeros((3, 4), dtype=int)
    expected[:, 1] += 1  # x=7: every bin of column 1
    expected[:, 3] += 1  # x=19.5
    expected[2, :] += 1  # y=12.5: every bin of row 2
    expected[0, 0] += 1  # the point
    assert h.counts.tolist() == expected.tolist()
    assert (h.binned, h.outside) == (4, 2)
    # points alone give what they gave before, bin for bin
    points = histogram_of_marks([3.0, 7.0], [3.0, 12.5], (13, 20), 6)
    assert points.counts.tolist() == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]]


@pytest.mark.parametrize(
    ("x", "y", "shape", "bin_size", "error", "text"),
    [
        ([1.0, np.nan], [1.0, np.nan], (12, 12), 6, ValueError, "no centre at index [1]"),
        ([1.0], [np.inf], (12, 12), 6, ValueError, "infinity"),
        ([1.0, 2.0], [1.0], (12, 12), 6, ValueError, "equal length"),
        ([1.0], [1.0], (12, 12), 0, ValueError, "bin_size must be >= 1"),
        ([1.0], [1.0], (12, 12), 1.5, TypeError, "whole number"),
        ([1.0], [1.0], (0, 12), 6, ValueError, "image rows must be >= 1"),
    ],
)
def test_bad_arguments_say_what_was_expected(x, y, shape, bin_size, error, text):
    with pytest.raises(error, match=re.escape(text)):
        histogram_of_marks(x, y, shape, bin_size)


def test_zoom_rejects_a_histogram_of_another_bin_size():
    counts = np.zeros((64, 65), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"expected \(128, 130\)"):
        zoom_to_image(counts, (384, 390), 3)


def test_saved_arrays_read_back_exactly_and_zero_blocks_take_no_disk(tmp_path):
    from zooheat.arrays import load_array, save_array

    zoomed = np.zeros((384, 390), dtype=np.uint8)
    zoomed[180:186, 156:162] = 14
    path = tmp_path / "z.npy"
    save_array(zoomed, path)
    back = load_array(path)
    assert back.dtype == np.uint8 and np.array_equal(back, zoomed)
    assert path.stat().st_size == zoomed.nbytes + 128
    assert path.stat().st_blocks * 512 <= 4 * 4096  # the holes hold the zeros
    dense = np.arange(384 * 390, dtype=np.uint32).reshape(384, 390)
    save_array(dense, path)
    assert np.array_equal(load_array(path), dense)
    stamp = path.stat().st_mtime_ns
    save_array(dense.copy(), path)
    assert path.stat().st_mtime_ns == stamp  # same bytes: not rewritten
