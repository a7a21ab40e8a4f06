"""Files written sparse read back as the bytes given, whatever runs of zeros they hold."""

import os

import numpy as np
import pytest

from zooheat.fileio import write_if_changed

BLOCK = 4096


def patterns():
    rng = np.random.default_rng(7)
    dense = rng.integers(1, 256, 5 * BLOCK + 17, dtype=np.uint8).tobytes()
    every_other = bytearray(9 * BLOCK + 100)
    for k in range(0, 10, 2):
        every_other[k * BLOCK + 5] = 1
    return {
        "empty": b"",
        "zeros": bytes(3 * BLOCK + 1),
        "short": b"\x01\x02",
        "tail only": bytes(4 * BLOCK) + b"\x09",
        "head only": b"\x09" + bytes(4 * BLOCK),
        "dense": dense,
        "every other block": bytes(every_other),
        "runs": bytes(BLOCK) + dense[: 3 * BLOCK] + bytes(2 * BLOCK) + dense[:10],
    }


@pytest.mark.parametrize("name", list(patterns()))
def test_a_sparse_file_reads_back_as_its_bytes(tmp_path, name):
    data = patterns()[name]
    target = tmp_path / "a.npy"
    target.write_bytes(b"\xff" * (len(data) + BLOCK))  # an older, longer file is replaced
    assert write_if_changed(target, data, sparse=True)
    assert target.read_bytes() == data
    assert not write_if_changed(target, data, sparse=True)  # unchanged: not written again
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]  # no temporary file left


def test_zero_blocks_take_no_disk_space_where_the_filesystem_has_holes(tmp_path):
    data = bytes(64 * BLOCK) + b"\x01"
    target = tmp_path / "zoom.npy"
    write_if_changed(target, data, sparse=True)
    plain = tmp_path / "plain.npy"
    write_if_changed(plain, data)
    assert target.read_bytes() == plain.read_bytes() == data
    if os.stat(plain).st_blocks * 512 < len(data):  # this filesystem stores zeros compactly
        pytest.skip("the filesystem compresses or dedupes: holes cannot be told apart")
    assert os.stat(target).st_blocks * 512 <= 2 * BLOCK
