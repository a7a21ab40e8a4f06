"""Property-based tests of the two readers of user files: the export and the mark table.

Whatever the rows and bytes: no crash, no hang, and every row is accounted for. An export's
rows are each used, filtered or rejected (and both reading routes agree byte for byte); a
mark table is read whole, one mark per data row, or refused with one line naming the file.

The examples are drawn from a fixed seed (``derandomize``), so a run is repeatable; set
``ZOOHEAT_HYPOTHESIS_EXAMPLES`` to try more.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zooheat.errors import MarksError, ZooheatError
from zooheat.ingest import ingest_export
from zooheat.marks import read_marks
from zooheat.panoptes import IngestConfig, LayerSpec
from zooheat.synthetic_export import HEADER_MODERN

EXAMPLES = int(os.environ.get("ZOOHEAT_HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CONFIG = IngestConfig(layers=(LayerSpec("blobs", "T3", 0), LayerSpec("rings", "T3", 1)))

# ------------------------------------------------------------------ the export

# a cell of text as it could be anywhere: control characters, quotes, separators, surrogates
# escaped into JSON, very long values
any_text = st.text(max_size=60)
number = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, 5e-324]),
)
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), number.filter(lambda v: not isinstance(v, float)
              or math.isfinite(v)), any_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(any_text, inner, max_size=3)),
    max_leaves=8,
)  # fmt: skip
mark = st.fixed_dictionaries(
    {"x": number | any_text | st.none(), "y": number | any_text | st.none()},
    optional={
        "r": number | any_text | st.none(),
        "tool": st.sampled_from([0, 1, 2, "0", None, -1]),
        "frame": st.sampled_from([0, 1, None]),
        "details": json_value,
    },
)
annotation = (
    st.fixed_dictionaries(
        {"task": st.sampled_from(["T0", "T3", "T9", ""]), "value": st.lists(mark, max_size=4)}
    )
    | json_value
)


def _json(value) -> str:
    # the export's JSON: as Panoptes writes it, or with NaN / Infinity as Python writes them
    return json.dumps(value, allow_nan=True)


@st.composite
def export_row(draw) -> list[str]:
    subject = draw(st.sampled_from(["101", "102", "103", "abc", "", "-4", "1e3"]))
    size = {"naturalWidth": 390, "naturalHeight": 384}
    shown = draw(st.sampled_from([(390, 384), (585, 576), (200, 197), (0, 0)]))
    shown_at = {"clientWidth": shown[0], "clientHeight": shown[1], **size}
    any_json = json_value.map(_json) | any_text
    fields = {
        "classification_id": draw(st.sampled_from(["1", "2", "3", "x", "", "99999999999"])),
        "user_name": draw(st.sampled_from(["ada", "not-logged-in-ab12", "", "é"]) | any_text),
        "user_id": draw(st.sampled_from(["11", "", "NA", "12.0"])),
        "user_ip": "abc123",
        "workflow_id": draw(st.sampled_from(["1234", "1234", "99", ""])),
        "workflow_name": draw(any_text),
        "workflow_version": draw(st.sampled_from(["12.3", "12", "", "v2", "1.2.3"])),
        "created_at": draw(
            st.sampled_from(["2016-06-01 10:00:00 UTC", "2016-06-01T10:00:00.5Z", "yesterday"])
        ),
        "gold_standard": draw(st.sampled_from(["", "true", "false", "maybe"])),
        "expert": "",
        "metadata": draw(st.just(_json({"subject_dimensions": [shown_at]})) | any_json),
        "annotations": draw(st.lists(annotation, max_size=3).map(_json) | any_text),
        "subject_data": draw(
            st.just(_json({subject: {"retired": None, "Filename": f"{subject}.png"}})) | any_json
        ),
        "subject_ids": subject,
    }
    return [fields[c] for c in HEADER_MODERN]


def _ingest_both_ways(export: Path, folder: Path):
    fast = ingest_export(export, folder / "fast", CONFIG, progress=False, workers=1)
    exact = ingest_export(export, folder / "exact", CONFIG, progress=False, exact=True)
    for summary in (fast, exact):
        assert summary.rows_read == summary.rows_used + summary.rows_filtered + (
            summary.rows_rejected
        )
    files = sorted(p.relative_to(folder / "fast") for p in (folder / "fast").rglob("*"))
    assert files == sorted(p.relative_to(folder / "exact") for p in (folder / "exact").rglob("*"))
    for name in files:
        if (folder / "fast" / name).is_file():
            assert (folder / "fast" / name).read_bytes() == (folder / "exact" / name).read_bytes()
    return fast


# How a CSV writer keeps a field's own line ends inside the field: Python's writer quotes
# only what holds a character of its line end, so a lone CR needs CRLF lines or all quoted.
DIALECTS = st.sampled_from([("\n", csv.QUOTE_ALL), ("\r\n", csv.QUOTE_MINIMAL)])


@SETTINGS
@given(rows=st.lists(export_row(), min_size=1, max_size=12), dialect=DIALECTS)
def test_every_export_row_is_used_filtered_or_rejected(rows, dialect):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export = folder / "export.csv"
        with open(export, "w", encoding="utf-8", errors="surrogatepass", newline="") as f:
            writer = csv.writer(f, lineterminator=dialect[0], quoting=dialect[1])
            writer.writerow(HEADER_MODERN)
            writer.writerows(rows)
        summary = _ingest_both_ways(export, folder)
        assert summary.rows_read == len(rows)
        # physical lines (\n, \r\n or a lone \r), as a reader counts them: a quoted field
        # may hold line ends
        with open(export, encoding="utf-8", errors="surrogatepass", newline="") as handle:
            lines = len(handle.readlines())
        for reject in assert_rejects_listed(folder / "fast", summary):
            assert 2 <= int(reject["line"]) <= lines


def assert_one_line_naming(exc: Exception, path: Path) -> None:
    """An error is one short line that starts with the file it is about."""
    message = str(exc)
    assert message.startswith(str(path)) and "\n" not in message
    assert len(message) < 500


def assert_rejects_listed(out: Path, summary) -> list[dict[str, str]]:
    """Each rejected row is in rejects.csv, which is UTF-8 text quoting little of the row."""
    text = (out / "rejects.csv").read_bytes().decode("utf-8")
    rejects = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rejects) == summary.rows_rejected
    for reject in rejects:
        assert len(reject["id"]) <= 200 and len(reject["reason"]) < 300
        assert reject["id"].isprintable()
    return rejects


@SETTINGS
@given(tail=st.binary(max_size=3000))
@example(tail=b"\x80")  # found by this test: an undecodable id broke writing rejects.csv
@example(tail=b"\xff\x1b[2J,1\n\n")
def test_any_bytes_after_the_header_never_crash(tail):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export = folder / "export.csv"
        export.write_bytes(",".join(HEADER_MODERN).encode() + b"\n" + tail)
        summary = _ingest_both_ways(export, folder)
        if not tail:
            assert summary.rows_read == 0
        assert_rejects_listed(folder / "fast", summary)


@SETTINGS
@given(data=st.binary(max_size=600))
def test_any_bytes_as_an_export_read_or_one_clear_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.csv"
        export.write_bytes(data)
        try:
            _ingest_both_ways(export, Path(tmp))
        except ZooheatError as exc:  # not an export: one line naming the file
            assert_one_line_naming(exc, export)


# ------------------------------------------------------------------ the mark table

cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["", " ", "nan", "-0", "1e400", "0x10", "1_000", "٣"]),
    any_text,
)


@SETTINGS
@given(
    header=st.sampled_from([None, ["x", "y"], ["x", "y", "r"], ["user", "x", "y", "r"]]),
    rows=st.lists(st.lists(cell, min_size=1, max_size=5), max_size=8),
)
def test_every_mark_row_is_a_mark_or_the_table_is_refused(header, rows):
    """A table is read whole (one mark per data row) or refused naming the file and line."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "marks.csv"
        with open(path, "w", encoding="utf-8", errors="surrogatepass", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            if header:
                writer.writerow(header)
            writer.writerows(rows)
        try:
            marks = read_marks(path)
        except MarksError as exc:
            assert_one_line_naming(exc, path)
            return
        text = path.read_text(encoding="utf-8", errors="surrogatepass")
        records = list(csv.reader(io.StringIO(text)))
        data_rows = [r for r in records if any(field.strip() for field in r)]
        if header and data_rows and data_rows[0] == header:
            data_rows = data_rows[1:]
        assert len(marks) == len(data_rows)
        assert all(math.isfinite(v) for v in [*marks.x, *marks.y])


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_any_bytes_as_a_mark_table_read_or_one_clear_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "marks.csv"
        path.write_bytes(data)
        try:
            marks = read_marks(path)
        except MarksError as exc:
            assert_one_line_naming(exc, path)
        else:
            assert len(marks.x) == len(marks.y) == len(marks.r)
