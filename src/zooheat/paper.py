"""Publication figures: the scan in one panel, its counts opaque in the next, read off a bar.

The overlay figure (:mod:`zooheat.render`) blends the heat over the scan, which is good for
looking and bad for reading numbers: a blended colour is in no colour bar. A paper figure
instead puts

- panel **a**: the subject image as it is (consensus objects optionally drawn over it);
- panel **b**: the marks per bin, opaque, on the same pixel grid; bins nobody marked white;
- a colour bar of discrete steps starting at 1 (one colour per count, or per equal range of
  counts when there are more than ``PaperStyle.max_steps`` of them), exactly as tall as the
  panels, so every bin's count can be read off it.

Both panels show the image at an exact whole number of device pixels per image pixel (the
resolution is raised from the one asked for until they do): a PNG is composed pixel by pixel
(no resampling), and a PDF or SVG embeds the image at its own resolution, scaled by the
viewer by that whole number. PDF fonts are TrueType (``pdf.fonttype`` 42, set by
:func:`zooheat.render.figure_bytes`), so the text stays text a journal can edit.

The layout is computed in device pixels first (:func:`paper_layout`) and the figure drawn to
it (:func:`paper_figure`); the layout says where each panel and the bar are, which a test (or
a reader with an image editor) can use to check the colours.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from zooheat.errors import ZooheatError
from zooheat.limits import DEFAULT_LIMITS, Limits
from zooheat.quicklook import rgb_over_white
from zooheat.style import FIGURE_FORMATS, check_figure_arrays

__all__ = [
    "COLUMN_WIDTH_IN",
    "PaperLayout",
    "PaperStyle",
    "count_levels",
    "level_colours",
    "paper_figure",
    "paper_figure_bytes",
    "paper_layout",
    "paper_rgba",
    "write_paper_figure",
]

#: One journal column: 85 mm (Nature, Physical Review and Elsevier's single column are
#: 3.3-3.5 in). Two columns: about 7 in.
COLUMN_WIDTH_IN = 3.35

# Keys of a figure's entry that are not how it looks.
_NOT_STYLE = ("subject", "layer", "formats")


@dataclass(frozen=True)
class PaperStyle:
    """How a paper figure looks; every field matches a key of a figure in ``config/figures.yaml``.

    Attributes
    ----------
    width_in : float
        Figure width in inches (one journal column by default); the height follows the
        image's aspect.
    dpi : int
        The least device pixels per inch. The figure's resolution is the lowest from here up
        at which each image pixel is a whole number of device pixels and the panels fill
        the width (:func:`paper_layout`); a PDF or SVG is laid out at the same resolution.
    font_size : float
        Size of all text, in points.
    cmap : str
        matplotlib colour map the count steps are taken from.
    max_steps : int
        The most colours on the bar; beyond that, counts are grouped in equal ranges.
    consensus : bool
        Draw the consensus objects (circle and centre) over the scan in panel a.
    panel_labels : bool
        Label the panels "a" and "b".
    label : str
        The colour bar's label.
    """

    width_in: float = COLUMN_WIDTH_IN
    dpi: int = 600
    font_size: float = 7.0
    cmap: str = "viridis"
    max_steps: int = 10
    consensus: bool = False
    panel_labels: bool = True
    label: str = "marks per bin"

    def __post_init__(self) -> None:
        import matplotlib

        if self.cmap not in matplotlib.colormaps:
            raise ValueError(f"unknown colour map {self.cmap!r}: expected a matplotlib name")
        if not (isinstance(self.dpi, int) and 50 <= self.dpi <= 2400):
            raise ValueError(f"dpi must be a whole number from 50 to 2400, got {self.dpi!r}")
        if not (isinstance(self.width_in, int | float) and 1.0 <= self.width_in <= 20.0):
            raise ValueError(f"width_in must be from 1 to 20 inches, got {self.width_in!r}")
        if not (isinstance(self.font_size, int | float) and 4.0 <= self.font_size <= 24.0):
            raise ValueError(f"font_size must be from 4 to 24 points, got {self.font_size!r}")
        if not (isinstance(self.max_steps, int) and 2 <= self.max_steps <= 40):
            raise ValueError(
                f"max_steps must be a whole number from 2 to 40, got {self.max_steps!r}"
            )

    @classmethod
    def from_figure(cls, figure: Mapping[str, Any]) -> PaperStyle:
        """Make the style of a figure's entry in ``config/figures.yaml``.

        Its ``subject``, ``layer`` and ``formats`` say what to draw and write, not how: they
        are left out.

        Examples
        --------
        >>> PaperStyle.from_figure({"subject": "7", "layer": "blobs", "dpi": 300}).dpi
        300
        """
        return cls(**{k: v for k, v in figure.items() if k not in _NOT_STYLE})


def count_levels(peak: int, max_steps: int) -> list[tuple[int, int]]:
    """Return the colour bar's steps: ``(lowest, highest)`` count of each, from 1 to ``peak``.

    One step per count while there are at most ``max_steps`` of them; else steps of a whole
    number ``w`` of counts each (``1..w``, ``w+1..2w``, ...), the fewest that cover ``peak``.
    An empty map (``peak`` 0) still gets the step for 1.

    Examples
    --------
    >>> count_levels(3, 10)
    [(1, 1), (2, 2), (3, 3)]
    >>> count_levels(23, 10)
    [(1, 3), (4, 6), (7, 9), (10, 12), (13, 15), (16, 18), (19, 21), (22, 24)]
    """
    peak = max(int(peak), 1)
    width = math.ceil(peak / max_steps)
    return [(low, low + width - 1) for low in range(1, peak + 1, width)]


def level_colours(cmap: str, n: int) -> np.ndarray:
    """Return the ``(n, 3)`` uint8 colours of ``n`` steps: centres of equal slices of ``cmap``.

    Examples
    --------
    >>> level_colours("gray", 2).tolist()
    [[64, 64, 64], [192, 192, 192]]
    """
    import matplotlib

    rgba = matplotlib.colormaps[cmap]((np.arange(n) + 0.5) / n)
    return np.round(rgba[:, :3] * 255).astype(np.uint8)


def paper_rgba(
    image: np.ndarray, zoomed: np.ndarray, levels: list[tuple[int, int]], colours: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the two panels' pixels, uint8 RGB on the image grid: scan, counts' colours.

    A pixel with count ``c >= 1`` gets the colour of the step holding ``c``; a pixel with no
    marks is white.

    Raises
    ------
    ValueError
        The arrays do not fit, or a count is not a whole number from 0 to the last step.
    """
    check_figure_arrays(image, zoomed)
    zoomed = np.asarray(zoomed)
    if not np.issubdtype(zoomed.dtype, np.integer):
        raise ValueError(
            f"a paper figure shows counts (whole numbers), got {zoomed.dtype} values: "
            "use the zoomed histogram, not the smoothed map"
        )
    width = levels[0][1] - levels[0][0] + 1
    if zoomed.size and (zoomed.min() < 0 or zoomed.max() > levels[-1][1]):
        raise ValueError(f"counts outside 0..{levels[-1][1]}")
    palette = np.vstack([np.full((1, 3), 255, np.uint8), colours])
    index = -(-zoomed.astype(np.int64) // width)  # 0 for no marks, else the step from 1
    scan = np.round(np.clip(rgb_over_white(image), 0.0, 1.0) * 255).astype(np.uint8)
    return scan, palette[index]


@dataclass(frozen=True)
class PaperLayout:
    """Where everything is, in device pixels from the top-left corner of the figure.

    Boxes are ``(left, top, width, height)``; ``scale`` is the whole number of device
    pixels per image pixel, at ``dpi`` device pixels per inch.
    """

    dpi: int
    width: int
    height: int
    scale: int
    scan: tuple[int, int, int, int]
    heat: tuple[int, int, int, int]
    bar: tuple[int, int, int, int]
    levels: tuple[tuple[int, int], ...]
    colours: tuple[tuple[int, int, int], ...]

    def bar_centre(self, step: int) -> tuple[int, int]:
        """``(x, y)`` pixel at the middle of the bar's ``step``-th colour (0 the lowest)."""
        left, top, width, height = self.bar
        n = len(self.levels)
        return left + width // 2, top + int((n - step - 0.5) * height / n)


def _label(level: tuple[int, int]) -> str:
    low, high = level
    return str(low) if low == high else f"{low}\u2013{high}"


def _margins(style: PaperStyle, dpi: int, widest: int) -> dict[str, int]:
    """Margins and gaps in device pixels, in multiples of the font size (labels fit in them)."""
    em = style.font_size * dpi / 72.0
    ems = {
        "left": 4.4,  # y tick labels and the y label
        "top": 1.6,  # panel labels
        "bottom": 3.4,  # x tick labels and the x label
        "gap": 1.0,  # between the panels
        "bar_gap": 0.8,
        "bar_width": 0.9,
        "right": 0.6 * widest + 2.6,  # the bar's tick labels and its label
    }
    return {name: math.ceil(value * em) for name, value in ems.items()}


def _room(style: PaperStyle, dpi: int, widest: int) -> tuple[int, dict[str, int]]:
    """Device pixels left for the two panels at ``dpi``, and the margins."""
    margins = _margins(style, dpi, widest)
    fixed = sum(margins[k] for k in ("left", "gap", "bar_gap", "bar_width", "right"))
    return round(style.width_in * dpi) - fixed, margins


def paper_layout(image_shape: tuple[int, ...], peak: int, style: PaperStyle) -> PaperLayout:
    """Lay out a paper figure of an image of ``image_shape`` whose largest count is ``peak``.

    The width is ``style.width_in`` and the margins follow the font size. The two panels
    fill the width left, at a whole number of device pixels per image pixel: the resolution
    is the lowest from ``style.dpi`` up at which they do (so ``dpi`` is a minimum).

    Raises
    ------
    ZooheatError
        The image has so many pixels that the figure would be wider than
        :data:`zooheat.style.MAX_FIGURE_WIDTH_PX` device pixels.
    """
    from zooheat.style import MAX_FIGURE_WIDTH_PX

    rows, cols = image_shape[:2]
    levels = count_levels(peak, style.max_steps)
    widest = max(len(_label(level)) for level in levels)
    dpi = style.dpi
    room, margins = _room(style, dpi, widest)
    scale = max(math.ceil(room / (2 * cols)), 1)
    while room < 2 * scale * cols:
        dpi += 1
        if style.width_in * dpi > MAX_FIGURE_WIDTH_PX:
            raise ZooheatError(
                f"an image {cols} pixels wide, shown twice at one device pixel per image "
                f"pixel, needs a figure more than {MAX_FIGURE_WIDTH_PX:,} device pixels "
                f"wide at {style.width_in} in: widen it (width_in) or crop the image"
            )
        room, margins = _room(style, dpi, widest)
    panel_w, panel_h = scale * cols, scale * rows
    left = margins["left"] + (room - 2 * panel_w) // 2  # centre what is left over
    top = margins["top"]
    heat_left = left + panel_w + margins["gap"]
    colours = level_colours(style.cmap, len(levels))
    return PaperLayout(
        dpi=dpi,
        width=round(style.width_in * dpi),
        height=top + panel_h + margins["bottom"],
        scale=scale,
        scan=(left, top, panel_w, panel_h),
        heat=(heat_left, top, panel_w, panel_h),
        bar=(heat_left + panel_w + margins["bar_gap"], top, margins["bar_width"], panel_h),
        levels=tuple(levels),
        colours=tuple(tuple(int(v) for v in c) for c in colours),
    )


def paper_figure(
    image: np.ndarray,
    zoomed: np.ndarray,
    fmt: str,
    *,
    style: PaperStyle | None = None,
    circles: np.ndarray | None = None,
):
    """Draw a paper figure of one subject and layer; return ``(figure, layout)``.

    Parameters
    ----------
    image : numpy.ndarray
        The subject image, ``(rows, cols)`` grey or ``(rows, cols, 3|4)``, values in
        ``[0, 1]`` (:func:`zooheat.images.read_image`).
    zoomed : numpy.ndarray
        Whole-number counts on the image grid (:func:`zooheat.histogram.zoom_to_image`).
    fmt : {"pdf", "png", "svg"}
        The format it will be saved as: a PNG is composed pixel for pixel, a PDF or SVG
        embeds the image at its own resolution.
    style : PaperStyle, optional
    circles : numpy.ndarray, optional
        ``(n, 3)`` ``x, y, r`` of consensus objects, drawn over panel a when
        ``style.consensus`` (a dashed line across it where ``x`` or ``y`` is NaN).

    Returns
    -------
    (matplotlib.figure.Figure, PaperLayout)
        Save the figure with :func:`zooheat.render.figure_bytes` (fixed metadata, TrueType).
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle
    from matplotlib.ticker import MaxNLocator

    if fmt not in FIGURE_FORMATS:
        raise ZooheatError(
            f"cannot save a paper figure as {fmt!r}; expected one of {FIGURE_FORMATS}"
        )
    style = style or PaperStyle()
    zoomed = np.asarray(zoomed)
    peak = int(zoomed.max()) if zoomed.size else 0
    raster = fmt == "png"
    layout = paper_layout(np.shape(image), peak, style)
    scan_rgb, heat_rgb = paper_rgba(
        image, zoomed, list(layout.levels), np.array(layout.colours, dtype=np.uint8)
    )
    rows, cols = zoomed.shape
    width, height = layout.width, layout.height
    thin = 0.5  # points: frames and ticks
    rc = {
        "font.size": style.font_size,
        "axes.linewidth": thin,
        "xtick.major.width": thin,
        "ytick.major.width": thin,
        "xtick.major.size": 2.0,
        "ytick.major.size": 2.0,
        "xtick.major.pad": 1.5,
        "ytick.major.pad": 1.5,
        "axes.labelpad": 2.0,
    }
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(width / layout.dpi, height / layout.dpi), dpi=layout.dpi)
        FigureCanvasAgg(fig)

        def axes_at(box: tuple[int, int, int, int]):
            left, top, w, h = box
            return fig.add_axes((left / width, (height - top - h) / height, w / width, h / height))

        panels = []
        for box, pixels in ((layout.scan, scan_rgb), (layout.heat, heat_rgb)):
            ax = axes_at(box)
            if raster:  # whole device pixels per image pixel, placed on whole pixels
                k = layout.scale
                block = np.repeat(np.repeat(pixels, k, axis=0), k, axis=1)
                fig.figimage(
                    block, xo=box[0], yo=height - box[1] - box[3], origin="upper", zorder=-1
                )
                ax.patch.set_visible(False)
            else:  # the image at its own resolution; the viewer scales it
                ax.imshow(pixels, extent=(0, cols, rows, 0), interpolation="none")
            ax.set_xlim(0, cols)
            ax.set_ylim(rows, 0)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.set_xlabel("x (pixels)")
            panels.append(ax)
        scan_ax, heat_ax = panels
        scan_ax.set_ylabel("y (pixels)")
        heat_ax.tick_params(labelleft=False)
        if style.consensus and circles is not None:
            for x, y, r in np.asarray(circles, dtype=float):
                if np.isnan(x) or np.isnan(y):  # a line across the image
                    line = scan_ax.axhline if np.isnan(x) else scan_ax.axvline
                    line(y if np.isnan(x) else x, color="white", linewidth=0.8, linestyle="--")
                    continue
                if np.isfinite(r) and r > 0:
                    scan_ax.add_patch(
                        Circle((x, y), r, fill=False, edgecolor="white", linewidth=0.8)
                    )
                scan_ax.plot([x], [y], marker="+", color="white", markersize=4, markeredgewidth=0.8)
        if style.panel_labels:
            for ax_box, text in ((layout.scan, "a"), (layout.heat, "b")):
                fig.text(
                    ax_box[0] / width,
                    (height - ax_box[1] + 0.35 * style.font_size / 72 * layout.dpi) / height,
                    text,
                    fontweight="bold",
                    ha="left",
                    va="bottom",
                )
        n = len(layout.levels)
        bounds = [layout.levels[0][0] - 0.5] + [high + 0.5 for _, high in layout.levels]
        mappable = ScalarMappable(
            norm=BoundaryNorm(bounds, n),
            cmap=ListedColormap(np.array(layout.colours, dtype=float) / 255.0),
        )
        bar = fig.colorbar(
            mappable,
            cax=axes_at(layout.bar),
            ticks=[(low + high) / 2 for low, high in layout.levels],
        )
        bar.ax.set_yticklabels([_label(level) for level in layout.levels])
        bar.ax.tick_params(length=0 if n > 1 else 2.0)
        bar.outline.set_linewidth(thin)
        bar.set_label(style.label)
    return fig, layout


def paper_figure_bytes(
    image: np.ndarray,
    zoomed: np.ndarray,
    fmt: str,
    *,
    style: PaperStyle | None = None,
    circles: np.ndarray | None = None,
) -> bytes:
    """:func:`paper_figure` encoded as ``fmt`` bytes, the same on every run."""
    from zooheat.render import figure_bytes

    figure, _ = paper_figure(image, zoomed, fmt, style=style, circles=circles)
    return figure_bytes(figure, fmt)


def write_paper_figure(
    image: str | os.PathLike[str],
    zoomed: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    style: PaperStyle,
    consensus: str | os.PathLike[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> None:
    """Read a subject's image, zoomed counts (and consensus) and write its paper figure.

    The format is ``output``'s extension; the file is replaced atomically.
    """
    from zooheat.arrays import load_array
    from zooheat.consensus import read_consensus
    from zooheat.fileio import atomic_write
    from zooheat.images import read_image
    from zooheat.style import figure_format

    fmt = figure_format(output)
    circles = read_consensus(consensus).circles if consensus is not None else None
    data = paper_figure_bytes(
        read_image(image, limits=limits), load_array(zoomed), fmt, style=style, circles=circles
    )
    with atomic_write(output, "wb") as handle:
        handle.write(data)
