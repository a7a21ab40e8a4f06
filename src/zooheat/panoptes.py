"""Read one row of a Panoptes classification export: validate it, filter it, extract its marks.

Everything here is pure computation on already-split CSV fields; :mod:`zooheat.ingest` does the
streaming, the parallel work and the files.

Export layouts (told apart by the header):

- modern: ``classification_id, user_name, user_id, user_ip, workflow_id, workflow_name,
  workflow_version, created_at, gold_standard, expert, metadata, annotations, subject_data,
  subject_ids``;
- 2015: no ``classification_id``, ``user_id`` or ``subject_ids``; the subject id is the only
  key of ``subject_data``.

Marks (one drawing task's ``value`` is a list of them): every drawing tool of both front ends
is read by :func:`zooheat.drawing.mark_geometry`, which says each one's shape, the centre a
heat map counts and the shape's own fields. Sub-task answers of the newer front end are
separate annotations carrying a ``markIndex`` (not marks).

Every mark of a configured layer becomes one row of its subject's mark table
(:data:`MARK_COLUMNS`), with its *centre* in ``x, y``, in the pixels of the subject image as
uploaded: x is the column, y the row, origin top-left (a column or a full-height line gives
x alone, a full-width line y alone: the line it draws across the image). A mark of a tool
in no layer is not looked at; a layer's mark with no centre (a tool not known) is counted as
unplaced, never a reason to reject its classification.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from zooheat.drawing import SHAPE_FIELDS, BadMark, mark_geometry
from zooheat.errors import ZooheatError
from zooheat.limits import open_input

if TYPE_CHECKING:
    from zooheat.workflows import WorkflowTasks

__all__ = [
    "MARK_COLUMNS",
    "Classification",
    "ExportColumns",
    "IngestConfig",
    "LayerSpec",
    "Rejected",
    "RowCells",
    "classify",
    "export_columns",
    "ingest_config",
    "parse_row",
    "read_subject_export",
    "safe_image_name",
]

REQUIRED_COLUMNS = (
    "user_name",
    "workflow_id",
    "workflow_version",
    "created_at",
    "annotations",
    "subject_data",
)
#: Columns of every per-subject mark table that ingest writes, in order.
MARK_COLUMNS = (
    "classification_id",
    "user",
    "user_id",
    "created_at",
    "workflow_id",
    "workflow_version",
    "task",
    "tool",
    "tool_label",
    "shape",
    "frame",
    "x",
    "y",
    *SHAPE_FIELDS,
)
#: ``subject_data`` keys tried in order for a subject's image file name, by default: the
#: names projects use (a key holding a name that is not a file in the image folder is found
#: by the workflow, which lists the subjects whose image is missing).
FILENAME_KEYS = (
    "filename",
    "Filename",
    "#filename",
    "#Filename",
    "file_name",
    "image",
    "Image",
    "image_name",
    "#image_name",
    "image_name_1",
    "name",
    "Name",
)
# Patterns are plain syntax shared by Python's re and pyarrow's RE2 (the fast route), and
# match a whole cell: ASCII digits only, since ids and versions become file names and numbers.
#: A whole number (ids).
WHOLE_NUMBER_PATTERN = r"[0-9]+"
#: A workflow version, MAJOR or MAJOR.MINOR.
VERSION_PATTERN = r"[0-9]+(\.[0-9]+)?"
_VERSION = re.compile(VERSION_PATTERN)
#: A Panoptes ``created_at``.
TIMESTAMP_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"( ?(UTC|Z|[+-][0-9]{2}:?[0-9]{2}))?"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


class ColumnRule(NamedTuple):
    """What one scalar column of an export must hold, and how a row that breaks it is told."""

    #: matches the whole cell once surrounding white space is stripped
    pattern: str
    #: the reject reason; ``{value}`` is the cell's escaped excerpt
    message: str


#: What an export re-saved by R (or a spreadsheet) holds where Panoptes left a cell empty:
#: read as empty in ``user_id`` (a volunteer not logged in) and ``gold_standard``.
NOT_AVAILABLE = "NA"

#: The highest frame a mark may name (Panoptes subjects hold a handful of images).
MAX_FRAME = 999


def frame_unit(subject: str, frame: int) -> str:
    """Name the heat maps of one frame of a subject: frame 0 keeps the subject id.

    Examples
    --------
    >>> frame_unit("15000000", 0), frame_unit("15000000", 1)
    ('15000000', '15000000_f1')
    """
    return subject if frame == 0 else f"{subject}_f{frame}"


def unit_subject(unit: str) -> tuple[str, int]:
    """Split what :func:`frame_unit` named into the subject id and the frame.

    Only a Panoptes subject id (a number) has frames: a subject table's own id such as
    ``scan_f2`` is a subject of its own.

    Examples
    --------
    >>> unit_subject("15000000_f1"), unit_subject("15000000"), unit_subject("scan_f2")
    (('15000000', 1), ('15000000', 0), ('scan_f2', 0))
    """
    subject, sep, frame = unit.rpartition("_f")
    if sep and subject.isdigit() and subject.isascii() and frame.isdigit() and frame.isascii():
        return subject, int(frame)
    return unit, 0


#: The scalar columns the ingest checks, each by one rule (both routes use these).
COLUMN_RULES = {
    "classification_id": ColumnRule(WHOLE_NUMBER_PATTERN, "not a whole number: {value}"),
    "user_id": ColumnRule(
        f"({WHOLE_NUMBER_PATTERN}|{NOT_AVAILABLE})?", "not a whole number: {value}"
    ),
    "workflow_id": ColumnRule(WHOLE_NUMBER_PATTERN, "not a whole number: {value}"),
    "workflow_version": ColumnRule(VERSION_PATTERN, "expected MAJOR.MINOR, found {value}"),
    "created_at": ColumnRule(TIMESTAMP_PATTERN, "not a date and time: {value}"),
    "subject_ids": ColumnRule(WHOLE_NUMBER_PATTERN, "subject id is not a whole number: {value}"),
}
_SCIENTIFIC = re.compile(r"[0-9]+(\.[0-9]+)?[eE]\+?[0-9]+")
_COLUMN_MATCH = {name: re.compile(rule.pattern).fullmatch for name, rule in COLUMN_RULES.items()}


def _checked(column: str, cell: str, *, field: str | None = None) -> str:
    """Return the stripped cell if it follows ``column``'s rule; else raise Rejected."""
    value = cell.strip()
    if _COLUMN_MATCH[column](value) is None:
        message = COLUMN_RULES[column].message.format(value=f"{value!r:.40}")
        if _SCIENTIFIC.fullmatch(value):
            message += (
                " (a round number in scientific notation, as R writes them: re-save the export "
                "with options(scipen = 100))"
            )
        raise Rejected(field or column, message)
    return value


