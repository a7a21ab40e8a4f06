"""Stream a Panoptes classification export into per-subject mark tables.

Outputs under ``OUTDIR``:

- ``marks/{layer}/{subject}.csv``: one row per mark (columns :data:`MARK_COLUMNS`), sorted by
  time, for every subject in the manifest (a header only when the subject has no such marks);
- ``subjects.tsv``: the manifest, one row per subject;
- ``rejects.csv``: every row that could not be used: line, classification_id, field, reason;
- ``ingest-summary.json``: counts; ``rows_read = rows_used + rows_filtered + rows_rejected``.

A mark table is written only when its bytes change (atomic replace), so a new export rewrites
only the subjects that gained or lost marks and a workflow downstream rebuilds only those.
Mark tables of subjects no longer in the export are removed.

How it scales: the export is cut into chunks at record boundaries and parsed by worker
processes, which spool each usable classification to one of 64 buckets by subject id; then the
buckets are turned into mark tables, again in parallel. Memory stays bounded by the chunk and
bucket sizes, not the export's.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import marshal
import multiprocessing
import operator
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from zooheat.errors import ZooheatError
from zooheat.fileio import write_if_changed
from zooheat.panoptes import (
    FILENAME_KEYS,
    MARK_COLUMNS,
    Classification,
    ExportColumns,
    Filtered,
    IngestConfig,
    Rejected,
    SubjectDataCache,
    export_columns,
    marks_of_annotations,
    metadata_dimensions,
    parse_row,
    safe_image_name,
)

if TYPE_CHECKING:
    from zooheat import fastscan

__all__ = ["IngestSummary", "ingest_export", "read_subject_export"]

BUCKETS = 64
# A spooled classification is a plain tuple (marshal is fast on those); its fields:
_SUBJECT, _USER, _CREATED, _CID, _LINE, _IMAGE, _RETIRED, _DIMS, _MARKS = range(9)
_MARK_HEADER = ",".join(MARK_COLUMNS) + "\n"
CHUNK_BYTES = 1 << 20
_ONE_PROCESS_BELOW = 16 << 20
PathLike = str | os.PathLike[str]


@dataclass
class IngestSummary:
    """What an ingest did; written as ``ingest-summary.json``."""

    export: str
    layout: str
    rows_read: int = 0
    rows_used: int = 0
    rows_filtered: int = 0
    rows_rejected: int = 0
    filtered: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    subjects: int = 0
    marks: dict[str, int] = field(default_factory=dict)
    files_written: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    subjects_display_coordinates: list[str] = field(default_factory=list)
    subjects_marks_outside: list[str] = field(default_factory=list)
    subject_export_rejects: int = 0


# --------------------------------------------------------------------------- reading


def _record_chunks(handle: IO[bytes], size: int) -> Iterator[bytes]:
    """Cut a CSV byte stream into chunks that end at record ends.

    A newline ends a record when the quotes before it are balanced (a quoted field may hold
    newlines). The last chunk may end without a newline.
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


def _rows(text: str, first_line: int) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """Yield ``(line, fields, error)`` for each record of a chunk's text."""
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


# --------------------------------------------------------------------------- phase 1


