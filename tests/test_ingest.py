"""Panoptes export ingest: exact values from handwritten rows, every kind of broken row."""

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli
from zooheat.errors import ZooheatError
from zooheat.ingest import chunks, ingest_export
from zooheat.ingest import run as ingest_run
from zooheat.panoptes import IngestConfig, LayerSpec, ingest_config
from zooheat.synthetic_export import HEADER_2015, HEADER_MODERN, write_synthetic_export

LAYERS = (LayerSpec("blobs", "T3", 0), LayerSpec("rings", "T3", 1))
CONFIG = IngestConfig(layers=LAYERS, workflow_id=1234)


def metadata(**extra):
    meta = {
        "source": "api",
        "subject_dimensions": [
            {"clientWidth": 585, "clientHeight": 576, "naturalWidth": 390, "naturalHeight": 384}
        ],
    }
    meta.update(extra)
    return json.dumps(meta)


def circle(x, y, r, tool=0, **extra):
    return {"x": x, "y": y, "r": r, "angle": 0, "tool": tool, "frame": 0, "details": [], **extra}


def row(
    cid=1,
    user="ada",
    user_id="11",
    subject="101",
    marks=(),
    *,
    workflow_id="1234",
    version="12.3",
    created="2016-06-01 10:00:00 UTC",
    gold="",
    image="101.png",
    meta=None,
    annotations=None,
    subject_data=None,
):
    fields = {
        "classification_id": str(cid),
        "user_name": user,
        "user_id": user_id,
        "user_ip": "abc123",
        "workflow_id": workflow_id,
        "workflow_name": "Blobs",
        "workflow_version": version,
        "created_at": created,
        "gold_standard": gold,
        "expert": "",
        "metadata": meta if meta is not None else metadata(),
        "annotations": annotations
        if annotations is not None
        else json.dumps([{"task": "T0", "value": "Yes"}, {"task": "T3", "value": list(marks)}]),
        "subject_data": subject_data
        if subject_data is not None
        else json.dumps({subject: {"retired": None, "Filename": image}}),
        "subject_ids": subject,
    }
    return [fields[c] for c in HEADER_MODERN]


