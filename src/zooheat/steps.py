"""File-to-file steps, shared by the workflow's scripts and the command line.

Each step reads its inputs, calls the pure functions of :mod:`zooheat.histogram` and
:mod:`zooheat.render`, writes its outputs atomically and returns a one-line summary for the log.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from zooheat.errors import ZooheatError
from zooheat.fileio import write_if_changed
from zooheat.histogram import histogram_of_marks, zoom_to_image
from zooheat.images import image_size
from zooheat.marks import read_marks
from zooheat.style import OverlayStyle, figure_format

PathLike = str | os.PathLike[str]

__all__ = [
    "heatmap_batch",
    "histogram_step",
    "load_array",
    "overlay_step",
    "overlay_style",
    "save_array",
    "snakemake_job",
    "zoom_step",
]


def array_bytes(array: np.ndarray) -> bytes:
    """Encode an array as a ``.npy`` file (the same bytes for the same array)."""
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
    return out.getvalue()


def save_array(array: np.ndarray, path: PathLike) -> None:
    """Save an array as ``.npy``: atomic, sparse, untouched when the bytes are the same."""
    write_if_changed(path, array_bytes(array), sparse=True)


def load_array(path: PathLike) -> np.ndarray:
    """Load a ``.npy`` written by :func:`save_array`, with a clear error if it is not one."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ZooheatError(f"{path}: array file not found") from None
    except (ValueError, OSError, EOFError) as exc:
        raise ZooheatError(f"{path}: not a readable .npy array ({exc})") from None


