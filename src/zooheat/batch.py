"""Many subjects' chains in one process: the workflow's ``batches: N`` mode.

One batch job runs :func:`zooheat.pipeline.run_chain` for each of its subjects and writes
exactly the files the per-subject jobs write (the same paths, the same bytes). A subject is
skipped when nothing that shapes its files changed since the batch last made them and all
of them exist: its image and mark table (by content), the steps' settings, and zooheat's
code and the versions of the packages it runs on (:func:`zooheat.provenance.build_key`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

from zooheat.errors import ZooheatError
from zooheat.fileio import write_if_changed
from zooheat.limits import DEFAULT_LIMITS, Limits, open_input
from zooheat.pipeline import (
    RESULTS,
    STEPS,
    SubjectData,
    chain_outputs,
    fact_names,
    output_halves,
    run_chain,
    steps_without_image,
    subject_facts,
)
from zooheat.provenance import build_key

__all__ = [
    "MANIFEST_COLUMNS",
    "BatchMember",
    "BatchRow",
    "finish_repair",
    "inputs_fingerprint",
    "manifest_text",
    "missing_outputs",
    "repair_token",
    "run_batch",
]

PathLike = str | os.PathLike[str]


class BatchMember(NamedTuple):
    """One subject of a batch, with its files for the batch's layer."""

    subject: str
    #: None: the subject has no image, so it gets only the steps that need none
    image: str | None
    marks: str
    #: volunteers who classified it (None: unknown)
    classifications: int | None = None


class BatchRow(NamedTuple):
    """What the batch knows of one subject: the steps' facts, and whether it was made now."""

    subject: str
    facts: dict[str, int | float]
    made: bool
    #: the digest of everything its files were made from (inputs, settings, code)
    key: str = ""


def _read(path: PathLike | None, limits: Limits) -> bytes:
    """Return a member's input file (for its key), or nothing if it is unusable."""
    if path is None:
        return b"\0no file"  # not the bytes of any file: an image that appears is new
    try:
        with open_input(path, "an input", max_mb=max(limits.image_mb, limits.marks_mb)) as f:
            return f.read()
    except ZooheatError:
        return b""  # the step that reads it says what is wrong


def _settings_key(settings: Mapping[str, Any], formats: Mapping[str, Sequence[str]]) -> bytes:
    facts = {"settings": settings, "formats": {k: list(v) for k, v in formats.items()}}
    return (json.dumps(facts, sort_keys=True, default=str) + build_key()).encode()


