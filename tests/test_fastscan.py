"""The fast route's reader: pyarrow's split and column checks agree with csv and the rules."""

import csv
import io
import random
import re

import pytest

from tests.test_ingest import circle, csv_text, row
from zooheat.ingest.fastscan import split_chunk
from zooheat.panoptes import COLUMN_RULES, export_columns
from zooheat.synthetic_export import HEADER_MODERN

COLUMNS = export_columns(HEADER_MODERN, "export.csv")


def body(rows):
    return csv_text(rows).split("\n", 1)[1].encode()


def test_cells_are_those_csv_splits():
    rows = [
        row(1, "ada", marks=[circle(1, 2, 3)]),
        row(2, 'bob "the, builder"', marks=[]),
        row(3, "日本語", marks=[circle(5.5, 6, 0, 1)]),
    ]
    data = body(rows)
    split = split_chunk(data, COLUMNS)
    assert split is not None and split.rows == 3 and split.clean == [True, True, True]
    expected = [COLUMNS.cells_of(f) for f in csv.reader(io.StringIO(data.decode()))]
    assert list(split.row_cells()) == expected


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("classification_id", "12a"),
        ("classification_id", " 12"),  # would need stripping: the exact route decides
        ("user_id", "x"),
        ("workflow_id", ""),
        ("workflow_version", "12.x"),
        ("created_at", "2016-06-01T10:00:00 UTC "),
        ("subject_ids", "101;102"),
        ("user_name", " ada"),
        ("user_name", ""),
    ],
)
def test_a_cell_breaking_its_rule_sends_its_row_the_exact_way(column, value):
    rows = [row(1), row(2), row(3)]
    rows[1][COLUMNS.index[column]] = value
    split = split_chunk(body(rows), COLUMNS)
    assert split is not None and split.clean == [True, False, True]


@pytest.mark.parametrize(
    "data",
    [
        b'1,"a\nb",2\n',  # a record over two lines
        b"a,b\rc\n",  # a bare carriage return
        b"\xff\xfe,broken\n",  # not UTF-8
        b"only,three,fields\n",  # wrong field count
        b"no line end",
    ],
)
def test_chunks_it_cannot_split_surely_go_the_exact_way(data):
    assert split_chunk(data, COLUMNS) is None


def test_the_rules_match_alike_in_python_and_in_pyarrow():
    # The same pattern text serves Python's re (exact route) and RE2 (fast route): they must
    # agree on every cell, or the two routes would treat a row differently.
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = random.Random(4)
    alphabet = "0123456789.:-+ TZUC\t٣"
    cells = ["", "0", "12", "12.3", "2016-06-01 10:00:00 UTC", "2016-06-01T10:00:00.123+01:00"]
    cells += ["".join(rng.choices(alphabet, k=rng.randint(1, 30))) for _ in range(3000)]
    for name, rule in COLUMN_RULES.items():
        python = [re.fullmatch(rule.pattern, c) is not None for c in cells]
        arrow = pc.match_substring_regex(pa.array(cells), f"^({rule.pattern})$").to_pylist()
        assert python == arrow, name
