"""How large an input may be, so that no job's memory grows without bound.

Every file zooheat reads is opened by :func:`open_input`: it must be a regular file (a pipe,
socket or device is refused at once, before anything blocks on it) of at most so many bytes,
and an image at most so many pixels (checked from its header, before it is decoded). A job's
memory then has a bound set by these numbers (README, *Limits and failures*); the workflow's
config (``limits``) raises them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import IO, Any

from zooheat.errors import ZooheatError

__all__ = ["DEFAULT_LIMITS", "Limits", "open_input"]

_MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """The largest inputs a job accepts.

    Attributes
    ----------
    image_pixels : int
        Pixels of one subject image (rows x cols), read from its header before decoding.
    image_mb : int
        Size of one image file, MiB.
    marks_mb : int
        Size of one mark table, MiB.
    consensus_marks : int
        Marks of one subject and layer the consensus clusters (it compares every pair).
    """

    image_pixels: int = 12_000_000
    image_mb: int = 256
    marks_mb: int = 64
    consensus_marks: int = 5_000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"limits.{field.name}: expected a whole number >= 1, got {value!r}"
                )

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> Limits:
        """Read a config's ``limits`` section (missing keys: the defaults)."""
        known = {field.name for field in fields(cls)}
        given = dict(section or {})
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"limits: unknown keys {unknown}; known: {sorted(known)}")
        return cls(**given)


DEFAULT_LIMITS = Limits()


def open_input(
    path: str | os.PathLike[str],
    what: str,
    *,
    max_mb: int | None = None,
    limit_key: str = "",
    error: type[ZooheatError] = ZooheatError,
) -> IO[bytes]:
    """Open a file zooheat reads, in binary: a regular file, of at most ``max_mb`` MiB.

    The file is opened without blocking and checked before a byte is read: a FIFO given as
    an input would otherwise wait for ever for a writer, and a device never ends.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What it should be, for messages ("a PNG subject image").
    max_mb : int, optional
        The largest size accepted, MiB.
    limit_key : str
        The config key that sets ``max_mb``, named in the message when it is exceeded.
    error : type
        The :class:`ZooheatError` subclass raised.

    Raises
    ------
    ZooheatError
        (or ``error``) The file is missing, unreadable, a folder, not a regular file, or
        larger than ``max_mb``; the message names the file, what was found and expected.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{path}: not found; expected {what}") from None
    except PermissionError:
        raise error(f"{path}: permission denied; expected {what} that can be read") from None
    except OSError as exc:
        raise error(f"{path}: cannot be opened ({exc.strerror}); expected {what}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{path}: is a folder; expected {what}")
        if not stat.S_ISREG(info.st_mode):
            raise error(
                f"{path}: is not a regular file (a pipe, socket or device); expected {what}. "
                "Copy it to a file first."
            )
        if max_mb is not None and info.st_size > max_mb * _MB:
            raise error(
                f"{path}: {info.st_size / _MB:,.1f} MiB, more than the {max_mb:,} MiB allowed "
                f"for {what}" + (f" (config {limit_key})" if limit_key else "")
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
