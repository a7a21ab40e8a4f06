"""The per-subject mark table: one row per volunteer's mark on one subject image.

Two layouts are read:

- the seed's headerless ``x,y,r`` (or ``x,y``) rows, as in the original MoEDAL script;
- a headered CSV with at least ``x`` and ``y`` columns; ``r`` is optional, and every other
  column (``user``, ``classification_id``, ...) is kept as text.

Coordinates are in the subject image's own pixels: x is the column, y the row, origin at the
top-left corner, so a mark at ``(0, 0)`` is the image's top-left corner and one at
``(cols, rows)`` its bottom-right corner. ``r`` is the circle tool's radius in the same pixels;
empty where the tool had none.

Rules of the format (every violation is a :class:`~zooheat.errors.MarksError` naming the file,
the line, the field and what was expected; nothing is dropped silently):

- UTF-8, with or without a byte-order mark; blank lines are not rows and are skipped.
- An empty file, or a header with no rows, is a valid table of zero marks.
- ``x`` and ``y`` must be finite numbers; ``r``, when not empty, a finite number >= 0.
  One of ``x``, ``y`` may be empty (not both): the mark is a line across the whole image, at
  that ``x`` (a column, a full-height line) or that ``y`` (a full-width line).
- Every row has as many fields as the header (headerless: 2 or 3, the same on every row).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zooheat.errors import MarksError, excerpt, names_excerpt
from zooheat.fileio import atomic_write
from zooheat.limits import DEFAULT_LIMITS, Limits, open_input

__all__ = ["Marks", "parse_marks", "read_marks", "write_marks"]

COORDINATE_COLUMNS = ("x", "y", "r")


@dataclass(frozen=True)
class Marks:
    """Marks on one subject image, as parallel columns.

    Attributes
    ----------
    x, y : numpy.ndarray
        float64 centres in image pixels: x = column, y = row, origin top-left; NaN in one
        of them for a line across the image at the other.
    r : numpy.ndarray
        float64 radius in image pixels, NaN where the mark has none.
    extra : dict of str to tuple of str
        Any other columns of a headered table, in file order, as text.
    source : str
        Where the marks came from, for messages.
    """

    x: np.ndarray
    y: np.ndarray
    r: np.ndarray
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = "<marks>"

    def __post_init__(self) -> None:
        n = len(self.x)
        lengths = {len(self.y), len(self.r), *(len(v) for v in self.extra.values())}
        if lengths - {n}:
            raise ValueError(f"{self.source}: mark columns differ in length")

    def __len__(self) -> int:
        return len(self.x)

    def to_arrow(self) -> Any:
        """Return the table as a :class:`pyarrow.Table`, with typed columns.

        The extra columns first, then ``x``, ``y``, ``r`` (float64, null where the mark
        has none). Columns the ingest writes get their types (ids and tool indices
        int64, shape fields float64); other columns, and any whose cells do not all convert,
        stay text. Empty cells are null.
        """
        import pyarrow as pa

        columns = {name: _typed(name, values) for name, values in self.extra.items()}
        columns["x"] = pa.array(self.x, pa.float64(), from_pandas=True)
        columns["y"] = pa.array(self.y, pa.float64(), from_pandas=True)
        columns["r"] = pa.array(self.r, pa.float64(), from_pandas=True)  # NaN -> null
        return pa.table(columns)

    def to_frame(self) -> Any:
        """Return the table as a :class:`pandas.DataFrame` (the columns of :meth:`to_arrow`).

        Examples
        --------
        >>> frame = parse_marks(["user,tool,x,y,r", "ada,0,1.5,2,"]).to_frame()
        >>> frame.dtypes.astype(str).to_dict()
        {'user': 'str', 'tool': 'int64', 'x': 'float64', 'y': 'float64', 'r': 'float64'}
        >>> bool(frame["r"].isna()[0])
        True
        """
        return self.to_arrow().to_pandas()


#: Types of the columns the ingest writes (zooheat.panoptes.MARK_COLUMNS) besides x, y, r.
COLUMN_TYPES = {
    "classification_id": "int64",
    "user_id": "int64",
    "workflow_id": "int64",
    "tool": "int64",
    "frame": "int64",
    "rx": "float64",
    "ry": "float64",
    "angle": "float64",
    "width": "float64",
    "height": "float64",
    "x1": "float64",
    "y1": "float64",
    "x2": "float64",
    "y2": "float64",
    "spread": "float64",
}


def _typed(name: str, values: Sequence[str]) -> Any:
    """One text column as a pyarrow array of its known type (text if any cell will not do)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array([v if v != "" else None for v in values], pa.string())
    kind = COLUMN_TYPES.get(name)
    if kind is None:
        return text
    try:
        return pc.cast(text, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return text


def _number(text: str, *, source: str, line: int, row: int, name: str) -> float:
    where = f"{source}, line {line} (data row {row}), field '{name}'"
    try:
        value = float(text)
    except ValueError:
        raise MarksError(f"{where}: expected a number, found {excerpt(text)}") from None
    if not math.isfinite(value):
        raise MarksError(f"{where}: expected a finite number, found {excerpt(text)}")
    return value


def _checked(
    x_text: str, y_text: str, r_text: str, *, source: str, line: int, row: int
) -> tuple[float, float, float]:
    """Return a row's x, y, r, or raise the error that names what is wrong with them."""
    where = {"source": source, "line": line, "row": row}
    if not x_text and not y_text:
        raise MarksError(
            f"{source}, line {line} (data row {row}), fields 'x', 'y': both empty; "
            "expected a centre (x and y), or one of them for a line across the image"
        )
    x = _number(x_text, name="x", **where) if x_text else math.nan
    y = _number(y_text, name="y", **where) if y_text else math.nan
    if not r_text:
        return x, y, math.nan
    radius = _number(r_text, name="r", **where)
    if radius < 0:
        raise MarksError(
            f"{source}, line {line} (data row {row}), field 'r': expected a radius >= 0, "
            f"found {excerpt(r_text)}"
        )
    return x, y, radius


def _is_number_row(fields: list[str]) -> bool:
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return True


def parse_marks(lines: Iterable[str], source: str = "<marks>") -> Marks:
    """Parse a mark table from lines of CSV text.

    Parameters
    ----------
    lines : iterable of str
        The file's lines (a text file object works).
    source : str
        The file name, used in error messages.

    Returns
    -------
    Marks

    Raises
    ------
    MarksError
        Names the line, the field, what was found and what was expected.

    Examples
    --------
    >>> m = parse_marks(["194.2,329.4,23.3", "199.5,177.9,0"])
    >>> m.x.tolist(), m.y.tolist(), m.r.tolist()
    ([194.2, 199.5], [329.4, 177.9], [23.3, 0.0])
    >>> m = parse_marks(["user,x,y", "ada,10,20"])
    >>> m.extra["user"], bool(np.isnan(m.r[0]))
    (('ada',), True)
    """
    reader = csv.reader(lines)
    header: list[str] | None = None
    width = 0
    xs: list[float] = []
    ys: list[float] = []
    rs: list[float] = []
    extra_rows: list[list[str]] = []
    columns: dict[str, int] = {}
    extra_names: list[str] = []
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if header is None and not columns:
                fields = [f.strip() for f in fields]
                if fields and fields[0].startswith("\ufeff"):
                    fields[0] = fields[0][1:]
                if _is_number_row(fields):
                    if len(fields) not in (2, 3):
                        raise MarksError(
                            f"{source}, line {line}: a headerless mark table has 2 or 3 "
                            f"fields per row (x,y or x,y,r), found {len(fields)}"
                        )
                    header = list(COORDINATE_COLUMNS[: len(fields)])
                    columns = {name: i for i, name in enumerate(header)}
                    width = len(header)
                else:
                    header = fields
                    dupes = sorted({n for n in header if header.count(n) > 1})
                    if dupes:
                        raise MarksError(
                            f"{source}, line {line}: duplicate columns {names_excerpt(dupes)}"
                        )
                    missing = [n for n in ("x", "y") if n not in header]
                    if missing:
                        raise MarksError(
                            f"{source}, line {line}: the header must name columns 'x' and 'y' "
                            f"(missing {missing} among its {len(header)} columns). A headerless "
                            "table holds numbers only: x,y or x,y,r"
                        )
                    columns = {name: i for i, name in enumerate(header)}
                    extra_names = [n for n in header if n not in COORDINATE_COLUMNS]
                    width = len(header)
                    continue
            row = len(xs) + 1
            if len(fields) != width:
                raise MarksError(
                    f"{source}, line {line} (data row {row}): expected {width} fields "
                    f"({names_excerpt(header or [])}), found {len(fields)}"
                )
            x_text, y_text = fields[columns["x"]].strip(), fields[columns["y"]].strip()
            r_text = fields[columns["r"]].strip() if "r" in columns else ""
            try:  # the common case at once; anything odd is looked at field by field below
                x = float(x_text) if x_text else math.nan
                y = float(y_text) if y_text else math.nan
                r = float(r_text) if r_text else math.nan
                fine = (
                    (x - x == 0 or not x_text)
                    and (y - y == 0 or not y_text)
                    and (x_text or y_text)
                    and (not r_text or (r - r == 0 and r >= 0))
                )
            except ValueError:
                fine = False
            if not fine:
                x, y, r = _checked(x_text, y_text, r_text, source=source, line=line, row=row)
            xs.append(x)
            ys.append(y)
            rs.append(r)
            extra_rows.append([fields[columns[n]] for n in extra_names])
    except csv.Error as exc:
        raise MarksError(f"{source}, line {reader.line_num}: not valid CSV ({exc})") from None
    extra = {n: tuple(r[i] for r in extra_rows) for i, n in enumerate(extra_names)}
    return Marks(
        x=np.array(xs, dtype=np.float64),
        y=np.array(ys, dtype=np.float64),
        r=np.array(rs, dtype=np.float64),
        extra=extra,
        source=source,
    )


def read_marks(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> Marks:
    """Read a mark table from a CSV file; see the module's notes for the format.

    Raises
    ------
    MarksError
        The file is missing, not a regular file, larger than ``limits.marks_mb``, not UTF-8
        text, or a row breaks the format.
    """
    what = "a CSV mark table (x,y[,r])"
    with open_input(
        path, what, max_mb=limits.marks_mb, limit_key="limits.marks_mb", error=MarksError
    ) as raw:
        try:
            with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
                return parse_marks(handle, source=str(path))
        except UnicodeDecodeError as exc:
            raise MarksError(
                f"{path}: not UTF-8 text (byte {exc.start}); expected {what}"
            ) from None


def format_marks(marks: Marks) -> str:
    """Return a mark table as headered CSV text: the extra columns, then ``x,y,r``.

    Coordinates are written with ``repr`` precision so that reading them back gives the same
    floats; a missing radius is an empty field.

    Examples
    --------
    >>> text = format_marks(parse_marks(["user,x,y,r", "ada,1.5,2,"]))
    >>> text.splitlines()
    ['user,x,y,r', 'ada,1.5,2.0,']
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*marks.extra, *COORDINATE_COLUMNS])
    columns = list(marks.extra.values())
    for i in range(len(marks)):
        r = marks.r[i]
        writer.writerow(
            [
                *(c[i] for c in columns),
                *("" if math.isnan(v) else repr(float(v)) for v in (marks.x[i], marks.y[i], r)),
            ]
        )
    return out.getvalue()


def write_marks(marks: Marks, path: str | os.PathLike[str]) -> None:
    """Write a mark table as headered CSV, replacing ``path`` atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(format_marks(marks))
