"""Small file helpers: atomic replacement so a killed run never leaves a half-written output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _umask() -> int:
    # mkstemp creates files 0600; give outputs the permissions a plain open() would.
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", *, durable: bool = True
) -> Iterator[IO]:
    r"""Open a temporary file beside ``path`` and move it over ``path`` only on success.

    A crash or kill while writing leaves at most a hidden ``.tmp`` file, never a truncated
    output that a later run could take for finished. Parent folders are created.

    Parameters
    ----------
    path : path-like
        The final file.
    mode : {"wb", "w"}
        Binary or text (UTF-8, ``\n`` line ends) mode.
    durable : bool
        Flush the data to disk before the rename, so that it survives a power cut too (a
        killed process never leaves a partial file either way). Off for many small files
        that can be rebuilt, where it costs milliseconds each.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "sub" / "a.txt"
    >>> with atomic_write(target, "w") as f:
    ...     _ = f.write("done\n")
    >>> target.read_text()
    'done\n'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        kwargs = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_BLOCK = 4096


def write_if_changed(path: str | os.PathLike[str], data: bytes, *, sparse: bool = False) -> bool:
    """Replace ``path`` atomically with ``data`` unless it already holds exactly that.

    An unchanged file keeps its modification time, so a workflow sees nothing new.
    With ``sparse``, blocks of zero bytes are skipped rather than written: on filesystems with
    holes (ext4, xfs, btrfs, ...) they take no disk space and still read back as zeros. Heat
    maps are mostly zero. Returns whether the file was written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_if_changed(target, b"x"), write_if_changed(target, b"x")
    (True, False)
    """
    target = Path(path)
    with contextlib.suppress(FileNotFoundError):
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
    with atomic_write(target, durable=False) as handle:
        if not sparse:
            handle.write(data)
            return True
        view = memoryview(data)
        for start in range(0, len(data), _BLOCK):
            block = view[start : start + _BLOCK]
            if block.tobytes().count(0) != len(block):
                handle.seek(start)
                handle.write(block)
        handle.truncate(len(data))
    return True
