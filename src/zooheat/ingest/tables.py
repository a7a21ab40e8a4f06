"""Phase 2: spooled classifications, a subject bucket at a time, to mark tables and manifest."""

from __future__ import annotations

import csv
import io
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from zooheat.fileio import write_if_changed
from zooheat.ingest import spool as spooled
from zooheat.panoptes import MARK_COLUMNS, frame_unit

__all__ = [
    "BucketJob",
    "BucketResult",
    "ManifestRow",
    "build_bucket",
    "coordinates_check",
    "manifest_text",
    "read_coordinates",
    "rejects_text",
]

_MARK_HEADER = ",".join(MARK_COLUMNS) + "\n"
# created_at, classification id (0 in 2015 exports), user, line in the export
_order = operator.itemgetter(spooled.CREATED, spooled.CID, spooled.USER, spooled.LINE)


class ManifestRow(NamedTuple):
    """One subject's row of ``subjects.tsv``."""

    subject: str
    image: str
    classifications: int
    #: marks per layer, in the configured layers' order
    marks: tuple[int, ...]
    retired: bool
    #: ``ok``, ``outside`` or ``display?`` (see :func:`coordinates_check`)
    coordinates: str
    #: why the export names no usable image file (``image`` is then empty)
    image_problem: str = ""


@dataclass(frozen=True)
class BucketJob:
    """One bucket's spooled records to turn into mark tables."""

    spool: Path
    workers: int
    bucket: int
    outdir: Path
    layers: tuple[str, ...]
    duplicates: str
    #: ``separate``: heat maps per frame (:func:`zooheat.panoptes.frame_unit`); ``pooled``
    frames: str = "separate"


@dataclass(frozen=True)
class BucketResult:
    """What one bucket gave: manifest rows and counts."""

    manifest: list[ManifestRow]
    duplicates: int
    written: int
    unchanged: int
    #: classifications used (after duplicates were dropped; each once, whatever its frames)
    used: int


#: Marks this far beyond an edge (a fraction of the size) are more than a click's slip.
_SLIP = 0.05


def coordinates_check(records: Sequence[tuple]) -> str:
    """``ok``, ``outside`` (marks beyond the image) or ``display?`` (marks in display pixels).

    ``records`` are one subject's spooled classifications. Each classification is judged in
    its own volunteer's screen (``metadata.subject_dimensions``: the image's natural size and
    the size it was shown at), since volunteers' screens differ:

    - a mark beyond the shown size (by more than a slip) cannot be in display pixels: the
      subject's marks are in image pixels;
    - marks well beyond the image but inside a larger shown size speak for display pixels;
    - so do, when every classification was shown smaller than the image (by 20% or more) and
      there are five marks or more, marks that all stay inside each volunteer's shown size.

    ``display?`` needs evidence for display pixels and none against; otherwise marks beyond
    the image give ``outside``.
    """
    known = [r[spooled.DIMENSIONS] for r in records if r[spooled.DIMENSIONS] is not None]
    if not known:
        return "ok"
    natural_w, natural_h = known[0][0], known[0][1]
    marks = [m for r in records for m in r[spooled.MARKS]]
    outside = any(m[spooled.MARK_X] > natural_w or m[spooled.MARK_Y] > natural_h for m in marks)
    larger = smaller = other = 0
    for record in records:
        dims, own = record[spooled.DIMENSIONS], record[spooled.MARKS]
        if not own:
            continue
        max_x = max(m[spooled.MARK_X] for m in own)
        max_y = max(m[spooled.MARK_Y] for m in own)
        if dims is None or min(dims) <= 0:
            other += 1
            continue
        image_w, image_h, shown_w, shown_h = dims
        if max_x > shown_w * (1 + _SLIP) or max_y > shown_h * (1 + _SLIP):
            larger = smaller = 0  # beyond what was shown: these marks are in image pixels
            break
        if shown_w > image_w and (max_x > image_w * (1 + _SLIP) or max_y > image_h * (1 + _SLIP)):
            larger += 1
        elif shown_w < 0.8 * image_w and shown_h < 0.8 * image_h:
            smaller += len(own)
        else:
            other += 1
    if larger or (smaller >= 5 and not other):
        return "display?"
    return "outside" if outside else "ok"


def _load_bucket(job: BucketJob) -> list[tuple]:
    return [
        record
        for worker in range(job.workers)
        for record in spooled.unspool(spooled.bucket_path(job.spool, worker, job.bucket))
    ]


