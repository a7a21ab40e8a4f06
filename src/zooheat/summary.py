"""Whole-project tables: a row per subject and layer (``summary.csv``), and every mark.

``summary.csv`` holds, per subject and layer, how many volunteers classified it and the
numbers each step of the chain reports (:func:`zooheat.pipeline.fact_names`): marks, marks
binned and outside the image, the largest count in a bin, consensus objects, their mean
agreement, stray marks and how contested the subject is. One job per subject: the numbers are
measured from the steps' files; with batches: read from the batches' manifests, where each
batch wrote the same numbers.

``marks.parquet`` holds every mark of every subject and layer, one row each, with its
consensus object: a tidy table for pandas, R (arrow) or DuckDB.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from zooheat.batch import MANIFEST_COLUMNS
from zooheat.consensus import read_consensus
from zooheat.errors import ZooheatError, excerpt
from zooheat.fileio import atomic_write, write_if_changed
from zooheat.limits import DEFAULT_LIMITS, Limits
from zooheat.marks import COLUMN_TYPES, COORDINATE_COLUMNS, parse_marks, read_marks
from zooheat.panoptes import unit_subject
from zooheat.pipeline import (
    RESULTS,
    STEPS,
    SubjectData,
    fact_names,
    steps_without_image,
    subject_facts,
)

__all__ = [
    "SUMMARY_COLUMNS",
    "WARNING_COLUMNS",
    "MarkBlock",
    "SubjectLayer",
    "mark_block",
    "merge_marks_parts",
    "missing_images_text",
    "run_warnings",
    "summary_columns",
    "summary_from_files",
    "summary_from_manifests",
    "summary_text",
    "warnings_digest",
    "warnings_text",
    "write_marks_part",
    "write_marks_table",
    "write_summary",
    "write_warnings",
]

PathLike = str | os.PathLike[str]
#: Rows of marks.parquet written at a time: memory stays bounded whatever the project's size.
ROW_GROUP = 65536


def summary_columns() -> tuple[str, ...]:
    """Return the summary's columns: subject, layer, classifications, every step's facts."""
    return ("subject", "layer", "classifications", *fact_names())


SUMMARY_COLUMNS = summary_columns()


class SubjectLayer(NamedTuple):
    """One subject's heat map of one layer: what the whole-project tables read of it."""

    subject: str
    layer: str
    marks: str
    #: volunteers who classified the subject (None: unknown)
    classifications: int | None = None
    #: the subject's image (None: it has none; facts that need its size are left empty)
    image: str | None = None


def _natural(subject: str) -> tuple[int, int | str, int]:
    # Panoptes subject ids are numbers: 9999 before 10000; a subject's frames follow it.
    number, frame = unit_subject(subject)
    return (0, int(number), frame) if number.isdigit() else (1, subject, 0)


def summary_from_files(
    entries: Iterable[SubjectLayer], settings: Mapping[str, Mapping[str, Any]], *,
    results: PathLike = RESULTS, limits: Limits = DEFAULT_LIMITS,
) -> list[dict[str, Any]]:  # fmt: skip
    """Measure every step's facts of each subject and layer from the steps' files.

    A subject without an image (``entry.image`` None) has the facts of the steps that need
    none (:func:`zooheat.pipeline.steps_without_image`) and its marks; the heat map's are
    empty.
    """
    rows = []
    imageless = steps_without_image(settings)
    for entry in entries:
        files = {
            name: step.paths(entry.layer, entry.subject, results=results)[0]
            for name, step in STEPS.items()
            if step.measure is not None and (entry.image is not None or name in imageless)
        }
        data = SubjectData(
            entry.subject,
            entry.layer,
            image=entry.image,
            marks=entry.marks,
            classifications=entry.classifications,
            settings=settings,
            files=files,
            limits=limits,
        )
        row: dict[str, Any] = {
            "subject": entry.subject,
            "layer": entry.layer,
            "classifications": entry.classifications,
        }
        rows.append(row | subject_facts(data, list(files)))
    return rows


