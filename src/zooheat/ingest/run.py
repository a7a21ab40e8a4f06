"""The whole ingest: header, phase 1 (scan and spool), phase 2 (mark tables), the summary files."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from zooheat.errors import ZooheatError
from zooheat.fileio import errors_name, write_if_changed
from zooheat.ingest import spool as spooled
from zooheat.ingest.owned import claim_folder, record_layers, remove_stale_tables
from zooheat.ingest.parallel import scan_export
from zooheat.ingest.progress import Progress
from zooheat.ingest.scan import ScanPlan, ScanTotals
from zooheat.ingest.tables import (
    BucketJob,
    ManifestRow,
    build_bucket,
    manifest_text,
    rejects_text,
)
from zooheat.limits import open_input
from zooheat.panoptes import (
    IngestConfig,
    LayerSpec,
    export_columns,
    ingest_config,
    read_subject_export,
    unit_subject,
)
from zooheat.workflows import check_layers, read_workflow_export

__all__ = ["IngestSummary", "ingest_export", "restore_marks"]

# An export smaller than this is read in this process: it is done before workers would start.
ONE_PROCESS_BELOW = 16 << 20
PathLike = str | os.PathLike[str]


#: What one run did to the folder (told on the terminal), not what the export holds: kept out
#: of ``ingest-summary.json``, so the same export gives the same bytes whatever came before.
_THIS_RUN_ONLY = ("files_written", "files_unchanged", "files_removed")


@dataclass
class IngestSummary:
    """What an ingest did, and with what; written as ``ingest-summary.json``."""

    export: str
    layout: str
    rows_read: int = 0
    rows_used: int = 0
    rows_filtered: int = 0
    rows_rejected: int = 0
    filtered: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    subjects: int = 0
    #: subjects.tsv's rows: a subject's frames 1, 2, ... are rows of their own (frames:
    #: separate), so this is the subject count plus their extra frames
    heat_map_units: int = 0
    marks: dict[str, int] = field(default_factory=dict)
    files_written: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    subjects_display_coordinates: list[str] = field(default_factory=list)
    subjects_marks_outside: list[str] = field(default_factory=list)
    #: subjects whose image the export does not name (subjects.tsv, column image_problem)
    subjects_without_image: list[str] = field(default_factory=list)
    #: layers' marks with no centre (a tool not known), by layer and shape: counted,
    #: not placed
    marks_unplaced: dict[str, dict[str, int]] = field(default_factory=dict)
    #: classifications whose configured task held answers (a question, a survey), not marks
    tasks_with_answers: dict[str, int] = field(default_factory=dict)
    #: marks of the configured tasks by task, tool index and tool label
    tool_labels: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    subject_export_rejects: int = 0
    #: what the user should look at (:func:`ingest_warnings`), also printed by the CLI
    warnings: list[str] = field(default_factory=list)
    #: the subject export read, if any
    subject_export: str | None = None
    #: the workflow export read, if any (tool labels by version; the layers checked)
    workflow_export: str | None = None
    #: the settings the export was read with (:meth:`IngestConfig.to_dict`)
    settings: dict[str, Any] = field(default_factory=dict)


def _read_header(export: Path) -> tuple[list[str], int]:
    with open_input(export, "a Panoptes classification export CSV") as handle:
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
    workflow_export: PathLike | None = None,
    workers: int | None = None,
    progress: bool = True,
    only_subjects: Sequence[str] | None = None,
    log: IO[str] | None = None,
    exact: bool = False,
    adopt: bool = False,
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
    workflow_export : path-like, optional
        A workflow export (``workflows.csv``): its tool labels are given to marks that carry
        none (the newer front end's), and the layers are checked against its task
        definitions before any row is read (warnings, also printed on ``log``).
    workers : int, optional
        Parser processes (default: the CPUs this process may use, at most 4).
    progress : bool
        Report progress on ``log``: reading, then writing, each with the time left (a bar
        on a terminal, a line every 10 s otherwise).
    only_subjects : sequence of str, optional
        Rewrite only these subjects' mark tables and nothing else (repairs a deleted table).
    log : text stream, optional
        Where progress and notes go (default ``sys.stderr``).
    exact : bool
        Take every row the exact way (:mod:`csv` and :mod:`json`) instead of the compiled
        fast route for the rows that need no diagnosis (:mod:`zooheat.ingest.fastscan`).
        Same outputs, byte for byte; several times slower.
    adopt : bool
        ``outdir`` is the caller's own folder for the ingest (the workflow's
        ``results/ingest``): take it even without the ingest's marker.

    Returns
    -------
    IngestSummary

    Raises
    ------
    ZooheatError
        The export is missing or its header is not a Panoptes classification export; or
        ``outdir`` holds files an ingest did not write (:func:`zooheat.ingest.owned.claim_folder`).
        Bad rows never raise: they are counted and listed in ``rejects.csv``.
    """
    export = Path(export)
    out = Path(outdir)
    log = log or sys.stderr
    header, offset = _read_header(export)
    columns = export_columns(header, str(export))
    images: dict[str, dict[int, str]] = {}
    subject_rejects: list[tuple[int, str, str, str]] = []
    if subject_export is not None:
        images, subject_rejects = read_subject_export(subject_export, config.filename_keys)
    workflows = None
    early: list[str] = []
    if workflow_export is not None:
        workflows = read_workflow_export(workflow_export)
        early = check_layers(config.layers, workflows, config.workflow_id)
        for warning in early:
            print(f"zooheat: warning: {warning}", file=log)
    if workers is None:
        workers = min(len(os.sched_getaffinity(0)), 4)
    if export.stat().st_size < ONE_PROCESS_BELOW:
        workers = 1  # a small export is done before extra processes would start
    layers = tuple(layer.name for layer in config.layers)
    earlier = claim_folder(out, layers, adopt=adopt)
    for layer in layers:
        (out / "marks" / layer).mkdir(parents=True, exist_ok=True)
    meter = Progress(export.stat().st_size, log, progress)
    with errors_name(out), tempfile.TemporaryDirectory(prefix=".ingest-", dir=out) as tmp:
        plan = ScanPlan(
            export=export,
            columns=columns,
            first_line=2,
            offset=offset,
            config=config,
            images=images,
            workflows=workflows,
            only=None if only_subjects is None else frozenset(only_subjects),
            fast=not exact,
            spool=Path(tmp),
        )
        totals = scan_export(plan, workers, meter)
        scanned = time.monotonic()
        jobs = [
            BucketJob(plan.spool, len(totals), b, out, layers, config.duplicates, config.frames)
            for b in range(spooled.BUCKETS)
        ]
        meter.writing(len(jobs))
        built = []
        if workers <= 1:
            for job in jobs:
                built.append(build_bucket(job))
                meter.wrote(len(built))
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for result in pool.imap(build_bucket, jobs, chunksize=2):
                    built.append(result)
                    meter.wrote(len(built))
        rejects = sorted(
            r
            for k in range(len(totals))
            for r in spooled.unspool(spooled.rejects_path(plan.spool, k))
        )

    manifest = sorted((row for b in built for row in b.manifest), key=_unit_order)
    filtered = sum((t.filtered for t in totals), Counter())
    filtered["duplicate"] = sum(b.duplicates for b in built)
    summary = IngestSummary(
        export=str(export),
        layout=columns.layout,
        rows_read=sum(t.rows for t in totals),
        rows_used=sum(b.used for b in built),
        filtered={k: v for k, v in sorted(filtered.items()) if v},
        rejected=dict(sorted(sum((t.rejected for t in totals), Counter()).items())),
        subjects=len({unit_subject(row.subject)[0] for row in manifest}),
        heat_map_units=len(manifest),
        marks={layer: sum(row.marks[i] for row in manifest) for i, layer in enumerate(layers)},
        files_written=sum(b.written for b in built),
        files_unchanged=sum(b.unchanged for b in built),
        subjects_display_coordinates=[r.subject for r in manifest if r.coordinates == "display?"],
        subjects_marks_outside=[r.subject for r in manifest if r.coordinates == "outside"],
        subjects_without_image=[r.subject for r in manifest if not r.image],
        marks_unplaced=_unplaced(totals, layers),
        tasks_with_answers=dict(sorted(sum((t.answers for t in totals), Counter()).items())),
        tool_labels=_tool_labels(totals),
        subject_export_rejects=len(subject_rejects),
        subject_export=None if subject_export is None else str(subject_export),
        workflow_export=None if workflow_export is None else str(workflow_export),
        settings=config.to_dict(),
    )
    summary.rows_rejected = sum(summary.rejected.values())
    summary.rows_filtered = sum(summary.filtered.values())
    summary.warnings = early + ingest_warnings(summary, config)
    meter.close(summary.rows_read, sum(t.fast for t in totals), scanned)
    if only_subjects is not None:
        return summary  # a repair: the manifest, rejects and summary stay as they are

    subjects = {row.subject for row in manifest}
    summary.files_removed = remove_stale_tables(out, layers, earlier, subjects)
    record_layers(out, layers)
    write_if_changed(out / "subjects.tsv", manifest_text(manifest, layers).encode())
    write_if_changed(out / "rejects.csv", rejects_text(rejects, subject_rejects).encode())
    recorded = {k: v for k, v in asdict(summary).items() if k not in _THIS_RUN_ONLY}
    write_if_changed(out / "ingest-summary.json", (json.dumps(recorded, indent=2) + "\n").encode())
    if summary.rows_read != summary.rows_used + summary.rows_filtered + summary.rows_rejected:
        raise ZooheatError(f"{export}: internal error: row counts do not add up: {summary}")
    return summary