def run_batch(
    members: Sequence[BatchMember],
    layer: str,
    *,
    settings: Mapping[str, Mapping[str, Any]],
    formats: Mapping[str, Sequence[str]],
    state: PathLike,
    results: PathLike = RESULTS,
    log: IO[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[BatchRow]:
    """Run the chain for every member whose files are missing or out of date.

    Parameters
    ----------
    members : sequence of BatchMember
        The batch's subjects.
    layer : str
        The layer.
    settings : mapping
        Every step's settings, by step name (:func:`zooheat.pipeline.step_settings`).
    formats : mapping
        Formats by step name, for the steps written in several formats.
    state : path-like
        JSON file where the batch remembers, per subject, the key its files were made with
        and their facts.
    results : path-like
        The results folder.
    log : text stream, optional
        Where warnings go, one line each, naming the subject.
    limits : Limits
        The largest inputs accepted.

    Returns
    -------
    list of BatchRow
        One per member, in the members' order.

    Raises
    ------
    ZooheatError
        After every other subject is done and the state saved: which subjects failed, and
        why, one line each.
    """
    base_key = _settings_key(settings, formats)
    state_path = Path(state)
    try:
        known = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    rows: list[BatchRow] = []
    failures: list[str] = []
    imageless = steps_without_image(settings)
    for member in members:
        steps = list(STEPS) if member.image is not None else imageless
        outputs = chain_outputs(layer, member.subject, formats, results, steps)
        key = hashlib.sha256(
            b"\0".join(
                [
                    base_key,
                    _read(member.image, limits),
                    _read(member.marks, limits),
                    b"%r" % member.classifications,
                ]
            )
        ).hexdigest()
        previous = known.get(member.subject)
        if previous and previous[0] == key and all(os.path.exists(p) for p in outputs):
            rows.append(BatchRow(member.subject, previous[1], False, key))
            continue
        data = SubjectData(
            member.subject,
            layer,
            image=member.image,
            marks=member.marks,
            classifications=member.classifications,
            settings=settings,
            limits=limits,
        )
        try:
            done = run_chain(data, formats, results=results, steps=steps)
            facts = {"classifications": member.classifications} | subject_facts(data, steps)
        except ZooheatError as exc:
            failures.append(f"{member.subject}: {exc}")
            known.pop(member.subject, None)
            continue
        known[member.subject] = [key, facts]
        rows.append(BatchRow(member.subject, facts, True, key))
        if log is not None:
            for result in done:
                for warning in result.warnings:
                    print(f"warning: {member.subject}: {warning}", file=log)
    write_if_changed(state_path, json.dumps(known, sort_keys=True).encode())
    if failures:
        raise ZooheatError(
            f"{len(failures)} of {len(members)} subjects failed:\n" + "\n".join(failures)
        )
    return rows


#: The batch manifest's columns: the subject, its facts, and the digest of its inputs.
MANIFEST_COLUMNS = ("subject", "classifications", *fact_names(), "key")


def manifest_text(rows: Sequence[BatchRow]) -> str:
    """Return the batch manifest: a row per subject, a column per fact of the steps (TSV).

    The last column, ``key``, digests what the subject's files were made from: a change in
    any mark changes the manifest, so what reads every mark (``marks.parquet``) is made
    again from the manifests alone.
    """
    columns = MANIFEST_COLUMNS[1:-1]
    lines = ["\t".join(MANIFEST_COLUMNS) + "\n"]
    for row in rows:
        cells = ["" if row.facts.get(c) is None else str(row.facts[c]) for c in columns]
        lines.append("\t".join([row.subject, *cells, row.key[:16]]) + "\n")
    return "".join(lines)


def inputs_fingerprint(members: Sequence[BatchMember]) -> str:
    """Return a digest of the size and modification time of every member's image and marks.

    The workflow gives it to each batch job as a parameter, in place of the members' files
    as inputs: a changed, added or removed file changes it and so reruns the batch (which
    then remakes only the subjects whose content changed), while a run that changes nothing
    costs one ``stat`` per file, not Snakemake's bookkeeping of every file of every batch.
    """
    digest = hashlib.sha256()
    for member in members:
        stamps = []
        for path in (member.image, member.marks):
            try:
                found = os.stat(path) if path is not None else None
            except OSError:
                found = None
            stamps.append("-" if found is None else f"{found.st_size}:{found.st_mtime_ns}")
        digest.update(f"{member}\t{stamps[0]}\t{stamps[1]}\n".encode())
    return digest.hexdigest()


def missing_outputs(
    members: Sequence[BatchMember],
    layer: str,
    formats: Mapping[str, Sequence[str]],
    listing: Callable[[str], frozenset[str]],
    results: PathLike = RESULTS,
    imageless: Sequence[str] = (),
) -> list[str]:
    """Return the members' output paths that are not on disk.

    ``listing(folder)`` gives the names in a folder: one listing per folder serves every
    subject, where checking each file would cost a system call per file. A member without
    an image has only the outputs of ``imageless`` (:func:`steps_without_image`).
    """
    missing = []
    for steps, group in (
        (None, [m.subject for m in members if m.image is not None]),
        (imageless, [m.subject for m in members if m.image is None]),
    ):
        for head, tail in output_halves(layer, formats, results, steps) if group else ():
            folder, _, start = head.rpartition("/")
            names = listing(folder)
            missing += [head + s + tail for s in group if start + s + tail not in names]
    return missing


def repair_token(state: PathLike, missing: Sequence[str]) -> str:
    """Name the repair of a batch whose files ``missing`` are gone.

    The name changes after each repair (:func:`finish_repair` touches ``state``), so files
    lost again later get a repair of their own, and stays the same until then (a dry run
    and the run after it agree).

    Examples
    --------
    >>> repair_token("/nonexistent/state.json", ["results/figures/blobs/1.png"])
    '7c67283201202dc4'
    """
    try:
        stamp = os.stat(state).st_mtime_ns
    except FileNotFoundError:
        stamp = 0
    text = "\n".join([str(stamp), *sorted(missing)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finish_repair(state: PathLike, marker: PathLike) -> None:
    """Record that a batch was repaired: touch its state, write ``marker``, drop older markers."""
    marker = Path(marker)
    for old in marker.parent.glob(marker.name.rpartition("-")[0] + "-*"):
        if old != marker:
            old.unlink(missing_ok=True)
    os.utime(state)
    marker.write_bytes(b"")
