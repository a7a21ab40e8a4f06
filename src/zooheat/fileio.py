"""Small file helpers: atomic replacement so a killed run never leaves a half-written output."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from typing import IO


def _temporary_beside(target: str) -> tuple[int, str]:
    """Create and open a new hidden file beside ``target``; return its descriptor and path.

    Its name is fixed per process (``.NAME.PID.tmp``): a file system places many such names
    in a folder far faster than random ones. The mode is what a plain ``open()`` gives (0666
    less the umask). If the name is taken (left by a killed process with the same id), a
    random name is used instead. Missing parent folders are created.
    """
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileNotFoundError:  # the folder is new (checked only then: one call fewer)
            os.makedirs(folder or os.curdir, exist_ok=True)
            return os.open(tmp, flags, 0o666), tmp
    except FileExistsError:
        fd, tmp = tempfile.mkstemp(dir=folder or os.curdir, prefix=f".{name}.", suffix=".tmp")
        current = os.umask(0)  # mkstemp makes 0600; give the mode open() would
        os.umask(current)
        os.fchmod(fd, 0o666 & ~current)
        return fd, tmp


@contextlib.contextmanager
def _replacing(target: str, *, durable: bool) -> Iterator[int]:
    """Yield the descriptor of a new temporary file that replaces ``target`` on success.

    The descriptor is closed here. Whatever fails, the temporary file is removed, and an
    error that names no file (a full disk on ``write``) or only the temporary file names
    ``target``.
    """
    try:
        fd, tmp = _temporary_beside(target)
    except OSError as exc:
        if exc.filename is None or os.fspath(exc.filename).endswith(".tmp"):
            raise OSError(exc.errno, exc.strerror, target) from exc
        raise
    try:
        try:
            yield fd
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename in (None, tmp):
            raise OSError(exc.errno, exc.strerror, target) from exc
        raise


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
    kwargs = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
    with (
        _replacing(os.fspath(path), durable=durable) as fd,
        os.fdopen(fd, mode, closefd=False, **kwargs) as handle,
    ):
        yield handle
        handle.flush()


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset`` (a write may take only part of it)."""
    while data:
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


@contextlib.contextmanager
def errors_name(path: str | os.PathLike[str]) -> Iterator[None]:
    """Give an operating system error raised inside the block without a file name ``path``.

    A ``write`` that finds the disk full names no file; the user needs to know where.
    """
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
        raise


def check_writable(root: str | os.PathLike[str], depth: int = 2) -> None:
    """Raise the error a write would meet if ``root`` or a folder below it cannot be written.

    Folders down to ``depth`` levels are checked (a workflow's ``results/STEP/LAYER``); a
    missing ``root`` is fine (it will be made). Checked as a run starts, so that a read-only
    results folder is one clear line then, not a failure in every job.

    Raises
    ------
    OSError
        ``EROFS`` (read-only file system) or ``EACCES``, naming the folder.
    """
    folders = [os.fspath(root)]
    for level in range(depth + 1):
        below = []
        for folder in folders:
            if not os.path.isdir(folder):
                continue
            if not os.access(folder, os.W_OK | os.X_OK):
                read_only = os.statvfs(folder).f_flag & os.ST_RDONLY
                code = errno.EROFS if read_only else errno.EACCES
                raise OSError(code, os.strerror(code), folder)
            if level < depth:
                with os.scandir(folder) as entries:
                    below += sorted(e.path for e in entries if e.is_dir(follow_symlinks=False))
        folders = below


_BLOCK = 4096


def _nonzero_runs(data: bytes) -> list[tuple[int, int]]:
    """Return the (start, stop) byte ranges of runs of ``_BLOCK``-sized blocks not all zero.

    Examples
    --------
    >>> _nonzero_runs(bytes(_BLOCK) + b"x" + bytes(2 * _BLOCK) + b"y")
    [(4096, 8192), (12288, 12290)]
    """
    import numpy as np

    blocks = -(-len(data) // _BLOCK)
    padded = np.zeros(blocks * _BLOCK, dtype=np.uint8)
    padded[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    used = np.concatenate([[False], padded.reshape(blocks, _BLOCK).any(axis=1), [False]])
    edges = np.flatnonzero(used[1:] != used[:-1]) * _BLOCK  # where runs start and stop
    return [(int(a), min(int(b), len(data))) for a, b in zip(edges[::2], edges[1::2], strict=True)]


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
    target = os.fspath(path)
    with contextlib.suppress(FileNotFoundError):
        if os.stat(target).st_size == len(data):
            with open(target, "rb") as handle:
                if handle.read() == data:
                    return False
    # The descriptor itself, not a file object: for many small files their making costs
    # as much as the writing.
    view = memoryview(data)
    with _replacing(target, durable=False) as fd:
        if not sparse:
            _write_at(fd, view, 0)
            return True
        for start, stop in _nonzero_runs(data):
            _write_at(fd, view[start:stop], start)
        os.ftruncate(fd, len(data))
    return True