def _frames(records: Sequence[tuple], how: str) -> list[int | None]:
    """Return the frames that get heat maps: frame 0, each frame marked or with an image named.

    ``[None]`` when frames are pooled: one heat map of every frame's marks.
    """
    if how == "pooled":
        return [None]
    frames = {0}
    for r in records:
        frames.update(m[spooled.MARK_FRAME] for m in r[spooled.MARKS])
        frames.update(f for f, _ in r[spooled.FRAME_IMAGES])
    return sorted(frames)


def _frame_image(records: Sequence[tuple], frame: int) -> tuple[str, str]:
    """Return a frame's image, as the latest classification naming one says; else why none."""
    for r in reversed(records):
        if frame == 0:
            if r[spooled.IMAGE]:
                return r[spooled.IMAGE], ""
        else:
            name = dict(r[spooled.FRAME_IMAGES]).get(frame)
            if name:
                return name, ""
    if frame == 0:
        return "", records[-1][spooled.IMAGE_WHY]
    return "", f"no image file name for frame {frame} (numbered keys, or a subject export)"


def build_bucket(job: BucketJob) -> BucketResult:
    """Resolve duplicates and write the mark tables of one bucket's subjects.

    Each table is written only when its bytes change; its rows are in time order.
    """
    by_subject: dict[str, list[tuple]] = {}
    for record in _load_bucket(job):
        by_subject.setdefault(record[spooled.SUBJECT], []).append(record)
    duplicates_dropped = written = unchanged = used = 0
    manifest = []
    for subject, records in by_subject.items():
        records.sort(key=_order)
        if job.duplicates != "all":
            chosen: dict[str, tuple] = {}
            for record in records if job.duplicates == "first" else reversed(records):
                chosen.setdefault(record[spooled.USER], record)
            duplicates_dropped += len(records) - len(chosen)
            records = sorted(chosen.values(), key=_order)
        used += len(records)
        coordinates = coordinates_check(records)
        for frame in _frames(records, job.frames):
            tables: list[list[str]] = [[_MARK_HEADER] for _ in job.layers]
            for r in records:
                for mark in r[spooled.MARKS]:
                    if frame is None or mark[spooled.MARK_FRAME] == frame:
                        tables[mark[spooled.MARK_LAYER]].append(mark[spooled.MARK_ROW])
            unit = frame_unit(subject, frame or 0)
            for layer, table in zip(job.layers, tables, strict=True):
                path = job.outdir / "marks" / layer / f"{unit}.csv"
                if write_if_changed(path, "".join(table).encode()):
                    written += 1
                else:
                    unchanged += 1
            image, problem = _frame_image(records, frame or 0)
            manifest.append(
                ManifestRow(
                    subject=unit,
                    image=image,
                    classifications=len(records),
                    marks=tuple(len(t) - 1 for t in tables),
                    retired=records[-1][spooled.RETIRED],
                    coordinates=coordinates,
                    image_problem=problem,
                )
            )
    return BucketResult(manifest, duplicates_dropped, written, unchanged, used)


def manifest_text(manifest: Sequence[ManifestRow], layers: Sequence[str]) -> str:
    """``subjects.tsv``: one row per subject, in the order given."""
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
            "image_problem",
        ]
    )
    for row in manifest:
        writer.writerow(
            [
                row.subject,
                row.image,
                row.classifications,
                *row.marks,
                "true" if row.retired else "false",
                row.coordinates,
                row.image_problem,
            ]
        )
    return out.getvalue()


def read_coordinates(path: str | Path) -> dict[str, str]:
    """Read each subject's coordinate check from a ``subjects.tsv`` of :func:`manifest_text`.

    Returns ``{subject: "ok" | "outside" | "display?"}``.
    """
    with open(path, encoding="utf-8", newline="") as handle:
        return {r["subject_id"]: r["coordinates"] for r in csv.DictReader(handle, delimiter="\t")}


def rejects_text(rejects: Sequence[tuple], subject_rejects: Sequence[tuple]) -> str:
    """``rejects.csv``: rows of the export, then rows of the subject export, that were not used."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "line", "id", "field", "reason"])
    writer.writerows(("export", *r) for r in rejects)
    writer.writerows(("subjects", *r) for r in subject_rejects)
    return out.getvalue()