class ExportHeaderError(ZooheatError):
    """The export's header is not one of a Panoptes classification export."""


@dataclass(frozen=True)
class LayerSpec:
    """One heat-map layer: the marks of one tool of one drawing task.

    The tool is named by its index in the task or by its label (what volunteers saw on its
    button, which each mark of Panoptes-Front-End carries as ``tool_label``): a label keeps
    meaning the same tool when a project's edits move tools to other indices.

    Attributes
    ----------
    name : str
        Layer name (folder under ``marks/``).
    task : str
        Drawing task id in the workflow, e.g. ``"T3"``.
    tool : int or None
        Index of the tool within that task (0 is the first); None when ``tool_label`` names it.
    tool_label : str or None
        The tool's label, e.g. ``"Cluster"``; None when ``tool`` names it.
    """

    name: str
    task: str
    tool: int | None = None
    tool_label: str | None = None

    def __post_init__(self) -> None:
        if (self.tool is None) == (self.tool_label is None):
            raise ZooheatError(
                f"layer {self.name!r}: name its tool by index (tool) or by label (tool_label), "
                "one of the two"
            )
        if self.tool_label is not None and not self.tool_label.strip():
            raise ZooheatError(f"layer {self.name!r}: tool_label is empty")

    @property
    def tool_text(self) -> str:
        """How messages name the layer's tool: ``tool 0`` or ``tool label 'Cluster'``."""
        return f"tool {self.tool}" if self.tool is not None else f"tool label {self.tool_label!r}"

    @classmethod
    def parse(cls, text: str) -> LayerSpec:
        """Parse ``NAME=TASK:TOOL``: TOOL a tool's index, or else its label.

        Examples
        --------
        >>> LayerSpec.parse("blobs=T3:0")
        LayerSpec(name='blobs', task='T3', tool=0, tool_label=None)
        >>> LayerSpec.parse("clusters=T0:Background Galaxy").tool_label
        'Background Galaxy'
        """
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)=([^:=\s]+):(.+)", text.strip())
        if not match or not match[3].strip():
            raise ZooheatError(
                f"layer {text!r}: expected NAME=TASK:TOOL, e.g. blobs=T3:0 (tool 0 of task T3) "
                "or clusters=T0:Cluster (the tool labelled Cluster)"
            )
        tool = match[3].strip()
        if tool.isdigit() and tool.isascii():
            return cls(match[1], match[2], int(tool))
        return cls(match[1], match[2], tool_label=tool)

    def to_dict(self) -> dict[str, Any]:
        """Return the layer as the config spells it: ``{task, tool}`` or ``{task, tool_label}``."""
        if self.tool is not None:
            return {"task": self.task, "tool": self.tool}
        return {"task": self.task, "tool_label": self.tool_label}


