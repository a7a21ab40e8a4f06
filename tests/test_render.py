import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from PIL import Image

from zooheat.errors import ZooheatError
from zooheat.histogram import histogram_of_marks, zoom_to_image
from zooheat.images import read_image
from zooheat.marks import read_marks
from zooheat.render import OverlayStyle, overlay_figure, save_figure
from zooheat.synthetic import synthetic_subject


def hottest_pixels_in_saved_figure(fig, path, cmap):
    """Image-pixel positions of the figure pixels drawn in the colour map's top colour.

    Reads the saved PNG (not the arrays) and maps its pixels back through the axes' data
    transform: this is what a reader sees.
    """
    with Image.open(path) as figure:
        pixels = np.asarray(figure.convert("RGB"), dtype=float) / 255
    height = pixels.shape[0]
    ax = fig.axes[0]
    box = ax.get_window_extent()
    top = np.array(matplotlib.colormaps[cmap](1.0)[:3])
    rows, cols = np.nonzero(np.abs(pixels - top).max(axis=2) < 0.02)
    display = np.column_stack([cols + 0.5, height - rows - 0.5])
    keep = (
        (display[:, 0] > box.x0)
        & (display[:, 0] < box.x1)
        & (display[:, 1] > box.y0)
        & (display[:, 1] < box.y1)
    )
    assert keep.sum() > 20, "no pixel of the top colour inside the axes"
    return ax.transData.inverted().transform(display[keep])


def test_overlay_lands_on_the_moedal_blob(reference, tmp_path):
    marks = read_marks(reference / "blobs.csv")
    image = read_image(reference / "scan.png")
    counts = histogram_of_marks(marks.x, marks.y, image.shape, 6).counts
    style = OverlayStyle(alpha=1.0, cmap="viridis")
    fig = overlay_figure(image, zoom_to_image(counts, image.shape, 6), style=style)
    out = tmp_path / "f.png"
    save_figure(fig, out)
    x, y = hottest_pixels_in_saved_figure(fig, out, "viridis").mean(axis=0)
    # the volunteers' consensus centre: the median of their marks
    assert abs(x - np.median(marks.x)) <= 6 and abs(y - np.median(marks.y)) <= 6
    # and it is the histogram's hottest bin (row 30, column 26)
    assert 26 * 6 <= x <= 27 * 6 and 30 * 6 <= y <= 31 * 6
    layer = fig.axes[0].images[1]
    assert layer.norm.vmax == counts.max() == 14
    colorbar = layer.colorbar
    assert colorbar.vmax == 14 and colorbar.vmin == 0


def test_overlay_lands_on_a_synthetic_blob(tmp_path):
    s = synthetic_subject(5)
    marks = s.marks["blobs"]
    counts = histogram_of_marks(marks.x, marks.y, s.image.shape, 6).counts
    fig = overlay_figure(
        s.image / 255.0,
        zoom_to_image(counts, s.image.shape, 6),
        style=OverlayStyle(alpha=1.0, cmap="magma"),
    )
    out = tmp_path / "f.png"
    save_figure(fig, out)
    for x, y in hottest_pixels_in_saved_figure(fig, out, "magma"):
        distances = [max(abs(x - bx), abs(y - by)) for bx, by, _ in s.truth["blobs"]]
        assert min(distances) <= 2 * 6  # within a true blob's bin or its neighbour


def test_colour_bar_has_at_most_seven_whole_number_ticks():
    for peak in (1, 2, 5, 7, 14, 33, 250, 1000):
        zoomed = np.zeros((60, 60), dtype=np.uint16)
        zoomed[:6, :6] = peak
        fig = overlay_figure(np.ones((60, 60)), zoomed)
        fig.canvas.draw()
        bar = fig.axes[0].images[1].colorbar
        ticks = [t for t in bar.get_ticks() if 0 <= t <= peak]
        assert 2 <= len(ticks) <= 7, (peak, ticks)
        assert all(float(t).is_integer() for t in ticks)
        assert bar.vmax == peak


