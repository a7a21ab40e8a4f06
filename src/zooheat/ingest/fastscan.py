"""The fast route's reader: pyarrow splits a chunk, and each scalar column is checked at once.

:func:`zooheat.panoptes.classify` is the one definition of what the ingest does with a row,
and both routes call it. This module decides which rows may take it the fast way, a chunk of
whole records at a time:

- the chunk is split by pyarrow's CSV reader, which splits well-formed CSV as :mod:`csv` does
  (quotes, doubled quotes, CRLF); a chunk it cannot split, that is not valid UTF-8, whose
  records are not one line each, or that has a bare carriage return goes the exact route;
- each scalar column is matched against its rule in :data:`zooheat.panoptes.COLUMN_RULES`
  as the cell stands (nothing to strip), in one pass over the column; a row with any cell
  that does not match goes the exact route, which names the field and the reason.

A clean row is then classified with ``checked=True`` (its cell checks are done) and orjson as
the JSON parser; any row that raises there goes the exact route too (see
:mod:`zooheat.ingest.scan`). The tests run every export of the test suite both ways and
compare the outputs byte for byte.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from zooheat.panoptes import COLUMN_RULES, READ_COLUMNS, ExportColumns, RowCells

__all__ = ["Columns", "split_chunk"]

# What str.strip() removes (str.isspace), as a character class for pyarrow's RE2 patterns.
_SPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}"
)
# A cell the exact route takes as it stands: its column's rule matched without stripping
# (the rules' patterns hold no white space), and a user name with nothing to strip.
_AS_IT_STANDS = {name: f"^(?:{rule.pattern})$" for name, rule in COLUMN_RULES.items()} | {
    "user_name": rf"(?s)^[^{_SPACE}](.*[^{_SPACE}])?$"
}


_ROW_CELLS = functools.partial(tuple.__new__, RowCells)


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

    def row_cells(self) -> Iterator[RowCells]:
        """Each row's cells, in order (None for a column the export does not have)."""
        columns = [self.cells.get(name) or repeat(None) for name in READ_COLUMNS]
        # tuple.__new__ builds the named tuple in C (RowCells._make is Python): once per row
        return map(_ROW_CELLS, zip(*columns, strict=False))  # repeat() is endless


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
                include_columns=[n for n in names if n in READ_COLUMNS],
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
    for name, pattern in _AS_IT_STANDS.items():
        if name in columns.index:
            ok = pc.match_substring_regex(table[name], pattern)
            clean = ok if clean is None else pc.and_(clean, ok)
    cells = {name: table[name].to_pylist() for name in table.column_names}
    return Columns(rows, [True] * rows if clean is None else clean.to_pylist(), cells)