class _ChunkScanner:
    """Parse chunks of one export and spool usable classifications by subject bucket."""

    def __init__(
        self,
        worker: int,
        spool: Path,
        columns: ExportColumns,
        config: IngestConfig,
        images: dict[str, str],
        only: frozenset[str] | None,
        fast: bool = True,
    ) -> None:
        self.fastscan = None
        if fast:
            # Imported only where used: commands that ingest nothing need no pyarrow.
            from zooheat import fastscan

            self.fastscan = fastscan
        self.filter_reasons: dict[tuple[str, str, str | None], str] = {}
        self.columns = columns
        self.config = config
        self.only = only
        self.subjects = SubjectDataCache(config.filename_keys, images)
        self.buckets = [open(spool / f"w{worker}-b{b}.bin", "wb") for b in range(BUCKETS)]
        self.rejects = open(spool / f"w{worker}-rejects.bin", "wb")
        self.pending_rejects: list[tuple] = []
        self.rows = 0
        self.fast_rows = 0
        self.filtered: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.cid_column = columns.index.get("classification_id")
        self.subject_column = columns.index.get("subject_ids")

    def _reject(self, line: int, fields: Sequence[str] | None, where: str, reason: str) -> None:
        cid = ""
        if fields is not None and self.cid_column is not None and self.cid_column < len(fields):
            cid = fields[self.cid_column].strip()[:40]
        self.pending_rejects.append((line, cid, where, reason))
        self.rejected[where] += 1

    def scan(self, first_line: int, data: bytes) -> int:
        # The records made here hold no reference cycles: the cyclic collector would only
        # walk them again and again as they pile up.
        gc.disable()
        try:
            return self._scan(first_line, data)
        finally:
            gc.enable()

    def _scan(self, first_line: int, data: bytes) -> int:
        before = self.rows
        pending: list[list[tuple]] = [[] for _ in range(BUCKETS)]
        split = None
        if self.fastscan is not None and self.only is None:
            split = self.fastscan.split_chunk(data, self.columns)
        if split is None:
            text = data.decode("utf-8", errors="surrogateescape")
            ascii_only = text.isascii()
            for line, fields, error in _rows(text, first_line):
                self._exact(line, fields, error, ascii_only, pending)
        else:
            unsure = self._fast(split, first_line, pending)
            for i, text in self.fastscan.lines_of(data, unsure) if unsure else ():
                for line, fields, error in _rows(text, first_line + i):
                    self._exact(line, fields, error, text.isascii(), pending)
        for bucket, records in enumerate(pending):
            _spool(self.buckets[bucket], records)
        _spool(self.rejects, self.pending_rejects)
        self.pending_rejects = []
        return self.rows - before

    def _exact(
        self,
        line: int,
        fields: list[str] | None,
        error: str | None,
        ascii_only: bool,
        pending: list[list[tuple]],
    ) -> None:
        """Take one row the exact way: :func:`parse_row` on the fields :mod:`csv` split."""
        if self.only is not None and fields and self.subject_column is not None:
            if len(fields) > self.subject_column and (
                fields[self.subject_column].strip() not in self.only
            ):
                return
        self.rows += 1
        if error is not None:
            self._reject(line, None, "row", error)
            return
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            self._reject(line, None, "row", "blank line")
            return
        if not ascii_only:
            try:
                "\x1f".join(fields).encode("utf-8")
            except UnicodeEncodeError:
                self._reject(line, fields, "row", "not valid UTF-8 text")
                return
        try:
            c = parse_row(fields, self.columns, self.config, self.subjects)
        except Filtered as exc:
            self.filtered[exc.reason] += 1
            return
        except Rejected as exc:
            self._reject(line, fields, exc.field, exc.reason)
            return
        if self.only is not None and c.subject not in self.only:
            self.rows -= 1
            return
        self._keep(c, line, pending)

    def _fast(
        self, split: fastscan.Columns, first_line: int, pending: list[list[tuple]]
    ) -> list[int]:
        """Take the rows of a split chunk that need no diagnosis; return the others' indices.

        Every check is the exact route's (:mod:`zooheat.panoptes`); a row any of them would
        reject, or whose JSON orjson refuses, is left to :meth:`_exact`.
        """
        cells = split.cells
        cids = cells.get("classification_id")
        users = cells["user_name"]
        user_ids = cells.get("user_id")
        workflows = cells["workflow_id"]
        versions = cells["workflow_version"]
        golds = cells.get("gold_standard")
        created = cells["created_at"]
        metadata = cells.get("metadata")
        annotations = cells["annotations"]
        subject_data = cells["subject_data"]
        subject_ids = cells.get("subject_ids")
        reasons = self.filter_reasons
        lookup = self.subjects.lookup
        layers = self.config.layers
        loads = orjson.loads
        unsure: list[int] = []
        for i, clean in enumerate(split.clean):
            if not clean:
                unsure.append(i)
                continue
            key = (workflows[i], versions[i], None if golds is None else golds[i])
            reason = reasons.get(key)
            if reason is None:
                reason = reasons[key] = self._filter_reason(*key)
            if reason:
                self.filtered[reason] += 1
                continue
            try:
                subject, info = lookup(
                    subject_data[i], None if subject_ids is None else subject_ids[i]
                )
                dims = None if metadata is None else metadata_dimensions(loads(metadata[i]))
                marks = marks_of_annotations(loads(annotations[i]), layers)
            except (Rejected, ValueError):  # orjson.JSONDecodeError is a ValueError
                unsure.append(i)
                continue
            c = Classification(
                subject=subject,
                user=users[i],
                user_id="" if user_ids is None else user_ids[i],
                created_at=created[i],
                classification_id="" if cids is None else cids[i],
                workflow_id=workflows[i],
                workflow_version=versions[i],
                subject_info=info,
                marks=marks,
                dimensions=dims,
            )
            self._keep(c, first_line + i, pending)
        self.rows += split.rows - len(unsure)  # the exact route counts the others
        self.fast_rows += split.rows - len(unsure)
        return unsure

    def _filter_reason(self, workflow: str, version: str, gold: str | None) -> str:
        # parse_row's filters, in its order, for a row whose fields are valid.
        if not self.config.workflow_wanted(workflow):
            return "other_workflow"
        if not self.config.version_wanted(version):
            return "other_version"
        if gold is not None and not self.config.gold_wanted(gold):
            return "gold_standard"
        return ""

    def _keep(self, c: Classification, line: int, pending: list[list[tuple]]) -> None:
        """Spool a usable classification to its subject's bucket."""
        head = (
            f"{c.classification_id},{_quote(c.user)},{c.user_id},{c.created_at},"
            f"{c.workflow_id},{c.workflow_version},"
        )
        marks = [(m[0], _mark_line(head, m), m[4], m[5]) for m in c.marks]
        record = (
            c.subject,
            c.user,
            c.created_at,
            int(c.classification_id or 0),
            line,
            c.subject_info.image,
            c.subject_info.retired,
            c.dimensions,
            marks,
        )
        pending[int(c.subject) % BUCKETS].append(record)

    def finish(self) -> dict[str, Any]:
        for handle in (*self.buckets, self.rejects):
            handle.close()
        return {
            "rows": self.rows,
            "fast": self.fast_rows,
            "filtered": self.filtered,
            "rejected": self.rejected,
        }


