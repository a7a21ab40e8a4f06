"""Phase 1: read chunks of an export, classify each row, spool usable classifications.

Every row goes through :func:`zooheat.panoptes.classify`, by one of two routes that differ
only in how the row is split and checked, never in what happens to it:

- the exact route splits a chunk with :mod:`csv` and lets ``classify`` check every cell and
  parse JSON with :mod:`json`, naming the field and the reason of every reject;
- the fast route (:mod:`zooheat.ingest.fastscan`) splits it with pyarrow and checks each
  scalar column at once; the clean rows are classified with those checks skipped and orjson
  parsing the JSON. A row that is not clean, or that raises anything there, goes the exact
  route, which says why.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from zooheat.ingest import spool as spooled
from zooheat.ingest.chunks import csv_records, lines_of
from zooheat.panoptes import (
    Classification,
    ExportColumns,
    Filtered,
    IngestConfig,
    MarkNotes,
    Rejected,
    SubjectDataCache,
    classify,
    parse_row,
)
from zooheat.workflows import WorkflowTasks

__all__ = ["ChunkScanner", "ScanPlan", "ScanTotals", "spool_record"]


@dataclass(frozen=True)
class ScanPlan:
    """What every scan worker needs to know about one ingest.

    Attributes
    ----------
    export : Path
        The classification export.
    columns : ExportColumns
        Its header.
    first_line, offset : int
        Line number and byte offset of the first record after the header.
    config : IngestConfig
        Layers and filters.
    images : dict
        Subject id to ``{frame: image file name}``, from a subject export.
    workflows : WorkflowTasks or None
        Tool labels by workflow version, from a workflow export.
    only : frozenset of str or None
        Keep only these subjects (a repair of deleted tables); None keeps all.
    fast : bool
        Let rows take the fast route when they can.
    spool : Path
        Folder of the spool files.
    """

    export: Path
    columns: ExportColumns
    first_line: int
    offset: int
    config: IngestConfig
    images: dict[str, dict[int, str]]
    workflows: WorkflowTasks | None
    only: frozenset[str] | None
    fast: bool
    spool: Path


#: Distinct (task, tool, label) counted at most: the most common are kept.
LABELS_KEPT = 1000


@dataclass
class ScanTotals:
    """Counts of one worker's scan."""

    rows: int = 0
    fast: int = 0
    filtered: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    #: marks of configured tasks by (task, tool index, tool label), in the rows kept
    labels: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    #: layers' marks with no centre by (layer index, shape), in the rows kept
    unplaced: Counter[tuple[int, str]] = field(default_factory=Counter)
    #: rows kept whose configured task held answers, not marks, by task
    answers: Counter[str] = field(default_factory=Counter)

    def note(self, notes: MarkNotes | None) -> None:
        """Count what a kept row's annotations held besides its marks."""
        if notes is not None:
            labels, unplaced, answers = notes
            if labels:
                self.labels.update(labels)
                if len(self.labels) > LABELS_KEPT:  # a sane project has a handful
                    self.labels = Counter(dict(self.labels.most_common(LABELS_KEPT)))
            if unplaced:
                self.unplaced.update(unplaced)
            if answers:
                self.answers.update(set(answers))


def _quote(text: str) -> str:
    """Quote a CSV field the way csv.writer does (only when it must)."""
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


#: The task, tool, tool_label and shape columns of a mark-table row, by their values.
_TOOL_COLUMNS: dict[tuple, str] = {}


def _mark_row(head: str, mark: tuple) -> str:
    """One mark table row: the classification's columns, then the mark's (see MARK_COLUMNS)."""
    # Inline conditionals, not a helper per field: this runs for every mark of the export.
    (_, task, tool, frame, x, y, r, rx, ry, angle, width, height,
     x1, y1, x2, y2, spread, points, shape, label) = mark  # fmt: skip
    tool_columns = _TOOL_COLUMNS.get((task, tool, label, shape))
    if tool_columns is None:  # a handful of distinct ones in an export
        if len(_TOOL_COLUMNS) > 4096:
            _TOOL_COLUMNS.clear()
        tool_columns = _TOOL_COLUMNS[task, tool, label, shape] = (
            f"{_quote(task)},{tool},{'' if label is None else _quote(label)},{shape},"
        )
    if x is None or y is None:  # a line across the image: one coordinate
        x, y = ("" if x is None else repr(x)), ("" if y is None else repr(y))
    else:
        x, y = repr(x), repr(y)
    line = (
        f"{head}{tool_columns}{frame},{x},{y},"
        f"{'' if r is None else repr(r)},{'' if rx is None else repr(rx)},"
        f"{'' if ry is None else repr(ry)},{'' if angle is None else repr(angle)},"
        f"{'' if width is None else repr(width)},{'' if height is None else repr(height)},"
    )
    if x1 is None and y1 is None and spread is None and points is None:
        return line + ",,,,,\n"  # no line, fan or polygon fields: most marks
    numbers = ",".join("" if v is None else repr(v) for v in (x1, y1, x2, y2, spread))
    return f"{line}{numbers},{'' if points is None else points}\n"


def spool_record(c: Classification, line: int) -> tuple:
    """Return the spool record of a usable classification (fields: :mod:`zooheat.ingest.spool`)."""
    head = (
        f"{c.classification_id},{_quote(c.user)},{c.user_id},{c.created_at},"
        f"{c.workflow_id},{c.workflow_version},"
    )
    return (
        c.subject,
        c.user,
        c.created_at,
        int(c.classification_id or 0),
        line,
        c.subject_info.image,
        c.subject_info.retired,
        c.dimensions,
        # x, y for the display-pixel check; a line's missing coordinate counts as 0 there
        [(m[0], _mark_row(head, m), m[4] or 0.0, m[5] or 0.0, m[3]) for m in c.marks],
        c.subject_info.why,
        c.subject_info.frames,
    )