def csv_text(rows, header=HEADER_MODERN, newline="\n"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def same_files(a, b):
    """Assert that two folders hold the same files with the same bytes."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for name in files_a:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def run(tmp_path, text, config=CONFIG, name="export.csv", **kwargs):
    """Ingest ``text`` into tmp_path/out, and again by the exact route: both must agree."""
    export = tmp_path / name
    if isinstance(text, bytes):
        export.write_bytes(text)
    else:
        export.write_text(text, encoding="utf-8", newline="")
    out = tmp_path / "out"
    log = kwargs.pop("log", None)
    summary = ingest_export(export, out, config, progress=log is not None, log=log, **kwargs)
    assert summary.rows_read == summary.rows_used + summary.rows_filtered + summary.rows_rejected
    exact = ingest_export(
        export, tmp_path / "out-exact", config, progress=False, exact=True, **kwargs
    )
    assert exact == summary
    same_files(out, tmp_path / "out-exact")
    return summary, out


def marks_table(out, layer, subject):
    with open(out / "marks" / layer / f"{subject}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def rejects(out):
    with open(out / "rejects.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def manifest(out):
    with open(out / "subjects.tsv", newline="", encoding="utf-8") as f:
        return {r["subject_id"]: r for r in csv.DictReader(f, delimiter="\t")}


# ------------------------------------------------------------------ exact values


def test_modern_layout_v1_marks_exact_values(tmp_path):
    rows = [
        row(1, "ada", "11", "101", [circle(10.5, 20.25, 3, 0), circle(100, 200, 40, 1)]),
        row(2, "bob", "12", "101", [circle(11, 21, 0, 0)], created="2016-06-01 09:00:00 UTC"),
        row(3, "ada", "11", "102", [], image="102.png"),
    ]
    summary, out = run(tmp_path, csv_text(rows))
    assert (summary.rows_read, summary.rows_used, summary.subjects) == (3, 3, 2)
    blobs = marks_table(out, "blobs", "101")
    # sorted by time: bob's classification (09:00) first
    assert [(m["classification_id"], m["user"], m["x"], m["y"], m["r"]) for m in blobs] == [
        ("2", "bob", "11.0", "21.0", "0.0"),
        ("1", "ada", "10.5", "20.25", "3.0"),
    ]
    assert blobs[1] == {
        "classification_id": "1",
        "user": "ada",
        "user_id": "11",
        "created_at": "2016-06-01 10:00:00 UTC",
        "workflow_id": "1234",
        "workflow_version": "12.3",
        "task": "T3",
        "tool": "0",
        "tool_label": "",
        "shape": "circle",
        "frame": "0",
        "x": "10.5",
        "y": "20.25",
        "r": "3.0",
        "rx": "",
        "ry": "",
        "angle": "0.0",
        "width": "",
        "height": "",
        "x1": "",
        "y1": "",
        "x2": "",
        "y2": "",
        "spread": "",
        "points": "",
    }
    rings = marks_table(out, "rings", "101")
    assert [(m["x"], m["y"], m["r"], m["tool"]) for m in rings] == [("100.0", "200.0", "40.0", "1")]
    assert marks_table(out, "blobs", "102") == []  # a classification with no marks
    m = manifest(out)
    assert m["101"] == {
        "subject_id": "101",
        "image": "101.png",
        "classifications": "2",
        "marks_blobs": "2",
        "marks_rings": "1",
        "retired": "false",
        "coordinates": "ok",
        "image_problem": "",
    }
    assert m["102"]["classifications"] == "1" and m["102"]["marks_blobs"] == "0"
    assert json.loads((out / "ingest-summary.json").read_text())["marks"] == {
        "blobs": 2,
        "rings": 1,
    }


def test_point_ellipse_and_rectangle_marks(tmp_path):
    layers = (
        LayerSpec("points", "T1", 0),
        LayerSpec("ellipses", "T1", 1),
        LayerSpec("boxes", "T1", 2),
    )
    marks = [
        {"x": 5, "y": 6, "tool": 0, "frame": 0},
        {"x": 50, "y": 60, "rx": 8, "ry": 4, "angle": 30, "tool": 1, "frame": 1},
        {"x": 10, "y": 20, "width": 30, "height": 40, "tool": 2, "frame": 0},
    ]
    annotations = json.dumps([{"task": "T1", "value": marks}])
    summary, out = run(
        tmp_path,
        csv_text([row(annotations=annotations)]),
        IngestConfig(layers=layers),
    )
    assert summary.rows_used == 1
    point = marks_table(out, "points", "101")[0]
    assert (point["x"], point["y"], point["r"]) == ("5.0", "6.0", "")
    # the ellipse is on the subject's frame 1: a heat map of its own
    assert marks_table(out, "ellipses", "101") == []
    ellipse = marks_table(out, "ellipses", "101_f1")[0]
    assert manifest(out)["101_f1"]["image_problem"].startswith("no image file name for frame 1")
    assert [ellipse[k] for k in ("x", "y", "rx", "ry", "angle", "frame")] == [
        "50.0",
        "60.0",
        "8.0",
        "4.0",
        "30.0",
        "1",
    ]
    box = marks_table(out, "boxes", "101")[0]
    # a v1 rectangle gives its top-left corner; x, y are its centre
    assert [box[k] for k in ("x", "y", "width", "height")] == ["25.0", "40.0", "30.0", "40.0"]


def test_v2_marks_with_sub_task_answers(tmp_path):
    annotations = json.dumps(
        [
            {
                "task": "T3",
                "taskType": "drawing",
                "value": [
                    {
                        "x_center": 30.5,
                        "y_center": 40.5,
                        "r": 7,
                        "toolIndex": 0,
                        "toolType": "circle",
                        "frame": 0,
                    },
                    {
                        "x_center": 80,
                        "y_center": 90,
                        "rx": 10,
                        "ry": 5,
                        "angle": 45,
                        "toolIndex": 1,
                        "toolType": "ellipse",
                        "frame": 0,
                    },
                    {
                        "x_center": 200,
                        "y_center": 100,
                        "width": 20,
                        "height": 10,
                        "toolIndex": 2,
                        "toolType": "rectangle",
                        "frame": 0,
                    },
                ],
            },
            {"task": "T3.0.0", "markIndex": 0, "taskType": "single", "value": 1},
        ]
    )
    layers = (*LAYERS, LayerSpec("boxes", "T3", 2))
    summary, out = run(
        tmp_path,
        csv_text([row(annotations=annotations, meta=metadata(classifier_version="2.0"))]),
        IngestConfig(layers=layers),
    )
    assert summary.rows_used == 1 and summary.rows_rejected == 0
    blob = marks_table(out, "blobs", "101")
    assert [(b["x"], b["y"], b["r"]) for b in blob] == [("30.5", "40.5", "7.0")]
    ring = marks_table(out, "rings", "101")[0]
    assert [ring[k] for k in ("x", "y", "rx", "ry", "angle")] == [
        "80.0",
        "90.0",
        "10.0",
        "5.0",
        "45.0",
    ]
    box = marks_table(out, "boxes", "101")[0]
    # v2 rectangles already give their centre
    assert [box[k] for k in ("x", "y", "width", "height")] == ["200.0", "100.0", "20.0", "10.0"]


def test_2015_layout_subject_from_subject_data(tmp_path):
    def old_row(user, subject, x, created):
        full = dict(zip(HEADER_MODERN, row(0, user, "", subject, [circle(x, 10, 2)]), strict=True))
        full["created_at"] = created
        return [full[c] for c in HEADER_2015]

    rows = [
        old_row("ada", "77", 1.5, "2015-03-01 10:00:00 UTC"),
        old_row("", "77", 2.5, "2015-03-01 09:00:00 UTC"),  # not logged in: told by ip
        old_row("cy", "78", 3.5, "2015-03-02 10:00:00 UTC"),
    ]
    summary, out = run(tmp_path, csv_text(rows, header=HEADER_2015))
    assert summary.layout == "2015"
    assert summary.rows_used == 3 and summary.subjects == 2
    table = marks_table(out, "blobs", "77")
    assert [(m["classification_id"], m["user"], m["x"]) for m in table] == [
        ("", "not-logged-in-abc123", "2.5"),
        ("", "ada", "1.5"),
    ]


def test_filters_workflow_version_gold_standard(tmp_path):
    rows = [
        row(1, "a", version="12.3"),
        row(2, "b", version="12.1"),  # older minor version
        row(3, "c", version="11.9"),  # other major version
        row(4, "d", workflow_id="999"),
        row(5, "e", gold="TRUE"),
        row(6, "f", version="12.10"),
    ]
    config = IngestConfig(
        layers=LAYERS, workflow_id=1234, workflow_version="12.3", gold_standard="exclude"
    )
    summary, _out = run(tmp_path, csv_text(rows), config)
    assert summary.rows_used == 2  # 12.3 and 12.10
    assert summary.filtered == {"gold_standard": 1, "other_version": 2, "other_workflow": 1}
    assert summary.rows_filtered == 4
    major_only = IngestConfig(layers=LAYERS, workflow_version="12")
    summary, _ = run(tmp_path, csv_text(rows), major_only)
    assert summary.rows_used == 5 and summary.filtered == {"other_version": 1}


def test_an_export_resaved_by_r_reads_na_as_the_empty_cell_it_was(tmp_path):
    # R writes NA where Panoptes left a cell empty: an anonymous volunteer's user_id, the
    # gold-standard flag. Those rows are used, not rejected, both routes alike.
    rows = [
        row(1, "not-logged-in-abc123", "NA", marks=[circle(1, 1, 1)], gold="NA"),
        row(2, "bob", "12", marks=[circle(2, 2, 1)], created="2016-06-02 10:00:00 UTC"),
    ]
    summary, out = run(tmp_path, csv_text(rows))
    assert (summary.rows_used, summary.rows_rejected) == (2, 0)
    blobs = marks_table(out, "blobs", "101")
    assert [(m["user"], m["user_id"]) for m in blobs] == [
        ("not-logged-in-abc123", ""),
        ("bob", "12"),
    ]


@pytest.mark.parametrize(
    ("policy", "kept"),
    [("first", ["1", "3"]), ("last", ["2", "3"]), ("all", ["1", "2", "3"])],
)
def test_duplicate_policy(tmp_path, policy, kept):
    rows = [
        row(2, "ada", marks=[circle(2, 2, 1)], created="2016-06-02 10:00:00 UTC"),
        row(1, "ada", marks=[circle(1, 1, 1)], created="2016-06-01 10:00:00 UTC"),
        row(3, "bob", marks=[circle(3, 3, 1)], created="2016-06-03 10:00:00 UTC"),
    ]
    summary, out = run(tmp_path, csv_text(rows), IngestConfig(layers=LAYERS, duplicates=policy))
    assert [m["classification_id"] for m in marks_table(out, "blobs", "101")] == kept
    assert summary.rows_used == len(kept)
    assert summary.filtered.get("duplicate", 0) == 3 - len(kept)


def test_subject_export_names_images(tmp_path):
    subjects = tmp_path / "subjects.csv"
    subjects.write_text(
        "subject_id,project_id,workflow_id,subject_set_id,metadata,locations\n"
        '101,1,1234,5,"{""Filename"": ""scan-101.png""}","{}"\n'
        '101,1,1234,6,"{""Filename"": ""scan-101.png""}","{}"\n'
        '102,1,1234,5,"{""Filename"": ""../evil.png""}","{}"\n'
        "103,1,1234,5,not json,{}\n"
    )
    data = json.dumps({"101": {"retired": {"id": 3}}})
    rows = [row(1, subject_data=data), row(2, subject="102", subject_data='{"102": {}}')]
    summary, out = run(tmp_path, csv_text(rows), subject_export=subjects)
    assert manifest(out)["101"]["image"] == "scan-101.png"
    assert manifest(out)["101"]["retired"] == "true"
    assert summary.subject_export_rejects == 2
    reasons = {(r["file"], r["line"]): r["reason"] for r in rejects(out)}
    assert "unsafe image file name '../evil.png'" in reasons[("subjects", "4")]
    assert "not valid JSON" in reasons[("subjects", "5")]
    # subject 102's classification is kept: its subject has no image, and says why
    assert ("export", "3") not in reasons and summary.rows_used == 2
    assert manifest(out)["102"]["image"] == ""
    assert manifest(out)["102"]["image_problem"] == "no image file name (its keys: none)"
    assert summary.subjects_without_image == ["102"]
    assert any("1 subjects have no image file name" in w for w in summary.warnings)


def test_display_coordinates_are_detected(tmp_path):
    # shown at 585x576 but marked in display pixels beyond the 390x384 image
    display = [row(i, f"u{i}", marks=[circle(500 + i, 450, 5)]) for i in range(6)]
    natural = [row(10 + i, f"v{i}", subject="102", marks=[circle(200, 150, 5)]) for i in range(6)]
    summary, out = run(tmp_path, csv_text(display + natural))
    assert summary.subjects_display_coordinates == ["101"]
    assert manifest(out)["101"]["coordinates"] == "display?"
    assert manifest(out)["102"]["coordinates"] == "ok"


def screen(width, height):
    """Metadata of a classification made on a screen that showed the 390x384 image so."""
    size = {"clientWidth": width, "clientHeight": height}
    return metadata(subject_dimensions=[{**size, "naturalWidth": 390, "naturalHeight": 384}])


def test_display_coordinates_are_judged_in_each_volunteers_screen(tmp_path):
    """Volunteers' screens differ: each classification is judged in its own screen."""
    screens = [(200, 197), (390, 384), (585, 576), (390, 384), (700, 689), (390, 384)]
    # 101: one blob near the top-left corner, marked in image pixels by everyone; the first
    # volunteer's small screen must not make it look like display pixels
    image_pixels = [
        row(i, f"u{i}", marks=[circle(60 + i, 50, 5)], meta=screen(*size))
        for i, size in enumerate(screens)
    ]
    # 102: the blob at image pixel (300, 280) marked in display pixels: at 1.5x and 1.8x on
    # the larger screens, where it falls beyond the image, and at 1x on the others
    display = [
        row(
            20 + i,
            f"v{i}",
            subject="102",
            marks=[circle(300 * w / 390, 280 * h / 384, 5)],
            meta=screen(w, h),
        )
        for i, (w, h) in enumerate(screens[1:])
    ]
    # 103: image pixels, one volunteer on a large screen slipped a mark just past the edge
    slip = [
        row(40 + i, f"w{i}", subject="103", marks=[circle(x, 200, 5)], meta=screen(585, 576))
        for i, x in enumerate((380, 385, 392, 370, 375))
    ]
    # 104: every volunteer on a smaller screen, marks in display pixels: all inside each
    # volunteer's own shown size
    small = [
        row(60 + i, f"s{i}", subject="104", marks=[circle(150 * w / 390, 90 * h / 384, 4)],
            meta=screen(w, h))
        for i, (w, h) in enumerate([(200, 197), (250, 246), (300, 295), (200, 197), (280, 276)])
    ]  # fmt: skip
    summary, out = run(tmp_path, csv_text(image_pixels + display + slip + small))
    coordinates = {s: r["coordinates"] for s, r in manifest(out).items()}
    assert coordinates == {"101": "ok", "102": "display?", "103": "outside", "104": "display?"}
    assert summary.subjects_display_coordinates == ["102", "104"]
    assert summary.subjects_marks_outside == ["103"]
    assert summary.warnings[1:] == [  # [0]: the rings layer has no marks here
        "marks that look like display pixels in 2 subjects (subjects.tsv, column "
        "coordinates): 102, 104",
        "marks beyond the image in 1 subject (subjects.tsv, column coordinates): 103",
    ]


def test_a_layer_that_matches_no_mark_is_a_warning(tmp_path):
    config = ingest_config(
        {"blobs": {"task": "T3", "tool": 0}, "rings": {"task": "T3", "tool": 7}},
        {"workflow_id": 1234},
    )
    rows = [row(i, f"u{i}", marks=[circle(10, 20, 3)]) for i in range(3)]
    summary, out = run(tmp_path, csv_text(rows), config=config)
    assert summary.warnings == [
        "layer 'rings' (task T3, tool 7): no mark in the 3 classifications used; check its "
        "task and tool"
    ]
    recorded = json.loads((out / "ingest-summary.json").read_text())
    assert recorded["warnings"] == summary.warnings
    export = tmp_path / "export.csv"
    proc = run_cli("ingest", export, "-o", tmp_path / "cli", "--layer", "blobs=T3:0",
                   "--layer", "rings=T3:7", "--quiet")  # fmt: skip
    assert proc.returncode == 0
    assert proc.stderr.splitlines()[-1] == "zooheat: warning: " + summary.warnings[0]


# ------------------------------------------------------------------ broken rows


def good_rows(n=5):
    return [row(100 + i, f"user{i}", marks=[circle(10 + i, 20, 3)]) for i in range(n)]


def with_field(index_name, value):
    r = row(99, "broken", marks=[circle(1, 2, 3)])
    r[HEADER_MODERN.index(index_name)] = value
    return r


def with_mark(**mark):
    base = {"x": 1, "y": 2, "r": 3, "tool": 0, "frame": 0}
    base.update(mark)
    return row(99, "broken", annotations=json.dumps([{"task": "T3", "value": [base]}]))


BROKEN_ROWS = {
    "annotations bad JSON": (with_field("annotations", "[{not json"), "annotations", "JSON"),
    "subject_data bad JSON": (with_field("subject_data", "{oops"), "subject_data", "JSON"),
    "metadata bad JSON": (with_field("metadata", '{"a": }'), "metadata", "JSON"),
    "missing fields": (row(99)[:-3], "row", "expected 14 fields, found 11"),
    "extra fields": ([*row(99), "surplus"], "row", "expected 14 fields, found 15"),
    "non-numeric classification_id": (
        with_field("classification_id", "abc"),
        "classification_id",
        "not a whole number",
    ),
    "non-numeric workflow_id": (with_field("workflow_id", "12a"), "workflow_id", "whole number"),
    "non-numeric user_id": (with_field("user_id", "x1"), "user_id", "not a whole number"),
    "non-numeric subject id": (
        with_field("subject_ids", "1x"),
        "subject_ids",
        "subject id is not a whole number: '1x'",
    ),
    "subject id not in subject_data": (
        with_field("subject_ids", "7"),
        "subject_data",
        "has no entry for subject 7",
    ),
    "several subjects": (with_field("subject_ids", "101;102"), "subject_ids", "several"),
    "non-numeric x": (with_mark(x="left"), "annotations", "x is not a number: 'left'"),
    "x is a list": (with_mark(x=[1]), "annotations", "x is not a number"),
    "NaN x": (with_mark(x=float("nan")), "annotations", "x is not a finite number"),
    "NaN as text": (with_mark(y="NaN"), "annotations", "y is not a finite number"),
    "infinite y": (with_mark(y=float("inf")), "annotations", "y is not a finite number"),
    "negative radius": (with_mark(r=-2), "annotations", "r must be >= 0"),
    "tool not a number": (with_mark(tool="0"), "annotations", "whole-number tool index"),
    "negative frame": (with_mark(frame=-1), "annotations", "frame"),
    "version with letters": (with_field("workflow_version", "12.x"), "workflow_version", "MAJOR"),
    "empty version": (with_field("workflow_version", ""), "workflow_version", "MAJOR.MINOR"),
    "bad created_at": (with_field("created_at", "yesterday"), "created_at", "date and time"),
    "annotations not a list": (with_field("annotations", '{"T3": 1}'), "annotations", "list"),
    "marks mixed with answers": (
        with_field("annotations", '[{"task": "T3", "value": [{"tool": 0, "x": 1, "y": 2}, 5]}]'),
        "annotations",
        "mark 1 is not an object",
    ),
    "polygon point not a number": (
        with_mark(x=None, y=None, r=None, points=[{"x": 1, "y": 2}, {"x": "a", "y": 3}]),
        "annotations",
        "point 1 x is not a number",
    ),
    "combo tasks nested too deeply": (  # 1,900 levels of JSON
        with_field(
            "annotations",
            '[{"task": "T9", "value": ' * 950 + '"x"' + "}]" * 950,
        ),
        "annotations",
        "maximum recursion depth",
    ),
    "metadata not an object": (with_field("metadata", "[1, 2]"), "metadata", "object"),
    "subject_dimensions odd": (
        with_field("metadata", '{"subject_dimensions": [{"naturalWidth": "wide"}]}'),
        "metadata",
        "subject_dimensions",
    ),
    "no user at all": (
        [
            v if c not in ("user_name", "user_ip") else ""
            for c, v in zip(HEADER_MODERN, row(99), strict=True)
        ],
        "user_name",
        "empty",
    ),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_ROWS))
