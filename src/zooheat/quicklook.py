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
import struct
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from zlib_ng import zlib_ng

from zooheat.images import unit_interval
from zooheat.style import check_figure_arrays

__all__ = [
    "Blend",
    "blend_heat",
    "colormap_lut",
    "compose",
    "integer_ticks",
    "png_bytes",
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


@functools.lru_cache(maxsize=4096)
def _glyph(char: str) -> tuple[np.ndarray, int, int, int]:
    """Return one character as :func:`_font` draws it: its coverage, where it goes, its advance.

    ``(coverage, left, top, advance)``: the ``uint8`` coverage of its ink, the ink's offset
    from the pen on the baseline in pixels, and the pen's advance in 1/64 pixel.
    """
    font = _font()
    left, top, right, bottom = (int(v) for v in font.getbbox(char, anchor="ls"))
    pad = 2  # anti-aliasing may reach a pixel past the outline's box
    scratch = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(scratch).text((pad - left, pad - top), char, fill=255, font=font, anchor="ls")
    ink = np.asarray(scratch)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    advance = round(font.getlength(char) * 64)
    if not len(rows):
        return np.zeros((0, 0), np.uint8), 0, 0, advance
    coverage = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()
    coverage.flags.writeable = False
    return coverage, int(cols[0]) + left - pad, int(rows[0]) + top - pad, advance


@functools.lru_cache(maxsize=1)
def _baseline_below_middle() -> int:
    """Pixels from the text's middle (Pillow's anchor ``m``) down to its baseline."""
    font = _font()
    return int(font.getbbox("x", anchor="lm")[1] - font.getbbox("x", anchor="ls")[1])


def _div255(values: np.ndarray) -> np.ndarray:
    """``values / 255`` rounded as Pillow rounds it (``values`` below 2^16 - 128)."""
    values = values + 128
    return ((values >> 8) + values) >> 8


def _draw_text(pixels: np.ndarray, x: int, middle: int, text: str) -> None:
    """Draw ``text`` in black on ``pixels`` in place, left end at ``x``, middle at row ``middle``.

    The same pixels as Pillow's ``ImageDraw.text(..., anchor="lm")`` with :func:`_font` (its
    basic layout: one glyph after another, overlapping coverage composited *over*, then
    blended onto the picture), tested against it pixel for pixel; but each glyph
    is rendered by FreeType once per process, not once per caption (a third of the time).
    """
    rows, cols = pixels.shape[:2]
    mask = np.zeros((rows, cols), np.uint8)
    baseline = middle + _baseline_below_middle()
    pen, inked = 0, -1
    left, right, top, bottom = cols, 0, rows, 0
    for char in text:
        coverage, dx, dy, advance = _glyph(char)
        gx, gy = x + ((pen + 32) >> 6) + dx, baseline + dy
        pen += advance
        y0, x0 = max(gy, 0), max(gx, 0)
        y1, x1 = min(gy + coverage.shape[0], rows), min(gx + coverage.shape[1], cols)
        if y0 >= y1 or x0 >= x1:
            continue
        source = coverage[y0 - gy : y1 - gy, x0 - gx : x1 - gx]
        if x0 >= inked:  # nothing drawn here yet
            mask[y0:y1, x0:x1] = source
        else:  # over what is there, as Pillow composites overlapping glyphs (where either
            # coverage is 0 this gives the other exactly, as Pillow's special cases do)
            there = mask[y0:y1, x0:x1].astype(np.uint16)
            mask[y0:y1, x0:x1] = source + _div255(there * (255 - source.astype(np.uint16)))
        inked = max(inked, x1)
        left, right, top, bottom = min(left, x0), max(right, x1), min(top, y0), max(bottom, y1)
    if left < right:
        part = pixels[top:bottom, left:right]
        keep = (255 - mask[top:bottom, left:right]).astype(np.uint16)
        part[...] = _div255(part * (keep if part.ndim == 2 else keep[..., None]))


@functools.lru_cache(maxsize=16)
def _blend_table(cmap: str, alpha: float) -> np.ndarray:
    """Return the blend of every 8-bit value under every colour of the map.

    ``(256, 256, 3)`` uint8: value ``v`` under colour ``k``, exactly as the float blend of
    :func:`_blend_floats` gives it.
    """
    base = np.arange(256, dtype=np.float32) / np.float32(255)  # as unit_interval gives
    heat = colormap_lut(cmap).astype(np.float32) / 255.0
    weight = np.float32(alpha)
    blended = base[None, :, None] * (np.float32(1.0) - weight) + heat[:, None, :] * weight
    return np.round(blended * 255.0).astype(np.uint8)


def _colour_index(counts: np.ndarray, top: float, whole: bool) -> np.ndarray:
    """Return each count's colour of the map, 0-255."""
    scale = np.float32(255.0 / top)
    if whole:  # whole counts: one entry per count, then a lookup per pixel
        levels = np.arange(int(counts.max(initial=0)) + 1, dtype=np.float32)
        return np.clip(np.round(levels * scale), 0, 255).astype(np.intp)[counts]
    return np.clip(np.round(counts.astype(np.float32) * scale), 0, 255).astype(np.intp)


_EIGHT = np.arange(8)


def _flat_nonzero(values: np.ndarray) -> np.ndarray:
    """:func:`numpy.flatnonzero`, four times faster for mostly zero bytes (8-bit counts).

    Eight counts are tested at once as one 64-bit word; only the words not zero are looked
    into.

    Examples
    --------
    >>> counts = np.zeros((3, 7), dtype=np.uint8); counts[1, 2] = counts[2, 6] = 4
    >>> _flat_nonzero(counts).tolist(), np.flatnonzero(counts).tolist()
    ([9, 20], [9, 20])
    """
    flat = np.ascontiguousarray(values).ravel()
    if flat.dtype.itemsize != 1:
        return np.flatnonzero(flat)
    whole = flat.size // 8 * 8
    words = np.flatnonzero(flat[:whole].view(np.uint64))
    found = (words[:, None] * 8 + _EIGHT).ravel()
    found = found[flat[found] != 0]
    if whole < flat.size:
        found = np.concatenate([found, whole + np.flatnonzero(flat[whole:])])
    return found


def _heat_pixels(
    counts: np.ndarray, top: float, whole: bool, transparent: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return the flat positions of the pixels under some colour, and their colours."""
    if transparent:  # most of a heat map is zeros: find the others first
        where = _flat_nonzero(counts)
        return where, _colour_index(counts.ravel()[where], top, whole)
    return np.arange(counts.size), _colour_index(counts, top, whole).ravel()


def _blend_bytes(
    image: np.ndarray, where: np.ndarray, colours: np.ndarray, cmap: str, alpha: float
) -> np.ndarray:
    """Blend 8-bit grey or RGB pixels by table lookup (the same bytes as the floats).

    The pixels at flat positions ``where`` go under ``colours``, the others stay as they are.
    """
    if image.ndim == 2 and where.size == image.size:  # heat everywhere: one lookup each
        words = _packed_table(cmap, alpha).take(colours * 256 + image.ravel())
        rgb = words.view(np.uint8).reshape(*image.shape, 4)[:, :, :3]
        return np.ascontiguousarray(rgb)
    table = _blend_table(cmap, alpha).reshape(256 * 256, 3)
    base = np.empty((*image.shape[:2], 3), dtype=np.uint8)
    if image.ndim == 2:
        base[:, :, 0] = base[:, :, 1] = base[:, :, 2] = image
    else:
        base[...] = image
    flat = base.reshape(-1, 3)
    colour = colours * 256
    if image.ndim == 2:
        flat[where] = table[colour + image.ravel()[where]]
    else:
        for channel in range(3):
            flat[where, channel] = table[colour + flat[where, channel], channel]
    return base


@functools.lru_cache(maxsize=16)
def _packed_table(cmap: str, alpha: float) -> np.ndarray:
    """Return :func:`_blend_table` with each colour's three bytes in one little-endian word."""
    rgb = _blend_table(cmap, alpha).reshape(-1, 3).astype(np.uint32)
    return (rgb[:, 0] | rgb[:, 1] << 8 | rgb[:, 2] << 16).astype("<u4")


def _blend_floats(
    image: np.ndarray, where: np.ndarray, colours: np.ndarray, cmap: str, alpha: float
) -> np.ndarray:
    """Blend any pixels in float32 (transparency over white, 16-bit values)."""
    base = rgb_over_white(unit_interval(image))
    rows, cols = base.shape[:2]
    index = np.zeros(rows * cols, dtype=np.intp)
    index[where] = colours
    heat = colormap_lut(cmap)[index.reshape(rows, cols)].astype(np.float32) / 255.0
    weight = np.zeros(rows * cols, dtype=np.float32)
    weight[where] = alpha
    weight = weight.reshape(rows, cols)
    blended = base * (1.0 - weight[:, :, None]) + heat * weight[:, :, None]
    return np.round(blended * 255.0).astype(np.uint8)


class Blend(NamedTuple):
    """The heat blended over an image, and what its colour bar needs."""

    #: ``uint8`` RGB, the image's shape
    picture: np.ndarray
    #: the largest count (or density)
    peak: float
    #: the value the top colour stands for
    top: float
    #: whole counts (integer ticks), not a density
    whole: bool


def blend_heat(
    image: np.ndarray,
    zoomed: np.ndarray,
    *,
    cmap: str = "viridis",
    alpha: float = 0.6,
    zeros_transparent: bool = True,
) -> Blend:
    """Blend counts (or a density) on the image grid over the image.

    8-bit grey and RGB pixels (:func:`zooheat.images.read_pixels`) are blended by table
    lookup, and only where there is heat: a few tenths of a millisecond for a MoEDAL scan,
    where blending every pixel in float32 took over ten. Float pixels, transparency and
    16-bit values take the float32 blend; both give the same bytes for the same pixels.

    Examples
    --------
    >>> z = np.zeros((4, 4), dtype=np.uint8); z[0, 0] = 2
    >>> blended = blend_heat(np.zeros((4, 4), dtype=np.uint8), z, alpha=1.0)
    >>> blended.picture[0, 0].tolist() == colormap_lut("viridis")[255].tolist(), blended.peak
    (True, 2)
    >>> blended.picture[1, 1].tolist()  # no heat: the image as it is
    [0, 0, 0]
    """
    check_figure_arrays(image, zoomed)
    counts = np.asarray(zoomed)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be a number from 0 to 1, got {alpha!r}")
    colormap_lut(cmap)  # an unknown map is an error before any work
    whole = np.issubdtype(counts.dtype, np.integer)
    peak = counts.max().item() if counts.size else 0
    top = max(peak, 1) if whole else (peak if peak > 0 else 1.0)
    where, colours = _heat_pixels(counts, top, whole, zeros_transparent)
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4:
        if (image[:, :, 3] == 255).all():  # opaque: over white it is its RGB
            image = image[:, :, :3]
    if image.dtype == np.uint8 and (image.ndim == 2 or image.shape[2] == 3):
        picture = _blend_bytes(image, where, colours, cmap, float(alpha))
    else:
        picture = _blend_floats(image, where, colours, cmap, alpha)
    return Blend(picture, peak, top, whole)


def thumbnail(picture: np.ndarray, size: int) -> bytes:
    """Shrink a picture to fit ``size`` pixels on its longer side and encode it as WebP.

    Lossy WebP at quality 80 with libwebp's fastest method (6 kB for a MoEDAL scan, ~1.5
    ms; its default method 4 took four times as long for 5.6 kB); the same bytes for the
    same picture and Pillow version.
    """
    image = Image.fromarray(picture)
    rows, cols = picture.shape[:2]
    factor = size / max(rows, cols)
    if factor < 1:
        shape = (max(1, round(cols * factor)), max(1, round(rows * factor)))
        image = image.resize(shape, Image.Resampling.BOX)
    out = io.BytesIO()
    image.save(out, format="webp", quality=80, method=0)
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
        ``(rows, cols)`` grey or ``(rows, cols, 3|4)`` colour, values in ``[0, 1]``, or the
        file's own values (:func:`zooheat.images.read_pixels`: faster, same picture).
    zoomed : numpy.ndarray
        Counts (or a density) on the image grid, ``(rows, cols)``.
    cmap, alpha, zeros_transparent
        As :class:`zooheat.style.OverlayStyle`.
    caption : str
        Text above the image, on one line (line breaks become spaces); the largest count
        is added to it.
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
    blended = blend_heat(image, zoomed, cmap=cmap, alpha=alpha, zeros_transparent=zeros_transparent)
    return compose(blended, cmap=cmap, caption=caption, scale=scale, circles=circles)


@functools.lru_cache(maxsize=32)
def _frame(cmap: str, rows: int, cols: int, ticks: tuple[float, ...], top: float) -> np.ndarray:
    """Return the quick look around its picture: white, the colour bar and its ticks.

    Cached: most subjects of a project share their size and tick marks.
    """
    lut = colormap_lut(cmap)
    canvas = Image.new(
        "RGB", (cols + _BAR_GAP + _BAR_WIDTH + _LABEL_WIDTH, rows + _CAPTION), "white"
    )
    ramp = lut[np.linspace(255, 0, rows).round().astype(np.intp)]
    bar = np.repeat(ramp[:, None, :], _BAR_WIDTH, axis=1)
    canvas.paste(Image.fromarray(np.ascontiguousarray(bar)), (cols + _BAR_GAP, _CAPTION))
    draw = ImageDraw.Draw(canvas)
    font = _font()
    x_bar = cols + _BAR_GAP + _BAR_WIDTH
    for tick in ticks:
        y = _CAPTION + (rows - 1) * (1.0 - tick / top)
        draw.line([(x_bar, y), (x_bar + 3, y)], fill="black")
        draw.text((x_bar + 5, y), f"{tick:g}", fill="black", font=font, anchor="lm")
    frame = np.asarray(canvas)
    frame.flags.writeable = False
    return frame


def compose(
    blended: Blend,
    *,
    cmap: str = "viridis",
    caption: str = "",
    scale: int = 1,
    circles: np.ndarray | None = None,
) -> np.ndarray:
    """Lay a blended picture out as a quick look: caption, picture, colour bar.

    :func:`quicklook` blends and composes; the arguments are its own.
    """
    pixels, peak, top, whole = blended
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    rows, cols = pixels.shape[:2]
    ticks = tuple(integer_ticks(peak) if whole else _float_ticks(top))
    canvas = _frame(cmap, rows, cols, ticks, top).copy()
    canvas[_CAPTION:, :cols] = pixels
    if circles is not None and len(circles):
        # drawn white on a mask: the same pixels as on the picture, without converting it
        mask = Image.new("L", (canvas.shape[1], canvas.shape[0]), 0)
        draw = ImageDraw.Draw(mask)
        for x, y, r in np.asarray(circles, dtype=float):
            if np.isnan(x):  # a line across the image
                draw.line([(0, _CAPTION + y * scale), (cols - 1, _CAPTION + y * scale)], fill=255)
                continue
            if np.isnan(y):
                draw.line([(x * scale, _CAPTION), (x * scale, _CAPTION + rows - 1)], fill=255)
                continue
            cx, cy = x * scale, _CAPTION + y * scale
            if np.isfinite(r) and r > 0:
                draw.ellipse(
                    [cx - r * scale, cy - r * scale, cx + r * scale, cy + r * scale], outline=255
                )
            draw.line([(cx - 4, cy), (cx + 4, cy)], fill=255)
            draw.line([(cx, cy - 4), (cx, cy + 4)], fill=255)
        canvas[np.asarray(mask) != 0] = 255
    shown = peak if whole else f"{peak:.3g}"
    caption = " ".join(caption.splitlines())  # one line: the band above the image holds one
    caption = f"{caption}  max {shown}" if caption else f"max {shown}"
    # on the rows its glyphs can reach, as Pillow drew it on a strip of the quick look
    _draw_text(canvas[: 2 * _CAPTION], 2, _CAPTION // 2, caption)
    return canvas


#: zlib-ng level of the quick look's PNG (chosen by measurement: README, *Scaling*).
PNG_LEVEL = 2
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib_ng.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


def png_bytes(picture: np.ndarray, level: int = PNG_LEVEL) -> bytes:
    """Encode a uint8 grey ``(rows, cols)`` or RGB ``(rows, cols, 3)`` picture as PNG.

    Every row is stored with PNG's *Up* filter (its difference from the row above) and the
    whole compressed by zlib-ng at ``level``; no metadata, so the same picture gives the same
    bytes (with the same zlib-ng, which :func:`zooheat.provenance.build_key` records). A
    MoEDAL quick look (456x402) takes ~0.4 ms and 14 kB, where Pillow's encoder, which tries
    five filters on every row, took ~7 ms at its level 6 for 17 kB, and Python's own zlib
    ~1.1 ms at level 3 for 16 kB: the scans are uploaded scaled up, so most rows repeat the
    one above and filter to zeros, which zlib-ng's fast levels find at a third of the cost.

    Examples
    --------
    >>> from PIL import Image
    >>> picture = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    >>> data = png_bytes(picture)
    >>> np.array_equal(np.asarray(Image.open(io.BytesIO(data))), picture)
    True
    """
    if picture.dtype != np.uint8 or picture.ndim not in (2, 3):
        raise ValueError(
            f"expected a uint8 grey or RGB picture, got {picture.dtype} {picture.shape}"
        )
    rows, cols = picture.shape[:2]
    channels = 1 if picture.ndim == 2 else picture.shape[2]
    if channels not in (1, 3):
        raise ValueError(f"expected a grey or RGB picture, got {channels} channels")
    lines = np.ascontiguousarray(picture).reshape(rows, cols * channels)
    filtered = np.empty((rows, cols * channels + 1), dtype=np.uint8)
    filtered[:, 0] = 2  # filter type Up
    filtered[:1, 1:] = lines[:1]  # the row above the first is zeros
    np.subtract(lines[1:], lines[:-1], out=filtered[1:, 1:])  # modulo 256, as PNG wants
    header = struct.pack(">IIBBBBB", cols, rows, 8, 2 if channels == 3 else 0, 0, 0, 0)
    return b"".join(
        [
            _PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib_ng.compress(filtered.tobytes(), level)),
            _png_chunk(b"IEND", b""),
        ]
    )


def quicklook_png(picture: np.ndarray) -> bytes:
    """Encode a quick look as PNG bytes (:func:`png_bytes`): same bytes every run."""
    return png_bytes(picture)