def _unit_order(row: ManifestRow) -> tuple[int, int]:
    subject, frame = unit_subject(row.subject)
    return int(subject), frame


def _unplaced(totals: Sequence[ScanTotals], layers: Sequence[str]) -> dict[str, dict[str, int]]:
    counts = sum((t.unplaced for t in totals), Counter())
    out: dict[str, dict[str, int]] = {}
    for (layer, shape), n in sorted(counts.items()):
        out.setdefault(layers[layer], {})[shape] = n
    return out


def _tool_labels(totals: Sequence[ScanTotals]) -> dict[str, dict[str, dict[str, int]]]:
    counts = sum((t.labels for t in totals), Counter())
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (task, tool, label), n in sorted(counts.items()):
        out.setdefault(task, {}).setdefault(str(tool), {})[label] = n
    return out


def _listed(items: Sequence[str], most: int = 3) -> str:
    return ", ".join(items[:most]) + (", ..." if len(items) > most else "")


def _layer_warnings(summary: IngestSummary, spec: LayerSpec) -> list[str]:
    """List what the user should know about one layer.

    No marks, a label not seen, a tool whose label changed between workflow versions, a task
    that holds answers.
    """
    found = []
    layer = f"layer {spec.name!r} (task {spec.task}, {spec.tool_text})"
    seen = summary.tool_labels.get(spec.task, {})
    if spec.task in summary.tasks_with_answers:
        found.append(
            f"{layer}: task {spec.task} holds answers, not marks, in "
            f"{summary.tasks_with_answers[spec.task]} classifications (a question or survey "
            "task draws nothing); name a drawing task"
            + (f" (tasks with marks: {_listed(sorted(summary.tool_labels), 6)})" if seen else "")
        )
    if spec.tool_label is not None:
        labels = sorted({label for by_label in seen.values() for label in by_label})
        if spec.tool_label not in labels:
            found.append(
                f"{layer}: no mark carries that label; labels seen in task {spec.task}: "
                + (", ".join(f"{x!r:.40}" for x in labels[:10]) if labels else "none")
            )
    elif spec.tool is not None and len(seen.get(str(spec.tool), {})) > 1:
        labels = seen[str(spec.tool)]
        found.append(
            f"{layer}: this tool index carries several labels ("
            + ", ".join(f"{label!r:.40}: {n} marks" for label, n in labels.items())
            + "), as when a workflow's tools were edited; name the layer by tool_label, or "
            "keep one workflow_version"
        )
    if summary.rows_used and not summary.marks.get(spec.name) and not found:
        found.append(
            f"{layer}: no mark in the {summary.rows_used} classifications used; check its "
            "task and tool"
        )
    return found