def test_a_broken_row_is_rejected_and_every_other_row_used(tmp_path, kind):
    broken, field, fragment = BROKEN_ROWS[kind]
    rows = good_rows()
    rows.insert(2, broken)
    summary, out = run(tmp_path, csv_text(rows))
    assert summary.rows_read == 6
    assert summary.rows_used == 5, rejects(out)
    assert summary.rows_rejected == 1
    (rejected,) = rejects(out)
    assert rejected["file"] == "export"
    assert rejected["line"] == "4"  # header is line 1; the broken row is the third row
    assert rejected["field"] == field
    assert fragment in rejected["reason"]
    assert len(marks_table(out, "blobs", "101")) == 5


def test_unicode_names_are_used(tmp_path):
    rows = [*good_rows(2), row(7, "Zoë 🦉 Łukasz", "77", marks=[circle(5, 5, 1)])]
    summary, out = run(tmp_path, csv_text(rows))
    assert summary.rows_used == 3 and summary.rows_rejected == 0
    users = {m["classification_id"]: m["user"] for m in marks_table(out, "blobs", "101")}
    assert users["7"] == "Zoë 🦉 Łukasz"


def test_user_names_with_commas_and_quotes_round_trip(tmp_path):
    rows = [row(7, 'O"Brien, Pat', "77", marks=[circle(5, 5, 1)])]
    _, out = run(tmp_path, csv_text(rows))
    assert marks_table(out, "blobs", "101")[0]["user"] == 'O"Brien, Pat'