def _worker_main(export: Path, args: tuple, tasks: Any, results: Any) -> None:
    # Tasks are (first line, offset, length) of record-aligned spans of the export: the
    # worker reads its own bytes (from the page cache), so none travel through a pipe.
    try:
        scanner = _ChunkScanner(*args)
        with open(export, "rb") as handle:
            for first_line, offset, length in iter(tasks.get, None):
                data = os.pread(handle.fileno(), length, offset)
                if len(data) != length:
                    raise ZooheatError(f"{export}: changed while being read")
                results.put(("progress", scanner.scan(first_line, data)))
        results.put(("done", scanner.finish()))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _scan_export(
    export: Path,
    spool: Path,
    columns: ExportColumns,
    first_line: int,
    offset: int,
    config: IngestConfig,
    images: dict[str, str],
    only: frozenset[str] | None,
    workers: int,
    progress: Callable[[int, int], None],
    fast: bool,
) -> list[dict[str, Any]]:
    def chunks() -> Iterator[tuple[int, int, bytes]]:
        line, at = first_line, offset
        with open(export, "rb") as handle:
            handle.seek(offset)
            for chunk in _record_chunks(handle, CHUNK_BYTES):
                yield line, at, chunk
                line += chunk.count(b"\n")
                at += len(chunk)

    total = export.stat().st_size
    if workers <= 1:
        scanner = _ChunkScanner(0, spool, columns, config, images, only, fast)
        rows = done = 0
        for line, _, chunk in chunks():
            rows += scanner.scan(line, chunk)
            done += len(chunk)
            progress(rows, offset + done)
        return [scanner.finish()]

    if fast:  # once, before the workers fork: they share its memory
        import zooheat.fastscan  # noqa: F401
    ctx = multiprocessing.get_context("fork")
    tasks = ctx.Queue(maxsize=2 * workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker_main,
            args=(export, (k, spool, columns, config, images, only, fast), tasks, results),
            daemon=True,
        )
        for k in range(workers)
    ]
    for proc in procs:
        proc.start()
    finals: list[dict[str, Any]] = []
    rows = 0
    done = offset

    def drain(block: bool) -> None:
        nonlocal rows
        while True:
            try:
                kind, payload = results.get(block=block, timeout=1 if block else None)
            except Exception:  # queue.Empty
                return
            if kind == "error":
                raise ZooheatError(f"{export}: ingest worker failed:\n{payload}")
            if kind == "progress":
                rows += payload
                progress(rows, min(done, total))
            else:
                finals.append(payload)
            if block:
                return

    try:
        for line, at, chunk in chunks():
            task = (line, at, len(chunk))
            while True:
                try:
                    tasks.put(task, timeout=0.2)
                    break
                except Exception:  # queue.Full: report progress while workers catch up
                    drain(block=False)
                    if not all(p.is_alive() for p in procs):
                        drain(block=False)
                        raise ZooheatError(f"{export}: an ingest worker died") from None
            done += len(chunk)
            drain(block=False)
        for _ in procs:
            tasks.put(None)
        while len(finals) < workers:
            if not any(p.is_alive() for p in procs) and results.empty():
                raise ZooheatError(f"{export}: an ingest worker died before finishing")
            drain(block=True)
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
    return finals