class ChunkScanner:
    """Classify the rows of chunks of one export and spool the usable ones by subject bucket."""

    def __init__(self, worker: int, plan: ScanPlan) -> None:
        self.fastscan = None
        if plan.fast and plan.only is None:
            # Imported only where used: commands that ingest nothing need no pyarrow.
            from zooheat.ingest import fastscan

            self.fastscan = fastscan
        self.plan = plan
        self.subjects = SubjectDataCache(plan.config.filename_keys, plan.images)
        self.buckets = [
            open(spooled.bucket_path(plan.spool, worker, b), "wb") for b in range(spooled.BUCKETS)
        ]
        self.rejects = open(spooled.rejects_path(plan.spool, worker), "wb")
        self.pending_rejects: list[tuple] = []
        self.totals = ScanTotals()
        self.cid_column = plan.columns.index.get("classification_id")
        self.subject_column = plan.columns.index.get("subject_ids")

    def scan(self, first_line: int, data: bytes) -> int:
        """Take one chunk of whole records starting at ``first_line``; return its row count."""
        # The records made here hold no reference cycles: the cyclic collector would only
        # walk them again and again as they pile up.
        gc.disable()
        try:
            return self._scan(first_line, data)
        finally:
            gc.enable()

    def _scan(self, first_line: int, data: bytes) -> int:
        before = self.totals.rows
        pending: list[list[tuple]] = [[] for _ in range(spooled.BUCKETS)]
        fastscan = self.fastscan
        split = None if fastscan is None else fastscan.split_chunk(data, self.plan.columns)
        if split is None:
            text = data.decode("utf-8", errors="surrogateescape")
            self._exact(text, first_line, pending)
        else:
            unsure = self._fast(split, first_line, pending)
            for i, text in lines_of(data, unsure) if unsure else ():
                self._exact(text, first_line + i, pending)
        for bucket, records in enumerate(pending):
            spooled.spool(self.buckets[bucket], records)
        spooled.spool(self.rejects, self.pending_rejects)
        self.pending_rejects = []
        return self.totals.rows - before

    def _reject(self, line: int, fields: Sequence[str] | None, where: str, reason: str) -> None:
        cid = ""
        if fields is not None and self.cid_column is not None and self.cid_column < len(fields):
            cid = fields[self.cid_column].strip()[:40]
            if not cid.isprintable():  # escaped: undecodable bytes, control characters
                cid = repr(cid)[1:-1]
        self.pending_rejects.append((line, cid, where, reason))
        self.totals.rejected[where] += 1

    def _keep(self, c: Classification, line: int, pending: list[list[tuple]]) -> None:
        pending[int(c.subject) % spooled.BUCKETS].append(spool_record(c, line))
        self.totals.note(c.notes)

    def _exact(self, text: str, first_line: int, pending: list[list[tuple]]) -> None:
        """Take the records of ``text`` the exact way: :mod:`csv`, then :func:`parse_row`."""
        ascii_only = text.isascii()
        only = self.plan.only
        for line, fields, error in csv_records(text, first_line):
            if only is not None and fields and self.subject_column is not None:
                if len(fields) > self.subject_column and (
                    fields[self.subject_column].strip() not in only
                ):
                    continue
            self.totals.rows += 1
            if error is not None:
                self._reject(line, None, "row", error)
                continue
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                self._reject(line, None, "row", "blank line")
                continue
            if not ascii_only:
                try:
                    "\x1f".join(fields).encode("utf-8")
                except UnicodeEncodeError:
                    self._reject(line, fields, "row", "not valid UTF-8 text")
                    continue
            try:
                c = parse_row(
                    fields, self.plan.columns, self.plan.config, self.subjects, self.plan.workflows
                )
            except Filtered as exc:
                self.totals.filtered[exc.reason] += 1
                continue
            except Rejected as exc:
                self._reject(line, fields, exc.field, exc.reason)
                continue
            if only is not None and c.subject not in only:
                self.totals.rows -= 1  # a 2015 export names the subject in subject_data
                continue
            self._keep(c, line, pending)

    def _fast(self, split: Any, first_line: int, pending: list[list[tuple]]) -> list[int]:
        """Classify the clean rows of a split chunk; return the indices of the others."""
        config = self.plan.config
        subjects = self.subjects
        workflows = self.plan.workflows
        filtered = self.totals.filtered
        note = self.totals.note
        unsure: list[int] = []
        for i, (clean, cells) in enumerate(zip(split.clean, split.row_cells(), strict=True)):
            if not clean:
                unsure.append(i)
                continue
            try:
                c = classify(
                    cells, config, subjects, loads=orjson.loads, checked=True, workflows=workflows
                )
            except Filtered as exc:
                filtered[exc.reason] += 1
                continue
            except (Rejected, ValueError):  # orjson.JSONDecodeError is a ValueError
                unsure.append(i)  # the exact route says why
                continue
            # _keep's body, inline: once per row of the export
            pending[int(c.subject) % spooled.BUCKETS].append(spool_record(c, first_line + i))
            note(c.notes)
        taken = split.rows - len(unsure)
        self.totals.rows += taken  # the exact route counts the others
        self.totals.fast += taken
        return unsure

    def finish(self) -> ScanTotals:
        """Close the spool files and return the counts."""
        for handle in (*self.buckets, self.rejects):
            handle.close()
        return self.totals
