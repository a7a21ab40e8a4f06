"""What a project's workflows ask volunteers to do: tasks and tools, per workflow version.

Two sources, both optional:

- the workflow export (``workflows.csv`` from a project's *Data Exports* page): one row per
  workflow version, with ``workflow_id``, ``version`` (the major version: it changes when
  tasks change), ``minor_version`` and ``tasks``, a JSON object of task id to its definition
  (``type``: ``drawing``, ``single``, ``multiple``, ``survey``, ...; a drawing task's
  ``tools``, each with its ``type`` and ``label``);
- the classification export itself, whose marks carry their tool index and, from
  Panoptes-Front-End, the tool's label (:func:`tools_seen`).

The ingest uses the first to give a label to marks that carry none (the newer front end's),
so that layers named by label find them, and to check the configured layers before reading
anything; ``zooheat layers`` prints both, with the layers a user could ask for.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zooheat.errors import ZooheatError
from zooheat.limits import open_input

if TYPE_CHECKING:
    from zooheat.panoptes import LayerSpec

__all__ = [
    "TaskDefinition",
    "ToolsSeen",
    "WorkflowTasks",
    "check_layers",
    "describe",
    "layer_suggestions",
    "read_workflow_export",
    "tools_seen",
]


@dataclass(frozen=True)
class TaskDefinition:
    """One task of one workflow version.

    Attributes
    ----------
    kind : str
        The task's ``type``: ``drawing`` draws marks; others ask questions.
    tools : tuple of (str, str)
        A drawing task's tools, by index: ``(type, label)``.
    """

    kind: str
    tools: tuple[tuple[str, str], ...] = ()


@dataclass
class WorkflowTasks:
    """Task definitions by ``(workflow id, major version)``, from a workflow export."""

    source: str
    tasks: dict[tuple[str, str], dict[str, TaskDefinition]] = field(default_factory=dict)
    _labels: dict[tuple[str, str], dict[tuple[str, int], str]] = field(default_factory=dict)

    def labels(self, workflow_id: str, version: str) -> dict[tuple[str, int], str]:
        """Return ``{(task, tool index): label}`` for a row's workflow id and version.

        Examples
        --------
        >>> w = WorkflowTasks("w.csv", {("7", "3"): {"T0": TaskDefinition(
        ...     "drawing", (("circle", "Blob"),))}})
        >>> w.labels("7", "3.12"), w.labels("7", "4.0")
        ({('T0', 0): 'Blob'}, {})
        """
        key = (workflow_id, version.partition(".")[0])
        found = self._labels.get(key)
        if found is None:
            found = self._labels[key] = {
                (task, index): label
                for task, definition in self.tasks.get(key, {}).items()
                for index, (_, label) in enumerate(definition.tools)
                if label
            }
        return found

    def of_task(self, task: str, workflow_id: int | None = None) -> list[TaskDefinition]:
        """Every version's definition of ``task`` (of one workflow, or of all)."""
        return [
            tasks[task]
            for (wid, _), tasks in sorted(self.tasks.items())
            if task in tasks and (workflow_id is None or wid == str(workflow_id))
        ]