# --------------------------------------------------------------------------- phase 2


def _mark_line(head: str, m: tuple) -> str:
    """One mark table row: the classification's columns, then the mark's (see MARK_COLUMNS)."""
    _, task, tool, frame, x, y, r, rx, ry, angle, width, height = m
    return (
        f"{head}{_quote(task)},{tool},{frame},{x!r},{y!r},"
        f"{'' if r is None else repr(r)},{'' if rx is None else repr(rx)},"
        f"{'' if ry is None else repr(ry)},{'' if angle is None else repr(angle)},"
        f"{'' if width is None else repr(width)},{'' if height is None else repr(height)}\n"
    )


def _quote(text: str) -> str:
    """Quote a CSV field the way csv.writer does (only when it must)."""
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


# created_at, classification id (0 in 2015 exports), user, line in the export
_order = operator.itemgetter(_CREATED, _CID, _USER, _LINE)


def _coordinates_check(records: list[tuple]) -> str:
    """``ok``, ``outside`` (marks beyond the image) or ``display?`` (marks in display pixels)."""
    dims = next((r[_DIMS] for r in records if r[_DIMS] is not None), None)
    if dims is None:
        return "ok"
    xs = [m[2] for r in records for m in r[_MARKS]]
    if not xs:
        return "ok"
    max_x = max(xs)
    max_y = max([m[3] for r in records for m in r[_MARKS]])
    natural_w, natural_h, client_w, client_h = dims
    outside = max_x > natural_w or max_y > natural_h
    within_client = max_x <= client_w and max_y <= client_h
    if len(xs) >= 5 and within_client and client_w > 0 and client_h > 0:
        shown_larger = outside and client_w > natural_w
        shown_smaller = client_w < 0.8 * natural_w and client_h < 0.8 * natural_h
        if shown_larger or shown_smaller:
            return "display?"
    return "outside" if outside else "ok"


def _spool(handle: IO[bytes], records: list[tuple]) -> None:
    """Append a list of plain tuples to a spool file: its length, then its marshal bytes."""
    if records:
        blob = marshal.dumps(records)
        handle.write(len(blob).to_bytes(8, "little") + blob)


def _unspool(path: Path) -> list[tuple]:
    """Every record appended to a spool file by :func:`_spool`, in order."""
    data = memoryview(path.read_bytes())
    records: list[tuple] = []
    at = 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 8], "little")
        records.extend(marshal.loads(data[at + 8 : at + 8 + size]))
        at += 8 + size
    return records


def _load_bucket(spool: Path, workers: int, bucket: int) -> list[tuple]:
    return [r for k in range(workers) for r in _unspool(spool / f"w{k}-b{bucket}.bin")]