#: How the warnings about subjects' coordinates begin (each subject is also a row of the
#: workflow's warnings.tsv, so the workflow leaves these out of its list of the ingest's).
COORDINATE_WARNINGS = ("marks that look like display pixels", "marks beyond the image")


def ingest_warnings(summary: IngestSummary, config: IngestConfig) -> list[str]:
    """List what an ingest found that the user should look at, a line each.

    For each layer: no mark matched (its task or tool is probably wrong), its tool label was
    never seen, its tool index carried several labels, its task holds answers. Then marks
    that could not be placed, subjects without an image name, subjects whose marks look like
    display pixels, subjects with marks beyond their image.
    """
    found = []
    for spec in config.layers:
        found += _layer_warnings(summary, spec)
    for layer, shapes in summary.marks_unplaced.items():
        found.append(
            f"layer {layer!r}: {sum(shapes.values())} marks have no centre to count ("
            + ", ".join(f"{shape}: {n}" for shape, n in shapes.items())
            + "); they are counted in ingest-summary.json (marks_unplaced), not in the heat map"
        )
    if summary.subjects_without_image:
        missing = summary.subjects_without_image
        found.append(
            f"{len(missing)} subjects have no image file name in the export (subjects.tsv, "
            f"column image_problem): {_listed(missing)}; their marks are kept. Name the "
            "subject_data key holding it (panoptes.filename_keys, or --filename-key), or give "
            "a subject export"
        )
    for subjects, what in zip(
        (summary.subjects_display_coordinates, summary.subjects_marks_outside),
        COORDINATE_WARNINGS,
        strict=True,
    ):
        if subjects:
            first = _listed(subjects)
            plural = "s" if len(subjects) > 1 else ""
            found.append(
                f"{what} in {len(subjects)} subject{plural} (subjects.tsv, column "
                f"coordinates): {first}"
            )
    return found


def restore_marks(
    summary: PathLike, outdir: PathLike, subject: str, *, log: IO[str] | None = None
) -> str:
    """Write one subject's mark tables again, as the ingest that wrote ``summary`` did.

    The export, subject export and settings are those the summary records, so the tables
    come back with the bytes the ingest gave them (while the export is unchanged).

    Returns
    -------
    str
        A line for the log.

    Raises
    ------
    ZooheatError
        The summary cannot be read or names no export.
    """
    try:
        recorded = json.loads(Path(summary).read_text(encoding="utf-8"))
        export = recorded["export"]
        settings = recorded["settings"]
        config = ingest_config(settings["layers"], settings)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ZooheatError(f"{summary}: not an ingest summary to restore from ({exc})") from None
    subject = unit_subject(subject)[0]  # a frame's tables come from its subject's rows
    restored = ingest_export(
        export,
        outdir,
        config,
        subject_export=recorded.get("subject_export"),
        workflow_export=recorded.get("workflow_export"),
        progress=False,
        only_subjects=[subject],
        log=log,
    )
    return f"subject {subject}: {restored.files_written} mark tables written again from {export}"
