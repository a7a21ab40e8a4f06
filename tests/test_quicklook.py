"""The quick-look renderer: the same blend as the figure, fast, deterministic."""

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