def test_blank_lines_are_rejected_rows(tmp_path):
    text = csv_text(good_rows(3)).replace("\n", "\n\n", 2)
    summary, out = run(tmp_path, text)
    assert summary.rows_used == 3
    assert summary.rows_rejected == 2
    assert [(r["line"], r["reason"]) for r in rejects(out)] == [
        ("2", "blank line"),
        ("4", "blank line"),
    ]


def test_truncated_last_line(tmp_path):
    text = csv_text(good_rows(4))
    summary, out = run(tmp_path, text[: len(text) - 120])  # cut inside the last row's JSON
    assert summary.rows_used == 3
    assert summary.rows_rejected == 1
    assert rejects(out)[0]["line"] == "5"


def test_bom_and_crlf(tmp_path):
    text = "\ufeff" + csv_text(good_rows(3), newline="\r\n")
    summary, out = run(tmp_path, text.encode("utf-8"))
    assert summary.rows_used == 3 and summary.rows_rejected == 0
    assert marks_table(out, "blobs", "101")[0]["x"] == "10.0"


def test_invalid_utf8_bytes_reject_only_their_row(tmp_path):
    text = csv_text(good_rows(3)).encode("utf-8")
    lines = text.split(b"\n")
    lines[2] = lines[2].replace(b"user1", b"user\xff1")
    summary, out = run(tmp_path, b"\n".join(lines))
    assert summary.rows_used == 2
    assert rejects(out)[0]["line"] == "3"
    assert "UTF-8" in rejects(out)[0]["reason"]