@contextlib.contextmanager
def _about(source: str) -> Iterator[None]:
    """Report the library's ValueError or TypeError as a ZooheatError naming the input."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise ZooheatError(f"{source}: {exc}") from None


def histogram_step(image: PathLike, marks: PathLike, out: PathLike, *, bin_size: int) -> str:
    """Histogram of a mark table's centres on the scan grid of ``image``, saved as ``.npy``.

    Only the image's header is read (for its size). Returns a summary that names how many
    marks fell outside the image and so were not binned.
    """
    shape = image_size(image)
    table = read_marks(marks)
    with _about(str(marks)):
        result = histogram_of_marks(table.x, table.y, shape, bin_size)
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
    with _about(str(histogram)):
        zoomed = zoom_to_image(counts, shape, bin_size)
    save_array(zoomed, out)
    return f"{histogram}: zoomed to {zoomed.shape[0]}x{zoomed.shape[1]} ({zoomed.dtype})"


def overlay_step(
    image: PathLike, zoomed: PathLike, out: PathLike, *, title: str | None = None, **style: Any
) -> str:
    """Render ``zoomed`` over ``image`` and save the figure (format from ``out``'s extension).

    ``style`` holds the fields of :class:`zooheat.style.OverlayStyle`.
    """
    from zooheat.images import read_image

    look = overlay_style(style)
    fmt = figure_format(out)
    pixels = read_image(image)
    counts = load_array(zoomed)
    with _about(f"{zoomed} over {image}"):
        figure = render_figure(pixels, counts, fmt, title=title, style=look)
    write_if_changed(out, figure)
    return f"{out}: overlay of {zoomed} on {image}"


def overlay_style(style: Mapping[str, Any]) -> OverlayStyle:
    """Check overlay settings (the ``overlay`` config keys) and return them as a style."""
    with _about("overlay settings"):
        return OverlayStyle(**style)


def render_figure(
    pixels: np.ndarray, counts: np.ndarray, fmt: str, *, title: str | None, style: OverlayStyle
) -> bytes:
    """Render the overlay of ``counts`` on ``pixels`` as the bytes of a ``fmt`` file.

    PNGs use ``style.renderer``; PDF and SVG always come from matplotlib.

    Raises
    ------
    ValueError
        The arrays do not fit each other.
    """
    if fmt == "png" and style.renderer == "quicklook":
        from zooheat.quicklook import quicklook, quicklook_png

        return quicklook_png(
            quicklook(
                pixels,
                counts,
                cmap=style.cmap,
                alpha=style.alpha,
                zeros_transparent=style.zeros_transparent,
                caption=title or "",
            )
        )
    # matplotlib is imported here so that the histogram and zoom steps do not pay for it
    from zooheat.render import figure_bytes, overlay_figure

    return figure_bytes(overlay_figure(pixels, counts, title=title, style=style), fmt)


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    # Outputs depend on the library's code too: a changed module remakes what it makes.
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("histogram", "images", "marks", "quicklook", "render", "steps", "style"):
        digest.update((here / f"{name}.py").read_bytes())
    return digest.hexdigest()


def heatmap_batch(
    entries: Sequence[tuple[str, PathLike, PathLike]],
    layer: str,
    *,
    bin_size: int,
    style: Mapping[str, Any],
    formats: Sequence[str],
    state: PathLike,
    results: PathLike = "results",
    log: TextIO | None = None,
) -> list[tuple]:
    """Histogram, zoomed array and figures of many subjects in one process.

    For each ``(subject, image, marks)`` writes ``results/histogram/{layer}/{subject}.npy``,
    ``results/zoom/...npy`` and ``results/figures/{layer}/{subject}.{format}``: the same
    files, with the same bytes, as the per-subject steps. A subject whose image, marks,
    settings and code are unchanged since the last run (per the ``state`` file) and whose
    files all exist is skipped, so a batch rerun for one changed subject does one subject's
    work. Files are rewritten only when their bytes change.

    Returns
    -------
    list of tuple
        Per subject: ``(subject, marks, binned, outside, max count, redone)``.

    Raises
    ------
    ZooheatError
        After every other subject is done and the state saved: which subjects failed, and why.
    """
    from zooheat.images import read_image

    look = overlay_style(style)
    settings = json.dumps(
        [bin_size, sorted(style.items()), list(formats), _code_digest()], default=str
    )
    state_path = Path(state)
    try:
        known = json.loads(state_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        known = {}
    base = Path(results)
    rows: list[tuple] = []
    failures: list[str] = []
    for subject, image, marks in entries:
        outputs = [
            base / "histogram" / layer / f"{subject}.npy",
            base / "zoom" / layer / f"{subject}.npy",
            *(base / "figures" / layer / f"{subject}.{fmt}" for fmt in formats),
        ]
        try:
            image_data = Path(image).read_bytes()
        except OSError:
            image_data = b""  # read_image below says what is wrong
        try:
            marks_data = Path(marks).read_bytes()
        except OSError:
            marks_data = b""
        key = hashlib.sha256(b"\0".join([settings.encode(), image_data, marks_data])).hexdigest()
        previous = known.get(subject)
        if previous and previous[0] == key and all(p.exists() for p in outputs):
            rows.append((subject, *previous[1:], False))
            continue
        try:
            pixels = read_image(image)
            table = read_marks(marks)
            with _about(str(marks)):
                result = histogram_of_marks(table.x, table.y, pixels.shape[:2], bin_size)
                zoomed = zoom_to_image(result.counts, pixels.shape[:2], bin_size)
            save_array(result.counts, outputs[0])
            save_array(zoomed, outputs[1])
            title = f"{subject} · {layer}"
            for fmt, path in zip(formats, outputs[2:], strict=True):
                with _about(f"{marks} over {image}"):
                    figure = render_figure(pixels, zoomed, fmt, title=title, style=look)
                write_if_changed(path, figure)
        except ZooheatError as exc:
            failures.append(f"{subject}: {exc}")
            known.pop(subject, None)
            continue
        peak = int(result.counts.max(initial=0))
        known[subject] = [key, len(table), result.binned, result.outside, peak]
        rows.append((subject, len(table), result.binned, result.outside, peak, True))
        if log is not None and result.outside:
            print(f"{subject}: {result.outside} marks outside the image, not binned", file=log)
    write_if_changed(state_path, json.dumps(known, sort_keys=True).encode())
    if failures:
        raise ZooheatError(
            f"{len(failures)} of {len(entries)} subjects failed:\n" + "\n".join(failures)
        )
    return rows


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