def summary_from_manifests(manifests: Iterable[tuple[str, PathLike]]) -> list[dict[str, Any]]:
    """Read the facts that batches wrote to their manifests, ``(layer, manifest)`` each.

    Raises
    ------
    ZooheatError
        A manifest is missing or its columns are not this zooheat's.
    """
    rows = []
    expected = list(MANIFEST_COLUMNS)
    for layer, path in manifests:
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle, delimiter="\t")
                if reader.fieldnames != expected:
                    raise ZooheatError(
                        f"{path}: a batch manifest with columns {reader.fieldnames}, expected "
                        f"{expected} (made by another zooheat? run the batch again)"
                    )
                for row in reader:
                    del row["key"]  # what the subject was made from: not a fact
                    rows.append({"layer": layer, **row})
        except FileNotFoundError:
            raise ZooheatError(f"{path}: batch manifest not found") from None
    return rows


def _cell(value: Any) -> str:
    return "" if value is None or value == "" else str(value)


def summary_text(rows: Iterable[Mapping[str, Any]]) -> str:
    """Return ``summary.csv``: one row per subject and layer, by subject then layer."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for row in sorted(rows, key=lambda r: (_natural(str(r["subject"])), r["layer"])):
        writer.writerow([_cell(row.get(column)) for column in SUMMARY_COLUMNS])
    return out.getvalue()


class MarkBlock(NamedTuple):
    """One subject and layer's rows of ``marks.parquet``, before the columns are unified."""

    subject: str
    layer: str
    #: the mark table's own columns besides x, y, r, in its order
    columns: tuple[str, ...]
    #: subject, layer, mark, object, duplicate, then ``columns`` (typed), then x, y, r
    table: Any


def _leading_fields() -> list[Any]:
    import pyarrow as pa

    return [
        pa.field("subject", pa.string()),
        pa.field("layer", pa.string()),
        pa.field("mark", pa.int32()),
        pa.field("object", pa.int32()),
        pa.field("duplicate", pa.bool_()),
    ]


def _field(name: str) -> Any:
    """Return a mark-table column's field: coordinates float64, the ingest's typed, else text."""
    import pyarrow as pa

    kind = "float64" if name in COORDINATE_COLUMNS else COLUMN_TYPES.get(name, "string")
    return pa.field(name, pa.type_for_alias(kind))


def mark_block(entry: SubjectLayer, *, results: PathLike = RESULTS, limits: Limits) -> MarkBlock:
    """Read one subject and layer's marks and consensus into its block of ``marks.parquet``.

    Raises
    ------
    ZooheatError
        A table is missing or unreadable, or a column the ingest types holds text.
    """
    import pyarrow as pa

    marks = read_marks(entry.marks, limits=limits)
    (consensus_path,) = STEPS["consensus"].paths(entry.layer, entry.subject, results=results)
    consensus = read_consensus(consensus_path, n_marks=len(marks))
    n = len(marks)
    typed = marks.to_arrow()
    arrays = [
        pa.array([entry.subject] * n, pa.string()),
        pa.array([entry.layer] * n, pa.string()),
        pa.array(range(1, n + 1), pa.int32()),
        pa.array([int(k) if k else None for k in consensus.labels.tolist()], pa.int32()),
        pa.array(consensus.duplicate.tolist(), pa.bool_()),
    ]
    fields = _leading_fields()
    for name in [*marks.extra, *COORDINATE_COLUMNS]:
        field = _field(name)
        column = typed[name]
        if column.type != field.type:
            bad = next((v for v in column.to_pylist() if v is not None), "")
            raise ZooheatError(
                f"{entry.marks}, column '{name}': expected {field.type}, found text such as "
                f"{excerpt(bad)}"
            )
        arrays.append(column)
        fields.append(field)
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    return MarkBlock(entry.subject, entry.layer, tuple(marks.extra), table)


def _block_order(subject: str, layer: str) -> tuple[Any, ...]:
    return (_natural(subject), layer)


def _in_table_order(entries: Iterable[SubjectLayer]) -> list[SubjectLayer]:
    """Return the entries in the order of ``marks.parquet``'s rows: subject, then layer."""
    return sorted(entries, key=lambda e: _block_order(e.subject, e.layer))