def test_multiline_quoted_field_keeps_line_numbers(tmp_path):
    rows = good_rows(3)
    rows[0][HEADER_MODERN.index("workflow_name")] = "Blobs\nand rings"  # a newline in a field
    rows.append(with_field("created_at", "never"))
    summary, out = run(tmp_path, csv_text(rows))
    assert summary.rows_used == 3
    assert rejects(out)[0]["line"] == "6"  # header 1, row 2-3, rows 4, 5, broken 6


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty file"),
        ("a,b,c\n1,2,3\n", "not a Panoptes classification export header"),
        (",".join([*HEADER_MODERN, "user_name"]) + "\n", "repeated columns ['user_name']"),
    ],
)
def test_bad_header_is_one_clear_error(tmp_path, text, fragment):
    export = tmp_path / "e.csv"
    export.write_text(text)
    with pytest.raises(ZooheatError, match=re.escape(fragment)):
        ingest_export(export, tmp_path / "out", CONFIG, progress=False)
    proc = run_cli("ingest", export, "-o", tmp_path / "out", "--layer", "blobs=T3:0")
    assert proc.returncode == 2
    assert fragment in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ files and speed paths


def test_only_changed_tables_are_rewritten_and_stale_ones_removed(tmp_path):
    rows = [
        row(1, "a", subject="101", marks=[circle(1, 1, 1)]),
        row(2, "a", subject="102", marks=[circle(2, 2, 1)], image="102.png"),
        row(3, "a", subject="103", marks=[circle(3, 3, 1)], image="103.png"),
    ]
    summary, out = run(tmp_path, csv_text(rows))
    assert summary.files_written == 6
    stamps = {p: p.stat().st_mtime_ns for p in (out / "marks").rglob("*.csv")}
    os.utime(out / "marks" / "blobs" / "101.csv", ns=(1, 1))  # an old, unchanged file
    new_rows = [rows[0], row(4, "b", subject="102", marks=[circle(5, 5, 1)], image="102.png")]
    new_rows.append(rows[1])
    summary, out = run(tmp_path, csv_text(new_rows))
    assert summary.files_written == 1  # blobs/102 gained a mark
    assert summary.files_unchanged == 3
    assert summary.files_removed == 2  # subject 103 left the export
    assert (out / "marks" / "blobs" / "101.csv").stat().st_mtime_ns == 1
    assert (out / "marks" / "rings" / "102.csv").stat().st_mtime_ns == stamps[
        out / "marks" / "rings" / "102.csv"
    ]
    assert not (out / "marks" / "blobs" / "103.csv").exists()
    assert set(manifest(out)) == {"101", "102"}


