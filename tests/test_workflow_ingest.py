"""Real snakemake from a Panoptes export: a new export rebuilds only the subjects it changed."""

import csv
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import digests, jobs_run, snakemake
from zooheat.pipeline import STEPS
from zooheat.synthetic import synthetic_subject
from zooheat.synthetic_export import synthetic_export_rows

pytestmark = pytest.mark.workflow

RINGS = "  rings:\n    task: T3\n    tool: 1\n"


def summary_rows(results):
    with open(results / "summary.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def one_layer(workdir):
    """Drop the example's rings layer: half the jobs, the same logic."""
    config = workdir / "config" / "config.yaml"
    text = config.read_text()
    assert RINGS in text
    config.write_text(text.replace(RINGS, ""))


def jobs_of(subjects):
    """Every step's job for these subjects (one layer, png figures)."""
    return sorted(
        (name, f"layer=blobs, subject={s}" + (", format=png" if step.formats else ""))
        for s in subjects
        for name, step in STEPS.items()
    )


def export_b(workdir):
    """Export A plus a new volunteer on subjects 15000001 and 15000002, and a new subject."""
    path = workdir / "example" / "classifications.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    subject_at = header.index("subject_ids")
    extra = []
    for subject in ("15000001", "15000002"):
        source = next(r for r in body if r[subject_at] == subject and '"tool":0' in r[11])
        new = list(source)
        new[0] = str(int(new[0]) + 1_000_000)
        new[1], new[2] = "latecomer", "4242"
        extra.append(new)
    new_subject = list(synthetic_export_rows(1000, first_subject=4, n_subjects=1))[1:]
    Image.fromarray(synthetic_subject(4).image).save(
        workdir / "example" / "images" / "synthetic-0004.png"
    )
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *body, *extra, *new_subject])


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_export_rebuilds_exactly_the_changed_subjects(workflow_copy):
    wd = workflow_copy
    one_layer(wd)
    args = ()
    cold = snakemake(wd, *args)
    subjects = ["15000000", "15000001", "15000002", "15000003"]
    assert jobs_run(cold) == jobs_of(subjects)
    with open(wd / "results" / "ingest" / "subjects.tsv", newline="") as f:
        assert [r["subject_id"] for r in csv.DictReader(f, delimiter="\t")] == subjects
    figure_0 = digest(wd / "results" / "figures" / "blobs" / "15000000.png")

    assert jobs_run(snakemake(wd, *args)) == []

    export_b(wd)
    warm = snakemake(wd, *args)
    assert jobs_run(warm) == jobs_of(["15000001", "15000002", "15000004"])
    assert "checkpoint ingest" in warm.stdout + warm.stderr
    assert "restore_marks" not in warm.stdout + warm.stderr
    assert digest(wd / "results" / "figures" / "blobs" / "15000000.png") == figure_0
    table = (wd / "results" / "ingest" / "marks" / "blobs" / "15000001.csv").read_text()
    assert "latecomer" in table

    # a mark table deleted by hand comes back, with the same bytes
    lost = wd / "results" / "ingest" / "marks" / "blobs" / "15000003.csv"
    before = lost.read_bytes()
    lost.unlink()
    repaired = snakemake(wd, *args)
    assert lost.read_bytes() == before
    ran = jobs_run(repaired)
    assert ("restore_marks", "table=blobs/15000003") in ran
    assert {w for r, w in ran if r != "restore_marks"} <= {
        "layer=blobs, subject=15000003",
        "layer=blobs, subject=15000003, format=png",
    }
    again = snakemake(wd, *args)
    assert jobs_run(again) == []
    # no job stands behind a table that is there: no warnings about its provenance
    assert "provenance" not in again.stdout + again.stderr


