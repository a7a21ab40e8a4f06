"""Spool files: the classifications a scan worker kept, by subject bucket, and its rejects.

A spooled classification is a plain tuple (marshal is fast on those, and a million of them
pass through here): the fields are named by the ``FIELD_*`` indices below. Each worker
appends to its own files, so no file is shared between processes.
"""

from __future__ import annotations

import marshal
from pathlib import Path
from typing import IO

__all__ = ["BUCKETS", "bucket_of", "bucket_path", "rejects_path", "spool", "unspool"]

#: Subject buckets: the tables phase handles one bucket at a time, so memory is bounded.
BUCKETS = 64
# A spooled classification's fields (a plain tuple on the hot path, not a named record).
(SUBJECT, USER, CREATED, CID, LINE, IMAGE, RETIRED, DIMENSIONS, MARKS, IMAGE_WHY,
 FRAME_IMAGES) = range(11)  # fmt: skip
# A spooled mark: (layer index, its mark table row, x, y, frame).
MARK_LAYER, MARK_ROW, MARK_X, MARK_Y, MARK_FRAME = range(5)


def bucket_of(subject: str) -> int:
    """Return the bucket of a (whole-number) subject id."""
    return int(subject) % BUCKETS


def bucket_path(folder: Path, worker: int, bucket: int) -> Path:
    """Where ``worker`` spools the classifications of subjects in ``bucket``."""
    return folder / f"w{worker}-b{bucket}.bin"


def rejects_path(folder: Path, worker: int) -> Path:
    """Where ``worker`` spools its rejected rows ``(line, classification id, field, reason)``."""
    return folder / f"w{worker}-rejects.bin"


def spool(handle: IO[bytes], records: list[tuple]) -> None:
    """Append a list of plain tuples to a spool file: its length, then its marshal bytes."""
    if records:
        blob = marshal.dumps(records)
        handle.write(len(blob).to_bytes(8, "little") + blob)


def unspool(path: Path) -> list[tuple]:
    """Every record appended to a spool file by :func:`spool`, in order.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "s.bin"
    >>> with open(path, "wb") as f:
    ...     spool(f, [(1, "a")]); spool(f, []); spool(f, [(2, "b")])
    >>> unspool(path)
    [(1, 'a'), (2, 'b')]
    """
    data = memoryview(path.read_bytes())
    records: list[tuple] = []
    at = 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 8], "little")
        records.extend(marshal.loads(data[at + 8 : at + 8 + size]))
        at += 8 + size
    return records
