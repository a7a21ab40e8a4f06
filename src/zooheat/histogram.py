"""Marks to a 2-D histogram on the scan grid, and the histogram zoomed back to the image grid.

The scan grid groups ``bin_size`` x ``bin_size`` image pixels into one bin. For MoEDAL, whose
64x65-pixel scans are uploaded scaled up x6, ``bin_size=6`` gives one bin per scan pixel: a
384x390 image gives 64x65 bins. Bin ``(i, j)`` (row, column) counts the marks with
``i * bin_size <= y < (i + 1) * bin_size`` and ``j * bin_size <= x < (j + 1) * bin_size``.

Edges, exactly as ``numpy.histogram2d`` with ``range=((0, rows), (0, cols))``:

- A mark on the image's far edge (``x == cols`` or ``y == rows``) counts in the last bin.
- A mark with ``x < 0``, ``x > cols``, ``y < 0`` or ``y > rows`` is outside the image: it is not
  binned, and it is counted in :attr:`Histogram.outside`.
- A mark with no ``y`` (NaN) is a line across the whole image at its ``x`` (a column, a
  full-height line): it counts once in every bin of the column of bins it lies in; one with
  no ``x`` counts once in every bin of its row of bins. A point counts in one bin.
- When the image size is not a multiple of ``bin_size`` the last row or column of bins is
  narrower: it holds only the image pixels left over (``cols % bin_size`` of them), so no part
  of the image is lost and no bin reaches past it. The zoomed array is cropped to match.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

__all__ = ["Histogram", "histogram_of_marks", "scan_grid_shape", "zoom_to_image"]


def _positive_int(value: object, name: str) -> int:
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{name} must be a whole number of pixels, got {value!r} ({type(value).__name__})"
        ) from None
    if number < 1:
        raise ValueError(f"{name} must be >= 1, got {number}")
    return number


def _image_shape(shape: tuple[int, int]) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(f"image_shape must be (rows, cols), got {shape!r}")
    return _positive_int(shape[0], "image rows"), _positive_int(shape[1], "image cols")


def scan_grid_shape(image_shape: tuple[int, int], bin_size: int) -> tuple[int, int]:
    """Return the number of bins ``(rows, cols)`` that cover an image.

    Parameters
    ----------
    image_shape : tuple of int
        ``(rows, cols)`` of the image in pixels (extra trailing entries, such as colour
        channels, are ignored).
    bin_size : int
        Image pixels per bin along each axis.

    Examples
    --------
    >>> scan_grid_shape((384, 390), 6)
    (64, 65)
    >>> scan_grid_shape((100, 7), 6)  # a narrower last bin covers the leftover pixels
    (17, 2)
    """
    rows, cols = _image_shape(image_shape)
    size = _positive_int(bin_size, "bin_size")
    return -(-rows // size), -(-cols // size)


def _count_dtype(maximum: int) -> np.dtype:
    # The smallest unsigned type that holds the largest count: small files, same on every run.
    for dtype in (np.uint8, np.uint16, np.uint32):
        if maximum <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


@dataclass(frozen=True)
class Histogram:
    """Counts of mark centres per bin, with how many marks were binned or fell outside.

    Attributes
    ----------
    counts : numpy.ndarray
        ``(bin rows, bin cols)`` counts; dtype is the smallest unsigned integer type that
        holds the largest count (``uint8`` up to 255).
    binned : int
        Marks counted (``counts.sum()`` when every mark is a point; a line across the
        image adds one to each bin it crosses).
    outside : int
        Marks whose centre lies outside the image; not binned.
    """

    counts: np.ndarray
    binned: int
    outside: int


def histogram_of_marks(
    x: np.ndarray, y: np.ndarray, image_shape: tuple[int, int], bin_size: int
) -> Histogram:
    """Count mark centres per bin of the scan grid.

    Parameters
    ----------
    x, y : array_like
        Mark centres in image pixels: x is the column, y the row, origin top-left. NaN in
        one of them: a line across the image at the other (counted in each bin it crosses).
    image_shape : tuple of int
        ``(rows, cols)`` of the image the marks were made on.
    bin_size : int
        Image pixels per bin along each axis.

    Returns
    -------
    Histogram
        Equal to ``numpy.histogram2d(y, x, bins=scan_grid_shape(...), range=((0, rows),
        (0, cols)))`` when the image size is a multiple of ``bin_size``.

    Raises
    ------
    ValueError
        ``x`` and ``y`` differ in length, are not 1-D, hold infinity, or are both NaN
        for a mark (at the indices named).

    Examples
    --------
    >>> h = histogram_of_marks([0.0, 5.9, 6.0, 12.0, -1.0], [0, 0, 0, 12, 3], (12, 12), 6)
    >>> h.counts.tolist(), h.binned, h.outside
    ([[2, 1], [0, 1]], 4, 1)
    >>> nan = float("nan")  # a line at x = 7 (column of bins 1), one at y = 2 (row 0)
    >>> histogram_of_marks([7.0, nan], [nan, 2.0], (12, 12), 6).counts.tolist()
    [[1, 2], [0, 1]]
    """
    rows, cols = _image_shape(image_shape)
    n_rows, n_cols = scan_grid_shape((rows, cols), bin_size)
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or ys.ndim != 1 or xs.shape != ys.shape:
        raise ValueError(
            f"x and y must be 1-D and of equal length, got shapes {xs.shape} and {ys.shape}"
        )
    no_x, no_y = np.isnan(xs), np.isnan(ys)
    bad = np.flatnonzero(np.isinf(xs) | np.isinf(ys) | (no_x & no_y))
    if bad.size:
        raise ValueError(
            "mark centres must be finite numbers (one of x, y NaN for a line across the "
            f"image); infinity or no centre at index {bad[:10].tolist()}"
        )
    if no_x.any() or no_y.any():
        return _histogram_with_lines(xs, ys, (rows, cols), (n_rows, n_cols), bin_size)
    inside = (xs >= 0) & (xs <= cols) & (ys >= 0) & (ys <= rows)
    # floor(v / bin_size), with the far edge (v == size) folded into the last bin.
    col_index = np.minimum((xs[inside] // bin_size).astype(np.intp), n_cols - 1)
    row_index = np.minimum((ys[inside] // bin_size).astype(np.intp), n_rows - 1)
    flat = np.bincount(row_index * n_cols + col_index, minlength=n_rows * n_cols)
    maximum = int(flat.max()) if flat.size else 0
    counts = flat.reshape(n_rows, n_cols).astype(_count_dtype(maximum))
    binned = int(inside.sum())
    return Histogram(counts=counts, binned=binned, outside=int(xs.size - binned))


def _histogram_with_lines(
    xs: np.ndarray,
    ys: np.ndarray,
    image_shape: tuple[int, int],
    grid: tuple[int, int],
    bin_size: int,
) -> Histogram:
    """:func:`histogram_of_marks` of marks some of which are lines across the image."""
    rows, cols = image_shape
    n_rows, n_cols = grid
    no_x, no_y = np.isnan(xs), np.isnan(ys)
    in_x = no_x | ((xs >= 0) & (xs <= cols))
    in_y = no_y | ((ys >= 0) & (ys <= rows))
    inside = in_x & in_y
    col_index = np.minimum((np.where(no_x, 0, xs) // bin_size).astype(np.intp), n_cols - 1)
    row_index = np.minimum((np.where(no_y, 0, ys) // bin_size).astype(np.intp), n_rows - 1)
    points = inside & ~no_x & ~no_y
    flat = np.bincount(
        row_index[points] * n_cols + col_index[points], minlength=n_rows * n_cols
    ).reshape(n_rows, n_cols)
    flat += np.bincount(col_index[inside & no_y], minlength=n_cols)[None, :]  # columns
    flat += np.bincount(row_index[inside & no_x], minlength=n_rows)[:, None]  # rows
    maximum = int(flat.max()) if flat.size else 0
    binned = int(inside.sum())
    return Histogram(
        counts=flat.astype(_count_dtype(maximum)), binned=binned, outside=int(xs.size - binned)
    )


def zoom_to_image(counts: np.ndarray, image_shape: tuple[int, int], bin_size: int) -> np.ndarray:
    """Expand each bin to a ``bin_size`` x ``bin_size`` block so the array lines up with the image.

    Unlike ``scipy.ndimage.zoom(counts, bin_size, order=0)``, whose default
    ``grid_mode=False`` stretches the grid so that some pixels take a neighbouring bin's value
    (154 pixels on the MoEDAL reference scan), every image pixel ``(r, c)`` here takes exactly
    the bin ``(r // bin_size, c // bin_size)`` it lies in.

    Parameters
    ----------
    counts : numpy.ndarray
        A histogram from :func:`histogram_of_marks` for the same image and ``bin_size``.
    image_shape : tuple of int
        ``(rows, cols)`` of the image; the result has exactly this shape.
    bin_size : int
        Image pixels per bin.

    Returns
    -------
    numpy.ndarray
        New array of ``counts.dtype`` and shape ``(rows, cols)``.

    Raises
    ------
    ValueError
        ``counts`` does not have the scan grid's shape for this image and bin size.

    Examples
    --------
    >>> zoom_to_image(np.array([[1, 2]]), (2, 3), 2).tolist()
    [[1, 1, 2], [1, 1, 2]]
    """
    rows, cols = _image_shape(image_shape)
    expected = scan_grid_shape((rows, cols), bin_size)
    grid = np.asarray(counts)
    if grid.shape != expected:
        raise ValueError(
            f"histogram shape {grid.shape} does not fit an image of {rows}x{cols} pixels with "
            f"bin_size {bin_size}: expected {expected} (was it made with another bin_size?)"
        )
    # each pixel picks its bin: memory is the image's, whatever bin_size (a repeat-then-crop
    # would make bin_size x bin_size copies of a last, partial bin before cropping)
    return grid.take(np.arange(rows) // bin_size, axis=0).take(np.arange(cols) // bin_size, axis=1)
