"""Any drawing project's export: every tool's centre and fields, layers by tool label,
tasks that draw nothing, subjects whose image the export does not name, R round trips."""

import csv
import io
import json

import pytest

from tests.conftest import ROOT, run_cli
from tests.test_ingest import circle, csv_text, manifest, marks_table, rejects, row, run
from zooheat.errors import ZooheatError
from zooheat.panoptes import IngestConfig, LayerSpec, ingest_config
from zooheat.synthetic_export import HEADER_MODERN

LAYERS_T3 = (LayerSpec("blobs", "T3", 0),)

# One handwritten mark of each tool type, as each front end exports it, with the centre and
# the fields its mark-table row must hold (text, as the CSV holds them).
SQUARE = [{"x": 0, "y": 0}, {"x": 4, "y": 0}, {"x": 4, "y": 2}, {"x": 0, "y": 2}]
V1_MARKS = {
    "point": ({"x": 10, "y": 20, "tool_label": "Star"}, ("10.0", "20.0"), {}),
    "circle": ({"x": 30, "y": 40, "r": 5, "angle": 0}, ("30.0", "40.0"), {"r": "5.0"}),
    "ellipse": (
        {"x": 50, "y": 60, "rx": 8, "ry": 4, "angle": 30},
        ("50.0", "60.0"),
        {"rx": "8.0", "ry": "4.0", "angle": "30.0"},
    ),
    "rectangle": (  # the top-left corner plus half the size
        {"x": 10, "y": 20, "width": 30, "height": 40},
        ("25.0", "40.0"),
        {"width": "30.0", "height": "40.0"},
    ),
    "rotateRectangle": (  # v1 rotates the rectangle about its centre
        {"x": 10, "y": 20, "width": 30, "height": 40, "angle": 45},
        ("25.0", "40.0"),
        {"angle": "45.0"},
    ),
    "fan": (  # the apex; radius as r, rotation as angle
        {"x": 5, "y": 6, "radius": 20, "rotation": 90, "spread": 60},
        ("5.0", "6.0"),
        {"r": "20.0", "angle": "90.0", "spread": "60.0"},
    ),
    "line": (  # the midpoint
        {"x1": 0, "y1": 0, "x2": 10, "y2": 4},
        ("5.0", "2.0"),
        {"x1": "0.0", "y1": "0.0", "x2": "10.0", "y2": "4.0"},
    ),
    "polygon": (  # the centroid of the area
        {"points": SQUARE, "closed": True},
        ("2.0", "1.0"),
        {"points": "0.0 0.0;4.0 0.0;4.0 2.0;0.0 2.0"},
    ),
}
V2_MARKS = {
    "point": ({"x": 1.5, "y": 2.5}, ("1.5", "2.5"), {}),
    "circle": ({"x_center": 30, "y_center": 40, "r": 5}, ("30.0", "40.0"), {"r": "5.0"}),
    "ellipse": (
        {"x_center": 50, "y_center": 60, "rx": 8, "ry": 4, "angle": -30},
        ("50.0", "60.0"),
        {"angle": "-30.0"},
    ),
    "rectangle": (  # v2 gives the centre
        {"x_center": 25, "y_center": 40, "width": 30, "height": 40},
        ("25.0", "40.0"),
        {"width": "30.0"},
    ),
    "rotateRectangle": (
        {"x_center": 25, "y_center": 40, "width": 30, "height": 40, "angle": 10},
        ("25.0", "40.0"),
        {"angle": "10.0"},
    ),
    "line": ({"x1": 2, "y1": 2, "x2": 4, "y2": 8}, ("3.0", "5.0"), {"y2": "8.0"}),
    "transcriptionLine": ({"x1": 0, "y1": 10, "x2": 20, "y2": 10}, ("10.0", "10.0"), {}),
    "polygon": (
        {"points": [{"x": 0, "y": 0}, {"x": 6, "y": 0}, {"x": 0, "y": 6}]},
        ("2.0", "2.0"),
        {},
    ),
    "freehandLine": (  # 3 px right, then 1 down: segments weighted by their length
        {"pathX": [0, 3, 3], "pathY": [0, 0, 1]},
        ("1.875", "0.125"),
        {"points": "0.0 0.0;3.0 0.0;3.0 1.0"},
    ),
}
# Lines across the whole image: one coordinate, the other empty.
V1_LINES = {
    "column": ({"x": 10, "width": 6}, ("13.0", ""), {"width": "6.0"}),  # its centre line
    "fullWidthLine": ({"y": 12}, ("", "12.0"), {}),
    "fullHeightLine": ({"x": 12}, ("12.0", ""), {}),
}
V1_MARKS |= V1_LINES
V2_MARKS |= {  # the newer front end, should it draw them
    "column": ({"x": 10, "width": 6}, ("13.0", ""), {}),
    "fullWidthLine": ({"y": 12}, ("", "12.0"), {}),
}
# Marks with no centre to count: kept out of the heat map, counted, never a reject.
V1_UNPLACED = {}
V2_UNPLACED = {"graph2dRangeX": {"x": 10, "width": 4}, "someFutureTool": {"angle": 3}}