def _build_bucket(args: tuple) -> dict[str, Any]:
    spool, workers, bucket, outdir, layers, duplicates = args
    by_subject: dict[str, list[tuple]] = {}
    for record in _load_bucket(spool, workers, bucket):
        by_subject.setdefault(record[_SUBJECT], []).append(record)
    duplicates_dropped = 0
    written = unchanged = 0
    manifest = []
    for subject, records in by_subject.items():
        records.sort(key=_order)
        if duplicates != "all":
            chosen: dict[str, tuple] = {}
            for record in records if duplicates == "first" else reversed(records):
                chosen.setdefault(record[_USER], record)
            duplicates_dropped += len(records) - len(chosen)
            records = sorted(chosen.values(), key=_order)
        tables: list[list[str]] = [[_MARK_HEADER] for _ in layers]
        for r in records:
            for layer, text, _, _ in r[_MARKS]:
                tables[layer].append(text)
        counts = [len(t) - 1 for t in tables]
        for layer, table in zip(layers, tables, strict=True):
            if write_if_changed(
                outdir / "marks" / layer / f"{subject}.csv", "".join(table).encode()
            ):
                written += 1
            else:
                unchanged += 1
        latest = records[-1]
        manifest.append(
            (
                int(subject),
                subject,
                latest[_IMAGE],
                len(records),
                counts,
                latest[_RETIRED],
                _coordinates_check(records),
            )
        )
    return {
        "manifest": manifest,
        "duplicates": duplicates_dropped,
        "used": sum(row[3] for row in manifest),
        "written": written,
        "unchanged": unchanged,
    }


# --------------------------------------------------------------------------- subject export


def read_subject_export(
    path: PathLike, filename_keys: Sequence[str] = FILENAME_KEYS
) -> tuple[dict[str, str], list[tuple[int, str, str, str]]]:
    """Map subject ids to image file names from a Panoptes subject export.

    The export has one row per subject and subject-set link (``subject_id, project_id,
    workflow_id, subject_set_id, metadata, locations, ...``), so a subject may repeat; the
    file name comes from the first of ``filename_keys`` in ``metadata``.

    Returns
    -------
    images : dict
        Subject id to file name.
    rejects : list of tuple
        ``(line, subject_id, field, reason)`` of rows that could not be used.

    Raises
    ------
    ZooheatError
        The file is missing or its header lacks ``subject_id`` or ``metadata``.
    """
    images: dict[str, str] = {}
    rejects: list[tuple[int, str, str, str]] = []
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise ZooheatError(f"{path}: subject export not found") from None
    with handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        if "subject_id" not in header or "metadata" not in header:
            raise ZooheatError(
                f"{path}, line 1: not a Panoptes subject export (expected columns subject_id "
                f"and metadata, found {header[:12]})"
            )
        sid_at, meta_at = header.index("subject_id"), header.index("metadata")
        line = 1
        for fields in reader:
            start, line = line + 1, reader.line_num
            if not fields:
                continue
            subject = fields[sid_at].strip() if len(fields) > sid_at else ""
            try:
                if len(fields) != len(header):
                    raise Rejected("row", f"expected {len(header)} fields, found {len(fields)}")
                if not subject.isdigit() or not subject.isascii():
                    raise Rejected("subject_id", f"not a whole number: {subject!r:.40}")
                try:
                    metadata = json.loads(fields[meta_at])
                except ValueError as exc:
                    raise Rejected("metadata", f"not valid JSON ({exc})") from None
                if not isinstance(metadata, dict):
                    raise Rejected("metadata", "expected an object")
                name = next(
                    (metadata[k] for k in filename_keys if metadata.get(k) not in (None, "")),
                    None,
                )
                if name is None:
                    raise Rejected("metadata", f"none of the keys {list(filename_keys)}")
                name = safe_image_name(name)
                if images.get(subject, name) != name:
                    raise Rejected(
                        "metadata", f"file name {name!r} differs from {images[subject]!r}"
                    )
                images[subject] = name
            except Rejected as exc:
                rejects.append((start, subject[:40], exc.field, exc.reason))
    return images, rejects


# --------------------------------------------------------------------------- the whole job


