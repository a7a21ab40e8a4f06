# The subjects (from the ingest manifest or a subject table), the per-subject chain as the
# library defines it (zooheat.pipeline.STEPS), the input functions the rules share, and
# wildcard constraints.
import csv
import functools
import os
import re
import sys
import zlib
from pathlib import Path
from types import SimpleNamespace as Namespace

try:
    from zooheat.batch import (
        BatchMember,
        inputs_fingerprint,
        missing_outputs,
        repair_token,
    )
    from zooheat.errors import ZooheatError, error_line, excerpt
    from zooheat.fileio import check_writable
    from zooheat.jobs import failed_run_report
    from zooheat.limits import Limits, open_input
    from zooheat.pipeline import (
        RESULTS,
        STEPS,
        overlay_style,
        step_settings,
        steps_without_image,
    )
    from zooheat.summary import SubjectLayer, warnings_digest
    from zooheat.provenance import build_key
    from zooheat.style import FIGURE_FORMATS
except ImportError as exc:
    raise ImportError(
        f"{exc}: the workflow needs the zooheat package in the environment that runs "
        "snakemake: `make setup` (or `pip install -e .` from this folder)"
    ) from None

LAYERS = list(config["layers"])
PANOPTES = config["panoptes"]
# Subjects and marks come from a Panoptes export when one is configured, else from a table.
FROM_EXPORT = PANOPTES["export"] is not None
# The panoptes keys that name the ingest's input files, with what each must be.
EXPORT_FILES = {
    "export": "a Panoptes classification export CSV",
    "subject_export": "a Panoptes subject export CSV",
    "workflow_export": "a Panoptes workflow export CSV",
}
# The file the subjects are listed in, for messages.
SUBJECTS_SOURCE = PANOPTES["export"] if FROM_EXPORT else config["subjects"]
INGEST_DIR = f"{RESULTS}/ingest"
BATCHES = config["batches"]
# The modules each job loads under `--sdm env-modules` (sites name their modules differently).
ENVMODULES = config["envmodules"]
# Subject ids become file names: letters, digits, '_', '-', '.', not starting with '.'.
SUBJECT_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
# Paper figure names become file names under results/paper/ (as figures.schema.yaml says).
FIGURE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
# Each step's settings (a change remakes that step's outputs), the formats of the steps
# written in several, and zooheat's code and package versions (a change remakes everything).
SETTINGS = step_settings(config)
# The steps a subject without an image still gets (the consensus): its marks are kept.
IMAGELESS_STEPS = steps_without_image(SETTINGS)


def at_start(check, *args):
    """Run a check of the config or the inputs as the workflow starts: a failure is one line
    (no traceback) naming the file or key and what was expected."""
    try:
        return check(*args)
    except (ZooheatError, ValueError) as exc:
        sys.exit(f"zooheat: {exc}")
    except OSError as exc:
        sys.exit(f"zooheat: error: {error_line(exc)}")


# Settings no schema can check (a colour map's name, a figure's size in pixels), checked now
# rather than in every job.
at_start(overlay_style, SETTINGS["overlay"]["style"])
at_start(Limits.from_config, config["limits"])
FORMATS = {name: step.output_formats(config) for name, step in STEPS.items()}
BUILD = build_key()
# The figure format the gallery links to and the report shows: a picture if there is one.
FIGURE_FORMAT = next(
    (f for f in ("png", "svg", "pdf") if f in config["overlay"]["formats"]), "png"
)


wildcard_constraints:
    layer="|".join(re.escape(layer) for layer in LAYERS),
    subject=SUBJECT_PATTERN,
    format="|".join(FIGURE_FORMATS),
    batch="[0-9]+",
    figure=FIGURE_PATTERN,