def drawing_row(marks, *, v2=False, cid=1, user="ada"):
    """One classification whose task T0 holds ``marks``, tool i for the i-th mark."""
    value = []
    for i, (shape, mark) in enumerate(marks):
        tool = {"toolIndex": i, "toolType": shape} if v2 else {"tool": i}
        value.append({**mark, **tool, "frame": 0, "details": []})
    meta = json.dumps({"classifier_version": "2.0"} if v2 else {"source": "api"})
    return row(cid, user, annotations=json.dumps([{"task": "T0", "value": value}]), meta=meta)


def layers_for(shapes):
    return IngestConfig(layers=tuple(LayerSpec(s, "T0", i) for i, s in enumerate(shapes)))


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_every_tool_gives_its_exact_centre_and_keeps_its_fields(tmp_path, v2):
    placed = V2_MARKS if v2 else V1_MARKS
    unplaced = V2_UNPLACED if v2 else V1_UNPLACED
    shapes = [*placed, *unplaced]
    marks = [(s, m) for s, (m, _, _) in placed.items()] + list(unplaced.items())
    summary, out = run(tmp_path, csv_text([drawing_row(marks, v2=v2)]), layers_for(shapes))
    assert (summary.rows_used, summary.rows_rejected) == (1, 0), rejects(out)
    for i, (shape, (_, centre, fields)) in enumerate(placed.items()):
        (mark,) = marks_table(out, shape, "101")
        assert (mark["shape"], mark["x"], mark["y"], mark["tool"]) == (shape, *centre, str(i))
        assert {k: mark[k] for k in fields} == fields, shape
    for shape in unplaced:
        assert marks_table(out, shape, "101") == []
        assert summary.marks_unplaced[shape] == {shape: 1}
        assert any(f"layer {shape!r}: 1 marks have no centre" in w for w in summary.warnings)
    assert len(summary.marks_unplaced) == len(unplaced)
    if not v2:  # Panoptes-Front-End marks carry their tool's label
        assert marks_table(out, "point", "101")[0]["tool_label"] == "Star"


def test_a_mapped_circle_is_kept_beside_marks_of_tools_in_no_layer(tmp_path):
    # a polygon, a line and a tool with nothing usable, all of tools no layer asks for
    value = [
        circle(10, 20, 3, 0),
        {"tool": 2, "points": [{"x": 1, "y": 1}, {"x": 5, "y": 1}, {"x": 3, "y": 4}]},
        {"tool": 3, "x1": 0, "y1": 0, "x2": 5, "y2": 5},
        {"tool": 4, "points": "not points at all"},
    ]
    annotations = json.dumps([{"task": "T3", "value": value}])
    config = IngestConfig(layers=(LayerSpec("blobs", "T3", 0),))
    summary, out = run(tmp_path, csv_text([row(1, annotations=annotations)]), config)
    assert (summary.rows_used, summary.rows_rejected) == (1, 0)
    assert [(m["x"], m["y"], m["r"]) for m in marks_table(out, "blobs", "101")] == [
        ("10.0", "20.0", "3.0")
    ]
    assert summary.marks_unplaced == {}