class _Progress:
    """A bar on a terminal; a line every few seconds in a log."""

    def __init__(self, total: int, stream: IO[str], enabled: bool) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and stream.isatty()
        self.start = self.last = time.monotonic()

    def __call__(self, rows: int, done: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < (0.2 if self.tty else 10):
            return
        self.last = now
        rate = rows / max(now - self.start, 1e-9)
        fraction = min(done / self.total, 1.0)
        if self.tty:
            bar = "#" * int(30 * fraction)
            print(
                f"\ringest [{bar:<30}] {fraction:6.1%} {rows:,} rows {rate:,.0f} rows/s",
                end="",
                file=self.stream,
                flush=True,
            )
        else:
            print(f"ingest: {fraction:.1%} {rows:,} rows, {rate:,.0f} rows/s", file=self.stream)

    def close(self, rows: int, fast: int, scanned: float) -> None:
        if self.enabled:
            now = time.monotonic()
            elapsed = now - self.start
            end = "\n" if self.tty else ""
            print(
                f"{end}ingest: {rows:,} rows in {elapsed:.1f} s "
                f"({rows / max(elapsed, 1e-9):,.0f} rows/s; {fast:,} by the fast route; "
                f"reading {scanned - self.start:.1f} s, mark tables {now - scanned:.1f} s)",
                file=self.stream,
            )


def _read_header(export: Path) -> tuple[list[str], int]:
    try:
        handle = open(export, "rb")
    except FileNotFoundError:
        raise ZooheatError(f"{export}: classification export not found") from None
    except IsADirectoryError:
        raise ZooheatError(f"{export}: is a folder, expected a classification export CSV") from None
    with handle:
        raw = handle.readline()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ZooheatError(f"{export}, line 1: header is not UTF-8 text") from None
    if not text.strip():
        raise ZooheatError(f"{export}: empty file, expected a classification export with a header")
    header = next(csv.reader([text]))
    return header, len(raw)


def ingest_export(
    export: PathLike,
    outdir: PathLike,
    config: IngestConfig,
    *,
    subject_export: PathLike | None = None,
    workers: int | None = None,
    progress: bool = True,
    only_subjects: Sequence[str] | None = None,
    log: IO[str] | None = None,
    exact: bool = False,
) -> IngestSummary:
    """Turn a classification export into per-subject mark tables, a manifest and rejects.

    Parameters
    ----------
    export : path-like
        The classification export CSV (modern or 2015 layout).
    outdir : path-like
        Where ``marks/``, ``subjects.tsv``, ``rejects.csv`` and ``ingest-summary.json`` go.
    config : IngestConfig
        Layers, workflow filters and the duplicate policy.
    subject_export : path-like, optional
        A subject export that maps subject ids to image file names, for subjects whose
        ``subject_data`` names no file.
    workers : int, optional
        Parser processes (default: the CPUs this process may use, at most 4).
    progress : bool
        Report progress on ``log`` (a bar on a terminal, a line every 10 s otherwise).
    only_subjects : sequence of str, optional
        Rewrite only these subjects' mark tables and nothing else (repairs a deleted table).
    log : text stream, optional
        Where progress and notes go (default ``sys.stderr``).
    exact : bool
        Take every row the exact way (:func:`zooheat.panoptes.parse_row` on rows split by
        :mod:`csv`) instead of the compiled fast route for the rows that need no diagnosis
        (:mod:`zooheat.fastscan`). Same outputs, byte for byte; several times slower.

    Returns
    -------
    IngestSummary

    Raises
    ------
    ZooheatError
        The export is missing or its header is not a Panoptes classification export. Bad
        rows never raise: they are counted and listed in ``rejects.csv``.
    """
    export = Path(export)
    out = Path(outdir)
    log = log or sys.stderr
    header, offset = _read_header(export)
    columns = export_columns(header, str(export))
    images: dict[str, str] = {}
    subject_rejects: list[tuple[int, str, str, str]] = []
    if subject_export is not None:
        images, subject_rejects = read_subject_export(subject_export, config.filename_keys)
    if workers is None:
        workers = min(len(os.sched_getaffinity(0)), 4)
    if export.stat().st_size < _ONE_PROCESS_BELOW:
        workers = 1  # a small export is done before extra processes would start
    only = frozenset(only_subjects) if only_subjects is not None else None
    layers = [layer.name for layer in config.layers]
    for layer in layers:
        (out / "marks" / layer).mkdir(parents=True, exist_ok=True)
    meter = _Progress(export.stat().st_size, log, progress)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=out) as tmp:
        spool = Path(tmp)
        finals = _scan_export(
            export, spool, columns, 2, offset, config, images, only, workers, meter, not exact
        )
        scanned = time.monotonic()
        jobs = [(spool, len(finals), b, out, layers, config.duplicates) for b in range(BUCKETS)]
        if workers <= 1:
            built = [_build_bucket(job) for job in jobs]
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                built = pool.map(_build_bucket, jobs, chunksize=4)
        rejects = _merge_rejects(spool, len(finals))

    summary = IngestSummary(export=export.name, layout=columns.layout)
    summary.rows_read = sum(f["rows"] for f in finals)
    filtered = sum((f["filtered"] for f in finals), Counter())
    filtered["duplicate"] = sum(b["duplicates"] for b in built)
    summary.filtered = {k: v for k, v in sorted(filtered.items()) if v}
    summary.rejected = dict(sorted(sum((f["rejected"] for f in finals), Counter()).items()))
    summary.rows_rejected = sum(summary.rejected.values())
    summary.rows_filtered = sum(summary.filtered.values())
    summary.rows_used = sum(b["used"] for b in built)
    manifest = sorted(row for b in built for row in b["manifest"])
    summary.subjects = len(manifest)
    summary.marks = {layer: sum(row[4][i] for row in manifest) for i, layer in enumerate(layers)}
    summary.files_written = sum(b["written"] for b in built)
    summary.files_unchanged = sum(b["unchanged"] for b in built)
    summary.subjects_display_coordinates = [r[1] for r in manifest if r[6] == "display?"]
    summary.subjects_marks_outside = [r[1] for r in manifest if r[6] == "outside"]
    summary.subject_export_rejects = len(subject_rejects)
    meter.close(summary.rows_read, sum(f["fast"] for f in finals), scanned)
    if only is not None:
        return summary  # a repair: the manifest, rejects and summary stay as they are

    summary.files_removed = _remove_stale(out, layers, {row[1] for row in manifest})
    write_if_changed(out / "subjects.tsv", _manifest_text(manifest, layers).encode())
    write_if_changed(out / "rejects.csv", _rejects_text(rejects, subject_rejects).encode())
    write_if_changed(
        out / "ingest-summary.json",
        (json.dumps(asdict(summary), indent=2, sort_keys=False) + "\n").encode(),
    )
    if summary.rows_read != summary.rows_used + summary.rows_filtered + summary.rows_rejected:
        raise ZooheatError(f"{export}: internal error: row counts do not add up: {summary}")
    return summary