def read_subject_table(path, layers):
    """Read the subject table: {subject: {"image": path, layer: marks path or None}}.

    Columns: subject, image, and one per layer naming that layer's mark table (an empty cell:
    the subject has no marks table for that layer, so no heat map); optionally
    classifications (how many volunteers classified the subject, marks or not: the consensus
    agreement's denominator). Relative paths are taken from the table's own folder.
    """
    table = Path(path)
    if not table.is_file():
        raise ValueError(f"{table}: subject table not found (config key 'subjects')")

    folder = os.fspath(table.parent)

    def resolve(cell):
        return os.path.normpath(os.path.join(folder, cell)) if cell else None

    subjects = {}
    with open(table, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        header = reader.fieldnames or []
        missing = [c for c in ("subject", "image", *layers) if c not in header]
        if missing:
            raise ValueError(
                f"{table}: missing columns {missing} among its {len(header)}; expected "
                f"tab-separated columns 'subject', 'image' and one per configured layer "
                f"{layers}"
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
                    f"{table}, line {line}, field 'subject': {excerpt(subject)} is not a usable "
                    "subject id (letters, digits, '_', '-', '.'; not starting with '.')"
                )
            if subject in subjects:
                raise ValueError(
                    f"{table}, line {line}: subject {excerpt(subject)} appears twice"
                )
            if not row["image"].strip():
                raise ValueError(f"{table}, line {line}, field 'image': empty")
            counted = (row.get("classifications") or "").strip()
            if counted and not counted.isdigit():
                raise ValueError(
                    f"{table}, line {line}, field 'classifications': expected a whole "
                    f"number of volunteers, found {excerpt(counted)}"
                )
            subjects[subject] = {
                "image": resolve(row["image"].strip()),
                "classifications": int(counted) if counted else None,
            } | {layer: resolve(row[layer].strip()) for layer in layers}
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
                image = row["image"]
                subjects[subject] = {
                    # None: the export names no image (split_by_image looks for one named
                    # by the subject id, e.g. 15000000.png)
                    "image": os.path.join(PANOPTES["images"], image) if image else None,
                    "image_problem": row.get("image_problem") or "",
                    "classifications": int(row["classifications"]),
                } | {layer: marks_table(layer, subject) for layer in layers}
        _MANIFEST_CACHE.update(key=(path, stamp), subjects=subjects)
    return _MANIFEST_CACHE["subjects"]


def marks_table(layer, subject):
    return f"{INGEST_DIR}/marks/{layer}/{subject}.csv"


def missing_tables():
    """A wildcard pattern of the mark tables ({layer}/{subject}) missing as this run starts.

    Read once, when the Snakefile is read: one listing per layer folder. A pattern that
    matches nothing when none is missing.
    """
    manifest = f"{INGEST_DIR}/subjects.tsv"
    if not FROM_EXPORT or not os.path.exists(manifest):
        return "(?!)"  # no ingest yet: it writes every table
    with open(manifest, encoding="utf-8", newline="") as handle:
        ids = [row["subject_id"] for row in csv.DictReader(handle, delimiter="\t")]
    missing = []
    for layer in LAYERS:
        folder = f"{INGEST_DIR}/marks/{layer}"
        there = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        missing += [f"{layer}/{s}" for s in ids if f"{s}.csv" not in there]
    return "|".join(re.escape(table) for table in missing) or "(?!)"


MISSING_TABLES = missing_tables()


def missing_table(path):
    """Whether path is one of the ingest's mark tables missing as this run started."""
    prefix = f"{INGEST_DIR}/marks/"
    return (
        FROM_EXPORT
        and path.startswith(prefix)
        and re.fullmatch(MISSING_TABLES, path[len(prefix) : -len(".csv")]) is not None
    )


def check_sources():
    """The export (and subject export) are files, the images a folder: a path that is wrong
    (a typo, a moved folder) stops the run, rather than leaving the last results standing
    as if they were this export's."""
    if PANOPTES["images"] is None:
        raise ValueError(
            "config: panoptes.images must name the folder of the subject images"
        )
    if not os.path.isdir(PANOPTES["images"]):
        raise ValueError(
            f"{PANOPTES['images']}: not a folder (config panoptes.images); expected the "
            "folder of the subject images"
        )
    for key, what in EXPORT_FILES.items():
        if PANOPTES[key] is not None:
            open_input(PANOPTES[key], f"{what} (config panoptes.{key})").close()


if FROM_EXPORT:
    at_start(check_sources)
    TABLE_SUBJECTS = None
else:
    TABLE_SUBJECTS = at_start(read_subject_table, config["subjects"], LAYERS)


def ingest_input():
    """The ingest's manifest as an input of each job whose params read the subjects.

    Where a job runs in a Snakemake of its own (a cluster's group job), params that depend
    on a checkpoint need its output among the inputs. ancient(): a manifest written anew
    reruns nothing by itself (the params' values do, where they change).
    """
    if FROM_EXPORT:
        return {"ingest": ancient(rules.ingest.output.manifest)}
    return {}


def all_subjects():
    """Every subject of the export's manifest or the subject table."""
    if FROM_EXPORT:
        return read_manifest(checkpoints.ingest.get().output.manifest, LAYERS)
    return TABLE_SUBJECTS


_IMAGES_CHECKED = {}


def split_by_image(table):
    """({subject: entry} of the subjects whose image is there, [(subject, image)] of the
    others): one listing per image folder, once per subject table."""
    if _IMAGES_CHECKED.get("table") is not table:
        listings = {}

        def listing(folder):
            if folder not in listings:
                try:
                    listings[folder] = set(os.listdir(folder or "."))
                except OSError:
                    listings[folder] = set()
            return listings[folder]

        present, missing = {}, []
        for subject, entry in table.items():
            # the export names none: is there one named by the subject id?
            if entry["image"] is None:
                folder = PANOPTES["images"]
                there = listing(folder)
                name = next(
                    (subject + e for e in IMAGE_SUFFIXES if subject + e in there), None
                )
                if name is None:
                    missing.append(
                        (
                            subject,
                            f"{entry['image_problem']}, and no {subject}.png (or "
                            f"{'/'.join(IMAGE_SUFFIXES[1:])}) in {folder}",
                        )
                    )
                else:
                    present[subject] = entry | {"image": os.path.join(folder, name)}
                continue
            folder, name = os.path.split(entry["image"])
            if name in listing(folder):
                present[subject] = entry
            else:
                missing.append((subject, entry["image"]))
        if missing:
            print(
                f"zooheat: warning: {len(missing)} subjects have no image (the first: "
                f"{missing[0][1]}): their consensus and summary rows are made, not their "
                "heat maps; the others are made in full, then the run fails listing them "
                f"all in {MISSING_IMAGES_LOG} (missing_images: warn lets it succeed)",
                file=sys.stderr,
            )
        _IMAGES_CHECKED.update(table=table, present=present, missing=missing)
    return _IMAGES_CHECKED["present"], _IMAGES_CHECKED["missing"]


MISSING_IMAGES_LOG = "logs/missing_images.log"
#: A subject whose export names no image may have one named by its id, with one of these.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".webp")


def subjects():
    """The subjects to make: those whose image is there."""
    return split_by_image(all_subjects())[0]


def missing_images(wildcards):
    """[(subject, image)] of the subjects whose image is missing."""
    return split_by_image(all_subjects())[1]


def subject_layers():
    """(layer, subject) of every heat map to make, sorted by subject."""
    return [
        (layer, subject)
        for subject, entry in sorted(subjects().items())
        for layer in LAYERS
        if entry[layer] is not None
    ]


def marked_layers():
    """(layer, subject) of every mark table, image or not, sorted by subject: a subject
    without an image gets the IMAGELESS_STEPS and its summary row, not its heat map. (A
    subject table's subject that has neither its image nor its mark table is only listed
    among the missing images.)"""
    table, with_image = all_subjects(), subjects()
    # asked for by many input functions: listed once per subject table
    if _MARKED.get("table") is not table or _MARKED.get("with_image") is not with_image:
        marked = [
            (layer, subject)
            for subject, entry in sorted(table.items())
            for layer in LAYERS
            if entry[layer] is not None
            and (FROM_EXPORT or subject in with_image or os.path.isfile(entry[layer]))
        ]
        manifests = (
            sorted({batch_manifest(ly, batch_of(s)) for ly, s in marked})
            if BATCHES
            else []
        )
        _MARKED.update(
            table=table, with_image=with_image, marked=marked, manifests=manifests
        )
    return _MARKED["marked"]


_MARKED = {}


def image_of(subject):
    """The subject's image as resolved, or None when it has none."""
    entry = subjects().get(subject)
    return None if entry is None else entry["image"]


def subject_entry(wildcards):
    try:
        return all_subjects()[wildcards.subject]
    except KeyError:
        raise ValueError(
            f"subject {wildcards.subject!r} is not in {SUBJECTS_SOURCE}"
        ) from None


def subject_image(wildcards):
    # the image as resolved (one named by the subject id, where the export names none)
    entry = subjects().get(wildcards.subject) or subject_entry(wildcards)
    if entry["image"] is None:
        raise ValueError(f"subject {wildcards.subject!r}: {entry['image_problem']}")
    return entry["image"]


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


# ---------------------------------------------------------------- the per-subject chain


def step_output(name):
    """The output path pattern of a step (with {format} for a step written in several)."""
    return STEPS[name].pattern()


def step_log(name):
    suffix = ".{format}" if STEPS[name].formats is not None else ""
    return f"logs/{name}/{{layer}}/{{subject}}{suffix}.log"


def step_inputs(name):
    """The input function of a step's rule: the files its entry's `inputs` name."""

    def inputs(wildcards):
        files = ingest_input()
        for source in STEPS[name].reads(SETTINGS[name]):
            if source == "image":
                files["image"] = subject_image(wildcards)
            elif source == "marks":
                files["marks"] = subject_marks(wildcards)
            elif (
                source in STEPS
            ):  # an earlier step's output for the same subject and layer
                (files[source],) = STEPS[source].paths(
                    wildcards.layer, wildcards.subject
                )
        return files

    inputs.__name__ = f"{name}_inputs"
    return inputs


def step_classifications(name):
    """Params function of a step's rule: the subject's classifications, if the step reads it."""

    def classifications(wildcards):
        if "classifications" not in STEPS[name].reads(SETTINGS[name]):
            return None
        return subject_entry(wildcards)["classifications"]

    classifications.__name__ = f"{name}_classifications"
    return classifications


def subject_outputs(layer, subject):
    """Every step's outputs for one subject and layer."""
    return [
        path
        for name, step in STEPS.items()
        for path in step.paths(layer, subject, FORMATS[name])
    ]


# ---------------------------------------------------------------- batches


def batch_of(subject):
    """The batch a subject belongs to: fixed by its id, so it never moves between runs."""
    return zlib.crc32(subject.encode()) % BATCHES


_BATCHES = {}


def batch_members(layer, batch):
    """The BatchMembers (subject, image or None, marks) of one batch and layer, sorted."""
    table = all_subjects()
    if _BATCHES.get("table") is not table:  # deal all subjects once, not once per batch
        dealt = {}
        for layer_, subject in marked_layers():
            entry = table[subject]
            member = BatchMember(
                subject, image_of(subject), entry[layer_], entry["classifications"]
            )
            dealt.setdefault((layer_, batch_of(subject)), []).append(member)
        _BATCHES.update(table=table, dealt=dealt)
    return _BATCHES["dealt"].get((layer, int(batch)), [])


def batch_job(wildcards):
    """What a batch job runs (zooheat.batch.run_batch's arguments): its subjects, the
    steps' settings and formats, and where it remembers what it made."""
    return {
        "members": batch_members(wildcards.layer, wildcards.batch),
        "settings": SETTINGS,
        "formats": FORMATS,
        "state": batch_state(wildcards.layer, wildcards.batch),
    }


def batch_inputs(wildcards):
    """A batch's members' files are not its inputs (Snakemake would track every file of
    every batch at each run): batch_fingerprint stands for them. Only a mark table that is
    missing, which restore_marks brings back first, is an input."""
    members = batch_members(wildcards.layer, wildcards.batch)
    return ingest_input() | {
        "restored": [m.marks for m in members if missing_table(m.marks)]
    }


def batch_fingerprint(wildcards):
    """Params function of a batch job: the size and time of each member's image and marks
    (a change reruns the batch, which remakes only what changed)."""
    return inputs_fingerprint(batch_members(wildcards.layer, wildcards.batch))


def batch_manifest(layer, batch):
    return f"{RESULTS}/batches/{layer}/{batch}.tsv"


def batch_marks(layer, batch):
    """A batch's part of marks.parquet (zooheat.summary.write_marks_part)."""
    return f"{RESULTS}/batches/{layer}/{batch}.marks.parquet"


def batch_state(layer, batch):
    """Where a batch remembers what its subjects' files were made from."""
    return f"{RESULTS}/batches/{layer}/{batch}.state.json"


def batch_manifests():
    """The manifest of every batch that has subjects: it stands for all their files."""
    marked_layers()  # lists them with the subjects, once
    return _MARKED["manifests"]


@functools.cache
def _folder_names(folder):
    # One listing per folder per run, not a stat per file (cleared at each DAG build).
    try:
        return frozenset(os.listdir(folder))
    except FileNotFoundError:
        return frozenset()


def batch_repairs():
    """A repair target for each finished batch some of whose files were deleted by hand."""
    _folder_names.cache_clear()
    repairs = []
    for manifest in batch_manifests():
        if not os.path.exists(manifest):
            continue  # the batch has not run yet: it makes everything
        layer, batch = Path(manifest).parent.name, Path(manifest).stem
        members = batch_members(layer, batch)
        missing = missing_outputs(
            members, layer, FORMATS, _folder_names, imageless=IMAGELESS_STEPS
        )
        if missing:
            token = repair_token(batch_state(layer, batch), missing)
            repairs.append(f"{RESULTS}/batches/{layer}/{batch}.repair-{token}")
    return repairs


# ---------------------------------------------------------------- targets


def step_targets(name):
    """Input function for a rule that needs every output of a step (e.g. every figure).

    One job per subject: those files (of subjects without an image too, for the steps
    that need none). With batches: the batches' manifests, which stand for them, so that no
    per-subject job is ever scheduled beside the batches.
    """

    def targets(wildcards):
        if BATCHES:
            return batch_manifests()
        made = marked_layers() if name in IMAGELESS_STEPS else subject_layers()
        return [
            path
            for layer, subject in made
            for path in STEPS[name].paths(layer, subject, FORMATS[name])
        ]

    targets.__name__ = f"{name}_targets"
    return targets


def subject_layer_entries():
    """SubjectLayer of every mark table (image None where the subject has none), for the
    whole-project tables."""
    table = all_subjects()
    return [
        SubjectLayer(
            subject,
            layer,
            table[subject][layer],
            table[subject]["classifications"],
            image_of(subject),
        )
        for layer, subject in marked_layers()
    ]


def summary_inputs(wildcards):
    """Every step's facts come from its files, or with batches from the manifests."""
    if BATCHES:
        return ingest_input() | {"manifests": batch_manifests()}
    return ingest_input() | {
        "facts": [
            path
            for name, step in STEPS.items()
            if step.measure is not None
            for path in step_targets(name)(wildcards)
        ],
        "marks": [entry.marks for entry in subject_layer_entries()],
    }


def batch_parts():
    """Each batch's part of marks.parquet."""
    return [batch_marks(Path(m).parent.name, Path(m).stem) for m in batch_manifests()]


def marks_table_inputs(wildcards):
    """The consensus tables and the mark tables, or with batches their parts of the table."""
    if BATCHES:
        return ingest_input() | {"parts": batch_parts()}
    return ingest_input() | {
        "consensus": step_targets("consensus")(wildcards),
        "marks": [entry.marks for entry in subject_layer_entries()],
    }


def summary_job(wildcards):
    """What the summary job reads: the subjects (no batches) or the manifests (batches)."""
    if BATCHES:
        manifests = [(Path(path).parent.name, path) for path in batch_manifests()]
        return {"entries": None, "manifests": manifests}
    return {"entries": subject_layer_entries(), "manifests": None}


def marks_table_job(wildcards):
    if BATCHES:
        return {"entries": None, "parts": batch_parts()}
    return {"entries": subject_layer_entries(), "parts": None}


def all_outputs(wildcards):
    """Every product: each step's outputs, the summary and the table of all marks (and, from
    an export, the mark tables).

    Intermediates are requested too, so that one deleted by hand is made again. With
    batches, the batches' manifests stand for their subjects' files, and a finished batch
    with files deleted by hand gets a repair job that makes just those again.
    """
    targets = [
        rules.missing_images.output.table,
        rules.summary.output.summary,
        rules.marks_table.output.marks,
        rules.gallery.output.page,
        rules.report_figures.output.figures,
    ]
    if FROM_EXPORT:  # the ingest itself (a new export reruns it), and its tables
        ingest = rules.ingest.output
        targets += [ingest.manifest, ingest.rejects, ingest.summary]
        tables = [marks_table(layer, subject) for layer, subject in marked_layers()]
        # with batches, only those missing (restored): the others are there (listed once)
        targets += [t for t in tables if missing_table(t)] if BATCHES else tables
    if BATCHES:
        return targets + batch_manifests() + batch_repairs()
    heat_maps = set(subject_layers())
    for layer, subject in marked_layers():
        if (layer, subject) in heat_maps:
            targets += subject_outputs(layer, subject)
        else:  # no image: its consensus
            for name in IMAGELESS_STEPS:
                targets += STEPS[name].paths(layer, subject, FORMATS[name])
    return targets


def ingest_inputs(wildcards):
    return {key: PANOPTES[key] for key in EXPORT_FILES if PANOPTES[key] is not None}


def ingest_settings():
    return {
        k: v for k, v in PANOPTES.items() if k not in EXPORT_FILES and k != "images"
    }


# ---------------------------------------------------------------- paper figures

PAPER_DIR = f"{RESULTS}/paper"
# Beside this file, wherever the workflow comes from (a checkout, or a Snakemake module).
FIGURES_SCHEMA = workflow.current_basedir.join("../config/figures.schema.yaml")


def workflow_folder():
    """The workflow's own folder (its git commit goes in the provenance); None when it is
    fetched from a remote URL."""
    folder = workflow.current_basedir.join("..")
    return folder.get_path_or_uri(secret_free=True) if folder.is_local else None


WORKFLOW_FOLDER = workflow_folder()


@functools.cache
def paper_figures():
    """The figures of config `paper`, checked against config/figures.schema.yaml, with
    defaults filled in: {name: {subject, layer, formats, and the PaperStyle fields}}.

    Read only when paper figures are asked for, so that a project without them (or whose
    layers differ from the example's) runs without the file."""
    import yaml
    from zooheat.paper import PaperStyle

    path = config["paper"]
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except OSError as exc:
        raise ValueError(
            f"{path}: cannot read the paper figures (config key 'paper'): {error_line(exc)}"
        ) from None
    validate(document, FIGURES_SCHEMA, set_default=True)
    for name, figure in document["figures"].items():
        where = f"{path}, figure {name!r}"
        if figure["layer"] not in LAYERS:
            raise ValueError(
                f"{where}: layer {figure['layer']!r} is not one of the config's layers "
                f"{LAYERS}"
            )
        try:
            PaperStyle.from_figure(figure)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return document["figures"]


def paper_figure(name):
    try:
        return paper_figures()[name]
    except KeyError:
        raise ValueError(
            f"{config['paper']}: no paper figure named {name!r} (it names "
            f"{sorted(paper_figures())})"
        ) from None


def paper_files(name):
    """The zoomed counts (and consensus) one figure is drawn from, by step name."""
    figure = paper_figure(name)
    layer, subject = figure["layer"], figure["subject"]
    where = Namespace(layer=layer, subject=subject)
    try:
        entry = subjects()[subject]
    except KeyError:
        raise ValueError(
            f"{config['paper']}, figure {name!r}: subject {subject!r} is not among the "
            f"subjects of {SUBJECTS_SOURCE} that have an image"
        ) from None
    if entry[layer] is None:
        raise ValueError(
            f"{config['paper']}, figure {name!r}: subject {subject!r} has no "
            f"{layer!r} mark table"
        )
    steps = ("zoom", "consensus") if figure["consensus"] else ("zoom",)
    files = {step: STEPS[step].paths(layer, subject)[0] for step in steps}
    return files | {"image": subject_image(where), "marks": subject_marks(where)}


def paper_figure_inputs(wildcards):
    """The image and the step files (or, with batches, the batch that makes them)."""
    files = paper_files(wildcards.figure)
    if BATCHES:
        figure = paper_figure(wildcards.figure)
        batch = batch_manifest(figure["layer"], batch_of(figure["subject"]))
        return ingest_input() | {"image": files["image"], "batch": batch}
    return ingest_input() | files


def paper_figure_job(wildcards):
    """What a paper figure job draws, and how (zooheat.paper.write_paper_figure)."""
    figure = paper_figure(wildcards.figure)
    files = paper_files(wildcards.figure)
    return {
        "zoom": files["zoom"],
        "consensus": files.get("consensus"),
        "figure": figure,
    }


def paper_figure_files(name):
    """One paper figure's files, one per format."""
    return [
        f"{PAPER_DIR}/{name}.{fmt}" for fmt in sorted(paper_figure(name)["formats"])
    ]


def paper_outputs(wildcards):
    """Every paper figure's files."""
    return [
        path for name in sorted(paper_figures()) for path in paper_figure_files(name)
    ]


def paper_sources():
    """The run's own inputs the figures' data came from."""
    if FROM_EXPORT:
        return list(ingest_inputs(None).values())
    return [config["subjects"]]


def paper_provenance_job(wildcards):
    """What provenance.json records (zooheat.provenance.paper_provenance's arguments)."""
    figures = {}
    for name, figure in sorted(paper_figures().items()):
        figures[name] = {
            "parameters": figure,
            "inputs": sorted(paper_files(name).values()),
            "outputs": paper_figure_files(name),
        }
    settings = {step: SETTINGS[step] for step in ("histogram", "zoom", "consensus")}
    return {"figures": figures, "sources": paper_sources(), "settings": settings}


def paper_provenance_inputs(wildcards):
    return {
        "figures": paper_outputs(wildcards),
        "sources": paper_sources(),
        "data": [
            path
            for name in sorted(paper_figures())
            for path in paper_figure_inputs(Namespace(figure=name)).values()
        ],
    }