def _tools(definition: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    tools = definition.get("tools")
    if not isinstance(tools, list):
        return ()
    found = []
    for tool in tools:
        tool = tool if isinstance(tool, dict) else {}
        kind, label = tool.get("type"), tool.get("label")
        found.append(
            (kind if isinstance(kind, str) else "", label if isinstance(label, str) else "")
        )
    return tuple(found)


def read_workflow_export(path: str | os.PathLike[str]) -> WorkflowTasks:
    """Read the tasks of every workflow version in a Panoptes workflow export.

    Raises
    ------
    ZooheatError
        The file is missing, not UTF-8, lacks the ``workflow_id``, ``version`` or ``tasks``
        columns, or a row's ``tasks`` is not a JSON object (naming the line).
    """
    what = "a Panoptes workflow export CSV (workflows.csv)"
    found = WorkflowTasks(str(path))
    with (
        open_input(path, what) as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle,
    ):
        try:
            reader = csv.DictReader(handle)
            missing = [
                c for c in ("workflow_id", "version", "tasks") if c not in (reader.fieldnames or [])
            ]
            if missing:
                raise ZooheatError(
                    f"{path}, line 1: not a workflow export (missing columns {missing}); "
                    f"expected {what}"
                )
            for row in reader:
                line = reader.line_num
                if None in row or None in row.values():
                    raise ZooheatError(
                        f"{path}, line {line}: expected {len(reader.fieldnames or [])} fields"
                    )
                try:
                    tasks = json.loads(row["tasks"] or "{}")
                except ValueError as exc:
                    raise ZooheatError(
                        f"{path}, line {line}, field 'tasks': not valid JSON ({exc})"
                    ) from None
                if not isinstance(tasks, dict):
                    raise ZooheatError(
                        f"{path}, line {line}, field 'tasks': expected a JSON object"
                    )
                key = (row["workflow_id"].strip(), row["version"].strip())
                found.tasks[key] = {
                    str(task): TaskDefinition(
                        str(d.get("type", "")) if isinstance(d, dict) else "",
                        _tools(d) if isinstance(d, dict) else (),
                    )
                    for task, d in tasks.items()
                }
        except UnicodeDecodeError as exc:
            raise ZooheatError(
                f"{path}: not UTF-8 text (byte {exc.start}); expected {what}"
            ) from None
        except csv.Error as exc:
            raise ZooheatError(f"{path}, line {reader.line_num}: not valid CSV ({exc})") from None
    return found


@dataclass
class ToolsSeen:
    """What the marks of a classification export say about its tasks and tools.

    ``marks`` counts marks by ``(workflow id, major version, task, tool index, tool label,
    tool type)``; ``answers`` counts classifications by ``(workflow id, major version, task)``
    whose task held answers rather than marks; ``rows`` the rows read.
    """

    marks: Counter[tuple[str, str, str, int, str, str]] = field(default_factory=Counter)
    answers: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    rows: int = 0


def tools_seen(rows: Iterable[Mapping[str, str]], *, limit: int | None = None) -> ToolsSeen:
    """Count the tools of every drawing task in an export's rows (dicts by column name).

    Rows that cannot be read (bad JSON, not a list) are passed over: this is a survey of
    what the export holds, not an ingest.
    """
    from zooheat.panoptes import Rejected, _answers, _flatten  # one definition of each

    seen = ToolsSeen()
    for row in rows:
        if limit is not None and seen.rows >= limit:
            break
        seen.rows += 1
        workflow = (row.get("workflow_id") or "").strip()
        major = (row.get("workflow_version") or "").strip().partition(".")[0]
        try:
            annotations = _flatten(json.loads(row.get("annotations") or "[]"))
        except (ValueError, Rejected, RecursionError, TypeError):
            continue
        for annotation in annotations:
            task, value = annotation.get("task"), annotation.get("value")
            if not isinstance(task, str) or "markIndex" in annotation or value is None:
                continue
            if _answers(value):
                seen.answers[workflow, major, task] += 1
                continue
            for mark in value:
                if not isinstance(mark, dict):
                    continue
                tool = mark["tool"] if "tool" in mark else mark.get("toolIndex")
                if type(tool) is not int:
                    continue
                label = mark.get("tool_label")
                kind = mark.get("toolType")
                seen.marks[
                    workflow,
                    major,
                    task,
                    tool,
                    label if isinstance(label, str) else "",
                    kind if isinstance(kind, str) else "",
                ] += 1
    return seen


def _layer_name(label: str, taken: set[str]) -> str:
    name = "".join(c if c.isascii() and c.isalnum() else "_" for c in label.lower()).strip("_")
    name = "_".join(part for part in name.split("_") if part) or "layer"
    if not name[0].isalpha():
        name = f"layer_{name}"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def layer_suggestions(
    seen: ToolsSeen, workflows: WorkflowTasks | None = None
) -> list[tuple[str, str, str]]:
    """Suggest a layer per drawing tool: ``(name, task, label)``, by label, most marks first.

    Labels come from the marks, else from the workflow export's tool definitions.

    Examples
    --------
    >>> seen = ToolsSeen()
    >>> seen.marks["7", "3", "T0", 0, "Background Galaxy", ""] = 5
    >>> layer_suggestions(seen)
    [('background_galaxy', 'T0', 'Background Galaxy')]
    """
    counts: Counter[tuple[str, str]] = Counter()
    for (workflow, major, task, tool, label, _), n in seen.marks.items():
        if not label and workflows is not None:
            label = workflows.labels(workflow, major).get((task, tool), "")
        if label:
            counts[task, label] += n
    taken: set[str] = set()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(_layer_name(label, taken), task, label) for (task, label), _ in ordered]