def test_export_rejects_are_counted_and_nothing_escapes(workflow_copy):
    wd = workflow_copy
    one_layer(wd)
    path = wd / "example" / "classifications.csv"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[3] = lines[3].replace("synthetic-0000.png", "../../../escape.png")
    lines[5] = "\n"
    path.write_text("".join(lines), encoding="utf-8")
    snakemake(wd)
    rejects = (wd / "results" / "ingest" / "rejects.csv").read_text()
    assert ",6,,row,blank line" in rejects
    # the unsafe name is never used; the row's marks are, and the subject keeps the image
    # its other classifications name
    log = (wd / "logs" / "ingest" / "ingest.log").read_text()
    assert "100 rows: 99 used, 0 filtered, 1 rejected" in log
    assert not (wd.parent / "escape.png").exists()
    with open(wd / "results" / "ingest" / "subjects.tsv", newline="") as f:
        images = {r["subject_id"]: r["image"] for r in csv.DictReader(f, delimiter="\t")}
    assert images["15000000"] == "synthetic-0000.png"


def test_a_wrong_input_path_stops_the_run_rather_than_keeping_old_results(workflow_copy):
    wd = workflow_copy
    one_layer(wd)
    snakemake(wd)
    config = wd / "config" / "config.yaml"
    text = config.read_text()
    for old, new, fragment in (
        (
            "export: example/classifications.csv",
            "export: example/classificationz.csv",
            "example/classificationz.csv: not found; expected a Panoptes classification "
            "export CSV (config panoptes.export)",
        ),
        (
            "images: example/images",
            "images: example/imagez",
            "example/imagez: not a folder (config panoptes.images)",
        ),
    ):
        config.write_text(text.replace(old, new))
        proc = snakemake(wd, check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and "Nothing to be done" not in out
        assert f"zooheat: {fragment}" in out and "Traceback" not in out
    config.write_text(text)


@pytest.mark.parametrize("batches", [0, 2], ids=["jobs", "batches"])
def test_missing_images_are_listed_at_once_and_the_others_still_made(
    workflow_copy, example_run, batches
):
    wd = workflow_copy
    one_layer(wd)
    config = wd / "config" / "config.yaml"
    config.write_text(config.read_text().replace("batches: 0", f"batches: {batches}"))
    images = wd / "example" / "images"
    gone = ["synthetic-0001.png", "synthetic-0003.png"]
    for name in gone:
        (images / name).rename(wd / name)
    proc = snakemake(wd, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "zooheat: warning: 2 subjects have no image" in out
    assert "logs/missing_images.log" in out
    # every other subject has its figure; the two without an image have no heat map
    results = wd / "results"
    for step in ("figures", "histogram", "zoom", "thumbnails"):
        made = sorted(p.stem for p in (results / step / "blobs").iterdir())
        assert made == ["15000000", "15000002"], step
    log = (wd / "logs" / "missing_images.log").read_text()
    for subject, name in (("15000001", gone[0]), ("15000003", gone[1])):
        assert f"subject {subject}: image not found: example/images/{name}" in log
    # but their marks are kept: their consensus is the one they get with their image,
    # and their summary rows the same, but for the heat map's numbers
    for subject in ("15000001", "15000003"):
        consensus = f"consensus/blobs/{subject}.csv"
        made = example_run / "results" / consensus
        assert (results / consensus).read_bytes() == made.read_bytes()
    rows = {r["subject"]: r for r in summary_rows(results)}
    full = {r["subject"]: r for r in summary_rows(example_run / "results") if r["layer"] == "blobs"}
    assert sorted(rows) == sorted(full)
    for subject, row in rows.items():
        if subject in ("15000001", "15000003"):
            heat_map = ("binned", "outside", "max")
            assert all(row[k] == "" for k in heat_map) and int(row["marks"]) > 10
            assert {k: v for k, v in row.items() if k not in heat_map} == {
                k: v for k, v in full[subject].items() if k not in heat_map
            }
        else:
            assert row == full[subject]
    # the table of all marks holds theirs too, with their objects
    import pandas as pd

    marks = pd.read_parquet(results / "marks.parquet")
    assert set(marks["subject"]) == set(full)
    # the gallery lists them without a figure; the report's sample leaves them out
    page = (results / "gallery" / "index.html").read_text()
    assert page.count('"figure":null') == 2
    sample = sorted(p.name for p in (results / "report" / "figures").glob("*.png"))
    assert sample == ["blobs-15000000.png", "blobs-15000002.png"]

    # accepted: the run succeeds and the list stays in results/
    config = wd / "config" / "config.yaml"
    config.write_text(config.read_text().replace("missing_images: error", "missing_images: warn"))
    snakemake(wd)
    listed = (wd / "results" / "missing-images.tsv").read_text().splitlines()
    assert listed == [
        "subject\timage",
        *(f"{s}\texample/images/{n}" for s, n in (("15000001", gone[0]), ("15000003", gone[1]))),
    ]
    # the images come back: their subjects are made, and the list is empty
    for name in gone:
        (wd / name).rename(images / name)
    snakemake(wd)
    assert len(list((wd / "results" / "figures" / "blobs").iterdir())) == 4
    assert (wd / "results" / "missing-images.tsv").read_text() == "subject\timage\n"
    assert (results / "summary.csv").read_text().splitlines()[1:] == [
        line
        for line in (example_run / "results" / "summary.csv").read_text().splitlines()[1:]
        if ",blobs," in line
    ]


LAYERS_BY_INDEX = (
    "layers:\n  blobs:\n    task: T3\n    tool: 0\n  rings:\n    task: T3\n    tool: 1\n"
)


def test_layers_named_by_tool_label_give_the_examples_bytes(workflow_copy, example_run):
    wd = workflow_copy
    config = wd / "config" / "config.yaml"
    text = config.read_text()
    assert LAYERS_BY_INDEX in text
    by_label = LAYERS_BY_INDEX.replace("tool: 0", "tool_label: Blob").replace(
        "tool: 1", "tool_label: Ring"
    )
    # with the workflow export beside it, the layers are checked against its tasks
    tasks = {
        "T0": {"type": "single", "question": "Any tracks?", "answers": []},
        "T3": {
            "type": "drawing",
            "tools": [{"type": "circle", "label": n} for n in ("Blob", "Ring")],
        },
    }
    with open(wd / "example" / "workflows.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerows([["workflow_id", "version", "tasks"], ["1234", "12", json.dumps(tasks)]])
    text = text.replace("workflow_export: null", "workflow_export: example/workflows.csv")
    config.write_text(text.replace(LAYERS_BY_INDEX, by_label))
    snakemake(wd)
    # every heat map, figure and table as with tool indices; only the ingest's record of
    # its settings (and what derives from it) says how the layers were named
    settings = ("ingest-summary.json", "provenance.json")
    mine = {k: v for k, v in digests(wd).items() if not k.endswith(settings)}
    theirs = {k: v for k, v in digests(example_run).items() if not k.endswith(settings)}
    assert mine == theirs
    summary = json.loads((wd / "results" / "ingest" / "ingest-summary.json").read_text())
    assert summary["settings"]["layers"]["blobs"] == {"task": "T3", "tool_label": "Blob"}
    assert summary["workflow_export"] == "example/workflows.csv"
    assert summary["warnings"] == []
    assert summary["tool_labels"]["T3"] == {
        "0": {"Blob": summary["marks"]["blobs"]},
        "1": {"Ring": summary["marks"]["rings"]},
    }


def test_a_subject_the_export_names_no_image_for_keeps_its_marks_and_is_listed(workflow_copy):
    wd = workflow_copy
    one_layer(wd)
    path = wd / "example" / "classifications.csv"
    text = path.read_text(encoding="utf-8")
    # subject 15000002's images are named under a key the config does not list; subject
    # 15000003's too, but a file named by its id is in the image folder
    for n in (2, 3):
        text = text.replace(f'""Filename"":""synthetic-000{n}.png""', '""IMG_COLOR"":""x.png""')
    path.write_text(text, encoding="utf-8")
    images = wd / "example" / "images"
    (images / "synthetic-0003.png").rename(images / "15000003.png")
    proc = snakemake(wd, check=False)
    assert proc.returncode != 0  # missing_images: error
    assert "1 subjects have no image" in proc.stderr
    results = wd / "results"
    for subject in ("15000002", "15000003"):  # marks kept for both
        assert (results / "ingest" / "marks" / "blobs" / f"{subject}.csv").stat().st_size > 200
    assert (results / "figures" / "blobs" / "15000003.png").is_file()
    assert not (results / "figures" / "blobs" / "15000002.png").exists()
    # the subject without an image keeps its consensus and its summary row
    assert (results / "consensus" / "blobs" / "15000002.csv").read_text().count("\n") > 1
    (row,) = [r for r in summary_rows(results) if r["subject"] == "15000002"]
    assert int(row["objects"]) > 0 and row["max"] == ""
    missing = (wd / "logs" / "missing_images.log").read_text().splitlines()
    assert missing[0] == (
        "subject 15000002: image not found: no image file name (its keys: 'retired', "
        "'IMG_COLOR'), and no 15000002.png (or .jpg/.jpeg/.tif/.tiff/.gif/.webp) in "
        "example/images"
    )
    assert "1 subjects without an image" in missing
    log = (wd / "logs" / "ingest" / "ingest.log").read_text()
    assert "zooheat: warning: 2 subjects have no image file name in the export" in log
    warnings = (results / "warnings.tsv").read_text()
    assert "export\t\t\t2 subjects have no image file name in the export" in warnings


#: Rows of pixels at the top of a figure that hold its title.
TITLE_BAND = 60


def test_a_two_frame_subject_gets_a_heat_map_per_frame_over_that_frames_image(
    workflow_copy, example_run
):
    wd = workflow_copy
    path = wd / "example" / "classifications.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    at = {name: header.index(name) for name in ("subject_ids", "annotations", "subject_data")}
    for r in body:
        if r[at["subject_ids"]] != "15000003":
            continue
        # the blobs were marked on frame 1, whose image is the example's synthetic-0003.png;
        # frame 0 shows synthetic-0002.png (and holds the rings)
        annotations = json.loads(r[at["annotations"]])
        for annotation in annotations:
            for mark in annotation["value"] if annotation["task"] == "T3" else ():
                mark["frame"] = 1 if mark["tool"] == 0 else 0
        r[at["annotations"]] = json.dumps(annotations)
        r[at["subject_data"]] = json.dumps(
            {"15000003": {"Filename": "synthetic-0002.png", "Filename_2": "synthetic-0003.png"}}
        )
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *body])
    snakemake(wd)
    mine, example = digests(wd), digests(example_run)
    # frame 1's blobs: the example subject's heat map, over the same image, byte for byte
    for step in ("histogram/blobs/{}.npy", "zoom/blobs/{}.npy"):
        assert (
            mine[f"results/{step.format('15000003_f1')}"]
            == example[f"results/{step.format('15000003')}"]
        ), step

    def figure(workdir, unit):  # below the title, which names the frame
        path = workdir / "results" / "figures" / "blobs" / f"{unit}.png"
        return np.asarray(Image.open(path))[TITLE_BAND:]

    assert np.array_equal(figure(wd, "15000003_f1"), figure(example_run, "15000003"))
    # frame 0: no blobs; its figure is drawn over synthetic-0002.png, not frame 1's image
    table = (wd / "results" / "ingest" / "marks" / "blobs" / "15000003.csv").read_text()
    assert table.count("\n") == 1
    assert not np.array_equal(figure(wd, "15000003"), figure(example_run, "15000003"))
    with open(wd / "results" / "ingest" / "subjects.tsv", newline="") as f:
        units = {r["subject_id"]: r["image"] for r in csv.DictReader(f, delimiter="\t")}
    assert units["15000003"] == "synthetic-0002.png"
    assert units["15000003_f1"] == "synthetic-0003.png"
    summary = (wd / "results" / "summary.csv").read_text()
    assert "15000003_f1,blobs," in summary
