"""The quick-look renderer: the same blend as the figure, fast, deterministic."""

import io
import itertools

import numpy as np
import pytest

from zooheat.histogram import histogram_of_marks, zoom_to_image
from zooheat.images import read_image
from zooheat.marks import read_marks
from zooheat.quicklook import colormap_lut, integer_ticks, quicklook, quicklook_png

CAPTION = 18  # rows above the image


def test_hottest_pixels_land_on_the_moedal_blob(reference):
    marks = read_marks(reference / "blobs.csv")
    image = read_image(reference / "scan.png")
    zoomed = zoom_to_image(
        histogram_of_marks(marks.x, marks.y, (384, 390), 6).counts, (384, 390), 6
    )
    picture = quicklook(image, zoomed, alpha=1.0, cmap="viridis", caption="scan")
    top = colormap_lut("viridis")[255]
    rows, cols = np.nonzero((picture[CAPTION:, :390] == top).all(axis=2))
    assert rows.size == 36  # exactly the 6x6 pixels of the hottest bin
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (180, 185, 156, 161)
    assert abs(cols.mean() - np.median(marks.x)) <= 6 and abs(rows.mean() - np.median(marks.y)) <= 6


def test_zero_bins_show_the_image_and_marked_bins_blend():
    image = np.full((12, 18), 0.5)
    zoomed = np.zeros((12, 18), dtype=np.uint8)
    zoomed[0:6, 6:12] = 2
    zoomed[6:12, 12:18] = 4
    picture = quicklook(image, zoomed, alpha=0.5, cmap="magma")[CAPTION:, :18]
    assert picture[0, 0].tolist() == [128, 128, 128]
    lut = colormap_lut("magma").astype(float)
    expected = np.round((0.5 * 0.5 + 0.5 * lut[255] / 255) * 255)
    assert picture[8, 14].tolist() == expected.tolist()
    opaque = quicklook(image, zoomed, alpha=0.5, zeros_transparent=False)[CAPTION:, :18]
    assert opaque[0, 0].tolist() != [128, 128, 128]


@pytest.mark.parametrize("peak", [0, 1, 2, 6, 7, 14, 33, 250, 1000, 12345])
def test_integer_ticks(peak):
    ticks = integer_ticks(peak)
    assert 2 <= len(ticks) <= 7
    assert ticks[0] == 0 and ticks[-1] <= max(peak, 1)
    assert all(isinstance(t, int) for t in ticks)
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1


def test_same_picture_same_bytes():
    zoomed = np.zeros((30, 30), dtype=np.uint8)
    zoomed[12:18, 6:12] = 5
    image = np.linspace(0, 1, 900).reshape(30, 30)
    one = quicklook_png(quicklook(image, zoomed, caption="s · blobs"))
    two = quicklook_png(quicklook(image.copy(), zoomed.copy(), caption="s · blobs"))
    assert one == two and one.startswith(b"\x89PNG")


def test_bad_inputs():
    with pytest.raises(ValueError, match="differs from the image's"):
        quicklook(np.ones((10, 10)), np.zeros((12, 12)))
    with pytest.raises(ValueError, match="unknown colour map"):
        quicklook(np.ones((10, 10)), np.zeros((10, 10)), cmap="nope")


def test_quicklook_draws_consensus_circles_and_scales_a_density():
    image = np.full((60, 80), 0.2)
    density = np.zeros((60, 80), np.float32)
    density[20:40, 20:40] = 0.4
    picture = quicklook(image, density, alpha=1.0, circles=np.array([[30.0, 30.0, 10.0]]))
    band = CAPTION
    white = (picture[band:, :80] == 255).all(axis=2)
    rows, cols = np.nonzero(white)
    assert white[30, 30]  # the centre's cross
    # the circle: white pixels about 10 px from the centre
    distances = np.hypot(rows - 30, cols - 30)
    assert ((distances > 8.5) & (distances < 11.5)).sum() > 40
    # the density's peak (0.4, below 1) takes the colour map's top colour
    assert picture[band + 33, 27].tolist() == colormap_lut("viridis")[255].tolist()
    plain = quicklook(image, density)
    assert not (plain[band:, :80] == 255).all(axis=2).any()  # no circles: no white


def _pixels(kind, rng, shape):
    if kind == "opaque-rgba":  # as the MoEDAL scans are saved: alpha 255 everywhere
        pixels = rng.integers(0, 256, (*shape, 4), dtype=np.uint8)
        pixels[:, :, 3] = 255
        return pixels
    if kind == "grey":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == "rgb":
        return rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    if kind == "rgba":
        return rng.integers(0, 256, (*shape, 4), dtype=np.uint8)
    return rng.integers(0, 65536, shape, dtype=np.uint16)  # 16-bit grey


