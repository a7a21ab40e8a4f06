"""Cut an export into chunks of whole records, and split a chunk's text into records."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import IO

__all__ = ["CHUNK_BYTES", "csv_records", "lines_of", "record_chunks"]

#: Bytes read at a time; a chunk is this much, cut back to the last whole record.
CHUNK_BYTES = 1 << 20


def record_chunks(handle: IO[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    r"""Cut a CSV byte stream into chunks that end at record ends.

    A newline ends a record when the quotes before it are balanced (a quoted field may hold
    newlines). The last chunk may end without a newline.

    Examples
    --------
    >>> list(record_chunks(io.BytesIO(b'a,"x\ny"\nb\nc'), size=4))
    [b'a,"x\ny"\n', b'b\n', b'c']
    """
    pending = b""
    while True:
        data = handle.read(size)
        if not data:
            if pending:
                yield pending
            return
        buf = pending + data
        cut = buf.rfind(b"\n")
        parity = buf.count(b'"', 0, cut + 1) % 2 if cut >= 0 else 1
        while cut >= 0 and parity:
            previous = buf.rfind(b"\n", 0, cut)
            parity ^= buf.count(b'"', previous + 1, cut + 1) % 2
            cut = previous
        if cut < 0:
            pending = buf
            continue
        yield buf[: cut + 1]
        pending = buf[cut + 1 :]


def csv_records(text: str, first_line: int) -> Iterator[tuple[int, list[str] | None, str | None]]:
    r"""Yield ``(line, fields, error)`` for each record of a chunk's text.

    ``line`` is the export line the record starts on; ``error`` says why a record is not
    valid CSV (then ``fields`` is None).

    Examples
    --------
    >>> list(csv_records('a,b\n"c\nd",e\n', 2))
    [(2, ['a', 'b'], None), (3, ['c\nd', 'e'], None)]
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    consumed = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield first_line + consumed, None, f"not valid CSV ({exc})"
            consumed = reader.line_num
            continue
        yield first_line + consumed, fields, None
        consumed = reader.line_num


def lines_of(data: bytes, which: Sequence[int]) -> list[tuple[int, str]]:
    r"""Return some lines of a chunk as ``(index, text with its line end)``.

    Examples
    --------
    >>> lines_of(b"a\nb\r\nc\n", [1, 2])
    [(1, 'b\r\n'), (2, 'c\n')]
    """
    lines = data.split(b"\n")
    return [(i, lines[i].decode("utf-8", errors="surrogateescape") + "\n") for i in which]