@pytest.mark.parametrize(
    "value",
    [
        "Yes",  # a single-answer question
        [0, 2],  # a multiple-answer question
        [{"choice": "ZEBRA", "answers": {"HOWMANY": "2"}, "filters": {}}],  # a survey
    ],
    ids=["question", "multiple", "survey"],
)
def test_a_layer_on_a_task_that_draws_nothing_is_one_warning_not_a_reject_per_row(tmp_path, value):
    annotations = json.dumps([{"task": "T1", "value": value}, {"task": "T3", "value": []}])
    rows = [row(i, f"u{i}", annotations=annotations) for i in range(4)]
    config = IngestConfig(layers=(LayerSpec("answers", "T1", 0),))
    summary, _ = run(tmp_path, csv_text(rows), config)
    assert (summary.rows_used, summary.rows_rejected) == (4, 0)
    assert summary.tasks_with_answers == {"T1": 4}
    (warning,) = summary.warnings
    assert warning.startswith("layer 'answers' (task T1, tool 0): task T1 holds answers")
    assert "in 4 classifications" in warning


# ------------------------------------------------------------------------ tool labels


def labelled(tool, label, x):
    return {**circle(x, 10, 2, tool), "tool_label": label}


def test_layers_by_label_follow_a_tool_that_moved_between_workflow_versions(tmp_path):
    # version 12: Blob is tool 0; version 13 put a new tool first, so Blob is tool 1
    rows = [
        row(1, "ada", marks=[labelled(0, "Blob", 1), labelled(1, "Ring", 2)], version="12.3"),
        row(2, "bob", marks=[labelled(0, "Star", 3), labelled(1, "Blob", 4)], version="13.0"),
    ]
    config = IngestConfig(
        layers=(
            LayerSpec("blobs", "T3", tool_label="Blob"),
            LayerSpec("by_index", "T3", 0),
        )
    )
    summary, out = run(tmp_path, csv_text(rows), config)
    blobs = marks_table(out, "blobs", "101")
    assert [(m["x"], m["tool"], m["tool_label"]) for m in blobs] == [
        ("1.0", "0", "Blob"),
        ("4.0", "1", "Blob"),
    ]
    assert [m["tool_label"] for m in marks_table(out, "by_index", "101")] == ["Blob", "Star"]
    assert summary.tool_labels == {"T3": {"0": {"Blob": 1, "Star": 1}, "1": {"Blob": 1, "Ring": 1}}}
    (warning,) = summary.warnings
    assert warning.startswith("layer 'by_index' (task T3, tool 0): this tool index carries")
    assert "'Blob': 1 marks, 'Star': 1 marks" in warning


def test_a_label_never_seen_is_a_warning_naming_the_labels_that_were(tmp_path):
    rows = [row(1, marks=[labelled(0, "Blob", 1), labelled(1, "Ring", 2)])]
    config = IngestConfig(layers=(LayerSpec("blobs", "T3", tool_label="blob"),))
    summary, _ = run(tmp_path, csv_text(rows), config)
    assert summary.warnings == [
        "layer 'blobs' (task T3, tool label 'blob'): no mark carries that label; labels seen "
        "in task T3: 'Blob', 'Ring'"
    ]


def test_layers_by_label_are_spelled_in_the_config_and_on_the_command_line():
    spec = LayerSpec.parse("clusters=T0:Background Galaxy")
    assert (spec.task, spec.tool, spec.tool_label) == ("T0", None, "Background Galaxy")
    config = IngestConfig(layers=(spec, LayerSpec.parse("blobs=T3:0")))
    assert config.to_dict()["layers"] == {
        "clusters": {"task": "T0", "tool_label": "Background Galaxy"},
        "blobs": {"task": "T3", "tool": 0},
    }
    assert ingest_config(config.to_dict()["layers"], config.to_dict()) == config
    with pytest.raises(ZooheatError, match="one of the two"):
        LayerSpec("both", "T0", 1, "Blob")


# ------------------------------------------------------------------ subjects' images


