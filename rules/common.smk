# The subjects (from the ingest manifest or a subject table), the input functions the rules
# share, and wildcard constraints.
import csv
import os
import re
import zlib
from pathlib import Path

LAYERS = list(config["layers"])
PANOPTES = config["panoptes"]
# Subjects and marks come from a Panoptes export when one is configured, else from a table.
FROM_EXPORT = PANOPTES["export"] is not None
INGEST_DIR = "results/ingest"
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


_MANIFEST_CACHE = {}


def read_manifest(path, layers):
    """Read the ingest manifest into the same shape as the subject table (cached by mtime)."""
    stamp = os.stat(path).st_mtime_ns
    if _MANIFEST_CACHE.get("key") != (path, stamp):
        subjects = {}
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                subject = row["subject_id"]
                subjects[subject] = {
                    "image": os.path.join(PANOPTES["images"], row["image"])
                } | {layer: marks_table(layer, subject) for layer in layers}
        _MANIFEST_CACHE.update(key=(path, stamp), subjects=subjects)
    return _MANIFEST_CACHE["subjects"]


def marks_table(layer, subject):
    return f"{INGEST_DIR}/marks/{layer}/{subject}.csv"


if FROM_EXPORT:
    if PANOPTES["images"] is None:
        raise ValueError(
            "config: panoptes.images must name the folder of the subject images"
        )
    TABLE_SUBJECTS = None
else:
    TABLE_SUBJECTS = read_subject_table(config["subjects"], LAYERS)


def subjects():
    if FROM_EXPORT:
        return read_manifest(checkpoints.ingest.get().output.manifest, LAYERS)
    return TABLE_SUBJECTS


def subject_entry(wildcards):
    try:
        return subjects()[wildcards.subject]
    except KeyError:
        source = PANOPTES["export"] if FROM_EXPORT else config["subjects"]
        raise ValueError(f"subject {wildcards.subject!r} is not in {source}") from None


def subject_image(wildcards):
    return subject_entry(wildcards)["image"]


def subject_marks(wildcards):
    if FROM_EXPORT:
        return marks_table(wildcards.layer, wildcards.subject)
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


def ingest_inputs(wildcards):
    inputs = {"export": PANOPTES["export"]}
    if PANOPTES["subject_export"] is not None:
        inputs["subject_export"] = PANOPTES["subject_export"]
    return inputs


def ingest_settings():
    return {
        k: v
        for k, v in PANOPTES.items()
        if k not in ("export", "images", "subject_export")
    }


def batch_of(subject):
    """The batch a subject belongs to: fixed by its id, so it never moves between runs."""
    return zlib.crc32(subject.encode()) % config["batches"]


_BATCHES = {}


def batch_members(layer, batch):
    """(subject, image, marks) of the subjects of one batch that have this layer, sorted."""
    table = subjects()
    if _BATCHES.get("table") is not table:  # deal all subjects once, not once per batch
        dealt = {}
        for subject, entry in sorted(table.items()):
            for name in LAYERS:
                if entry[name] is not None:
                    key = (name, batch_of(subject))
                    dealt.setdefault(key, []).append(
                        (subject, entry["image"], entry[name])
                    )
        _BATCHES.update(table=table, dealt=dealt)
    return _BATCHES["dealt"].get((layer, int(batch)), [])


def members_of_batch(wildcards):
    return batch_members(wildcards.layer, wildcards.batch)


def batch_inputs(wildcards):
    members = batch_members(wildcards.layer, wildcards.batch)
    return {
        "images": [image for _, image, _ in members],
        "marks": [marks for _, _, marks in members],
    }


def subject_outputs(layer, subject):
    return [
        f"results/histogram/{layer}/{subject}.npy",
        f"results/zoom/{layer}/{subject}.npy",
        *(
            f"results/figures/{layer}/{subject}.{fmt}"
            for fmt in config["overlay"]["formats"]
        ),
    ]


def all_outputs(wildcards):
    """Every product: histograms, zoomed arrays, figures (and, from an export, mark tables).

    Intermediates are requested too, so that one deleted by hand is rebuilt. With batches,
    the batches' manifests stand for their subjects' files; a file of a finished batch that
    has gone missing is requested itself, and the per-subject rules make it again (the same
    bytes), without rerunning the batch.
    """
    targets = []
    batches = set()
    for subject, entry in subjects().items():
        for layer in LAYERS:
            if entry[layer] is None:
                continue
            if FROM_EXPORT:
                targets.append(entry[layer])
            if not config["batches"]:
                targets += subject_outputs(layer, subject)
                continue
            manifest = f"results/batches/{layer}/{batch_of(subject)}.tsv"
            batches.add(manifest)
            if os.path.exists(manifest):
                targets += [
                    p for p in subject_outputs(layer, subject) if not os.path.exists(p)
                ]
    return targets + sorted(batches)