def test_a_folder_of_the_users_files_is_refused_and_left_as_it_was(tmp_path):
    # the README's own layout for per-subject tables, written by the user
    users = tmp_path / "out"
    for name in ("marks/blobs/101.csv", "marks/notes/7.csv", "subjects.tsv"):
        (users / name).parent.mkdir(parents=True, exist_ok=True)
        (users / name).write_text(f"{name}: the user's own\n")
    before = {p: p.read_bytes() for p in users.rglob("*") if p.is_file()}
    export = tmp_path / "export.csv"
    export.write_text(csv_text([row(1, "a", subject="102", marks=[circle(1, 1, 1)])]))
    with pytest.raises(ZooheatError, match=r"out: holds files the ingest did not write \(marks"):
        ingest_export(export, users, CONFIG, progress=False)
    proc = run_cli("ingest", export, "-o", users, "--layer", "blobs=T3:0")
    assert proc.returncode == 2, proc.stderr
    assert "holds files the ingest did not write" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert {p: p.read_bytes() for p in users.rglob("*") if p.is_file()} == before

    (tmp_path / "file").write_text("x")
    with pytest.raises(ZooheatError, match="is a file; expected a folder"):
        ingest_export(export, tmp_path / "file", CONFIG, progress=False)


def test_an_export_that_is_a_pipe_is_one_clear_line_not_a_hang(tmp_path):
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)  # nobody writes: reading would wait for ever
    with pytest.raises(ZooheatError, match=r"export\.csv: is not a regular file \(a pipe"):
        ingest_export(fifo, tmp_path / "out", CONFIG, progress=False)
    # `cat export.csv | zooheat ingest /dev/stdin ...`
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "zooheat",
            "ingest",
            "/dev/stdin",
            "-o",
            str(tmp_path / "out"),
            "--layer",
            "blobs=T3:0",
        ],
        input=csv_text([row(1, "a", subject="102", marks=[circle(1, 1, 1)])]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "is not a regular file" in proc.stderr


def test_the_ingest_takes_back_its_own_folder_and_touches_nothing_else_in_it(tmp_path):
    rows = [row(1, "a", subject="101", marks=[circle(1, 1, 1)])]
    summary, out = run(tmp_path, csv_text(rows))
    assert json.loads((out / ".zooheat-ingest").read_text()) == {"layers": ["blobs", "rings"]}
    # a folder of the user's under marks/, a file of theirs in a layer's folder, and a
    # killed run's temporary folder
    (out / "marks" / "mine").mkdir()
    (out / "marks" / "mine" / "5.csv").write_text("mine\n")
    (out / "marks" / "blobs" / "notes.txt").write_text("mine\n")
    (out / ".ingest-killed").mkdir()
    (out / ".ingest-killed" / "spool").write_text("half\n")
    one_layer = IngestConfig(layers=LAYERS[:1], workflow_id=1234)
    summary = ingest_export(tmp_path / "export.csv", out, one_layer, progress=False)
    assert summary.files_removed == 1  # rings/101.csv: the layer left the config
    assert not (out / "marks" / "rings").exists()
    assert (out / "marks" / "mine" / "5.csv").read_text() == "mine\n"
    assert (out / "marks" / "blobs" / "notes.txt").read_text() == "mine\n"
    assert not (out / ".ingest-killed").exists()
    assert json.loads((out / ".zooheat-ingest").read_text()) == {"layers": ["blobs"]}
    # a folder from an ingest that wrote no marker is known by its summary
    (out / ".zooheat-ingest").unlink()
    assert ingest_export(tmp_path / "export.csv", out, CONFIG, progress=False).subjects == 1


def test_parallel_chunks_give_the_same_bytes_as_one_process(tmp_path, monkeypatch):
    export = tmp_path / "export.csv"
    write_synthetic_export(export, 400, n_volunteers=20)
    text = export.read_text()
    lines = text.splitlines(keepends=True)
    lines.insert(50, "\n")
    lines.insert(300, lines[10].replace('""value"":[{', '""value"":[[{', 1))  # bad JSON
    export.write_text("".join(lines))
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 20_000)  # many chunks, even when small
    serial = ingest_export(export, tmp_path / "one", CONFIG, workers=1, progress=False)
    monkeypatch.setattr(ingest_run, "ONE_PROCESS_BELOW", 0)
    parallel = ingest_export(export, tmp_path / "two", CONFIG, workers=2, progress=False)
    assert serial == parallel
    assert serial.rows_read == 402 and serial.rows_rejected == 2
    for a in sorted((tmp_path / "one").rglob("*")):
        b = tmp_path / "two" / a.relative_to(tmp_path / "one")
        assert a.is_dir() or a.read_bytes() == b.read_bytes(), a