def test_a_subject_without_an_image_name_keeps_its_marks_and_says_which_keys_it_has(tmp_path):
    data = {
        "101": json.dumps({"101": {"IMG_COLOR": "a.jpg", "retired": None}}),
        "102": json.dumps({"102": {"Filename": "../../etc/passwd"}}),
    }
    rows = [
        row(1, "ada", subject="101", marks=[circle(1, 2, 3)], subject_data=data["101"]),
        row(2, "bob", subject="102", marks=[circle(4, 5, 6)], subject_data=data["102"]),
    ]
    summary, out = run(tmp_path, csv_text(rows))
    assert (summary.rows_used, summary.rows_rejected) == (2, 0)
    assert len(marks_table(out, "blobs", "101")) == len(marks_table(out, "blobs", "102")) == 1
    table = manifest(out)
    assert table["101"]["image"] == table["102"]["image"] == ""
    assert table["101"]["image_problem"] == "no image file name (its keys: 'IMG_COLOR', 'retired')"
    assert table["102"]["image_problem"].startswith("unsafe image file name '../../etc/passwd'")
    assert summary.subjects_without_image == ["101", "102"]
    # the key named on the command line finds it
    export = tmp_path / "export.csv"
    proc = run_cli(
        "ingest", export, "-o", tmp_path / "cli", "--layer=blobs=T3:0", "--filename-key=IMG_COLOR"
    )
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "cli" / "subjects.tsv", newline="") as f:
        images = {r["subject_id"]: r["image"] for r in csv.DictReader(f, delimiter="\t")}
    assert images == {"101": "a.jpg", "102": ""}
    assert "1 subjects have no image file name" in proc.stderr


def test_image_keys_projects_use_are_tried_by_default(tmp_path):
    rows = [
        row(
            i,
            f"u{i}",
            subject=str(100 + i),
            subject_data=json.dumps({str(100 + i): {key: f"{i}.jpg"}}),
        )
        for i, key in enumerate(["name", "Filename", "image_name", "image_name_1"])
    ]
    summary, out = run(tmp_path, csv_text(rows))
    assert summary.subjects_without_image == []
    assert [r["image"] for r in manifest(out).values()] == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]


# ----------------------------------------------------------------------- R round trips


def r_write_csv(rows, *, row_names, all_text=False):
    """The rows as R writes them: ``write.csv`` (every text quoted, numbers not, or numbers
    too when the columns were read as text; a column of row names; NA for missing) or,
    without row names, ``readr::write_csv`` (quotes only where needed, NA for missing)."""
    numeric = set() if all_text else {"classification_id", "user_id", "workflow_id", "subject_ids"}
    out = io.StringIO()
    quoting = csv.QUOTE_NONE if row_names else csv.QUOTE_MINIMAL
    writer = csv.writer(out, lineterminator="\n", quoting=quoting, escapechar=None)

    def cell(column, value):
        if value == "":
            return "NA"
        if row_names and column not in numeric:
            return '"' + value.replace('"', '""') + '"'
        return value

    if row_names:
        out.write(",".join(['""', *(f'"{c}"' for c in HEADER_MODERN)]) + "\n")
        for n, fields in enumerate(rows, 1):
            cells = [cell(c, v) for c, v in zip(HEADER_MODERN, fields, strict=True)]
            out.write(",".join([f'"{n}"', *cells]) + "\n")
    else:
        writer.writerow(HEADER_MODERN)
        for fields in rows:
            writer.writerow([cell(c, v) for c, v in zip(HEADER_MODERN, fields, strict=True)])
    return out.getvalue()


@pytest.mark.parametrize(
    ("row_names", "all_text"),
    [(True, False), (True, True), (False, False)],
    ids=["write.csv", "write.csv-text-columns", "readr"],
)
def test_an_export_resaved_by_r_ingests_exactly_as_the_original(tmp_path, row_names, all_text):
    rows = [
        row(1, "ada", "11", marks=[circle(10.5, 20.25, 3)], gold="true"),
        row(2, "not-logged-in-3f2a", "", marks=[circle(11, 21, 2)]),
        row(3, "bob", "12", subject="102", marks=[{**circle(5, 6, 1), "tool_label": "Blob"}]),
        row(4, 'O"Brien, Pat', "13", subject="102", marks=[]),
    ]
    config = IngestConfig(layers=(LayerSpec("blobs", "T3", 0),), gold_standard="exclude")
    original = tmp_path / "original"
    resaved = tmp_path / "resaved"
    original.mkdir()
    resaved.mkdir()
    first, _ = run(original, csv_text(rows), config)
    text = r_write_csv(rows, row_names=row_names, all_text=all_text)
    assert ",NA," in text
    assert ('\n"1",1,"ada",11,' in text) == (row_names and not all_text)
    assert ('\n"1","1","ada","11",' in text) == all_text  # quoted numbers
    run(resaved, text, config)
    assert (first.rows_used, first.rows_filtered, first.rows_rejected) == (3, 1, 0)
    for name in ("subjects.tsv", "rejects.csv", "marks/blobs/101.csv", "marks/blobs/102.csv"):
        assert (original / "out" / name).read_bytes() == (resaved / "out" / name).read_bytes()
    user_ids = [m["user_id"] for m in marks_table(resaved / "out", "blobs", "101")]
    assert user_ids == [""]  # the not-logged-in volunteer; ada's row was gold standard


