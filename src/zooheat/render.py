"""The overlay figure: a subject image with its zoomed histogram laid over it, saved reproducibly.

The axes are in image pixels, x the column and y the row, origin at the top-left corner, so a
mark at ``(x, y)`` is drawn where Panoptes showed it. Nothing here uses pyplot: figures are
independent objects, safe to build in a loop or in parallel processes.
"""

from __future__ import annotations

import io
import os

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from zooheat.errors import ZooheatError
from zooheat.fileio import atomic_write
from zooheat.style import FIGURE_FORMATS, OverlayStyle, check_figure_arrays, figure_format

__all__ = ["FIGURE_FORMATS", "OverlayStyle", "figure_format", "overlay_figure", "save_figure"]

# Metadata keys that carry a date or a version: removed so that the same inputs give the
# same bytes on every run and every machine with the locked versions.
_NO_STAMPS = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
}


def overlay_figure(
    image: np.ndarray,
    zoomed: np.ndarray,
    *,
    title: str | None = None,
    style: OverlayStyle | None = None,
    circles: np.ndarray | None = None,
) -> Figure:
    """Draw the image with the zoomed histogram over it and a colour bar beside it.

    Parameters
    ----------
    image : numpy.ndarray
        ``(rows, cols)`` grey or ``(rows, cols, 3|4)`` colour, values in ``[0, 1]`` (see
        :func:`zooheat.images.read_image`).
    zoomed : numpy.ndarray
        Counts on the image grid, ``(rows, cols)`` (see
        :func:`zooheat.histogram.zoom_to_image`).
    title : str, optional
        Text above the axes.
    style : OverlayStyle, optional
        Colour map, opacity and the other choices; the defaults when omitted.
    circles : numpy.ndarray, optional
        ``(n, 3)`` ``x, y, r`` of consensus objects, drawn as circles with a cross at the
        centre (only the cross where ``r`` is NaN; a dashed line across the image where
        ``x`` or ``y`` is NaN).

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` holds the image (``images[0]``) and the heat layer (``images[1]``),
        in image pixel coordinates; the colour bar runs from 0 to the largest value (to 1
        when there are none) with at most 7 ticks, whole numbers for counts.

    Examples
    --------
    >>> fig = overlay_figure(np.zeros((12, 12)), np.eye(12, dtype=np.uint8))
    >>> fig.axes[0].images[1].norm.vmax
    1.0
    """
    style = style or OverlayStyle()
    image = np.asarray(image)
    zoomed = np.asarray(zoomed)
    check_figure_arrays(image, zoomed)
    rows, cols = zoomed.shape
    peak = float(zoomed.max()) if zoomed.size else 0.0
    counts = np.issubdtype(zoomed.dtype, np.integer)
    top = max(peak, 1.0) if counts else (peak if peak > 0 else 1.0)

    with matplotlib.rc_context({"text.usetex": style.usetex}):
        fig = Figure(
            figsize=(style.width_in, style.width_in * rows / cols * 0.85 + 0.6),
            dpi=style.dpi,
            layout="constrained",
        )
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        # extent puts pixel edges on whole numbers: pixel (r, c) spans [c, c+1) x [r, r+1),
        # the frame marks are stored in.
        extent = (0, cols, rows, 0)
        ax.imshow(
            image,
            cmap="gray" if image.ndim == 2 else None,
            vmin=0.0,
            vmax=1.0,
            extent=extent,
            interpolation="nearest",
        )
        heat = np.ma.masked_equal(zoomed, 0) if style.zeros_transparent else zoomed
        layer = ax.imshow(
            heat,
            cmap=style.cmap,
            vmin=0.0,
            vmax=top,
            alpha=style.alpha,
            extent=extent,
            interpolation="nearest",
        )
        ax.set_xlim(0, cols)
        ax.set_ylim(rows, 0)
        ax.set_xlabel("x (image pixels, column)")
        ax.set_ylabel("y (image pixels, row; origin top-left)")
        if style.grid:
            ax.grid(True, color="white", linewidth=0.5, alpha=0.5)
        if title:
            ax.set_title(title)
        for x, y, r in [] if circles is None else np.asarray(circles, dtype=float):
            if np.isnan(x) or np.isnan(y):  # a line across the image
                line = ax.axhline if np.isnan(x) else ax.axvline
                line(y if np.isnan(x) else x, color="white", linewidth=1.2, linestyle="--")
                continue
            if np.isfinite(r) and r > 0:
                ax.add_patch(Circle((x, y), r, fill=False, edgecolor="white", linewidth=1.2))
            ax.plot([x], [y], marker="+", color="white", markersize=8, markeredgewidth=1.2)
        bar = fig.colorbar(layer, ax=ax, label=style.colorbar_label, shrink=0.9)
        bar.locator = MaxNLocator(nbins=6, integer=counts)
        bar.update_ticks()
        bar.solids.set_alpha(1.0)
    return fig


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """Encode a figure as PNG, PDF or SVG bytes, the same on every run.

    Dates and version stamps are left out of the file's metadata and SVG element ids are
    derived from a fixed salt. PDF fonts are embedded as TrueType (``pdf.fonttype`` 42), so
    text stays text that editors and journals can change, not Type 3 glyph drawings.

    Raises
    ------
    ZooheatError
        LaTeX was asked for and could not typeset the text.
    """
    if fmt not in FIGURE_FORMATS:
        raise ZooheatError(f"cannot save a figure as {fmt!r}; expected one of {FIGURE_FORMATS}")
    usetex = any(t.get_usetex() for t in fig.findobj(Text))
    out = io.BytesIO()
    try:
        with matplotlib.rc_context(
            {"svg.hashsalt": "zooheat", "pdf.fonttype": 42, "text.usetex": usetex}
        ):
            fig.savefig(out, format=fmt, metadata=_NO_STAMPS[fmt])
    except RuntimeError as exc:
        if usetex:
            raise ZooheatError(
                f"LaTeX text was asked for (usetex) but could not be typeset: "
                f"{str(exc).splitlines()[0]}. Install LaTeX or set usetex to false."
            ) from None
        raise
    return out.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Save a figure as PNG, PDF or SVG (by extension) with the same bytes on every run.

    The file is replaced atomically.

    Raises
    ------
    ZooheatError
        The extension is not one of :data:`FIGURE_FORMATS`, or LaTeX was asked for and is
        not installed.
    """
    data = figure_bytes(fig, figure_format(path))
    with atomic_write(path, "wb") as handle:
        handle.write(data)
