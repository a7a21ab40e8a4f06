"""One export row: the column rules, the one row core (classify) and its filter order."""

import json

import pytest

from tests.test_ingest import circle, row
from zooheat.panoptes import (
    COLUMN_RULES,
    READ_COLUMNS,
    Filtered,
    IngestConfig,
    LayerSpec,
    Rejected,
    SubjectDataCache,
    classify,
    export_columns,
    ingest_config,
    parse_row,
    read_subject_export,
)
from zooheat.synthetic_export import HEADER_2015, HEADER_MODERN

LAYERS = (LayerSpec("blobs", "T3", 0), LayerSpec("rings", "T3", 1))
#: a mark's x1, y1, x2, y2, spread and points, for a tool without them
NO_LINE = (None,) * 6
COLUMNS = export_columns(HEADER_MODERN, "export.csv")


def parse(fields, config=None, **cache):
    config = config or IngestConfig(layers=LAYERS, workflow_id=1234)
    images = {subject: {0: name} for subject, name in cache.items()}  # frame 0's
    return parse_row(fields, COLUMNS, config, SubjectDataCache(("Filename",), images or None))


def test_a_row_gives_its_classification_with_exact_values():
    c = parse(row(7, "ada", "11", "101", [circle(10.5, 20.25, 3, 0), circle(1, 2, 0, 1)]))
    assert (c.subject, c.user, c.user_id, c.classification_id) == ("101", "ada", "11", "7")
    assert (c.created_at, c.workflow_id, c.workflow_version) == (
        "2016-06-01 10:00:00 UTC",
        "1234",
        "12.3",
    )
    assert (c.subject_info.image, c.subject_info.retired) == ("101.png", False)
    assert c.dimensions == (390.0, 384.0, 585.0, 576.0)
    assert c.marks == [
        (0, "T3", 0, 0, 10.5, 20.25, 3.0, None, None, 0.0, None, None, *NO_LINE, "circle", None),
        (1, "T3", 1, 0, 1.0, 2.0, 0.0, None, None, 0.0, None, None, *NO_LINE, "circle", None),
    ]


def test_checked_cells_give_the_same_classification_as_checked_ones():
    fields = row(7, "ada", "11", "101", [circle(10, 20, 3)])
    cells = COLUMNS.cells_of(fields)
    config = IngestConfig(layers=LAYERS)
    cache = SubjectDataCache(("Filename",), None)
    exact = classify(cells, config, cache)
    fast = classify(cells, config, cache, loads=json.loads, checked=True)
    assert exact == fast


def test_cells_are_read_by_name_and_missing_columns_are_none():
    cells = export_columns(HEADER_2015, "old.csv").cells_of([f"<{name}>" for name in HEADER_2015])
    assert cells._fields == READ_COLUMNS
    assert cells.classification_id is None and cells.subject_ids is None
    assert cells.user_name == "<user_name>" and cells.annotations == "<annotations>"


@pytest.mark.parametrize(
    ("column", "bad", "reason"),
    [
        ("classification_id", "7a", "not a whole number: '7a'"),
        ("user_id", "-3", "not a whole number: '-3'"),
        ("workflow_id", "١٢", "not a whole number: '١٢'"),  # digits of another script
        ("workflow_version", "12.3.1", "expected MAJOR.MINOR, found '12.3.1'"),
        ("created_at", "2016-06-01", "not a date and time: '2016-06-01'"),
    ],
)
def test_each_column_rule_rejects_naming_the_field(column, bad, reason):
    fields = row(7)
    fields[COLUMNS.index[column]] = bad
    with pytest.raises(Rejected) as caught:
        parse(fields, IngestConfig(layers=LAYERS))
    assert (caught.value.field, caught.value.reason) == (column, reason)
    assert column in COLUMN_RULES


def test_a_rejected_cell_is_quoted_short_and_escaped():
    fields = row(7)
    fields[COLUMNS.index["created_at"]] = "secret\n" + "x" * 500
    with pytest.raises(Rejected) as caught:
        parse(fields)
    assert "\n" not in caught.value.reason and len(caught.value.reason) < 80
    assert caught.value.reason == "not a date and time: " + repr("secret\n" + "x" * 500)[:40]