def _schema(extra: Sequence[str]) -> Any:
    """Return the schema of ``marks.parquet`` whose mark-table columns are ``extra``."""
    import pyarrow as pa

    columns = (*extra, *COORDINATE_COLUMNS)
    return pa.schema([*_leading_fields(), *(_field(name) for name in columns)])


def _fitted(table: Any, schema: Any) -> Any:
    """Return ``table`` with the columns of ``schema``: nulls where it has none."""
    import pyarrow as pa

    n, there = table.num_rows, set(table.column_names)
    return pa.Table.from_arrays(
        [table[f.name] if f.name in there else pa.nulls(n, f.type) for f in schema],
        schema=schema,
    )


_Item = TypeVar("_Item")


def _row_groups(items: Iterable[_Item], rows: Callable[[_Item], int]) -> Iterator[list[_Item]]:
    """Group blocks, in order, into the Parquet writer's calls.

    Each call has at least ROW_GROUP rows (the writer splits them into row groups of
    ROW_GROUP), but the last, which has what is left.
    """
    pending: list[_Item] = []
    count = 0
    for item in items:
        pending.append(item)
        count += rows(item)
        if count >= ROW_GROUP:
            yield pending
            pending, count = [], 0
    if pending:
        yield pending


def _write_groups(tables: Iterable[Any], schema: Any, out: PathLike) -> int:
    """Write each table as one call of the Parquet writer; return the rows.

    Each is written as one chunk, so the file's bytes depend on the rows alone, not on how
    they were put together (from every mark table, or from batches' parts).
    """
    import pyarrow.parquet as pq

    written, calls = 0, 0
    with atomic_write(out) as handle:
        writer = pq.ParquetWriter(handle, schema, compression="zstd", write_statistics=True)
        for table in tables:
            writer.write_table(table.combine_chunks(), row_group_size=ROW_GROUP)
            written += table.num_rows
            calls += 1
        if not calls:
            writer.write_table(schema.empty_table())
        writer.close()
    return written


def _write_blocks(blocks: Iterable[MarkBlock], extra: Sequence[str], out: PathLike) -> int:
    """Write blocks (in the table's order) with the columns ``extra``; return the rows."""
    import pyarrow as pa

    schema = _schema(extra)
    fitted = (_fitted(block.table, schema) for block in blocks)
    groups = _row_groups(fitted, lambda table: table.num_rows)
    return _write_groups((pa.concat_tables(group) for group in groups), schema, out)


def _union(column_lists: Iterable[Sequence[str]]) -> list[str]:
    extra: list[str] = []
    for columns in column_lists:
        extra += [name for name in columns if name not in extra]
    return extra


def write_marks_table(
    entries: Sequence[SubjectLayer],
    out: PathLike,
    *,
    results: PathLike = RESULTS,
    limits: Limits = DEFAULT_LIMITS,
) -> int:
    """Write every mark of every subject and layer to one Parquet file; return the row count.

    Columns: ``subject``, ``layer``, ``mark`` (its row in the subject's mark table, from 1),
    ``object`` (its consensus object, null for a stray), ``duplicate`` (a volunteer's further
    mark on an object), then the mark tables' columns (the union of them, in the order first
    seen; typed as :meth:`zooheat.marks.Marks.to_arrow` types them), then ``x, y, r``. Rows
    are in subject, layer, mark order, written a row group at a time.

    Raises
    ------
    ZooheatError
        A mark or consensus table is missing or unreadable, or a column the ingest types
        (``tool``, ``frame``, ids, shape fields) holds text in some table.
    """
    ordered = _in_table_order(entries)
    extra = _union(_header_columns(entry.marks) for entry in ordered)
    blocks = (mark_block(entry, results=results, limits=limits) for entry in ordered)
    return _write_blocks(blocks, extra, out)


