import os

import numpy as np
import pytest
from PIL import Image

from zooheat.errors import ImageError
from zooheat.images import image_size, read_image
from zooheat.limits import Limits


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
    with pytest.raises(ImageError, match=r"nope\.png: not found; expected a PNG subject image"):
        image_size(tmp_path / "nope.png")


def test_a_pipe_or_a_device_is_refused_before_it_is_read(tmp_path):
    fifo = tmp_path / "scan.png"
    os.mkfifo(fifo)  # nobody writes to it: reading it would wait for ever
    for read in (image_size, read_image):
        with pytest.raises(ImageError, match=r"scan\.png: is not a regular file \(a pipe"):
            read(fifo)
    with pytest.raises(ImageError, match="/dev/zero: is not a regular file"):
        read_image("/dev/zero")  # never ends


def test_an_image_beyond_the_limits_is_refused_before_it_is_decoded(tmp_path):
    # 9,400 x 9,400 RGB: a 258 KB PNG that would decode to 10 GB of float32
    path = tmp_path / "bomb.png"
    Image.new("RGB", (9400, 9400)).save(path)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ImageError) as err:
        read_image(path)
    assert "9400x9400 pixels (88.4 million), more than the 12.0 million allowed" in str(err.value)
    assert "limits.image_pixels" in str(err.value)
    small = tmp_path / "small.png"
    Image.new("L", (40, 30)).save(small)
    assert image_size(small, limits=Limits(image_pixels=1200)) == (30, 40)
    with pytest.raises(ImageError, match=r"more than the 0\.0 million allowed"):
        image_size(small, limits=Limits(image_pixels=1199))
    with pytest.raises(
        ImageError, match=r"more than the 1 MiB allowed .* \(config limits.image_mb\)"
    ):
        big = tmp_path / "big.png"
        big.write_bytes(small.read_bytes() + b"\0" * (1 << 20))
        read_image(big, limits=Limits(image_mb=1))


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


@pytest.mark.parametrize("mode", ["L", "1", "RGB", "RGBA", "LA", "P", "I;16"])
def test_the_files_own_pixels_give_the_same_floats(tmp_path, mode):
    from zooheat.images import read_pixels, unit_interval

    rng = np.random.default_rng(7)
    if mode == "I;16":
        img = Image.fromarray(rng.integers(0, 65536, (5, 7), dtype=np.uint16))
    else:
        noise = Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8))
        img = noise.convert(mode)
    path = save(tmp_path, img)
    raw = read_pixels(path)
    assert raw.dtype == (np.uint16 if mode == "I;16" else np.uint8)
    floats = unit_interval(raw)
    assert floats.dtype == np.float32
    assert np.array_equal(floats, read_image(path))
