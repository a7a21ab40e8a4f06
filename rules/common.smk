# The subject manifest, the input functions the rules share, and wildcard constraints.
import csv
import os
import re
from pathlib import Path

LAYERS = list(config["layers"])
# Subject ids become file names: letters, digits, '_', '-', '.', not starting with '.'.
SUBJECT_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"


wildcard_constraints:
    layer="|".join(re.escape(layer) for layer in LAYERS),
    subject=SUBJECT_PATTERN,


def read_subject_table(path, layers):
    """Read the subject table: {subject: {"image": path, layer: marks path or None}}.

    Columns: subject, image, and one per layer naming that layer's mark table (an empty cell:
    the subject has no marks table for that layer, so no heat map). Relative paths are taken
    from the table's own folder.
    """
    table = Path(path)
    if not table.is_file():
        raise ValueError(f"{table}: subject table not found (config key 'subjects')")

    def resolve(cell):
        return os.path.normpath(table.parent / cell) if cell else None

    subjects = {}
    with open(table, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        header = reader.fieldnames or []
        missing = [c for c in ("subject", "image", *layers) if c not in header]
        if missing:
            raise ValueError(
                f"{table}: missing columns {missing}; expected tab-separated columns "
                f"'subject', 'image' and one per configured layer {layers}, found {header}"
            )
        for row in reader:
            line = reader.line_num
            if None in row or None in row.values():
                raise ValueError(
                    f"{table}, line {line}: expected {len(header)} tab-separated fields"
                )
            subject = row["subject"].strip()
            if not re.fullmatch(SUBJECT_PATTERN, subject):
                raise ValueError(
                    f"{table}, line {line}, field 'subject': {subject!r} is not a usable "
                    "subject id (letters, digits, '_', '-', '.'; not starting with '.')"
                )
            if subject in subjects:
                raise ValueError(
                    f"{table}, line {line}: subject {subject!r} appears twice"
                )
            if not row["image"].strip():
                raise ValueError(f"{table}, line {line}, field 'image': empty")
            subjects[subject] = {"image": resolve(row["image"].strip())} | {
                layer: resolve(row[layer].strip()) for layer in layers
            }
    return subjects


SUBJECTS = read_subject_table(config["subjects"], LAYERS)


def subject_entry(wildcards):
    try:
        return SUBJECTS[wildcards.subject]
    except KeyError:
        raise ValueError(
            f"subject {wildcards.subject!r} is not in the subject table {config['subjects']}"
        ) from None


def subject_image(wildcards):
    return subject_entry(wildcards)["image"]


def subject_marks(wildcards):
    marks = subject_entry(wildcards)[wildcards.layer]
    if marks is None:
        raise ValueError(
            f"subject {wildcards.subject!r} has no '{wildcards.layer}' mark table in "
            f"{config['subjects']}"
        )
    return marks


def overlay_title(wildcards):
    return f"{wildcards.subject} · {wildcards.layer}"


def overlay_style():
    """The overlay config minus the keys that choose outputs rather than looks."""
    return {k: v for k, v in config["overlay"].items() if k != "formats"}


def all_figures():
    return [
        f"results/figures/{layer}/{subject}.{fmt}"
        for subject, entry in SUBJECTS.items()
        for layer in LAYERS
        if entry[layer] is not None
        for fmt in config["overlay"]["formats"]
    ]