@pytest.mark.parametrize("kind", ["grey", "rgb", "rgba", "opaque-rgba", "16-bit"])
@pytest.mark.parametrize("heat", ["counts", "density"])
@pytest.mark.parametrize("zeros_transparent", [True, False])
def test_the_files_pixels_blend_by_table_exactly_as_floats_do(kind, heat, zeros_transparent):
    """8-bit grey and RGB pixels take a table lookup, the others the float32 blend: the
    same picture either way, for any colour map and opacity, sparse heat or dense."""
    from zooheat.images import unit_interval

    rng = np.random.default_rng(11)
    for shape, share in (((23, 31), 0.05), ((17, 9), 0.9)):
        raw = _pixels(kind, rng, shape)
        marked = rng.random(shape) < share
        if heat == "counts":
            zoomed = (rng.integers(1, 300, shape) * marked).astype(np.uint16)
        else:
            zoomed = (rng.random(shape) * marked).astype(np.float32)
        for cmap, alpha in (("viridis", 0.6), ("magma", 0.37), ("gray", 1.0), ("viridis", 0.0)):
            look = {"cmap": cmap, "alpha": alpha, "zeros_transparent": zeros_transparent}
            circles = np.array([[5.0, 6.0, 3.0], [np.nan, 4.0, np.nan]])
            fast = quicklook(raw, zoomed, caption="s", circles=circles, **look)
            floats = quicklook(unit_interval(raw), zoomed, caption="s", circles=circles, **look)
            assert np.array_equal(fast, floats), (shape, cmap, alpha)


def test_quick_look_png_is_small_and_reads_back_exactly(reference):
    from PIL import Image

    from zooheat.images import read_pixels
    from zooheat.quicklook import png_bytes

    marks = read_marks(reference / "blobs.csv")
    image = read_pixels(reference / "scan.png")
    zoomed = zoom_to_image(
        histogram_of_marks(marks.x, marks.y, (384, 390), 6).counts, (384, 390), 6
    )
    picture = quicklook(image, zoomed, caption="scan · blobs")
    data = quicklook_png(picture)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), picture)
    assert len(data) < 40_000  # the MoEDAL scan is uploaded x6: rows repeat, and filter away
    grey = np.ascontiguousarray(image[:50, :60, 0])
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(grey)))), grey)
    with pytest.raises(ValueError, match="uint8 grey or RGB"):
        png_bytes(picture.astype(np.float32))


def test_a_picture_composed_after_others_is_the_one_composed_first():
    # the colour bar and its ticks are cached by size and ticks: nothing of one subject
    # leaks into the next
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    pictures = []
    for peak in (3, 250, 3):
        zoomed = np.zeros((40, 50), np.uint8)
        zoomed[10:16, 10:16] = peak
        pictures.append(quicklook(image, zoomed, caption=f"peak {peak}"))
    assert np.array_equal(pictures[0], pictures[2])
    assert not np.array_equal(pictures[0], pictures[1])


@pytest.mark.parametrize("shape", [(384, 390), (5, 7), (1, 1), (0, 3), (13, 13), (402, 456)])
@pytest.mark.parametrize("density", [0.0, 0.01, 0.5, 1.0])
def test_heat_pixels_are_found_as_numpy_finds_them(shape, density):
    """The quick look's search for pixels under heat (eight counts at a time) finds exactly
    numpy's nonzero pixels, in order: 8-bit counts, wider counts, densities, strided views."""
    from zooheat.quicklook import _flat_nonzero

    rng = np.random.default_rng(sum(shape) + int(density * 100))
    counts = (rng.random(shape) < density) * rng.integers(1, 255, shape)
    for values in (
        counts.astype(np.uint8),
        counts.astype(np.uint16),
        counts.astype(np.float32) / 7,
        counts.astype(np.uint8)[:, ::-1],
    ):
        assert _flat_nonzero(values).tolist() == np.flatnonzero(values).tolist()


def test_captions_are_drawn_pixel_for_pixel_as_pillow_draws_them():
    """Glyphs cached once per process give Pillow's own caption pixels, overlaps and edges too."""
    from PIL import Image, ImageDraw

    from zooheat.quicklook import _draw_text, _font

    rng = np.random.default_rng(5)
    alphabet = [chr(c) for c in range(32, 127)] + list("éüßµ°±åøæ—–’“”…αβγΩ€中文\u0301\t\x01\x7f")
    texts = ["synthetic-0001 / blobs  max 17", "", " ", "AV To Wa", "fj jjj gg y_ |||", "中" * 40]
    texts += ["".join(rng.choice(alphabet, rng.integers(1, 70))) for _ in range(400)]
    background = rng.integers(0, 256, (2 * CAPTION, 300, 3), dtype=np.uint8)
    overlapped = 0
    for k, text in enumerate(texts):
        x, middle = [(2, CAPTION // 2), (-3, 1), (290, 30)][k % 3]  # and clipped at every edge
        pillow = Image.fromarray(background)
        ImageDraw.Draw(pillow).text((x, middle), text, fill="black", font=_font(), anchor="lm")
        ours = background.copy()
        _draw_text(ours, x, middle, text)
        assert np.array_equal(ours, np.asarray(pillow)), repr(text)
        overlapped += "\u0301" in text or "j" in text
    assert overlapped > 100  # glyphs that reach under their neighbours were among them


def test_a_caption_of_several_lines_is_drawn_on_one():
    z = np.zeros((24, 60), dtype=np.uint8)
    z[6:12, 6:12] = 2
    image = np.full((24, 60), 0.5)
    broken = quicklook(image, z, caption="a\nb\r\nc\u2028d")
    assert np.array_equal(broken, quicklook(image, z, caption="a b c d"))
    assert not np.array_equal(broken, quicklook(image, z, caption="abcd"))
