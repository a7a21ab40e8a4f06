"""``.npy`` files of the per-subject arrays: the same bytes for the same array, sparse on disk."""

from __future__ import annotations

import io
import os

import numpy as np

from zooheat.errors import ZooheatError
from zooheat.fileio import write_if_changed

__all__ = ["array_bytes", "load_array", "save_array"]

PathLike = str | os.PathLike[str]


def array_bytes(array: np.ndarray) -> bytes:
    r"""Encode an array as a ``.npy`` file (the same bytes for the same array).

    Examples
    --------
    >>> array_bytes(np.zeros(2, np.uint8))[:6]
    b'\x93NUMPY'
    """
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
    return out.getvalue()


def save_array(array: np.ndarray, path: PathLike) -> None:
    """Save an array as ``.npy``: atomic, sparse, untouched when the bytes are the same."""
    write_if_changed(path, array_bytes(array), sparse=True)


def load_array(path: PathLike) -> np.ndarray:
    """Load a ``.npy`` written by :func:`save_array`, with a clear error if it is not one.

    Raises
    ------
    ZooheatError
        The file is missing or is not a ``.npy`` array (object arrays are refused).
    """
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ZooheatError(f"{path}: array file not found") from None
    except (ValueError, OSError, EOFError) as exc:
        raise ZooheatError(f"{path}: not a readable .npy array ({exc})") from None