def test_an_id_r_wrote_in_scientific_notation_is_rejected_saying_how_to_resave(tmp_path):
    # R rewrote the subject_ids cell; subject_data's JSON key is still the id Panoptes wrote
    resaved = row(2, "bob", subject="15000000")
    resaved[HEADER_MODERN.index("subject_ids")] = "1.5e+07"
    summary, out = run(tmp_path, csv_text([row(1, marks=[circle(1, 2, 3)]), resaved]))
    assert (summary.rows_used, summary.rows_rejected) == (1, 1)
    (reject,) = rejects(out)
    assert (reject["line"], reject["field"]) == ("3", "subject_ids")
    assert reject["reason"] == (
        "subject id is not a whole number: '1.5e+07' (a round number in scientific notation, "
        "as R writes them: re-save the export with options(scipen = 100))"
    )


# ---------------------------------------------------------------------- multi-frame


def two_frame_rows():
    data = json.dumps({"101": {"image_name_1": "a.jpg", "image_name_2": "b.jpg"}})
    marks = [circle(10, 20, 3), {**circle(30, 40, 5), "frame": 1}]
    return [
        row(1, "ada", marks=marks, subject_data=data),
        row(2, "bob", marks=[{**circle(31, 41, 5), "frame": 1}], subject_data=data),
    ]


def test_each_frame_gets_its_own_heat_map_over_its_own_image(tmp_path):
    summary, out = run(tmp_path, csv_text(two_frame_rows()))
    assert [(m["x"], m["frame"]) for m in marks_table(out, "blobs", "101")] == [("10.0", "0")]
    frame_1 = marks_table(out, "blobs", "101_f1")
    assert [(m["user"], m["x"], m["frame"]) for m in frame_1] == [
        ("ada", "30.0", "1"),
        ("bob", "31.0", "1"),
    ]
    table = manifest(out)
    assert list(table) == ["101", "101_f1"]
    assert (table["101"]["image"], table["101_f1"]["image"]) == ("a.jpg", "b.jpg")
    assert table["101_f1"]["classifications"] == "2"  # the subject's volunteers
    assert (summary.rows_used, summary.subjects, summary.heat_map_units) == (2, 1, 2)


def test_frames_pooled_on_purpose_give_one_heat_map_over_frame_0(tmp_path):
    config = IngestConfig(layers=LAYERS_T3, frames="pooled")
    summary, out = run(tmp_path, csv_text(two_frame_rows()), config)
    assert [m["frame"] for m in marks_table(out, "blobs", "101")] == ["0", "1", "1"]
    assert list(manifest(out)) == ["101"] and manifest(out)["101"]["image"] == "a.jpg"
    assert summary.heat_map_units == 1


def test_frame_images_from_the_subject_exports_locations(tmp_path):
    subjects = tmp_path / "subjects.csv"
    locations = json.dumps({"0": "https://x.org/loc/f0.png", "1": "https://x.org/loc/f1.png?v=2"})
    with open(subjects, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["subject_id", "project_id", "metadata", "locations"])
        writer.writerow(["101", "1", json.dumps({"Filename": "scan.png"}), locations])
    data = json.dumps({"101": {"retired": None}})
    rows = [row(1, marks=[circle(1, 2, 3), {**circle(4, 5, 6), "frame": 1}], subject_data=data)]
    _, out = run(tmp_path, csv_text(rows), subject_export=subjects)
    table = manifest(out)
    # the metadata's key names frame 0; the locations name frame 1
    assert (table["101"]["image"], table["101_f1"]["image"]) == ("scan.png", "f1.png")


def test_a_frame_beyond_999_is_a_reject(tmp_path):
    rows = [row(1, marks=[{**circle(1, 2, 3), "frame": 5000}])]
    summary, out = run(tmp_path, csv_text(rows))
    assert summary.rows_rejected == 1
    assert "frame is not a whole number 0-999: 5000" in rejects(out)[0]["reason"]