def test_cells_are_stripped_before_their_rules():
    fields = row(7, " ada ", " 11 ", "101")
    fields[COLUMNS.index["workflow_version"]] = " 12.3 "
    c = parse(fields)
    assert (c.user, c.user_id, c.workflow_version) == ("ada", "11", "12.3")


def test_filters_come_in_their_order_before_later_checks():
    # another workflow with a bad version: filtered (not rejected), as the order says
    other = row(7, workflow_id="99", version="bad")
    with pytest.raises(Filtered, match="other_workflow"):
        parse(other)
    # the version is checked before the version filter
    with pytest.raises(Rejected, match=r"MAJOR\.MINOR"):
        parse(row(7, version="bad"), IngestConfig(layers=LAYERS, workflow_version="12"))
    config = IngestConfig(layers=LAYERS, workflow_version="12.3")
    with pytest.raises(Filtered, match="other_version"):
        parse(row(7, version="12.2"), config)
    assert parse(row(7, version="12.10"), config).workflow_version == "12.10"
    with pytest.raises(Filtered, match="other_version"):
        parse(row(7, version="13.5"), config)
    # gold standard, then later checks: a bad created_at on a filtered row is not looked at
    gold = row(7, gold="TRUE", created="never")
    with pytest.raises(Filtered, match="gold_standard"):
        parse(gold, IngestConfig(layers=LAYERS, gold_standard="exclude"))
    with pytest.raises(Rejected, match="date and time"):
        parse(gold, IngestConfig(layers=LAYERS, gold_standard="only"))


def test_volunteers_not_logged_in_are_told_by_ip():
    fields = row(7, user="", user_id="")
    assert parse(fields).user == "not-logged-in-abc123"
    fields[COLUMNS.index["user_ip"]] = " "
    with pytest.raises(Rejected, match="no user_ip"):
        parse(fields)


def test_field_counts_are_checked_first():
    with pytest.raises(Rejected, match=r"expected 14 fields, found 13 \(truncated row\?\)"):
        parse(row(7)[:-1])


def test_subject_image_from_the_subject_export_when_subject_data_has_none():
    fields = row(7, subject_data=json.dumps({"101": {"retired": {"id": 1}}}))
    c = parse(fields, **{"101": "from-export.png"})
    assert c.subject_info.image == "from-export.png" and c.subject_info.retired is True
    # without it, the classification is kept, and the subject says why it has no image
    alone = parse(fields)
    assert alone.subject_info.image == "" and alone.classification_id == "7"
    assert alone.subject_info.why == "no image file name (its keys: 'retired')"


def test_config_round_trips_through_the_workflow_layout():
    config = IngestConfig(layers=LAYERS, workflow_id=5, workflow_version="3.1", duplicates="all")
    spelled = config.to_dict()
    assert spelled["layers"] == {
        "blobs": {"task": "T3", "tool": 0},
        "rings": {"task": "T3", "tool": 1},
    }
    assert ingest_config(spelled["layers"], spelled) == config


def test_subject_export_names_and_rejects(tmp_path):
    path = tmp_path / "subjects.csv"
    lines = [
        "subject_id,project_id,workflow_id,subject_set_id,metadata,locations",
        '101,1,1234,5,"{""Filename"": ""a.png""}",{}',
        '101,1,1234,6,"{""Filename"": ""a.png""}",{}',  # in two subject sets: fine
        '102,1,1234,5,"{""Filename"": ""b.png""}",{}',
        '102,1,1234,6,"{""Filename"": ""c.png""}",{}',  # a second, different name
        'x7,1,1234,5,"{""Filename"": ""d.png""}",{}',
        '103,1,1234,5,"{oops",{}',
        '104,1,1234,5,"{""other"": 1}",{}',
        '105,1,1234,5,"{""Filename"": ""../e.png""}",{}',
        "106,1,1234",
    ]
    path.write_text("\n".join(lines) + "\n")
    images, rejects = read_subject_export(path, ("Filename",))
    assert images == {"101": {0: "a.png"}, "102": {0: "b.png"}}
    assert [(line, subject, field) for line, subject, field, _ in rejects] == [
        (5, "102", "metadata"),
        (6, "x7", "subject_id"),
        (7, "103", "metadata"),
        (8, "104", "metadata"),
        (9, "105", "subject_data"),
        (10, "106", "row"),
    ]
    assert "differ from {0: 'b.png'}" in rejects[0][3]
    assert rejects[1][3] == "subject id is not a whole number: 'x7'"