def test_synthetic_export_round_trips_the_generator_marks(tmp_path):
    from zooheat.synthetic import synthetic_marks

    export = tmp_path / "export.csv"
    write_synthetic_export(export, 10_000, n_subjects=2, marks="v2")
    summary = ingest_export(export, tmp_path / "out", CONFIG, progress=False)
    assert summary.subjects == 2 and summary.rows_rejected == 0
    _, marks = synthetic_marks(1)
    table = marks_table(tmp_path / "out", "blobs", "15000001")
    assert sorted((float(m["x"]), float(m["y"])) for m in table) == sorted(
        zip(marks["blobs"].x.tolist(), marks["blobs"].y.tolist(), strict=True)
    )


def test_cli_ingest_with_config_file(tmp_path):
    export = tmp_path / "export.csv"
    write_synthetic_export(export, 60, n_subjects=3)
    config = tmp_path / "config.yaml"
    config.write_text(
        "layers:\n  blobs: {task: T3, tool: 0}\npanoptes:\n  workflow_id: 1234\n  duplicates: all\n"
    )
    proc = run_cli("ingest", export, "-o", tmp_path / "out", "--config", config, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "60 rows: 60 used, 0 filtered, 0 rejected" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "marks").iterdir()) == ["blobs"]
    args = ("ingest", export, "-o", tmp_path / "exact", "--config", config, "--exact")
    proc = run_cli(*args)
    assert proc.returncode == 0 and "; 0 by the fast route" in proc.stderr, proc.stderr
    same_files(tmp_path / "out", tmp_path / "exact")
    proc = run_cli("ingest", export, "-o", tmp_path / "o2", "--layer", "blobs", "--quiet")
    assert proc.returncode == 2 and "expected NAME=TASK:TOOL" in proc.stderr
    assert Path(tmp_path / "out" / "rejects.csv").read_text().startswith("file,line,id,field")


# ------------------------------------------------------------------ the fast route


def test_clean_rows_take_the_fast_route(tmp_path):
    export = tmp_path / "export.csv"
    write_synthetic_export(export, 100, n_subjects=4)
    log = io.StringIO()
    ingest_export(export, tmp_path / "fast", CONFIG, log=log)
    assert "100 rows in" in log.getvalue() and "100 by the fast route" in log.getvalue()
    log = io.StringIO()
    ingest_export(export, tmp_path / "exact", CONFIG, log=log, exact=True)
    assert "0 by the fast route" in log.getvalue()
    same_files(tmp_path / "fast", tmp_path / "exact")