# ------------------------------------------------------------------- workflow export


def workflows_csv(path):
    """Workflow 1234: version 12 has Blob as tool 0; version 13 put Star first."""
    tasks = {
        "12": {
            "T0": {"type": "single", "question": "Any tracks?", "answers": []},
            "T3": {
                "type": "drawing",
                "tools": [{"type": "circle", "label": "Blob"}, {"type": "circle", "label": "Ring"}],
            },
        },
        "13": {
            "T0": {"type": "single", "question": "Any tracks?", "answers": []},
            "T3": {
                "type": "drawing",
                "tools": [{"type": "point", "label": "Star"}, {"type": "circle", "label": "Blob"}],
            },
        },
    }
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["workflow_id", "display_name", "version", "minor_version", "tasks"])
        for version, definition in tasks.items():
            writer.writerow(["1234", "Blobs", version, "3", json.dumps(definition)])
    return path


def v2_row(cid, version, tool, x):
    mark = {"x_center": x, "y_center": 10, "r": 2, "toolIndex": tool, "toolType": "circle"}
    annotations = json.dumps([{"task": "T3", "value": [{**mark, "frame": 0}]}])
    meta = json.dumps({"classifier_version": "2.0"})
    return row(cid, f"u{cid}", annotations=annotations, meta=meta, version=version)


def test_a_workflow_export_labels_the_newer_front_ends_marks_across_versions(tmp_path):
    workflows = workflows_csv(tmp_path / "workflows.csv")
    rows = [v2_row(1, "12.3", 0, 1), v2_row(2, "13.3", 1, 2), v2_row(3, "13.3", 0, 3)]
    config = IngestConfig(layers=(LayerSpec("blobs", "T3", tool_label="Blob"),))
    summary, out = run(tmp_path, csv_text(rows), config, workflow_export=workflows)
    blobs = marks_table(out, "blobs", "101")
    assert [(m["x"], m["tool"], m["tool_label"]) for m in blobs] == [
        ("1.0", "0", "Blob"),
        ("2.0", "1", "Blob"),
    ]
    assert summary.workflow_export == str(workflows) and summary.warnings == []


def test_layers_are_checked_against_the_workflow_export_before_any_row(tmp_path):
    workflows = workflows_csv(tmp_path / "workflows.csv")
    layers = (
        LayerSpec("question", "T0", 0),
        LayerSpec("typo", "T3", tool_label="Blobs"),
        LayerSpec("absent", "T9", 0),
    )
    log = io.StringIO()
    summary, _ = run(
        tmp_path,
        csv_text([v2_row(1, "12.3", 0, 1)]),
        IngestConfig(layers=layers),
        workflow_export=workflows,
        log=log,
    )
    early = [
        "layer 'question' (task T0, tool 0): task T0 is a single task in "
        f"{workflows}, not a drawing task: it has no marks",
        "layer 'typo' (task T3, tool label 'Blobs'): no version of task T3 has a tool with "
        "that label; its labels: 'Blob', 'Ring', 'Star'",
        f"layer 'absent' (task T9, tool 0): no version of the workflow in {workflows} has a "
        "task T9",
    ]
    assert summary.warnings[:3] == early
    assert log.getvalue().splitlines()[:3] == [f"zooheat: warning: {w}" for w in early]


def test_zooheat_layers_lists_the_tools_and_the_layers_to_ask_for(tmp_path):
    workflows = workflows_csv(tmp_path / "workflows.csv")
    export = tmp_path / "export.csv"
    rows = [v2_row(1, "12.3", 0, 1), v2_row(2, "13.3", 1, 2), v2_row(3, "13.3", 0, 3)]
    export.write_text(csv_text(rows), encoding="utf-8")
    # (the newer front end's marks carry no label: the workflow export names each version's)
    proc = run_cli("layers", export, "--workflows", workflows)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "3 classifications read",
        "workflow 1234, version 12.x",
        "  T3 tool 0: Blob [circle], 1 marks",
        "workflow 1234, version 13.x",
        "  T3 tool 0: Star [circle], 1 marks",
        "  T3 tool 1: Blob [circle], 1 marks",
        "layers to ask for (config/config.yaml):",
        "layers:",
        '  blob: {task: T3, tool_label: "Blob"}',
        '  star: {task: T3, tool_label: "Star"}',
    ]
    broken = tmp_path / "broken.csv"
    broken.write_text("workflow_id,version\n1,2\n")
    bad = run_cli("layers", export, "--workflows", broken)
    assert bad.returncode == 2 and "missing columns ['tasks']" in bad.stderr


