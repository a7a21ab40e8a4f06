"""File-to-file steps, shared by the workflow's scripts and the command line.

Each step reads its inputs, calls the pure functions of :mod:`zooheat.histogram` and
:mod:`zooheat.render`, writes its outputs atomically and returns a one-line summary for the log.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import numpy as np

from zooheat.errors import ZooheatError
from zooheat.fileio import atomic_write
from zooheat.histogram import histogram_of_marks, zoom_to_image
from zooheat.images import image_size
from zooheat.marks import read_marks

PathLike = str | os.PathLike[str]

__all__ = [
    "histogram_step",
    "load_array",
    "overlay_step",
    "save_array",
    "snakemake_job",
    "zoom_step",
]


def save_array(array: np.ndarray, path: PathLike) -> None:
    """Save an array as ``.npy`` (atomic replace; same bytes for the same array)."""
    with atomic_write(path) as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)


def load_array(path: PathLike) -> np.ndarray:
    """Load a ``.npy`` written by :func:`save_array`, with a clear error if it is not one."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ZooheatError(f"{path}: array file not found") from None
    except (ValueError, OSError, EOFError) as exc:
        raise ZooheatError(f"{path}: not a readable .npy array ({exc})") from None


def histogram_step(image: PathLike, marks: PathLike, out: PathLike, *, bin_size: int) -> str:
    """Histogram of a mark table's centres on the scan grid of ``image``, saved as ``.npy``.

    Only the image's header is read (for its size). Returns a summary that names how many
    marks fell outside the image and so were not binned.
    """
    shape = image_size(image)
    table = read_marks(marks)
    try:
        result = histogram_of_marks(table.x, table.y, shape, bin_size)
    except (ValueError, TypeError) as exc:
        raise ZooheatError(f"{marks}: {exc}") from None
    save_array(result.counts, out)
    summary = (
        f"{marks}: {len(table)} marks, {result.binned} binned, {result.outside} outside the "
        f"{shape[0]}x{shape[1]} image; {result.counts.shape[0]}x{result.counts.shape[1]} bins "
        f"of {bin_size} px, max {int(result.counts.max(initial=0))}"
    )
    if result.outside:
        summary += f"\nwarning: {result.outside} marks lie outside the image and were not binned"
    return summary


def zoom_step(histogram: PathLike, image: PathLike, out: PathLike, *, bin_size: int) -> str:
    """Expand a saved histogram to the image grid of ``image`` and save it as ``.npy``."""
    shape = image_size(image)
    counts = load_array(histogram)
    try:
        zoomed = zoom_to_image(counts, shape, bin_size)
    except (ValueError, TypeError) as exc:
        raise ZooheatError(f"{histogram}: {exc}") from None
    save_array(zoomed, out)
    return f"{histogram}: zoomed to {zoomed.shape[0]}x{zoomed.shape[1]} ({zoomed.dtype})"


def overlay_step(
    image: PathLike, zoomed: PathLike, out: PathLike, *, title: str | None = None, **style: Any
) -> str:
    """Render ``zoomed`` over ``image`` and save the figure (format from ``out``'s extension).

    ``style`` holds the fields of :class:`zooheat.render.OverlayStyle`.
    """
    # matplotlib is imported here so that the histogram and zoom steps do not pay for it.
    from zooheat.images import read_image
    from zooheat.render import OverlayStyle, overlay_figure, save_figure

    try:
        look = OverlayStyle(**style)
    except (ValueError, TypeError) as exc:
        raise ZooheatError(f"overlay settings: {exc}") from None
    pixels = read_image(image)
    counts = load_array(zoomed)
    try:
        fig = overlay_figure(pixels, counts, title=title, style=look)
    except ValueError as exc:
        raise ZooheatError(f"{zoomed} over {image}: {exc}") from None
    save_figure(fig, out)
    return f"{out}: overlay of {zoomed} on {image}"


@contextlib.contextmanager
def snakemake_job(log_path: PathLike) -> Iterator[TextIO]:
    """Run a workflow script's body with stderr in its log and input errors as one clear line.

    Yields the log file (also ``sys.stderr`` inside the block) for the step's summary.

    A :class:`ZooheatError` is written to the log as ``error: <message>`` (no traceback) and
    to the terminal, and the job exits with status 1, so Snakemake reports the failed job and
    its log. Any other exception is a bug and keeps its traceback.
    """
    log = open(log_path, "w", buffering=1, encoding="utf-8")
    sys.stderr = log
    try:
        yield log
    except ZooheatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if sys.__stderr__ is not None:  # also on the terminal, beside Snakemake's report
            print(f"zooheat: error: {exc}", file=sys.__stderr__)
        sys.exit(1)
