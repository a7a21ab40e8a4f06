import numpy as np
import pytest
from PIL import Image

from zooheat.errors import ImageError
from zooheat.images import image_size, read_image


def save(tmp_path, img, name="img.png"):
    path = tmp_path / name
    img.save(path)
    return path


@pytest.mark.parametrize(
    ("mode", "value", "shape", "expected"),
    [
        ("L", 51, (5, 7), 0.2),
        ("1", 1, (5, 7), 1.0),
        ("RGB", (255, 0, 51), (5, 7, 3), [1.0, 0.0, 0.2]),
        ("RGBA", (255, 0, 51, 102), (5, 7, 4), [1.0, 0.0, 0.2, 0.4]),
        ("LA", (51, 255), (5, 7, 4), [0.2, 0.2, 0.2, 1.0]),
    ],
)
def test_modes_read_into_unit_floats(tmp_path, mode, value, shape, expected):
    path = save(tmp_path, Image.new(mode, (7, 5), value))
    pixels = read_image(path)
    assert pixels.shape == shape
    assert pixels.dtype == np.float32
    assert np.allclose(pixels[2, 3], expected, atol=1e-6)
    assert image_size(path) == (5, 7)


def test_sixteen_bit_grey_keeps_its_depth(tmp_path):
    data = np.array([[0, 1, 65535]], dtype=np.uint16)
    path = save(tmp_path, Image.fromarray(data))
    pixels = read_image(path)
    assert pixels.shape == (1, 3)
    assert pixels[0, 0] == 0.0 and pixels[0, 2] == 1.0
    assert 0 < pixels[0, 1] < 1 / 255  # a 16-bit step survives


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (4, 3), 1)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.info["transparency"] = 0
    path = tmp_path / "p.png"
    img.save(path, transparency=0)
    pixels = read_image(path)
    assert pixels.shape == (3, 4, 4)
    assert pixels[0, 0, 3] == 0.0  # transparent entry
    assert pixels[1, 1].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_missing_image_names_the_file(tmp_path):
    with pytest.raises(ImageError, match=r"nope\.png: image file not found"):
        image_size(tmp_path / "nope.png")


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a png")
    with pytest.raises(ImageError, match=r"notes\.png: cannot read this file as an image"):
        read_image(path)


def test_truncated_png_names_the_file(tmp_path):
    good = save(
        tmp_path,
        Image.fromarray(np.arange(90000, dtype=np.uint32).reshape(300, 300).astype(np.uint8)),
    )
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:400])
    assert image_size(cut) == (300, 300)  # the header is intact
    with pytest.raises(ImageError, match=r"cut\.png: the image's pixel data cannot be decoded"):
        read_image(cut)
