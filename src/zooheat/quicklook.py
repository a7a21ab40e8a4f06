"""A fast overlay renderer for many subjects: numpy compositing and Pillow, no matplotlib figure.

A matplotlib figure costs a tenth of a second or more to draw and save; at 10^4-10^5 subjects
that dominates everything else. A quick look is the image with the heat layer blended over it
pixel for pixel (same colour map, opacity and transparent zeros as the figure), a colour bar
with whole-number ticks, and a caption: what a researcher pages through. Publication figures
(axes, labels, PDF/SVG) come from :mod:`zooheat.render`.

The quick look keeps the image's own pixel grid: image pixel ``(r, c)`` is output pixel
``(r * scale + top, c * scale)`` with the caption band ``top`` pixels high.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from zooheat.style import check_figure_arrays

__all__ = [
    "blend",
    "colormap_lut",
    "integer_ticks",
    "quicklook",
    "quicklook_png",
    "rgb_over_white",
    "thumbnail",
]

_BAR_GAP, _BAR_WIDTH, _LABEL_WIDTH, _CAPTION = 8, 14, 44, 18


@functools.lru_cache(maxsize=16)
def colormap_lut(name: str) -> np.ndarray:
    """Return a matplotlib colour map as a ``(256, 3)`` uint8 lookup table.

    Raises
    ------
    ValueError
        ``name`` is not a matplotlib colour map.
    """
    import matplotlib  # the colour maps only; no figure machinery

    if name not in matplotlib.colormaps:
        raise ValueError(f"unknown colour map {name!r}: expected a matplotlib colour map name")
    table = matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3]
    return np.round(table * 255).astype(np.uint8)


def integer_ticks(peak: int, max_ticks: int = 7) -> list[int]:
    """Whole-number ticks from 0 to at most ``peak``: at most ``max_ticks``, steps 1, 2 or 5 x 10^k.

    Examples
    --------
    >>> integer_ticks(14)
    [0, 5, 10]
    >>> integer_ticks(6)
    [0, 1, 2, 3, 4, 5, 6]
    >>> integer_ticks(0)
    [0, 1]
    """
    top = max(int(peak), 1)
    for exponent in range(0, 19):
        for mantissa in (1, 2, 5):
            step = mantissa * 10**exponent
            if top // step + 1 <= max_ticks:
                return list(range(0, top + 1, step))
    return [0, top]  # pragma: no cover


def _float_ticks(top: float, max_ticks: int = 7) -> list[float]:
    """Ticks from 0 to at most ``top`` in steps of 1, 2 or 5 x 10^k (for a density).

    Examples
    --------
    >>> _float_ticks(0.37)
    [0.0, 0.1, 0.2, 0.3]
    """
    exponent = int(np.floor(np.log10(top))) - 1
    for _ in range(4):
        for mantissa in (1, 2, 5):
            step = mantissa * 10.0**exponent
            if top // step + 1 <= max_ticks:
                return [round(k * step, 12) for k in range(int(top // step) + 1)]
        exponent += 1
    return [0.0, top]  # pragma: no cover


def rgb_over_white(image: np.ndarray) -> np.ndarray:
    """Return an image as float32 RGB in ``[0, 1]``: grey repeated, transparency over white."""
    values = np.asarray(image, dtype=np.float32)
    if values.ndim == 2:
        values = np.repeat(values[:, :, None], 3, axis=2)
    elif values.shape[2] == 4:  # over white, as a viewer shows a transparent PNG
        values = values[:, :, :3] * values[:, :, 3:] + (1.0 - values[:, :, 3:])
    return values[:, :, :3]


@functools.lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=11)


def _blend(
    image: np.ndarray, zoomed: np.ndarray, cmap: str, alpha: float, zeros_transparent: bool
) -> tuple[np.ndarray, float, float, bool]:
    """Return the heat blended over the image, its peak, the colour top and whether counts."""
    check_figure_arrays(image, zoomed)
    counts = np.asarray(zoomed)
    base = rgb_over_white(image)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be a number from 0 to 1, got {alpha!r}")
    lut = colormap_lut(cmap)
    whole = np.issubdtype(counts.dtype, np.integer)
    peak = counts.max().item() if counts.size else 0
    top = max(peak, 1) if whole else (peak if peak > 0 else 1.0)
    index = np.round(counts.astype(np.float32) * np.float32(255.0 / top)).astype(np.intp)
    heat = lut[np.clip(index, 0, 255)].astype(np.float32) / 255.0
    weight = np.full(counts.shape, alpha, dtype=np.float32)
    if zeros_transparent:
        weight[counts == 0] = 0.0
    blended = base * (1.0 - weight[:, :, None]) + heat * weight[:, :, None]
    return np.round(blended * 255.0).astype(np.uint8), peak, top, whole


def blend(
    image: np.ndarray,
    zoomed: np.ndarray,
    *,
    cmap: str = "viridis",
    alpha: float = 0.6,
    zeros_transparent: bool = True,
) -> np.ndarray:
    """Blend counts (or a density) on the image grid over the image: the picture alone.

    Returns
    -------
    numpy.ndarray
        ``uint8`` RGB, the image's shape.

    Examples
    --------
    >>> z = np.zeros((4, 4), dtype=np.uint8); z[0, 0] = 2
    >>> top = colormap_lut("viridis")[255].tolist()
    >>> blend(np.zeros((4, 4)), z, alpha=1.0)[0, 0].tolist() == top
    True
    """
    return _blend(image, zoomed, cmap, alpha, zeros_transparent)[0]


def thumbnail(picture: np.ndarray, size: int) -> bytes:
    """Shrink a picture to fit ``size`` pixels on its longer side and encode it as WebP.

    Lossy WebP at quality 80 (a few kB for a MoEDAL scan); the same bytes for the same
    picture and Pillow version.
    """
    image = Image.fromarray(picture)
    rows, cols = picture.shape[:2]
    factor = size / max(rows, cols)
    if factor < 1:
        shape = (max(1, round(cols * factor)), max(1, round(rows * factor)))
        image = image.resize(shape, Image.Resampling.BOX)
    out = io.BytesIO()
    image.save(out, format="webp", quality=80, method=4)
    return out.getvalue()


def quicklook(
    image: np.ndarray,
    zoomed: np.ndarray,
    *,
    cmap: str = "viridis",
    alpha: float = 0.6,
    zeros_transparent: bool = True,
    caption: str = "",
    scale: int = 1,
    circles: np.ndarray | None = None,
) -> np.ndarray:
    """Blend the zoomed histogram over the image and add a colour bar and a caption.

    Parameters
    ----------
    image : numpy.ndarray
        ``(rows, cols)`` grey or ``(rows, cols, 3|4)`` colour, values in ``[0, 1]``.
    zoomed : numpy.ndarray
        Counts (or a density) on the image grid, ``(rows, cols)``.
    cmap, alpha, zeros_transparent
        As :class:`zooheat.style.OverlayStyle`.
    caption : str
        Text above the image; the largest count is added to it.
    scale : int
        Output pixels per image pixel.
    circles : numpy.ndarray, optional
        ``(n, 3)`` ``x, y, r`` of consensus objects, drawn as white circles with a cross at
        the centre (only the cross where ``r`` is NaN; a line across the image where ``x``
        or ``y`` is NaN).

    Returns
    -------
    numpy.ndarray
        ``uint8`` RGB picture.

    Examples
    --------
    >>> z = np.zeros((12, 12), dtype=np.uint8); z[6:, 6:] = 3
    >>> out = quicklook(np.full((12, 12), 0.5), z, alpha=1.0)
    >>> out.shape[0] == 12 + 18, out[18 + 11, 11].tolist() == colormap_lut("viridis")[255].tolist()
    (True, True)
    """
    pixels, peak, top, whole = _blend(image, zoomed, cmap, alpha, zeros_transparent)
    lut = colormap_lut(cmap)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)

    rows, cols = pixels.shape[:2]
    canvas = Image.new(
        "RGB", (cols + _BAR_GAP + _BAR_WIDTH + _LABEL_WIDTH, rows + _CAPTION), "white"
    )
    canvas.paste(Image.fromarray(pixels), (0, _CAPTION))
    ramp = lut[np.linspace(255, 0, rows).round().astype(np.intp)]
    bar = np.repeat(ramp[:, None, :], _BAR_WIDTH, axis=1)
    canvas.paste(Image.fromarray(np.ascontiguousarray(bar)), (cols + _BAR_GAP, _CAPTION))
    draw = ImageDraw.Draw(canvas)
    for x, y, r in [] if circles is None else np.asarray(circles, dtype=float):
        if np.isnan(x):  # a line across the image
            draw.line([(0, _CAPTION + y * scale), (cols - 1, _CAPTION + y * scale)], fill="white")
            continue
        if np.isnan(y):
            draw.line([(x * scale, _CAPTION), (x * scale, _CAPTION + rows - 1)], fill="white")
            continue
        cx, cy = x * scale, _CAPTION + y * scale
        if np.isfinite(r) and r > 0:
            draw.ellipse(
                [cx - r * scale, cy - r * scale, cx + r * scale, cy + r * scale], outline="white"
            )
        draw.line([(cx - 4, cy), (cx + 4, cy)], fill="white")
        draw.line([(cx, cy - 4), (cx, cy + 4)], fill="white")
    font = _font()
    x_bar = cols + _BAR_GAP + _BAR_WIDTH
    for tick in integer_ticks(peak) if whole else _float_ticks(top):
        y = _CAPTION + (rows - 1) * (1.0 - tick / top)
        draw.line([(x_bar, y), (x_bar + 3, y)], fill="black")
        draw.text((x_bar + 5, y), f"{tick:g}", fill="black", font=font, anchor="lm")
    shown = peak if whole else f"{peak:.3g}"
    caption = f"{caption}  max {shown}" if caption else f"max {shown}"
    draw.text((2, _CAPTION // 2), caption, fill="black", font=font, anchor="lm")
    return np.asarray(canvas)


def quicklook_png(picture: np.ndarray) -> bytes:
    """Encode a quick look as PNG bytes: fixed compression, no metadata, same bytes every run."""
    out = io.BytesIO()
    Image.fromarray(picture).save(out, format="png", compress_level=6, optimize=False)
    return out.getvalue()
