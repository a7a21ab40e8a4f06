"""The command line as a user meets it: clear one-line errors, never a traceback."""

import re
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, run_cli

EXAMPLE = ROOT / "example"


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "scan.png"
    shutil.copy(EXAMPLE / "images" / "synthetic-0000.png", path)
    return path


def plot(image, marks, tmp_path, *extra):
    return run_cli("plot", image, marks, "-o", tmp_path / "f.png", *extra)


def assert_clear_error(proc, *fragments):
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("zooheat: error: ")
    for fragment in fragments:
        assert fragment in proc.stderr


def test_missing_image(tmp_path):
    marks = tmp_path / "m.csv"
    marks.write_text("1,2,3\n")
    proc = plot(tmp_path / "absent.png", marks, tmp_path)
    assert_clear_error(proc, "absent.png: not found; expected a PNG subject image")
    assert not (tmp_path / "f.png").exists()


def test_unreadable_png(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    marks = tmp_path / "m.csv"
    marks.write_text("1,2,3\n")
    assert_clear_error(plot(bad, marks, tmp_path), "bad.png: cannot read this file as an image")


def test_non_numeric_x_in_row_7(image, tmp_path):
    marks = tmp_path / "m.csv"
    marks.write_text("".join(f"{i}0,{i}0,5\n" for i in range(1, 7)) + "seven,70,5\n")
    assert_clear_error(
        plot(image, marks, tmp_path),
        "m.csv, line 7 (data row 7), field 'x': expected a number, found 'seven'",
    )


def test_nan_coordinates(image, tmp_path):
    marks = tmp_path / "m.csv"
    marks.write_text("x,y\n10,20\n30,nan\n")
    assert_clear_error(
        plot(image, marks, tmp_path),
        "m.csv, line 3 (data row 2), field 'y': expected a finite number, found 'nan'",
    )


def test_empty_marks_give_an_empty_heat_map_and_a_figure(image, tmp_path):
    marks = tmp_path / "m.csv"
    marks.write_text("")
    proc = plot(image, marks, tmp_path, "--histogram", tmp_path / "h.npy")
    assert proc.returncode == 0, proc.stderr
    assert np.load(tmp_path / "h.npy").sum() == 0
    with Image.open(tmp_path / "f.png") as figure:
        assert figure.size[0] > 300
    assert "marks=0 binned=0 outside=0 max=0" in proc.stderr


def test_marks_outside_the_image_are_reported(image, tmp_path):
    marks = tmp_path / "m.csv"
    marks.write_text("x,y\n10,20\n-5,20\n10,999\n")
    proc = plot(image, marks, tmp_path, "--histogram", tmp_path / "h.npy")
    assert proc.returncode == 0, proc.stderr
    assert "marks=3 binned=1 outside=2" in proc.stderr
    assert "warning: scan: 2 of 3 marks lie outside the 384x390 image and were not binned" in (
        proc.stderr
    )
    assert np.load(tmp_path / "h.npy").sum() == 1


def test_bad_options_are_clear(image, tmp_path):
    marks = tmp_path / "m.csv"
    marks.write_text("1,2\n")
    assert_clear_error(plot(image, marks, tmp_path, "--cmap", "nope"), "unknown colour map 'nope'")
    assert_clear_error(
        plot(image, marks, tmp_path, "--bin-size", "0"), "--bin-size must be >= 1, got 0"
    )
    proc = run_cli("plot", image, marks, "-o", tmp_path / "f.gif")
    assert_clear_error(proc, "cannot save a figure as 'gif'")


def test_pdf_and_svg_output(image, tmp_path):
    marks = EXAMPLE / "marks" / "blobs" / "synthetic-0000.csv"
    for fmt, magic in (("pdf", b"%PDF"), ("svg", b"<?xml")):
        out = tmp_path / f"f.{fmt}"
        proc = run_cli("plot", image, marks, "-o", out, "--grid", "--alpha", "0.8")
        assert proc.returncode == 0, proc.stderr
        assert out.read_bytes().startswith(magic)


def test_console_script_is_installed():
    exe = shutil.which("zooheat", path=str(ROOT / ".venv" / "bin")) or shutil.which("zooheat")
    assert exe is not None
    import subprocess

    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("zooheat ")


def test_consensus_of_one_table(tmp_path):
    out = tmp_path / "objects.csv"
    marks = EXAMPLE / "marks" / "blobs" / "synthetic-0000.csv"
    proc = run_cli("consensus", marks, "-o", out, "--classifications", "25")
    assert proc.returncode == 0, proc.stderr
    rows = out.read_text().splitlines()
    assert rows[0] == "object,x,y,r,marks,volunteers,agreement,spread,mark_rows"
    truth = np.loadtxt(EXAMPLE / "truth.csv", delimiter=",", skiprows=1, usecols=(2, 3, 4),
                       max_rows=3)  # fmt: skip
    found = np.array([[float(v) for v in row.split(",")[1:4]] for row in rows[1:]])
    assert len(found) == 3  # the example's subject 0 has three blobs
    for x, y, _ in truth:  # each true blob has an object within a scan pixel of it
        assert np.min(np.hypot(found[:, 0] - x, found[:, 1] - y)) < 6
    assert "68 marks, 3 objects, 4 strays" in proc.stderr
    # options say their defaults; a bad one is one clear line
    helptext = run_cli("consensus", "--help").stdout
    assert "(default: 1.0)" in helptext and "(default: 3)" in helptext
    assert_clear_error(run_cli("consensus", marks, "-o", out, "--link", "0"), "link must be")
    assert_clear_error(
        run_cli("consensus", marks, "-o", out, "--classifications", "3"),
        "synthetic-0000.csv: 3 classifications, but 25 distinct volunteers marked",
    )


def test_file_system_errors_are_one_line(image, tmp_path):
    """An output that is a folder, or a name too long for the file system: one line, exit 2."""
    marks = tmp_path / "m.csv"
    marks.write_text("1,2\n")
    folder = tmp_path / "figure.png"
    folder.mkdir()
    for proc in (
        run_cli("plot", image, marks, "-o", folder),
        run_cli("consensus", marks, "-o", folder),
    ):
        assert_clear_error(proc, f"{folder}: is a folder; a file was expected")
        assert proc.stderr.count("\n") == 1
    long = tmp_path / ("x" * 300 + ".png")
    for proc in (
        run_cli("plot", image, marks, "-o", long),
        run_cli("ingest", EXAMPLE / "classifications.csv", "-o", long, "--layer", "b=T0:0"),
    ):
        assert_clear_error(proc, "a file name is too long for the file system")
        assert proc.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png", "m.csv", "scan.png"]


def test_every_option_says_its_default():
    """Each option that takes a value says in --help what it is when not given."""
    no_default = {"--output", "--outdir", "--histogram", "--zoomed", "--config", "--layer"}
    for command in ("plot", "consensus", "ingest", "synthetic-export", "example"):
        proc = run_cli(command, "--help")
        assert proc.returncode == 0
        section = proc.stdout.split("options:\n", 1)[1]
        entries = re.split(r"\n(?=  -)", section)
        checked = 0
        for entry in entries:
            names = re.findall(r"(--[a-z-]+)( [A-Z{])?", entry.split("  ", 2)[1])
            takes_value = any(value for _, value in names)
            if not takes_value or {name for name, _ in names} & no_default:
                continue
            checked += 1
            assert "(default: " in " ".join(entry.split()), (command, entry)
        assert checked >= 2, command