@dataclass(frozen=True)
class IngestConfig:
    """What to take from an export.

    Attributes
    ----------
    layers : tuple of LayerSpec
        The marks to extract.
    workflow_id : int or None
        Keep only this workflow's classifications (None: all).
    workflow_version : str or None
        ``"12"`` keeps major version 12 (any minor); ``"12.3"`` keeps 12.3 and later minor
        versions of 12 (Panoptes bumps the minor version for text-only edits). None: all.
    duplicates : {"first", "last", "all"}
        When one user classified one subject more than once: keep the earliest, the latest,
        or all. Users who are not logged in are ``not-logged-in-<ip hash>``; several pupils in
        one classroom share that, so "first" and "last" keep one of their classifications.
    gold_standard : {"include", "exclude", "only"}
        What to do with gold-standard classifications.
    filename_keys : tuple of str
        ``subject_data`` keys that may hold the image file name, tried in order.
    frames : {"separate", "pooled"}
        Multi-frame subjects: a heat map per frame, over that frame's image (frame 0 keeps
        the subject id, frame k is ``{subject}_f{k}``: :func:`frame_unit`), or every frame's
        marks pooled into one heat map over frame 0's image.
    """

    layers: tuple[LayerSpec, ...]
    workflow_id: int | None = None
    workflow_version: str | None = None
    duplicates: Literal["first", "last", "all"] = "first"
    gold_standard: Literal["include", "exclude", "only"] = "include"
    filename_keys: tuple[str, ...] = FILENAME_KEYS
    frames: Literal["separate", "pooled"] = "separate"

    def __post_init__(self) -> None:
        # screen()'s answers by raw cells: a handful of distinct values in a whole export
        object.__setattr__(self, "_screened", {})
        if not self.layers:
            raise ZooheatError("no layers: give at least one NAME=TASK:TOOL")
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ZooheatError(f"layer names repeat: {names}")
        if self.workflow_version is not None and not _VERSION.fullmatch(self.workflow_version):
            raise ZooheatError(
                f"workflow_version {self.workflow_version!r}: expected MAJOR or MAJOR.MINOR"
            )
        if self.duplicates not in ("first", "last", "all"):
            raise ZooheatError(f"duplicates {self.duplicates!r}: expected 'first', 'last' or 'all'")
        if self.frames not in ("separate", "pooled"):
            raise ZooheatError(f"frames {self.frames!r}: expected 'separate' or 'pooled'")
        if self.gold_standard not in ("include", "exclude", "only"):
            raise ZooheatError(
                f"gold_standard {self.gold_standard!r}: expected 'include', 'exclude' or 'only'"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as the config spells them: ``layers`` and ``panoptes`` keys.

        :func:`ingest_config` ``(d["layers"], d)`` gives the same config back.

        Examples
        --------
        >>> c = IngestConfig(layers=(LayerSpec("blobs", "T3", 0),), workflow_id=7)
        >>> ingest_config(c.to_dict()["layers"], c.to_dict()) == c
        True
        """
        return {
            "layers": {s.name: s.to_dict() for s in self.layers},
            "workflow_id": self.workflow_id,
            "workflow_version": self.workflow_version,
            "duplicates": self.duplicates,
            "gold_standard": self.gold_standard,
            "filename_keys": list(self.filename_keys),
            "frames": self.frames,
        }

    def screen(
        self, workflow_id: str, workflow_version: str, gold_standard: str | None
    ) -> tuple[str, str]:
        """Check a row's workflow id and version and apply the filters, in their one order.

        Workflow id, workflow filter, version, version filter, gold-standard filter: so a
        row of another workflow is filtered whatever its version holds. The answer depends on
        these three cells only and is remembered for them.

        Returns
        -------
        tuple of str
            The stripped workflow id and version.

        Raises
        ------
        Filtered
            The configuration leaves the row out.
        Rejected
            The workflow id or version is not valid.

        Examples
        --------
        >>> config = IngestConfig(layers=(LayerSpec("blobs", "T3", 0),), workflow_id=7)
        >>> config.screen(" 7", "12.3", None)
        ('7', '12.3')
        >>> config.screen("8", "bad", None)
        Traceback (most recent call last):
        ...
        zooheat.panoptes.Filtered: other_workflow
        """
        key = (workflow_id, workflow_version, gold_standard)
        answer = self._screened.get(key)  # type: ignore[attr-defined]
        if answer is None:
            answer = self._screen(*key)
            if len(self._screened) > 4096:  # type: ignore[attr-defined]
                self._screened.clear()  # type: ignore[attr-defined]
            self._screened[key] = answer  # type: ignore[attr-defined]
        if isinstance(answer, Exception):
            raise answer.with_traceback(None)  # the remembered one, without its last traceback
        return answer

    def _screen(
        self, workflow_cell: str, version_cell: str, gold_cell: str | None
    ) -> tuple[str, str] | Exception:
        try:
            workflow_id = _checked("workflow_id", workflow_cell)
            if not self.workflow_wanted(workflow_id):
                return Filtered("other_workflow")
            version = _checked("workflow_version", version_cell)
        except Rejected as exc:
            return exc
        if not self.version_wanted(version):
            return Filtered("other_version")
        if gold_cell is not None and not self.gold_wanted(gold_cell):
            return Filtered("gold_standard")
        return workflow_id, version

    def workflow_wanted(self, workflow_id: str) -> bool:
        """Whether a row's (whole-number) workflow id passes the configured filter."""
        return self.workflow_id is None or int(workflow_id) == self.workflow_id

    def gold_wanted(self, gold_standard: str) -> bool:
        """Whether a row with this ``gold_standard`` cell passes the configured filter."""
        gold = gold_standard.strip().lower() in ("true", "t", "1", "yes")
        if self.gold_standard == "exclude":
            return not gold
        return gold or self.gold_standard != "only"

    def version_wanted(self, version: str) -> bool:
        """Whether a row's ``MAJOR.MINOR`` version passes the configured filter."""
        if self.workflow_version is None:
            return True
        want = self.workflow_version.split(".")
        have = version.split(".")
        if int(have[0]) != int(want[0]):
            return False
        if len(want) == 1:
            return True
        return len(have) > 1 and int(have[1]) >= int(want[1])


def ingest_config(layers: Mapping[str, Any], settings: Mapping[str, Any]) -> IngestConfig:
    """Build an :class:`IngestConfig` from the workflow config's ``layers`` and ``panoptes``.

    Examples
    --------
    >>> c = ingest_config({"blobs": {"task": "T3", "tool": 0}}, {"workflow_id": 7})
    >>> c.layers, c.workflow_id, c.duplicates
    ((LayerSpec(name='blobs', task='T3', tool=0, tool_label=None),), 7, 'first')
    >>> ingest_config({"c": {"task": "T0", "tool_label": "Cluster"}}, {}).layers[0].tool_label
    'Cluster'
    """
    version = settings.get("workflow_version")
    return IngestConfig(
        layers=tuple(
            LayerSpec(name, str(spec.get("task", "T0")), tool_label=str(spec["tool_label"]))
            if spec.get("tool_label") is not None
            else LayerSpec(name, str(spec.get("task", "T0")), int(spec.get("tool", 0)))
            for name, spec in layers.items()
        ),
        workflow_id=settings.get("workflow_id"),
        workflow_version=None if version is None else str(version),
        duplicates=settings.get("duplicates", "first"),
        gold_standard=settings.get("gold_standard", "include"),
        filename_keys=tuple(settings.get("filename_keys") or FILENAME_KEYS),
        frames=settings.get("frames", "separate"),
    )


class RowCells(NamedTuple):
    """The cells of one export row that the ingest reads, as split (not yet stripped).

    None where the export has no such column (2015 exports have no ``classification_id``,
    ``user_id`` or ``subject_ids``).
    """

    classification_id: str | None
    user_name: str
    user_id: str | None
    user_ip: str | None
    workflow_id: str
    workflow_version: str
    gold_standard: str | None
    created_at: str
    metadata: str | None
    annotations: str
    subject_data: str
    subject_ids: str | None


#: The columns the ingest reads from a row, in :class:`RowCells` order.
READ_COLUMNS: tuple[str, ...] = RowCells._fields


@dataclass(frozen=True)
class ExportColumns:
    """Positions of the columns in one export's header, and its layout."""

    names: tuple[str, ...]
    index: Mapping[str, int]
    layout: Literal["modern", "2015"]

    def cells_of(self, fields: Sequence[str]) -> RowCells:
        """Return the cells the ingest reads from one row's fields (as many as the header names)."""
        index = self.index
        return RowCells._make(fields[index[n]] if n in index else None for n in READ_COLUMNS)


def export_columns(header: Sequence[str], source: str) -> ExportColumns:
    """Check an export's header and say where each column is.

    Raises
    ------
    ExportHeaderError
        A required column is missing or a name repeats; the message lists what was found.
    """
    names = tuple(h.strip() for h in header)
    if names and names[0].startswith("\ufeff"):
        names = (names[0][1:], *names[1:])
    dupes = sorted({n for n in names if names.count(n) > 1})
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing or dupes or not names:
        problem = f"missing columns {missing}" if missing else f"repeated columns {dupes}"
        raise ExportHeaderError(
            f"{source}, line 1: not a Panoptes classification export header ({problem}). "
            f"Expected at least {list(REQUIRED_COLUMNS)} (and classification_id, subject_ids in "
            f"exports since 2015) among its {len(names)} columns"
        )
    layout: Literal["modern", "2015"] = (
        "modern" if "classification_id" in names and "subject_ids" in names else "2015"
    )
    return ExportColumns(names, {n: i for i, n in enumerate(names)}, layout)


class Rejected(Exception):
    """A row that cannot be used; ``field`` names the column, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Filtered(Exception):
    """A valid row that the configuration leaves out (``reason`` is a summary key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SubjectInfo:
    """What a row says about its subject: image file name and whether it is retired.

    ``image`` is empty when neither ``subject_data`` (under any of the configured keys) nor the
    subject export names a usable image file; ``why`` then says so, listing the keys
    ``subject_data`` does have, so that the user can tell which one holds it.
    """

    image: str
    retired: bool
    why: str = ""
    #: ``(frame, file name)`` of the images of frames 1, 2, ... (see :func:`frame_images`)
    frames: tuple[tuple[int, str], ...] = ()


@dataclass(slots=True)
class Classification:
    """One usable classification of one subject, with the marks of the configured layers.

    ``marks`` holds one tuple per mark: ``(layer index, task, tool, frame, x, y, r, rx, ry,
    angle, width, height, x1, y1, x2, y2, spread, points, shape, tool label)`` with None for
    fields the tool has not (see :mod:`zooheat.drawing`).
    ``notes`` says what the annotations held besides the marks (:class:`MarkNotes`).
    ``dimensions`` is ``(natural width, natural height, client width, client height)`` of the
    image as the volunteer saw it, when the metadata says.
    """

    subject: str
    user: str
    user_id: str
    created_at: str
    classification_id: str
    workflow_id: str
    workflow_version: str
    subject_info: SubjectInfo
    marks: list[tuple]
    dimensions: tuple[float, float, float, float] | None = None
    notes: MarkNotes | None = None


def safe_image_name(name: object) -> str:
    """Return ``name`` if it is a safe relative image path, else raise :class:`Rejected`.

    A safe name is a non-empty relative path with ``/`` separators whose parts are neither
    empty, ``.`` nor ``..``, without control characters or backslashes: joined to the image
    folder it can only name a file inside it.

    Examples
    --------
    >>> safe_image_name("batch1/533_3140.png")
    'batch1/533_3140.png'
    >>> safe_image_name("../../x.png")
    Traceback (most recent call last):
    ...
    zooheat.panoptes.Rejected: subject_data: unsafe image file name '../../x.png' ...
    """
    if not isinstance(name, str) or not name.strip():
        raise Rejected("subject_data", f"image file name is not a non-empty string: {name!r}")
    parts = name.split("/")
    if (
        name.startswith("/")
        or _CONTROL.search(name)
        or any(p in ("", ".", "..") for p in parts)
        or re.match(r"^[A-Za-z]:", name)
    ):
        raise Rejected(
            "subject_data",
            f"unsafe image file name {name!r} (absolute, '..', control characters or "
            "backslashes could reach outside the image folder)",
        )
    return name


_LARGEST = sys.float_info.max


def _is_combo(value: object) -> bool:
    # A combo task's value: the annotations of its sub-tasks (objects with task and value,
    # none of them a mark with a position).
    if type(value) is not list or not value:
        return False
    first = value[0]  # answers and marks fail here, before the loops below
    if type(first) is not dict or "task" not in first or "value" not in first:
        return False
    return all(type(v) is dict and "task" in v and "value" in v for v in value) and not any(
        "x" in v or "x_center" in v for v in value
    )


def _flatten(annotations: list) -> list[dict[str, Any]]:
    # Combo tasks nest their sub-tasks' annotations in their value.
    flat = []
    for annotation in annotations:
        if type(annotation) is not dict:
            raise Rejected("annotations", f"an annotation is not an object: {annotation!r:.60}")
        value = annotation.get("value")
        if _is_combo(value):
            flat.extend(_flatten(value))
        else:
            flat.append(annotation)
    return flat


_by_task_memo: list = [None, None]  # the last layers seen and their index (one config a run)

#: A configured task's layers: by tool index and by tool label.
_TaskLayers = tuple[dict[int, list[int]], dict[str, list[int]]]


def _layers_by_task(layers: Sequence[LayerSpec]) -> dict[str, _TaskLayers]:
    if _by_task_memo[0] is layers:
        return _by_task_memo[1]
    by_task: dict[str, _TaskLayers] = {}
    for i, spec in enumerate(layers):
        by_index, by_label = by_task.setdefault(spec.task, ({}, {}))
        if spec.tool_label is not None:
            by_label.setdefault(spec.tool_label, []).append(i)
        else:
            by_index.setdefault(spec.tool, []).append(i)  # type: ignore[arg-type]
    _by_task_memo[:] = [layers, by_task]
    return by_task


def _answers(value: object) -> bool:
    """Whether a task's value is a question's or a survey's answer rather than marks."""
    if type(value) is not list:
        return True  # a single answer, a text, a number
    if not value:
        return False
    first = value[0]
    if type(first) is dict and "choice" not in first:
        return False  # marks: the answer for nearly every row, without the loop below
    return all(
        type(v) is not dict or ("choice" in v and "tool" not in v and "toolIndex" not in v)
        for v in value
    )


class MarkNotes(NamedTuple):
    """What a row's annotations said besides its marks (counted, never a reason to reject).

    ``labels`` holds ``(task, tool index, tool label)`` of every mark in a configured task
    that carries a label; ``unplaced`` holds ``(layer index, shape)`` of every layer's mark
    with no centre; ``answers`` the configured tasks whose value held answers, not marks.
    """

    labels: list[tuple[str, int, str]]
    unplaced: list[tuple[int, str]]
    answers: list[str]


_new_notes = tuple.__new__


def marks_of_annotations(
    annotations: object,
    layers: Sequence[LayerSpec],
    notes: MarkNotes | None = None,
    tool_labels: Mapping[tuple[str, int], str] | None = None,
) -> list[tuple]:
    """Extract the configured layers' marks from a row's parsed ``annotations``.

    Parameters
    ----------
    annotations : object
        The row's parsed ``annotations``.
    layers : sequence of LayerSpec
        The configured layers.
    notes : MarkNotes, optional
        Where to add what was seen besides the marks: tool labels, unplaced marks, tasks
        that hold answers.
    tool_labels : mapping, optional
        ``{(task, tool index): label}`` for marks that carry no ``tool_label`` (the newer
        front end's): the row's workflow version's, from a workflow export.

    Raises
    ------
    Rejected
        The annotations are not a list of objects, a configured task's value mixes marks with
        other things, or a mark's tool, frame or numbers are unusable.

    Examples
    --------
    >>> layers = [LayerSpec("blobs", "T3", 0)]
    >>> ann = [{"task": "T3", "value": [{"x": 10, "y": 20, "r": 3, "tool": 0, "frame": 0},
    ...                                 {"x": 1, "y": 2, "tool": 1}]}]
    >>> marks_of_annotations(ann, layers)[0][:7]
    (0, 'T3', 0, 0, 10.0, 20.0, 3.0)
    """
    if type(annotations) is not list:
        raise Rejected("annotations", f"expected a list of annotations, found {annotations!r:.60}")
    by_task = _layers_by_task(layers)
    rows: list[tuple] = []
    for annotation in _flatten(annotations):
        task = annotation.get("task")
        if type(task) is not str or task not in by_task or "markIndex" in annotation:
            continue  # another task, or a v2 sub-task answer about a mark
        value = annotation.get("value")
        if value is None:
            continue
        if _answers(value):
            if notes is not None:
                notes.answers.append(task)
            continue
        by_index, by_label = by_task[task]
        for n, mark in enumerate(value):
            if type(mark) is not dict:
                raise Rejected(
                    "annotations", f"task {task} mark {n} is not an object: {mark!r:.60}"
                )
            tool = mark["tool"] if "tool" in mark else mark.get("toolIndex")
            if type(tool) is not int:
                raise Rejected(
                    "annotations",
                    f"task {task} mark {n} has no whole-number tool index: {tool!r:.40}",
                )
            label = mark.get("tool_label")
            if type(label) is not str:
                label = None if tool_labels is None else tool_labels.get((task, tool))
            if label is not None and notes is not None:
                notes.labels.append((task, tool, label))
            targets = by_index.get(tool)
            if by_label and label is not None and label in by_label:
                targets = [*(targets or ()), *by_label[label]]
            if not targets:
                continue
            frame = mark.get("frame", 0)
            if type(frame) is not int or not 0 <= frame <= MAX_FRAME:
                raise Rejected(
                    "annotations",
                    f"task {task} mark {n} frame is not a whole number 0-{MAX_FRAME}: "
                    f"{frame!r:.40}",
                )
            try:
                geometry = mark_geometry(mark)
            except BadMark as exc:
                raise Rejected("annotations", f"task {task} mark {n} {exc}") from None
            if geometry[0] is None and geometry[1] is None:
                if notes is not None:
                    notes.unplaced.extend((layer, geometry[-1]) for layer in targets)
                continue
            for layer in targets:
                rows.append((layer, task, tool, frame, *geometry, label))
    return rows


def _json(text: str, column: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Rejected(column, f"not valid JSON ({exc})") from None


def metadata_dimensions(metadata: object) -> tuple[float, float, float, float] | None:
    """Return the first ``subject_dimensions`` entry of a row's parsed ``metadata``, if any.

    Returns ``(natural width, natural height, client width, client height)``.

    Raises
    ------
    Rejected
        The metadata is not an object, or its ``subject_dimensions`` are unusable.
    """
    if type(metadata) is not dict:
        raise Rejected("metadata", f"expected an object, found {type(metadata).__name__}")
    dims = metadata.get("subject_dimensions")
    if dims is None:
        return None
    if not isinstance(dims, list):
        raise Rejected("metadata", f"subject_dimensions is not a list: {dims!r:.60}")
    for entry in dims:
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise Rejected("metadata", f"subject_dimensions entry is not an object: {entry!r:.60}")
        try:
            values = (
                float(entry["naturalWidth"]),
                float(entry["naturalHeight"]),
                float(entry["clientWidth"]),
                float(entry["clientHeight"]),
            )
        except (KeyError, TypeError, ValueError):
            raise Rejected(
                "metadata", f"subject_dimensions entry lacks numeric sizes: {entry!r:.80}"
            ) from None
        for v in values:
            if not 0.0 <= v <= _LARGEST:  # also false for NaN
                raise Rejected("metadata", f"subject_dimensions has odd sizes: {entry!r:.80}")
        return values
    return None


def frame_images(entry: Mapping[str, object], keys: Sequence[str]) -> dict[int, str]:
    """Return the image file names of a subject's frames named by numbered keys.

    Projects number a multi-frame subject's images from 1 after one of the file-name keys:
    ``image_name_1, image_name_2`` or ``Filename1, Filename2`` name frames 0 and 1. The
    first key of ``keys`` that numbers a frame names it. Unusable values are left out.

    Examples
    --------
    >>> frame_images({"image_name_1": "a.jpg", "image_name_2": "b.jpg", "x": 1}, ["image_name"])
    {0: 'a.jpg', 1: 'b.jpg'}
    """
    found: dict[int, str] = {}
    for key in keys:
        for name, value in entry.items():
            if type(value) is not str or not value or value == NOT_AVAILABLE:
                continue
            if not (isinstance(name, str) and name.startswith(key)):
                continue
            number = name[len(key) :].removeprefix("_")
            if number.isdigit() and number.isascii() and 1 <= int(number) <= MAX_FRAME + 1:
                try:
                    found.setdefault(int(number) - 1, safe_image_name(value))
                except Rejected:
                    continue
    return found


def location_images(locations: object) -> dict[int, str]:
    """Return the file names of a subject export's ``locations`` (frame to URL), by frame.

    The name is the last part of each URL's path: the file a download keeps.

    Examples
    --------
    >>> location_images({"0": "https://example.org/subject_location/ab12.jpeg?x=1"})
    {0: 'ab12.jpeg'}
    """
    found: dict[int, str] = {}
    items = locations.items() if isinstance(locations, dict) else enumerate(locations or ())
    for frame, url in items:
        if not (str(frame).isdigit() and isinstance(url, str)):
            continue
        name = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rpartition("/")[2]
        if name and int(frame) <= MAX_FRAME:
            try:
                found[int(frame)] = safe_image_name(name)
            except Rejected:
                continue
    return found


class SubjectDataCache:
    """Parsed ``subject_data`` by its raw text: a subject's text repeats in every row of it."""

    #: Entries kept before the cache starts again (a subject's classifications come close
    #: together in an export, so the recent ones are those asked for again).
    SIZE = 8192

    def __init__(
        self, filename_keys: Sequence[str], images: Mapping[str, Mapping[int, str]] | None
    ) -> None:
        self.filename_keys = tuple(filename_keys)
        self.images = images or {}  # from a subject export: subject to {frame: file name}
        self._cache: dict[tuple[str, str], tuple[str, SubjectInfo]] = {}

    def lookup(self, text: str, subject_ids: str | None) -> tuple[str, SubjectInfo]:
        """Return ``(subject id, info)`` for a row, or raise :class:`Rejected`."""
        key = (text, subject_ids or "")
        hit = self._cache.get(key)
        if hit is None:
            hit = self._parse(text, subject_ids)
            if len(self._cache) >= self.SIZE:  # bound memory (~0.4 kB an entry)
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def _parse(self, text: str, subject_ids: str | None) -> tuple[str, SubjectInfo]:
        data = _json(text, "subject_data")
        if not isinstance(data, dict) or not data:
            raise Rejected("subject_data", f"expected an object keyed by subject id: {text!r:.60}")
        if subject_ids is None:  # 2015 layout: the only key is the subject
            if len(data) != 1:
                raise Rejected("subject_data", f"expected one subject, found {len(data)}")
            subject = _checked("subject_ids", next(iter(data)))
        else:
            subject = subject_ids.strip()
            if ";" in subject or "," in subject:
                raise Rejected(
                    "subject_ids",
                    f"classifications of several subjects at once are not supported: {subject!r}",
                )
            subject = _checked("subject_ids", subject)
            if subject not in data:
                raise Rejected(
                    "subject_data",
                    f"has no entry for subject {subject} (keys {list(data)[:3]})",
                )
        entry = data[subject]
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            raise Rejected("subject_data", f"subject {subject} entry is not an object")
        name = next(
            (entry[k] for k in self.filename_keys if entry.get(k) not in (None, "", NOT_AVAILABLE)),
            None,
        )
        exported = self.images.get(subject, {})
        numbered = frame_images(entry, self.filename_keys) if len(entry) > 1 else {}
        if name is None:
            name = numbered.get(0, exported.get(0))
        frames = tuple(sorted((f, n) for f, n in (exported | numbered).items() if f > 0))
        retired = bool(entry.get("retired"))
        # The marks are good whatever the image: the workflow lists a subject without one.
        if name is None:
            keys = ", ".join(repr(str(k)[:40]) for k in list(entry)[:12]) or "none"
            why = f"no image file name (its keys: {keys})"
            return subject, SubjectInfo("", retired, why, frames)
        try:
            return subject, SubjectInfo(safe_image_name(name), retired, "", frames)
        except Rejected as exc:
            return subject, SubjectInfo("", retired, exc.reason, frames)


def _user(cells: RowCells) -> tuple[str, str]:
    # Volunteers who are not logged in are exported as "not-logged-in-<ip hash>"; older
    # exports may leave user_name empty, and then the ip hash tells them apart.
    name = cells.user_name.strip()
    user_id = "" if cells.user_id is None else _checked("user_id", cells.user_id)
    if name:
        return name, user_id
    ip = (cells.user_ip or "").strip()
    if not ip:
        raise Rejected("user_name", "empty, and no user_ip to tell the volunteer by")
    return f"not-logged-in-{ip}", user_id


def classify(
    cells: RowCells,
    config: IngestConfig,
    subjects: SubjectDataCache,
    *,
    loads: Callable[[str], Any] | None = None,
    checked: bool = False,
    workflows: WorkflowTasks | None = None,
) -> Classification:
    """Validate one export row, filter it and extract its marks: the one definition of a row's fate.

    Checks run in a fixed order, so that a row is filtered or rejected for the same reason
    whichever route read it: :meth:`IngestConfig.screen` (workflow id and version, and the
    filters), then classification id, volunteer, date, subject, metadata, annotations.

    Parameters
    ----------
    cells : RowCells
        The row's cells as split.
    config : IngestConfig
        Layers and filters.
    subjects : SubjectDataCache
        Parses (and remembers) ``subject_data``.
    loads : callable, optional
        ``loads(text)`` parses the ``metadata`` and ``annotations`` JSON. By default
        :mod:`json` does, and bad JSON is :class:`Rejected` naming the column; a faster parser
        may be given if it gives the same values for the texts it accepts and raises
        ``ValueError`` otherwise.
    checked : bool
        The scalar cells are already known to follow :data:`COLUMN_RULES` as they stand
        (nothing to strip; the user name not empty): their checks are skipped.
    workflows : WorkflowTasks, optional
        Tool labels by workflow version (a workflow export), for marks that carry none.

    Raises
    ------
    Filtered
        The row is valid but the configuration leaves it out (other workflow or version,
        gold standard).
    Rejected
        The row cannot be used; the exception names the column and the reason.
    """
    workflow_id, version = config.screen(
        cells.workflow_id, cells.workflow_version, cells.gold_standard
    )
    classification_id = cells.classification_id or ""
    if classification_id and not checked:
        classification_id = _checked("classification_id", classification_id)
    if checked:  # a name with nothing to strip and a valid user id, as they stand
        user, user_id = cells.user_name, cells.user_id or ""
    else:
        user, user_id = _user(cells)
    if user_id == NOT_AVAILABLE:  # not logged in, in an export re-saved by R
        user_id = ""
    created_at = cells.created_at if checked else _checked("created_at", cells.created_at)
    subject, info = subjects.lookup(cells.subject_data, cells.subject_ids)
    dimensions = None
    if cells.metadata is not None:
        metadata = _json(cells.metadata, "metadata") if loads is None else loads(cells.metadata)
        dimensions = metadata_dimensions(metadata)
    if loads is None:
        annotations = _json(cells.annotations, "annotations")
    else:
        annotations = loads(cells.annotations)
    notes = _new_notes(MarkNotes, ([], [], []))  # MarkNotes([], [], []), built in C: every row
    labels = None if workflows is None else workflows.labels(workflow_id, version)
    marks = marks_of_annotations(annotations, config.layers, notes, labels)
    return Classification(
        subject=subject,
        user=user,
        user_id=user_id,
        created_at=created_at,
        classification_id=classification_id,
        workflow_id=workflow_id,
        workflow_version=version,
        subject_info=info,
        marks=marks,
        dimensions=dimensions,
        notes=notes,
    )


def parse_row(
    fields: Sequence[str],
    columns: ExportColumns,
    config: IngestConfig,
    subjects: SubjectDataCache,
    workflows: WorkflowTasks | None = None,
) -> Classification:
    """Check one row's field count, then :func:`classify` it (the exact route).

    Raises
    ------
    Filtered
        As :func:`classify`.
    Rejected
        The row has too few or too many fields, or as :func:`classify`.

    Examples
    --------
    >>> cols = export_columns(["user_name", "workflow_id", "workflow_version", "created_at",
    ...                        "annotations", "subject_data"], "export.csv")
    >>> config = IngestConfig(layers=(LayerSpec("blobs", "T3", 0),))
    >>> ann = '[{"task": "T3", "value": [{"tool": 0, "x": 1, "y": 2}]}]'
    >>> c = parse_row(["ada", "7", "1.2", "2020-01-01 10:00:00 UTC", ann,
    ...                '{"15": {"Filename": "a.png"}}'], cols, config, SubjectDataCache((
    ...                "Filename",), None))
    >>> c.subject, c.user, c.subject_info.image, c.marks[0][4:6]
    ('15', 'ada', 'a.png', (1.0, 2.0))
    >>> parse_row([" ada", "7", "x", "", "", ""], cols, config, SubjectDataCache((), None))
    Traceback (most recent call last):
    ...
    zooheat.panoptes.Rejected: workflow_version: expected MAJOR.MINOR, found 'x'
    """
    if len(fields) != len(columns.names):
        raise Rejected(
            "row",
            f"expected {len(columns.names)} fields, found {len(fields)}"
            + (" (truncated row?)" if len(fields) < len(columns.names) else ""),
        )
    return classify(columns.cells_of(fields), config, subjects, workflows=workflows)


# --------------------------------------------------------------------------- subject export


def read_subject_export(
    path: str | os.PathLike[str], filename_keys: Sequence[str] = FILENAME_KEYS
) -> tuple[dict[str, dict[int, str]], list[tuple[int, str, str, str]]]:
    """Map subject ids to their images' file names, by frame, from a Panoptes subject export.

    The export has one row per subject and subject-set link (``subject_id, project_id,
    workflow_id, subject_set_id, metadata, locations, ...``), so a subject may repeat. Frame
    0's file name comes from the first of ``filename_keys`` in ``metadata``; any frame's from
    keys numbered after one of them (:func:`frame_images`); a frame no key names, from the last
    part of its URL in ``locations`` (:func:`location_images`).

    Returns
    -------
    images : dict
        Subject id to ``{frame: file name}``.
    rejects : list of tuple
        ``(line, subject_id, field, reason)`` of rows that could not be used.

    Raises
    ------
    ZooheatError
        The file is missing or its header lacks ``subject_id`` or ``metadata``.
    """
    images: dict[str, dict[int, str]] = {}
    rejects: list[tuple[int, str, str, str]] = []
    what = "a Panoptes subject export CSV"
    with (
        open_input(path, what) as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle,
    ):
        try:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            if "subject_id" not in header or "metadata" not in header:
                raise ZooheatError(
                    f"{path}, line 1: not a Panoptes subject export (expected columns "
                    f"subject_id and metadata among its {len(header)} columns)"
                )
            sid_at, meta_at = header.index("subject_id"), header.index("metadata")
            locations_at = header.index("locations") if "locations" in header else None
            line = 1
            for fields in reader:
                start, line = line + 1, reader.line_num
                if not fields:
                    continue
                subject = fields[sid_at].strip() if len(fields) > sid_at else ""
                try:
                    if len(fields) != len(header):
                        raise Rejected("row", f"expected {len(header)} fields, found {len(fields)}")
                    subject = _checked("subject_ids", subject, field="subject_id")
                    metadata = _json(fields[meta_at], "metadata")
                    if not isinstance(metadata, dict):
                        raise Rejected("metadata", "expected an object")
                    name = next(
                        (m for k in filename_keys if (m := metadata.get(k)) not in (None, "")),
                        None,
                    )
                    named = frame_images(metadata, filename_keys)
                    if name is not None:
                        named[0] = safe_image_name(name)
                    if locations_at is not None and fields[locations_at].strip():
                        located = location_images(_json(fields[locations_at], "locations"))
                        named = located | named
                    if not named:
                        raise Rejected(
                            "metadata",
                            f"none of the keys {list(filename_keys)}, and no locations",
                        )
                    earlier = images.get(subject, named)
                    if earlier != named:
                        raise Rejected(
                            "metadata", f"file names {named!r:.80} differ from {earlier!r:.80}"
                        )
                    images[subject] = named
                except Rejected as exc:
                    rejects.append((start, subject[:40], exc.field, exc.reason))
        except UnicodeDecodeError as exc:
            raise ZooheatError(
                f"{path}: not UTF-8 text (byte {exc.start}); expected {what}"
            ) from None
    return images, rejects