def test_the_readmes_layers_listing_is_what_the_bundled_example_gives():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("On the bundled example:\n\n```\n", 1)[1].split("```", 1)[0]
    proc = run_cli("layers", ROOT / "example" / "classifications.csv")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == shown


@pytest.mark.parametrize("renderer", ["quicklook", "matplotlib"])
def test_columns_and_full_width_lines_are_counted_along_their_line(tmp_path, renderer):
    """Five volunteers draw a column and a full-width line over a 36x48 image (bins of 6),
    with two tools, one layer each: the heat map counts a line in every bin it crosses, the
    consensus finds the line, the figure draws it, the summary counts marks, not bins."""
    import numpy as np
    from PIL import Image

    from zooheat.consensus import read_consensus
    from zooheat.pipeline import STEPS, SubjectData, run_chain, step_settings
    from zooheat.summary import SubjectLayer, summary_from_files

    rows = []
    for k, user in enumerate(["ada", "bob", "cyd", "dan", "eve"]):
        marks = [("column", {"x": 20 + k * 0.25, "width": 4}), ("fullWidthLine", {"y": 30.5})]
        rows.append(drawing_row(marks, cid=k + 1, user=user))
    config = IngestConfig(layers=(LayerSpec("columns", "T0", 0), LayerSpec("rows", "T0", 1)))
    summary, out = run(tmp_path, csv_text(rows), config)
    assert (summary.rows_used, summary.marks_unplaced) == (5, {})
    tables = {layer: marks_table(out, layer, "101") for layer in ("columns", "rows")}
    assert [(m["shape"], m["x"], m["y"]) for m in tables["columns"][:2]] == [
        ("column", "22.0", ""),
        ("column", "22.25", ""),
    ]
    assert {(m["shape"], m["x"], m["y"]) for m in tables["rows"]} == {("fullWidthLine", "", "30.5")}
    image = tmp_path / "101.png"
    Image.fromarray(np.full((36, 48), 128, dtype=np.uint8)).save(image)
    workflow = {
        "bin_size": 6,
        "overlay": {"renderer": renderer, "formats": ["png"], "consensus": True},
    }
    settings = step_settings(workflow)
    formats = {name: step.output_formats(workflow) for name, step in STEPS.items()}
    results = tmp_path / "results"
    expected = {"columns": np.zeros((6, 8), dtype=int), "rows": np.zeros((6, 8), dtype=int)}
    expected["columns"][:, 3] = 5  # x = 22..23: the fourth column of bins, top to bottom
    expected["rows"][5, :] = 5  # y = 30.5: the last row of bins, edge to edge
    centres = {"columns": ["22.5", "nan"], "rows": ["nan", "30.5"]}
    for layer in ("columns", "rows"):
        marks = out / "marks" / layer / "101.csv"
        data = SubjectData(
            "101", layer, image=image, marks=marks, classifications=5, settings=settings
        )
        run_chain(data, formats, results=results)
        assert data.product("histogram").tolist() == expected[layer].tolist()
        objects = read_consensus(results / "consensus" / layer / "101.csv")
        assert objects.volunteers.tolist() == [5]
        assert list(map(str, objects.circles[0, :2].tolist())) == centres[layer]
        # the figure draws the line in white over the grey image (a quick look: column
        # x=22 and row y=30, below the caption)
        if renderer == "quicklook":
            picture = np.asarray(Image.open(results / "figures" / layer / "101.png"))
            top = picture.shape[0] - 36
            line = picture[top:, 22] if layer == "columns" else picture[top + 30, :48]
            assert (line == 255).all()
        # the summary counts five marks, all binned, none outside, not the bins they cross
        (numbers,) = summary_from_files(
            [SubjectLayer("101", layer, str(marks), 5, str(image))], settings, results=results
        )
        assert {k: numbers[k] for k in ("marks", "binned", "outside", "max", "objects")} == {
            "marks": 5, "binned": 5, "outside": 0, "max": 5, "objects": 1,
        }  # fmt: skip
