"""How an overlay figure looks and which files it is saved as; no matplotlib at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zooheat.errors import ZooheatError

__all__ = ["FIGURE_FORMATS", "OverlayStyle", "check_figure_arrays", "figure_format"]

#: Formats :func:`save_figure` writes, by file extension.
FIGURE_FORMATS = ("png", "pdf", "svg")


#: The widest raster figure drawn, in pixels (its memory grows with the square).
MAX_FIGURE_WIDTH_PX = 10_000


@dataclass(frozen=True)
class OverlayStyle:
    """How the overlay looks; every field matches a key of the workflow's ``overlay`` config.

    Attributes
    ----------
    cmap : str
        A matplotlib colour map name for the heat layer.
    alpha : float
        Opacity of the heat layer, 0 (invisible) to 1 (opaque).
    zeros_transparent : bool
        Leave bins with no marks transparent (default). ``False`` gives the original
        script's look: the lowest colour over the whole image, which darkens the scan.
    grid : bool
        Draw grid lines at the axis ticks.
    dpi : int
        Dots per inch of raster output.
    width_in : float
        Figure width in inches; the height follows the image's aspect.
    usetex : bool
        Typeset text with LaTeX (needs a LaTeX installation; off by default).
    colorbar_label : str
        Label of the colour bar.
    renderer : {"matplotlib", "quicklook"}
        How PNG figures are drawn: a matplotlib figure with axes and labels (about 0.4 s
        each), or a quick look (:mod:`zooheat.quicklook`: the same blend, a colour bar and a
        caption, about 25 ms) for projects of many subjects. PDF and SVG always use
        matplotlib.
    """

    cmap: str = "viridis"
    alpha: float = 0.6
    zeros_transparent: bool = True
    grid: bool = False
    dpi: int = 100
    width_in: float = 6.0
    usetex: bool = False
    colorbar_label: str = "marks per bin"
    renderer: str = "matplotlib"

    def __post_init__(self) -> None:
        import matplotlib  # only here: the histogram steps must not pay for it

        if self.cmap not in matplotlib.colormaps:
            raise ValueError(
                f"unknown colour map {self.cmap!r}: expected a matplotlib colour map name "
                "such as 'viridis', 'inferno', 'magma', 'hot' or 'Reds'"
            )
        if not (isinstance(self.alpha, int | float) and 0.0 <= self.alpha <= 1.0):
            raise ValueError(f"alpha must be a number from 0 to 1, got {self.alpha!r}")
        if not (isinstance(self.dpi, int) and self.dpi > 0):
            raise ValueError(f"dpi must be a positive whole number, got {self.dpi!r}")
        if not (isinstance(self.width_in, int | float) and self.width_in > 0):
            raise ValueError(f"width_in must be a positive number, got {self.width_in!r}")
        if self.dpi * self.width_in > MAX_FIGURE_WIDTH_PX:
            raise ValueError(
                f"a figure {self.width_in} in wide at {self.dpi} dpi is "
                f"{self.dpi * self.width_in:,.0f} pixels wide, more than {MAX_FIGURE_WIDTH_PX:,}: "
                "lower overlay.dpi or overlay.width_in"
            )
        if self.renderer not in ("matplotlib", "quicklook"):
            raise ValueError(f"renderer must be 'matplotlib' or 'quicklook', got {self.renderer!r}")


def figure_format(path: str | os.PathLike[str]) -> str:
    """Return the figure format a path asks for by its extension.

    Raises
    ------
    ZooheatError
        The extension is not one of :data:`FIGURE_FORMATS`.

    Examples
    --------
    >>> figure_format("results/figures/blobs/s1.PDF")
    'pdf'
    """
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise ZooheatError(
            f"{path}: cannot save a figure as {fmt!r}; expected one of {', '.join(FIGURE_FORMATS)}"
        )
    return fmt


def check_figure_arrays(image: np.ndarray, zoomed: np.ndarray) -> None:
    """Check that an image and its zoomed histogram can be drawn together.

    Raises
    ------
    ValueError
        The image is not ``(rows, cols)`` grey or ``(rows, cols, 3|4)`` colour, or the
        zoomed histogram is not on its grid.
    """
    image, zoomed = np.asarray(image), np.asarray(zoomed)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(
            f"image must be (rows, cols) grey or (rows, cols, 3|4) colour, got {image.shape}"
        )
    if zoomed.shape != image.shape[:2]:
        raise ValueError(
            f"zoomed histogram shape {zoomed.shape} differs from the image's "
            f"{image.shape[:2]}: zoom the histogram with the same image and bin_size"
        )