def _header_columns(path: str) -> tuple[str, ...]:
    """Return the columns a mark table has besides x, y, r, from its first line alone."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except FileNotFoundError:
        raise ZooheatError(f"{path}: mark table not found") from None
    return tuple(parse_marks([first], source=path).extra) if first.strip() else ()


#: Key of a batch's part of ``marks.parquet`` that lists its blocks.
_BLOCKS_KEY = b"zooheat.blocks"


def write_marks_part(
    entries: Sequence[SubjectLayer],
    out: PathLike,
    *,
    results: PathLike = RESULTS,
    limits: Limits = DEFAULT_LIMITS,
) -> int:
    """Write a batch's part of ``marks.parquet``: its subjects' blocks, and which they are.

    :func:`merge_marks_parts` makes ``marks.parquet`` of the parts, byte for byte the file
    :func:`write_marks_table` makes of every table, without reading a subject's tables
    again. Returns the rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    ordered = _in_table_order(entries)
    blocks = [mark_block(entry, results=results, limits=limits) for entry in ordered]
    listed = [[b.subject, b.layer, b.table.num_rows, list(b.columns)] for b in blocks]
    schema = _schema(_union(block.columns for block in blocks)).with_metadata(
        {_BLOCKS_KEY: json.dumps(listed).encode()}
    )
    tables = [_fitted(block.table, schema) for block in blocks]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    write_if_changed(out, buffer.getvalue())
    return table.num_rows