def test_zero_bins_transparent_or_the_seed_look(tmp_path):
    image = np.full((60, 60), 0.5)
    zoomed = np.zeros((60, 60), dtype=np.uint8)
    zoomed[30:36, 30:36] = 3

    def corner_colour(zeros_transparent):
        style = OverlayStyle(alpha=0.6, zeros_transparent=zeros_transparent, cmap="viridis")
        fig = overlay_figure(image, zoomed, style=style)
        out = tmp_path / f"{zeros_transparent}.png"
        save_figure(fig, out)
        ax = fig.axes[0]
        x, y = ax.transData.transform((5, 5))
        with Image.open(out) as figure:
            pixels = np.asarray(figure.convert("RGB"))
        return pixels[int(pixels.shape[0] - y), int(x)]

    assert corner_colour(True).tolist() == [128, 128, 128]  # the image itself
    darkened = corner_colour(False)
    assert darkened.tolist() != [128, 128, 128]
    assert darkened[1] < 128  # viridis' lowest colour over grey


def test_empty_heat_map_is_still_a_figure(tmp_path):
    fig = overlay_figure(np.ones((12, 12, 3)), np.zeros((12, 12), dtype=np.uint8))
    assert fig.axes[0].images[1].norm.vmax == 1.0
    out = tmp_path / "empty.svg"
    save_figure(fig, out)
    assert out.read_text().lstrip().startswith("<?xml")


def test_axes_are_image_pixels_origin_top_left():
    fig = overlay_figure(np.ones((384, 390)), np.zeros((384, 390), dtype=np.uint8))
    ax = fig.axes[0]
    assert ax.get_xlim() == (0, 390)
    assert ax.get_ylim() == (384, 0)  # y grows downward
    assert "column" in ax.get_xlabel() and "row" in ax.get_ylabel()


SAVE_SCRIPT = """
import sys
import numpy as np
from zooheat.render import OverlayStyle, overlay_figure, save_figure
z = np.zeros((60, 66), dtype=np.uint8); z[12:18, 6:12] = 4; z[30:36, 30:36] = 9
img = np.linspace(0, 1, 60 * 66).reshape(60, 66)
save_figure(overlay_figure(img, z, title="t", style=OverlayStyle(grid=True)), sys.argv[1])
"""


@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_same_inputs_same_bytes_across_processes(tmp_path, fmt):
    outputs = []
    for run in (1, 2):
        out = tmp_path / f"{run}.{fmt}"
        subprocess.run([sys.executable, "-c", SAVE_SCRIPT, str(out)], check=True)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 1000


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"cmap": "not-a-map"}, "unknown colour map 'not-a-map'"),
        ({"alpha": 1.5}, "alpha must be a number from 0 to 1"),
        ({"dpi": 0}, "dpi must be a positive whole number"),
    ],
)
def test_bad_style_values(kwargs, text):
    with pytest.raises(ValueError, match=text):
        OverlayStyle(**kwargs)


def test_mismatched_shapes_and_formats(tmp_path):
    with pytest.raises(ValueError, match="differs from the image's"):
        overlay_figure(np.ones((10, 10)), np.zeros((12, 12)))
    fig = overlay_figure(np.ones((12, 12)), np.zeros((12, 12)))
    with pytest.raises(ZooheatError, match="cannot save a figure as 'jpg'"):
        save_figure(fig, tmp_path / "f.jpg")


def test_consensus_objects_are_drawn_and_a_density_has_its_own_scale():
    image = np.full((120, 150), 0.5)
    density = np.zeros((120, 150), np.float32)
    density[30:60, 40:70] = 0.25
    density[60:66, 70:76] = 0.37
    circles = np.array([[55.0, 45.0, 20.0], [100.0, 90.0, np.nan]])
    fig = overlay_figure(image, density, style=OverlayStyle(), circles=circles)
    ax = fig.axes[0]
    (circle,) = ax.patches  # the object without a radius gets its centre only
    assert circle.center == (55.0, 45.0) and circle.radius == 20.0
    centres = [line.get_xydata().tolist() for line in ax.lines]
    assert centres == [[[55.0, 45.0]], [[100.0, 90.0]]]
    heat = ax.images[1]
    assert heat.norm.vmax == pytest.approx(0.37)  # a density below 1 keeps its own scale
    ticks = fig.axes[1].get_yticks()
    assert any(t % 1 for t in ticks)  # fractional ticks for a density