def describe(seen: ToolsSeen, workflows: WorkflowTasks | None = None) -> str:
    """Say, as text for a terminal, which tasks and tools an export's marks use."""
    lines = [f"{seen.rows} classifications read"]
    by_version: dict[tuple[str, str], list] = {}
    for key, n in seen.marks.items():
        by_version.setdefault(key[:2], []).append((key[2:], n))
    for key, n in seen.answers.items():
        by_version.setdefault(key[:2], []).append(((key[2], None, "", ""), n))
    for (workflow, major), items in sorted(by_version.items()):
        lines.append(f"workflow {workflow}, version {major}.x")
        defined = {} if workflows is None else workflows.tasks.get((workflow, major), {})
        for (task, tool, label, kind), n in sorted(
            items, key=lambda i: (i[0][0], i[0][1] is None, i[0][1] or 0, i[0][2])
        ):
            if tool is None:
                what = defined.get(task)
                kind_text = f" ({what.kind} task)" if what else ""
                lines.append(f"  {task}: answers, not marks, in {n} classifications{kind_text}")
                continue
            if not label and workflows is not None:
                label = workflows.labels(workflow, major).get((task, tool), "")
            if not kind and task in defined and tool < len(defined[task].tools):
                kind = defined[task].tools[tool][0]
            lines.append(
                f"  {task} tool {tool}: {label or '(no label)'!s}"
                + (f" [{kind}]" if kind else "")
                + f", {n} marks"
            )
    suggestions = layer_suggestions(seen, workflows)
    if suggestions:
        lines.append("layers to ask for (config/config.yaml):")
        lines.append("layers:")
        for name, task, label in suggestions:
            lines.append(f"  {name}: {{task: {task}, tool_label: {json.dumps(label)}}}")
    return "\n".join(lines) + "\n"


def check_layers(
    layers: Sequence[LayerSpec], workflows: WorkflowTasks, workflow_id: int | None
) -> list[str]:
    """Check configured layers against the workflow export, before any row is read.

    Returns a warning for each layer whose task no version of the workflow defines, whose
    task is not a drawing task, or whose tool (index or label) no version's task has.
    """
    found = []
    for spec in layers:
        name, task = spec.name, spec.task
        definitions = workflows.of_task(task, workflow_id)
        where = f"layer {name!r} (task {task}, {spec.tool_text})"
        if not definitions:
            found.append(
                f"{where}: no version of the workflow in {workflows.source} has a task {task}"
            )
            continue
        drawing = [d for d in definitions if d.kind == "drawing"]
        if not drawing:
            kinds = "/".join(sorted({d.kind for d in definitions}))
            found.append(
                f"{where}: task {task} is a {kinds} task in {workflows.source}, not a drawing "
                "task: it has no marks"
            )
            continue
        labels = sorted({label for d in drawing for _, label in d.tools if label})
        label, tool = spec.tool_label, spec.tool
        if label is not None and label not in labels:
            found.append(
                f"{where}: no version of task {task} has a tool with that label; its labels: "
                + (", ".join(repr(x) for x in labels) or "none")
            )
        elif tool is not None and all(tool >= len(d.tools) for d in drawing):
            found.append(f"{where}: no version of task {task} has a tool {tool}")
    return found
