"""The ingest's output folder is its own: it never deletes or replaces what it did not write.

An ingest writes ``marks/{layer}/{subject}.csv``, ``subjects.tsv``, ``rejects.csv`` and
``ingest-summary.json`` into its folder and removes the mark tables of subjects and layers
that left the export. That is safe only in a folder the ingest made, so it marks its folders
(:data:`MARKER`, which records the layers written there) and refuses any other folder that is
not empty, naming what it found there. A folder of an ingest from before the marker existed
is known by its ``ingest-summary.json``. Temporary folders (``.ingest-*``) left by an ingest
that was killed are removed by the next one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from zooheat.errors import ZooheatError
from zooheat.fileio import write_if_changed

__all__ = ["MARKER", "claim_folder", "record_layers", "remove_stale_tables"]

#: The file that says "an ingest wrote this folder"; it holds the layers written there.
MARKER = ".zooheat-ingest"
#: A mark table the ingest writes: a Panoptes subject id (digits) and ``.csv``.
_TABLE = re.compile(r"[0-9]+\.csv")
_TEMPORARY = ".ingest-"


def _marked_layers(out: Path) -> set[str] | None:
    """Return the layers the marker (or a pre-marker summary) records; None if neither."""
    marker = out / MARKER
    if marker.is_file():
        try:
            layers = json.loads(marker.read_text(encoding="utf-8"))["layers"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ZooheatError(
                f"{marker}: unreadable; expected the ingest's record of this folder "
                '({"layers": [...]}). Remove it only if the folder holds nothing of yours.'
            ) from None
        return {str(layer) for layer in layers}
    summary = out / "ingest-summary.json"
    if summary.is_file():
        try:
            recorded = json.loads(summary.read_text(encoding="utf-8"))
            return {str(layer) for layer in recorded["settings"]["layers"]}
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return None


def record_layers(out: Path, layers: Iterable[str]) -> None:
    """Write the marker: this folder is the ingest's, with these layers' tables in it."""
    text = json.dumps({"layers": sorted(set(layers))}) + "\n"
    write_if_changed(out / MARKER, text.encode())


def claim_folder(out: Path, layers: Sequence[str], *, adopt: bool = False) -> set[str]:
    """Make ``out`` the ingest's folder, or refuse it; return the layers written there before.

    A missing folder is made; an empty one, or one an ingest wrote, is taken (and cleared of
    a killed ingest's temporary folders). The marker then records the earlier layers and
    ``layers``, before anything else is written, so a run killed at any point leaves a
    folder the next run takes. ``adopt``: the folder is known to be the ingest's (the
    workflow's ``results/ingest``, whose files Snakemake removes before the ingest runs), so
    it is taken even without a marker.

    Raises
    ------
    ZooheatError
        ``out`` is a file, or a folder that holds something and was not written by an ingest.
    """
    if out.exists() and not out.is_dir():
        raise ZooheatError(f"{out}: is a file; expected a folder for the ingest's outputs")
    out.mkdir(parents=True, exist_ok=True)
    before = _marked_layers(out)
    if before is None and adopt:
        before = {p.name for p in (out / "marks").iterdir()} if (out / "marks").is_dir() else set()
    if before is None:
        found = sorted(os.listdir(out))
        if found:
            shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
            raise ZooheatError(
                f"{out}: holds files the ingest did not write ({shown}); give it an empty or "
                "new folder. It writes marks/, subjects.tsv, rejects.csv and "
                "ingest-summary.json there and removes the tables it wrote that a new export "
                "no longer has, so it never shares a folder with other files."
            )
        before = set()
    for entry in out.iterdir():
        if entry.name.startswith(_TEMPORARY) and entry.is_dir():
            shutil.rmtree(entry)  # a killed ingest's spool
    record_layers(out, before | set(layers))
    return before


def remove_stale_tables(
    out: Path, layers: Sequence[str], earlier: Iterable[str], subjects: set[str]
) -> int:
    """Remove the tables of subjects or layers no longer in the export; return how many.

    Only the ingest's own: ``{subject id}.csv`` in the folders of ``layers`` (now) and
    ``earlier`` (layers an earlier ingest wrote, per the marker). Other files and folders
    under ``marks/`` are left alone.
    """
    removed = 0
    for name in sorted(set(layers) | set(earlier)):
        folder = out / "marks" / name
        if not folder.is_dir():
            continue
        stale_layer = name not in layers
        for table in folder.iterdir():
            if _TABLE.fullmatch(table.name) and (stale_layer or table.stem not in subjects):
                table.unlink()
                removed += 1
        if stale_layer and not any(folder.iterdir()):
            folder.rmdir()
    return removed