def merge_marks_parts(parts: Sequence[PathLike], out: PathLike) -> int:
    """Write ``marks.parquet`` from batches' parts (:func:`write_marks_part`); return its rows.

    Raises
    ------
    ZooheatError
        A part is missing or is not one.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    # each block's place in the table's order, first row among all parts, rows, columns
    blocks: list[tuple[tuple[Any, ...], int, int, tuple[str, ...]]] = []
    start = 0
    for path in parts:
        try:
            table = pq.read_table(path)
            listed = json.loads((table.schema.metadata or {})[_BLOCKS_KEY])
        except (OSError, KeyError, ValueError, pa.ArrowException) as exc:
            raise ZooheatError(f"{path}: not a batch's part of marks.parquet ({exc})") from None
        for subject, layer, rows, columns in listed:
            blocks.append((_block_order(subject, layer), start, rows, tuple(columns)))
            start += rows
        tables.append(table)
    blocks.sort(key=lambda block: block[0])
    schema = _schema(_union(block[3] for block in blocks))
    # every part with every column, one after the other; each call's rows taken in order
    whole = pa.concat_tables([_fitted(table, schema) for table in tables])

    def rows_of(group: list[tuple[Any, int, int, Any]]) -> Any:
        return pa.concat_tables([whole.slice(first, rows) for _, first, rows, _ in group])

    groups = _row_groups(blocks, lambda block: block[2])
    return _write_groups((rows_of(group) for group in groups), schema, out)


def write_summary(rows: Iterable[Mapping[str, Any]], out: PathLike) -> int:
    """Write ``summary.csv`` (only when its bytes change); return the number of rows."""
    rows = list(rows)
    write_if_changed(out, summary_text(rows).encode())
    return len(rows)


def missing_images_text(missing: Iterable[tuple[str, str]]) -> str:
    """Return ``missing-images.tsv``: a row per subject whose image is missing.

    Examples
    --------
    >>> [line.split() for line in missing_images_text([("12", "images/12.png")]).splitlines()]
    [['subject', 'image'], ['12', 'images/12.png']]
    """
    return "".join(f"{subject}\t{image}\n" for subject, image in [("subject", "image"), *missing])


#: The columns of ``warnings.tsv``.
WARNING_COLUMNS = ("warning", "subject", "layer", "detail")


def _count(value: Any) -> int:
    return int(value) if value not in (None, "") else 0


def run_warnings(
    rows: Iterable[Mapping[str, Any]],
    layers: Sequence[str],
    coordinates: Mapping[str, str] | None = None,
) -> list[tuple[str, str, str, str]]:
    """List what the user should look at in a run's results, a row each (``warnings.tsv``).

    A layer no subject has a mark in (its task or tool is probably wrong), a subject and
    layer with marks outside its image (the image may not be the one the marks were made
    on), and a subject whose marks look like display pixels (``coordinates``: the ingest's
    ``display?`` flag per subject).

    Examples
    --------
    >>> rows = [{"subject": "7", "layer": "blobs", "marks": "3", "outside": "1"},
    ...         {"subject": "7", "layer": "rings", "marks": "0", "outside": "0"}]
    >>> [w[:3] for w in run_warnings(rows, ["blobs", "rings"], {"7": "display?"})]
    [('layer without marks', '', 'rings'), ('marks outside the image', '7', 'blobs'), \
('display pixels?', '7', '')]
    """
    rows = sorted(rows, key=lambda r: (_natural(str(r["subject"])), r["layer"]))
    found = []
    for layer in layers:
        if not any(_count(r.get("marks")) for r in rows if r["layer"] == layer):
            found.append(
                ("layer without marks", "", layer,
                 "no subject has a mark in this layer; check its task and tool")
            )  # fmt: skip
    for row in rows:
        outside = _count(row.get("outside"))
        if outside:
            found.append(
                ("marks outside the image", str(row["subject"]), row["layer"],
                 f"{outside} of {_count(row.get('marks'))} marks lie outside the image; is it "
                 "the image the marks were made on?")
            )  # fmt: skip
    for subject in sorted(coordinates or {}, key=_natural):
        if coordinates[subject] == "display?":
            found.append(
                ("display pixels?", subject, "",
                 "the marks look like screen pixels, not image pixels (the ingest's "
                 "subjects.tsv, column coordinates)")
            )  # fmt: skip
    return found


def warnings_text(warnings: Iterable[Sequence[str]]) -> str:
    """Return ``warnings.tsv``: a header and a row per warning."""
    return "".join("\t".join(row) + "\n" for row in [WARNING_COLUMNS, *warnings])


def write_warnings(
    rows: Iterable[Mapping[str, Any]],
    layers: Sequence[str],
    out: PathLike,
    manifest: PathLike | None = None,
) -> int:
    """Write ``warnings.tsv`` (only when its bytes change); return the number of warnings.

    ``manifest`` is the ingest's ``subjects.tsv``, whose coordinate check flags display
    pixels (none without an export).
    """
    from zooheat.ingest.tables import read_coordinates

    coordinates = None if manifest is None else read_coordinates(manifest)
    found = run_warnings(rows, layers, coordinates)
    if manifest is not None:
        found = ingest_warning_rows(Path(manifest).with_name("ingest-summary.json")) + found
    write_if_changed(out, warnings_text(found).encode())
    return len(found)


def ingest_warning_rows(path: PathLike) -> list[tuple[str, str, str, str]]:
    """Return the ingest's own warnings (``ingest-summary.json``) as rows of ``warnings.tsv``.

    Layers whose task draws nothing, whose label no mark carries, marks that could not be
    placed, subjects without an image name; not the coordinate checks, which
    :func:`run_warnings` lists per subject. None when the file is missing.
    """
    from zooheat.ingest.run import COORDINATE_WARNINGS

    try:
        recorded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [
        ("export", "", "", " ".join(str(w).split()))  # one line, no tabs: a TSV cell
        for w in recorded.get("warnings") or ()
        if not str(w).startswith(COORDINATE_WARNINGS)
    ]


def warnings_digest(path: PathLike, shown: int = 5) -> str:
    """Sum up the warnings for the end of a run: how many, the first few, where the rest are.

    Empty when ``path`` is missing or holds no warning.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()[1:]
    except OSError:
        return ""
    if not lines:
        return ""
    plural = "s" if len(lines) > 1 else ""
    text = [f"zooheat: {len(lines)} warning{plural}, listed in {path}:"]
    for line in lines[:shown]:
        kind, subject, layer, detail = [*line.split("\t"), "", "", ""][:4]
        where = " ".join(
            part for part in (subject and f"subject {subject}", layer and f"layer {layer}") if part
        )
        text.append(f"  {kind}: {where}: {detail}")
    if len(lines) > shown:
        text.append(f"  ... and {len(lines) - shown} more")
    return "\n".join(text)