def test_rows_only_the_exact_route_can_read_are_used_all_the_same(tmp_path):
    # Valid rows that are odd for the compiled route: spaces to strip, JSON that only Python's
    # json reads (NaN, lone surrogates), integers beyond 64 bits, numbers as text.
    rows = [
        row(1, "  padded  ", marks=[circle(1, 2, 3)]),
        with_field("subject_ids", " 101 "),
        row(3, "nan", meta='{"note": NaN, "subject_dimensions": null}', marks=[circle(3, 4, 5)]),
        row(4, "big", meta='{"n": 123456789012345678901234567890}', marks=[circle(5, 6, 7)]),
        row(5, "surrogate", meta='{"s": "\\ud800"}', marks=[circle(7, 8, 9)]),
        row(6, "text", annotations='[{"task": "T3", "value": [{"x": "12.5", "y": 2, "tool": 0}]}]'),
        row(
            7,
            "huge x",
            annotations='[{"task": "T3", "value": [{"x": 1' + "0" * 30 + ', "y": 2, "tool": 0}]}]',
        ),
        row(8, "clean", marks=[circle(9, 10, 11)]),
    ]
    log = io.StringIO()
    summary, out = run(tmp_path, csv_text(rows), log=log)
    assert (summary.rows_used, summary.rows_rejected) == (8, 0), rejects(out)
    # the padded name and subject id, NaN and the lone surrogate take the exact route; orjson
    # reads the rest (its float for a 30-digit integer is the float json's int becomes)
    assert "8 rows in" in log.getvalue()
    assert "; 4 by the fast route" in log.getvalue()
    table = {m["classification_id"]: m for m in marks_table(out, "blobs", "101")}
    assert table["1"]["user"] == "padded"
    assert table["99"]["user"] == "broken"  # the row whose subject id had spaces
    assert (table["6"]["x"], table["6"]["y"]) == ("12.5", "2.0")
    assert table["7"]["x"] == "1e+30"
    assert (table["3"]["x"], table["4"]["x"], table["5"]["x"]) == ("3.0", "5.0", "7.0")


def test_orjson_reads_numbers_as_json_does():
    # The fast route parses JSON with orjson, the exact route with json: same floats.
    import random

    import orjson

    rng = random.Random(7)
    texts = ["0", "-0", "0.1", "1e-320", "2.2250738585072014e-308", "1.7976931348623157e308"]
    for _ in range(20_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20)))
        cut = rng.randint(0, len(digits))
        text = digits[:cut].lstrip("0") or "0"
        if cut < len(digits):
            text += "." + digits[cut:]
        if rng.random() < 0.3:
            text += f"e{rng.randint(-330, 310)}"
        texts.append(("-" if rng.random() < 0.3 else "") + text)
    texts += [repr(rng.uniform(-1e6, 1e6)) for _ in range(5_000)]
    for text in texts:
        expected = json.loads(text)
        if isinstance(expected, float) and expected - expected != 0:
            continue  # 1e400 is inf to json and an error to orjson: the row goes the exact route
        got = orjson.loads(text)
        if type(expected) is int and not -(2**63) <= expected < 2**64:
            # beyond 64 bits orjson gives the float that float(int) gives: the same
            # coordinate; as a tool or frame index the float is refused, so the row goes
            # the exact route
            assert type(got) is float and got == float(expected), text
        else:
            assert got == expected and type(got) is type(expected), text


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as stderr does when a user runs the CLI."""

    def isatty(self):
        return True


def test_progress_covers_reading_and_writing_with_the_time_left(tmp_path, monkeypatch):
    from zooheat.ingest import progress

    export = tmp_path / "export.csv"
    write_synthetic_export(export, 400, n_subjects=8)
    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)  # a line at every report, not every 10 s
    log = io.StringIO()
    rows = ingest_export(export, tmp_path / "out", CONFIG, progress=True, log=log).rows_read
    lines = log.getvalue().splitlines()
    # tqdm's meter: percent, bar, done/total, [elapsed<time left, rate]
    meter = r"\d+%\|.*\| [\d.]+[kM]?/[\d.]+[kM]? \[\d\d:\d\d<\d\d:\d\d, .*\]"
    reading = [x for x in lines if re.fullmatch(rf"ingest: reading: *{meter}, \S+ rows", x)]
    writing = [x for x in lines if re.fullmatch(rf"ingest: writing mark tables: *{meter}", x)]
    assert reading and writing, lines
    assert reading[-1].endswith(f", {rows} rows") and "100%" in reading[-1]
    assert "100%" in writing[-1] and " 64/64 " in writing[-1]
    assert re.fullmatch(rf"ingest: {rows} rows in .* mark tables [\d.]+ s\)", lines[-1])

    terminal = Terminal()
    ingest_export(export, tmp_path / "out2", CONFIG, progress=True, log=terminal)
    shown = terminal.getvalue()
    assert "ingest: reading:" in shown and "ingest: writing mark tables:" in shown
    assert "\r" in shown  # a bar redrawn in place
