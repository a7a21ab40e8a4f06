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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from zooheat.consensus import read_consensus
from zooheat.errors import ZooheatError, excerpt
from zooheat.fileio import atomic_write, write_if_changed
from zooheat.limits import DEFAULT_LIMITS, Limits
from zooheat.marks import COLUMN_TYPES, read_marks
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
    "SubjectLayer",
    "missing_images_text",
    "run_warnings",
    "summary_columns",
    "summary_from_files",
    "summary_from_manifests",
    "summary_text",
    "warnings_digest",
    "warnings_text",
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
    expected = ["subject", "classifications", *fact_names()]
    for layer, path in manifests:
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle, delimiter="\t")
                if reader.fieldnames != expected:
                    raise ZooheatError(
                        f"{path}: a batch manifest with columns {reader.fieldnames}, expected "
                        f"{expected} (made by another zooheat? run the batch again)"
                    )
                rows += [{"layer": layer, **row} for row in reader]
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


def _header(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader([handle.readline()]), [])
    except FileNotFoundError:
        raise ZooheatError(f"{path}: mark table not found") from None


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
    mark on an object), then the mark tables' columns (the union of them; typed as
    :meth:`zooheat.marks.Marks.to_arrow` types them). Rows are in subject, layer, mark order,
    written a row group at a time.

    Raises
    ------
    ZooheatError
        A mark or consensus table is missing or unreadable, or a column the ingest types
        (``tool``, ``frame``, ids, shape fields) holds text in some table.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    ordered = sorted(entries, key=lambda e: (_natural(e.subject), e.layer))
    extra: list[str] = []
    for entry in ordered:  # the union of the tables' columns, in the order first seen
        for name in _header(entry.marks):
            if name not in ("x", "y", "r") and name not in extra and not name.isdigit():
                extra.append(name)
    fields = [
        pa.field("subject", pa.string()),
        pa.field("layer", pa.string()),
        pa.field("mark", pa.int32()),
        pa.field("object", pa.int32()),
        pa.field("duplicate", pa.bool_()),
        *(pa.field(name, pa.type_for_alias(COLUMN_TYPES.get(name, "string"))) for name in extra),
        pa.field("x", pa.float64()),
        pa.field("y", pa.float64()),
        pa.field("r", pa.float64()),
    ]
    schema = pa.schema(fields)
    pending: list[Any] = []
    rows = written = 0
    with atomic_write(out) as handle:
        writer = pq.ParquetWriter(handle, schema, compression="zstd", write_statistics=True)
        for entry in ordered:
            marks = read_marks(entry.marks, limits=limits)
            (consensus_path,) = STEPS["consensus"].paths(
                entry.layer, entry.subject, results=results
            )
            consensus = read_consensus(consensus_path, n_marks=len(marks))
            n = len(marks)
            table = marks.to_arrow()
            columns: dict[str, Any] = {
                "subject": pa.array([entry.subject] * n, pa.string()),
                "layer": pa.array([entry.layer] * n, pa.string()),
                "mark": pa.array(range(1, n + 1), pa.int32()),
                "object": pa.array(
                    [int(k) if k else None for k in consensus.labels.tolist()], pa.int32()
                ),
                "duplicate": pa.array(consensus.duplicate.tolist(), pa.bool_()),
            }
            for field in fields[5:]:
                if field.name in table.column_names:
                    column = table[field.name]
                    if column.type != field.type:
                        bad = next((v for v in column.to_pylist() if v is not None), "")
                        raise ZooheatError(
                            f"{entry.marks}, column '{field.name}': expected {field.type}, "
                            f"found text such as {excerpt(bad)}"
                        )
                    columns[field.name] = column
                else:
                    columns[field.name] = pa.nulls(n, field.type)
            pending.append(pa.table(columns, schema=schema))
            rows += n
            if rows >= ROW_GROUP:
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP)
                written += rows
                pending, rows = [], 0
        if pending or not written:
            writer.write_table(pa.concat_tables(pending) if pending else schema.empty_table())
            written += rows
        writer.close()
    return written


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
