"""Synthetic Panoptes classification exports, for the ingest's tests, example and benchmarks.

Each synthetic subject of :mod:`zooheat.synthetic` is classified by its volunteers; every
volunteer's marks become one classification row of a Panoptes-style CSV export: the blobs with
tool 0 and the rings with tool 1 of drawing task ``T3``, after a question task ``T0``. Rows
look like the real thing (metadata of about a kilobyte, ``subject_data`` keyed by subject id),
in either the modern layout or the 2015 one, with marks as the Panoptes-Front-End ("v1") or the
newer front end ("v2") writes them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal

from zooheat.fileio import atomic_write
from zooheat.synthetic import SYNTHETIC_LAYERS, synthetic_marks

__all__ = [
    "HEADER_2015",
    "HEADER_MODERN",
    "SUBJECT_ID_BASE",
    "synthetic_export_rows",
    "write_synthetic_export",
]

HEADER_MODERN = (
    "classification_id,user_name,user_id,user_ip,workflow_id,workflow_name,workflow_version,"
    "created_at,gold_standard,expert,metadata,annotations,subject_data,subject_ids"
).split(",")
HEADER_2015 = (
    "user_name,user_ip,workflow_id,workflow_name,workflow_version,created_at,gold_standard,"
    "expert,metadata,annotations,subject_data"
).split(",")

#: Synthetic subject ``i`` has Panoptes id ``SUBJECT_ID_BASE + i``.
SUBJECT_ID_BASE = 15_000_000
_START = datetime(2016, 6, 1, 9, 0, 0, tzinfo=UTC)
_TOOL_LABELS = ("Blob", "Ring")


def _hex(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _metadata(when: datetime, session: str, version: str, v2: bool) -> str:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    started = (when - timedelta(seconds=41)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    meta = {
        "source": "api",
        "session": session,
        "viewport": {"width": 1920, "height": 955},
        "started_at": started,
        "user_agent": (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/51.0.2704.79 Safari/537.36"
        ),
        "utc_offset": "-3600",
        "finished_at": stamp,
        "live_project": True,
        "interventions": {"opt_in": True, "messageShown": False},
        "user_language": "en",
        "subject_dimensions": [
            {"clientWidth": 585, "clientHeight": 576, "naturalWidth": 390, "naturalHeight": 384}
        ],
        "subject_selection_state": {
            "retired": False,
            "selected_at": started,
            "already_seen": False,
            "selection_state": "normal",
            "finished_workflow": False,
            "user_has_finished_workflow": False,
        },
        "workflow_version": version,
    }
    if v2:
        meta["classifier_version"] = "2.0"
    return json.dumps(meta, separators=(",", ":"))


def _mark(x: float, y: float, r: float, tool: int, v2: bool) -> dict:
    if v2:
        return {
            "x_center": x,
            "y_center": y,
            "r": r,
            "angle": 0,
            "frame": 0,
            "toolIndex": tool,
            "toolType": "circle",
            "details": [],
        }
    return {
        "x": x,
        "y": y,
        "r": r,
        "angle": 0,
        "tool": tool,
        "frame": 0,
        "details": [],
        "tool_label": _TOOL_LABELS[tool],
    }


def synthetic_export_rows(
    n_rows: int,
    *,
    seed: int = 0,
    layout: Literal["modern", "2015"] = "modern",
    marks: Literal["v1", "v2"] = "v1",
    workflow_id: int = 1234,
    workflow_version: str = "12.34",
    n_volunteers: int = 25,
    first_subject: int = 0,
    n_subjects: int | None = None,
) -> Iterator[list[str]]:
    """Yield the rows (header first) of a synthetic export with ``n_rows`` classifications.

    Subjects ``first_subject, first_subject + 1, ...`` are classified in turn by
    ``n_volunteers`` volunteers each (those who marked something); about one volunteer in ten
    is not logged in. Subject ``i`` has id ``SUBJECT_ID_BASE + i`` and shows image
    ``synthetic-{i:04d}.png``. With ``n_subjects``, stop after that many subjects even if
    fewer than ``n_rows`` rows were written.
    """
    v2 = marks == "v2"
    yield list(HEADER_MODERN if layout == "modern" else HEADER_2015)
    row_number = 0
    subject = first_subject
    last = None if n_subjects is None else first_subject + n_subjects
    while row_number < n_rows and (last is None or subject < last):
        _, layer_marks = synthetic_marks(subject, seed=seed, n_volunteers=n_volunteers)
        per_user: dict[str, list[dict]] = {}
        for tool, layer in enumerate(SYNTHETIC_LAYERS):
            table = layer_marks[layer]
            for user, x, y, r in zip(table.extra["user"], table.x, table.y, table.r, strict=True):
                per_user.setdefault(user, []).append(_mark(float(x), float(y), float(r), tool, v2))
        users = sorted({*layer_marks["blobs"].extra["user"], *layer_marks["rings"].extra["user"]})
        subject_id = str(SUBJECT_ID_BASE + subject)
        subject_data = json.dumps(
            {subject_id: {"retired": None, "Filename": f"synthetic-{subject:04d}.png"}},
            separators=(",", ":"),
        )
        for user in users:
            if row_number >= n_rows:
                break
            classification_id = 400_000_000 + row_number
            when = _START + timedelta(seconds=7 * row_number)
            ip = _hex(user, 20)
            anonymous = int(ip[:2], 16) < 26  # about one in ten
            user_name = f"not-logged-in-{ip}" if anonymous else user
            user_id = "" if anonymous else str(1_000_000 + int(ip[:5], 16) % 900_000)
            annotations = [
                {"task": "T0", "task_label": "Any blobs or rings?", "value": "Yes"},
                {"task": "T3", "value": per_user[user]},
            ]
            fields = {
                "classification_id": str(classification_id),
                "user_name": user_name,
                "user_id": user_id,
                "user_ip": ip,
                "workflow_id": str(workflow_id),
                "workflow_name": "Blobs and rings",
                "workflow_version": workflow_version,
                "created_at": when.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "gold_standard": "",
                "expert": "",
                "metadata": _metadata(when, _hex(f"{user}{subject}", 64), workflow_version, v2),
                "annotations": json.dumps(annotations, separators=(",", ":")),
                "subject_data": subject_data,
                "subject_ids": subject_id,
            }
            yield [fields[c] for c in (HEADER_MODERN if layout == "modern" else HEADER_2015)]
            row_number += 1
        subject += 1


def write_synthetic_export(path: str | os.PathLike[str], n_rows: int, **options) -> None:
    """Write :func:`synthetic_export_rows` as a CSV file (atomically); options as there."""
    with atomic_write(path, "w") as handle:
        csv.writer(handle, lineterminator="\n").writerows(synthetic_export_rows(n_rows, **options))
