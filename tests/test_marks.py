import math
import os
import re

import numpy as np
import pytest

from zooheat.errors import MarksError
from zooheat.limits import Limits
from zooheat.marks import Marks, format_marks, parse_marks, read_marks, write_marks


def write(tmp_path, text, name="marks.csv", mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def test_seed_headerless_x_y_r(tmp_path):
    marks = read_marks(write(tmp_path, "194.2,329.4,23.3\n199.5,177.9,15.4\n298.3,333.3,0.0"))
    assert marks.x.tolist() == [194.2, 199.5, 298.3]
    assert marks.y.tolist() == [329.4, 177.9, 333.3]
    assert marks.r.tolist() == [23.3, 15.4, 0.0]
    assert dict(marks.extra) == {}


def test_headerless_x_y_only(tmp_path):
    marks = read_marks(write(tmp_path, "1,2\n3,4\n"))
    assert marks.x.tolist() == [1.0, 3.0]
    assert all(math.isnan(r) for r in marks.r)


def test_headered_keeps_other_columns_and_optional_r(tmp_path):
    text = "classification_id,user,y,x,r\n101,ada,20.5,10,\n102,not-logged-in-1a2b,7,8,3.5\n"
    marks = read_marks(write(tmp_path, text))
    assert marks.x.tolist() == [10.0, 8.0]
    assert marks.y.tolist() == [20.5, 7.0]
    assert math.isnan(marks.r[0]) and marks.r[1] == 3.5
    assert marks.extra == {
        "classification_id": ("101", "102"),
        "user": ("ada", "not-logged-in-1a2b"),
    }


def test_bom_crlf_and_blank_lines(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfx,y\r\n1,2\r\n\r\n3,4\r\n", mode="wb")
    marks = read_marks(path)
    assert marks.x.tolist() == [1.0, 3.0] and marks.y.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("text", ["", "\n\n", "user,x,y,r\n"])
def test_empty_tables_are_valid(tmp_path, text):
    marks = read_marks(write(tmp_path, text))
    assert len(marks) == 0


def test_non_numeric_x_names_file_line_row_and_field(tmp_path):
    rows = [f"{i},{i},1" for i in range(1, 7)] + ["abc,7,1"]
    path = write(tmp_path, "\n".join(rows) + "\n")
    with pytest.raises(MarksError) as err:
        read_marks(path)
    message = str(err.value)
    assert str(path) in message
    assert "line 7 (data row 7), field 'x'" in message
    assert "expected a number, found 'abc'" in message


def test_with_a_header_the_line_is_one_more_than_the_row(tmp_path):
    rows = ["x,y"] + [f"{i},{i}" for i in range(1, 7)] + ["12,oops"]
    with pytest.raises(MarksError, match=re.escape("line 8 (data row 7), field 'y'")):
        read_marks(write(tmp_path, "\n".join(rows)))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x,y\n1,nan\n", "field 'y': expected a finite number, found 'nan'"),
        ("user,x,y\nada,,\n", "fields 'x', 'y': both empty; expected a centre"),
        ("x,y\nNaN,1\n", "field 'x': expected a finite number, found 'NaN'"),
        ("1,inf,2\n", "field 'y': expected a finite number, found 'inf'"),
        ("x,y,r\n1,2,-3\n", "field 'r': expected a radius >= 0, found '-3'"),
        ("x,y,r\n1,2,big\n", "field 'r': expected a number, found 'big'"),
        ("x,y\n1,2,3\n", "line 2 (data row 1): expected 2 fields ('x', 'y'), found 3"),
        ("1,2\n1,2,3\n", "line 2 (data row 2): expected 2 fields ('x', 'y'), found 3"),
        ("1,2,3,4\n", "2 or 3 fields per row"),
        ("user,xx,y\na,1,2\n", "must name columns 'x' and 'y' (missing ['x']"),
        ("x,y,x\n1,2,3\n", "duplicate columns 'x'"),
    ],
)
def test_bad_rows_are_clear_errors(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(MarksError) as err:
        read_marks(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n",  # a one-line secrets file
        "x,y\n1,SECRET-" + "k" * 200 + "\n",  # a long field
        "PATH=/usr/bin,HOME=/root,TOKEN=abc\n",  # a process's environment, as CSV
    ],
)
def test_an_error_quotes_no_more_than_a_short_excerpt_of_the_file(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(MarksError) as err:
        read_marks(path)
    message = str(err.value).replace(str(path), "")
    # nothing of a header is quoted; of a field, at most 40 characters, escaped
    for secret in ("wJalrXUtnFEMI", "TOKEN=abc", "k" * 41):
        assert secret not in message, message
    assert len(message) < 200


def test_missing_folder_and_non_utf8_files(tmp_path):
    with pytest.raises(MarksError, match=r"nope.csv: not found; expected a CSV mark table"):
        read_marks(tmp_path / "nope.csv")
    with pytest.raises(MarksError, match="is a folder"):
        read_marks(tmp_path)
    with pytest.raises(MarksError, match="not UTF-8 text"):
        read_marks(write(tmp_path, b"x,y\n\xff\xfe,1\n", mode="wb"))


def test_a_pipe_a_device_or_a_huge_table_is_refused_before_it_is_read(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    with pytest.raises(MarksError, match=r"fifo\.csv: is not a regular file \(a pipe"):
        read_marks(fifo)
    with pytest.raises(MarksError, match="/dev/zero: is not a regular file"):
        read_marks("/dev/zero")  # an endless device: it would fill memory
    big = write(tmp_path, "x,y\n" + "1.5,2.5\n" * 200_000)
    with pytest.raises(MarksError, match=r"more than the 1 MiB allowed .*limits\.marks_mb"):
        read_marks(big, limits=Limits(marks_mb=1))
    assert len(read_marks(big)) == 200_000


def test_write_then_read_gives_the_same_marks(tmp_path):
    marks = Marks(
        x=np.array([0.1, 1e-7, 389.99999999]),
        y=np.array([2.0, 3.3333333333333335, 0.0]),
        r=np.array([np.nan, 0.0, 12.25]),
        extra={"user": ("a,b", 'q"uote', "ünï")},
    )
    path = tmp_path / "out" / "m.csv"
    write_marks(marks, path)
    back = read_marks(path)
    assert back.x.tolist() == marks.x.tolist()
    assert back.y.tolist() == marks.y.tolist()
    assert np.array_equal(back.r, marks.r, equal_nan=True)
    assert back.extra == marks.extra
    assert format_marks(back) == path.read_text(encoding="utf-8")


def test_parse_accepts_any_iterable_of_lines():
    assert len(parse_marks(iter(["x,y", "1,2"]))) == 1


def test_a_line_across_the_image_leaves_x_or_y_empty_and_writes_back_the_same(tmp_path):
    text = "user,x,y,r\nada,13.0,,\nbob,,12.5,\ncyd,1.5,2.0,3.0\n"
    marks = read_marks(write(tmp_path, text))
    assert np.isnan(marks.y[0]) and np.isnan(marks.x[1]) and (marks.x[0], marks.y[1]) == (13, 12.5)
    assert format_marks(marks) == text
    frame = marks.to_frame()
    assert frame["y"].isna().tolist() == [True, False, False]
    assert frame["x"].isna().tolist() == [False, True, False]
