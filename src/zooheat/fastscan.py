"""The fast route through a chunk of a classification export: compiled CSV and JSON parsers.

:func:`zooheat.panoptes.parse_row` on rows split by :mod:`csv` is the exact definition of what
the ingest does with every row, and it stays the route of every row this module is not sure
about. What is sure here, a chunk of whole records at a time:

- the chunk is split by pyarrow's CSV reader, which splits well-formed CSV as :mod:`csv` does
  (quotes, doubled quotes, CRLF); a chunk it cannot split, that is not valid UTF-8, whose
  records are not one line each, or that has a bare carriage return goes the exact route;
- each scalar column is matched against a strict pattern (ASCII digits, a timestamp, a name
  without surrounding white space) in one pass over the column; a row with any cell that
  does not match goes the exact route, which names the field and the reason;
- the JSON cells of the remaining rows are parsed by orjson, which takes strict JSON only; a
  cell it refuses (bad JSON, and also the ``NaN`` or huge integers that :mod:`json` takes)
  sends its row the exact route, and so does any row the checks after parsing would reject.

A row on the fast route therefore gets exactly the values the exact route would give it:
the same cells, the same parsed JSON, the same checks (the functions of
:mod:`zooheat.panoptes`). The tests run every export of the test suite both ways and compare
the outputs byte for byte.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from zooheat.panoptes import TIMESTAMP_PATTERN, VERSION_PATTERN, ExportColumns

__all__ = ["Columns", "split_chunk"]

# What str.strip() removes (str.isspace), as a character class for pyarrow's RE2 patterns.
_SPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}"
)
# A cell that needs no strip() and passes the exact route's check of its column.
_CLEAN = {
    "classification_id": r"^[0-9]+$",
    "user_name": rf"(?s)^[^{_SPACE}](.*[^{_SPACE}])?$",
    "user_id": r"^[0-9]*$",
    "workflow_id": r"^[0-9]+$",
    "workflow_version": f"^{VERSION_PATTERN}$",
    "created_at": f"^{TIMESTAMP_PATTERN}$",
    "subject_ids": r"^[0-9]+$",
}
# Columns the ingest reads from a row (the others are split but not looked at).
_WANTED = (
    "classification_id",
    "user_name",
    "user_id",
    "workflow_id",
    "workflow_version",
    "created_at",
    "gold_standard",
    "metadata",
    "annotations",
    "subject_data",
    "subject_ids",
)


@dataclass(frozen=True)
class Columns:
    """One chunk split into columns.

    Attributes
    ----------
    rows : int
        Records in the chunk; record ``i`` is line ``i`` of the chunk.
    clean : list of bool
        Whether every scalar cell of the row passed its column's strict pattern.
    cells : dict
        Column name to its cells (str), for the columns the ingest reads that the export has.
    """

    rows: int
    clean: list[bool]
    cells: dict[str, list[str]]


def split_chunk(data: bytes, columns: ExportColumns) -> Columns | None:
    r"""Split a chunk of whole records into columns, or None when it must go the exact route.

    Parameters
    ----------
    data : bytes
        Records of the export (no header), ending with a line end.
    columns : ExportColumns
        The export's header.

    Examples
    --------
    >>> from zooheat.panoptes import export_columns
    >>> cols = export_columns(["user_name", "workflow_id", "workflow_version", "created_at",
    ...                        "annotations", "subject_data"], "export.csv")
    >>> chunk = split_chunk(b'ann,7,1.2,2020-01-01 10:00:00 UTC,[],"{""1"":{}}"\n'
    ...                     b' bob,x,1.2,2020-01-01 10:00:00 UTC,[],{}\n', cols)
    >>> chunk.rows, chunk.clean, chunk.cells["subject_data"]
    (2, [True, False], ['{"1":{}}', '{}'])
    >>> split_chunk(b'a,"b\nc",d\n', cols) is None  # a record over two lines
    True
    """
    if not data.endswith(b"\n"):
        return None
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None  # the exact route rejects the rows that are not UTF-8
    names = list(columns.names)
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=len(data) + 1
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=[n for n in names if n in _WANTED],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # wrong field counts, invalid UTF-8, ...: the exact route says which row
    rows = table.num_rows
    if rows != data.count(b"\n"):
        return None  # a quoted cell holds a line end: line numbers need the exact route
    clean = None
    for name, pattern in _CLEAN.items():
        if name in columns.index:
            ok = pc.match_substring_regex(table[name], pattern)
            clean = ok if clean is None else pc.and_(clean, ok)
    cells = {name: table[name].to_pylist() for name in table.column_names}
    return Columns(rows, [True] * rows if clean is None else clean.to_pylist(), cells)


def lines_of(data: bytes, which: Sequence[int]) -> list[tuple[int, str]]:
    r"""Return some lines of a chunk as ``(index, text with its line end)``.

    Examples
    --------
    >>> lines_of(b"a\nb\r\nc\n", [1, 2])
    [(1, 'b\r\n'), (2, 'c\n')]
    """
    lines = data.split(b"\n")
    return [(i, lines[i].decode("utf-8", errors="surrogateescape") + "\n") for i in which]
