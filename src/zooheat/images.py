"""Read subject images of any PNG mode into arrays for display, and their size.

Coordinates: an image of ``rows`` x ``cols`` pixels covers x (column) from 0 to ``cols`` and
y (row) from 0 to ``rows``, origin top-left, which is the frame Panoptes stores marks in.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from zooheat.errors import ImageError
from zooheat.limits import DEFAULT_LIMITS, Limits, open_input

__all__ = ["image_size", "read_image", "read_pixels", "unit_interval"]

# 16-bit PNGs open in one of these integer modes; their values run 0..65535.
_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


@contextlib.contextmanager
def _open(path: str | os.PathLike[str], limits: Limits) -> Iterator[Image.Image]:
    """Open an image (its header only) within the limits: the file's size, then its pixels."""
    with open_input(
        path,
        "a PNG subject image",
        max_mb=limits.image_mb,
        limit_key="limits.image_mb",
        error=ImageError,
    ) as handle:
        try:
            with warnings.catch_warnings():
                # the pixel limit below is the one that counts; Pillow's stops at 179 million
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(handle)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as e:
            reason = "" if isinstance(e, UnidentifiedImageError) else f" ({e})"
            raise ImageError(
                f"{path}: cannot read this file as an image{reason}; expected a PNG (is it "
                "truncated, empty or another format?)"
            ) from None
        with img:
            width, height = img.size
            if width * height > limits.image_pixels:
                raise ImageError(
                    f"{path}: {width}x{height} pixels ({width * height / 1e6:,.1f} million), "
                    f"more than the {limits.image_pixels / 1e6:,.1f} million allowed (config "
                    "limits.image_pixels)"
                )
            yield img


def image_size(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> tuple[int, int]:
    """Return ``(rows, cols)`` of an image, reading only its header.

    Parameters
    ----------
    path : path-like
        A PNG (or any format Pillow reads).
    limits : Limits
        The largest file and image accepted.

    Returns
    -------
    tuple of int
        Height then width in pixels, the order of a numpy array's shape.

    Raises
    ------
    ImageError
        The file is missing, not a regular file, not an image, or beyond ``limits``.
    """
    with _open(path, limits) as img:
        width, height = img.size
    return height, width


def read_pixels(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """Read an image's pixels as the file holds them: 8-bit as uint8, 16-bit as integers.

    Grey (``L``, ``1``) gives ``(rows, cols)`` uint8; RGB ``(rows, cols, 3)`` uint8; RGBA,
    grey+alpha and palette images (whose palette may carry transparency) ``(rows, cols, 4)``
    uint8; 16-bit grey ``(rows, cols)`` of integers 0..65535. :func:`unit_interval` turns
    any of them into what :func:`read_image` gives; the quick look blends 8-bit pixels by
    table lookup, without that step.

    Raises
    ------
    ImageError
        As :func:`read_image`.
    """
    with _open(path, limits) as img:
        try:
            img.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"{path}: the image's pixel data cannot be decoded ({exc})") from None
        mode = img.mode
        if mode in _SIXTEEN_BIT_MODES:
            return np.asarray(img)
        if mode in ("L", "1"):
            return np.asarray(img.convert("L") if mode == "1" else img)
        if mode == "RGB":
            return np.asarray(img)
        return np.asarray(img.convert("RGBA"))


def unit_interval(pixels: np.ndarray) -> np.ndarray:
    """Return pixels of :func:`read_pixels` as float32 in ``[0, 1]``.

    8-bit values are divided by 255, 16-bit by 65535; float pixels are returned as they are.

    Examples
    --------
    >>> unit_interval(np.array([[0, 51, 255]], dtype=np.uint8)).tolist()
    [[0.0, 0.20000000298023224, 1.0]]
    """
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / np.float32(255)
    if np.issubdtype(pixels.dtype, np.integer):
        return (pixels.astype(np.float64) / 65535.0).clip(0, 1).astype(np.float32)
    return pixels


def read_image(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """Read an image of any mode into a float32 array with values in ``[0, 1]``.

    Grey (``L``, ``1``) and 16-bit grey images give a 2-D ``(rows, cols)`` array; RGB gives
    ``(rows, cols, 3)``; RGBA, grey+alpha and palette images (whose palette may carry
    transparency) give ``(rows, cols, 4)``. 16-bit values are divided by 65535, 8-bit by 255.

    Parameters
    ----------
    path : path-like
        The subject image.
    limits : Limits
        The largest file and image accepted (checked before the pixels are decoded).

    Returns
    -------
    numpy.ndarray
        float32 array, row 0 at the top.

    Raises
    ------
    ImageError
        The file is missing, not a regular file, not an image, beyond ``limits``, or its
        pixel data are truncated or corrupt.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grey.png"
    >>> Image.new("L", (3, 2), 255).save(path)
    >>> read_image(path).shape, float(read_image(path).max())
    ((2, 3), 1.0)
    """
    return unit_interval(read_pixels(path, limits=limits))