def _merge_rejects(spool: Path, workers: int) -> list[tuple]:
    return sorted(r for k in range(workers) for r in _unspool(spool / f"w{k}-rejects.bin"))


def _remove_stale(out: Path, layers: Sequence[str], subjects: set[str]) -> int:
    removed = 0
    for folder in sorted((out / "marks").iterdir()) if (out / "marks").is_dir() else []:
        if not folder.is_dir():
            continue
        stale_layer = folder.name not in layers
        for table in folder.glob("*.csv"):
            if table.stem.isdigit() and (stale_layer or table.stem not in subjects):
                table.unlink()
                removed += 1
        if stale_layer and not any(folder.iterdir()):
            shutil.rmtree(folder)
    return removed


def _manifest_text(manifest: list[tuple], layers: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(
        [
            "subject_id",
            "image",
            "classifications",
            *(f"marks_{n}" for n in layers),
            "retired",
            "coordinates",
        ]
    )
    for _, subject, image, classifications, counts, retired, check in manifest:
        writer.writerow(
            [subject, image, classifications, *counts, "true" if retired else "false", check]
        )
    return out.getvalue()


def _rejects_text(rejects: list[tuple], subject_rejects: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "line", "id", "field", "reason"])
    writer.writerows(("export", *r) for r in rejects)
    writer.writerows(("subjects", *r) for r in subject_rejects)
    return out.getvalue()
