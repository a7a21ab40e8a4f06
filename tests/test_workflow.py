"""Real snakemake on the bundled example: caching, reruns, determinism and failures."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import digests, jobs_run, snakemake
from zooheat.marks import read_marks
from zooheat.pipeline import STEPS

pytestmark = pytest.mark.workflow

SUBJECTS = ["synthetic-0000", "synthetic-0001", "synthetic-0002", "synthetic-0003"]
# One layer keeps the test quick; the example's second layer runs in the end-to-end test.
CONFIG = """\
subjects: example/subjects.tsv
layers:
  blobs: {{task: T3, tool: 0}}
bin_size: {bin_size}
overlay:
  formats: [png]
"""


def configure(workdir: Path, bin_size: int = 6) -> None:
    (workdir / "config" / "config.yaml").write_text(CONFIG.format(bin_size=bin_size))


def jobs_for(subject, layer="blobs"):
    """Every step's job for one subject (one figure format: png)."""
    return sorted(
        (name, f"layer={layer}, subject={subject}" + (", format=png" if step.formats else ""))
        for name, step in STEPS.items()
    )


def test_cache_reruns_only_what_changed(workflow_copy):
    wd = workflow_copy
    configure(wd)
    cold = snakemake(wd)
    assert len(jobs_run(cold)) == len(STEPS) * len(SUBJECTS)
    for subject in SUBJECTS:
        for kind, ext in (("histogram", "npy"), ("zoom", "npy"), ("figures", "png")):
            assert (wd / "results" / kind / "blobs" / f"{subject}.{ext}").is_file()
        assert "marks=" in (wd / "logs" / "histogram" / "blobs" / f"{subject}.log").read_text()
    first = digests(wd)

    # a second run runs no job
    again = snakemake(wd)
    assert jobs_run(again) == []
    assert "Nothing to be done" in again.stdout + again.stderr

    # touching one subject's marks without changing them: Snakemake sees the same checksum
    marks = wd / "example" / "marks" / "blobs" / "synthetic-0002.csv"
    later = time.time() + 5
    os.utime(marks, (later, later))
    assert jobs_run(snakemake(wd)) == []

    # editing one subject's marks reruns exactly that subject's jobs (and the whole-project
    # tables, which have no wildcards)
    original = marks.read_text()
    marks.write_text(original + "latecomer,100.5,200.5,4.0\n")
    edited = snakemake(wd)
    assert jobs_run(edited) == jobs_for("synthetic-0002")
    assert digests(wd) != first
    counts = np.load(wd / "results" / "histogram" / "blobs" / "synthetic-0002.npy")
    assert counts[200 // 6, 100 // 6] >= 1

    # and undoing the edit gives back the first bytes: same inputs, same outputs
    marks.write_text(original)
    assert jobs_run(snakemake(wd)) == jobs_for("synthetic-0002")
    assert digests(wd) == first

    # changing bin_size reruns the histograms (and what follows from them)
    configure(wd, bin_size=3)
    rebinned = snakemake(wd)
    ran = jobs_run(rebinned)
    assert [w for rule, w in ran if rule == "histogram"] == [
        f"layer=blobs, subject={s}" for s in SUBJECTS
    ]
    assert len(ran) == len(STEPS) * len(SUBJECTS)
    counts = np.load(wd / "results" / "histogram" / "blobs" / "synthetic-0000.npy")
    assert counts.shape == (128, 130)


def test_forced_rebuild_gives_the_same_bytes(workflow_copy):
    wd = workflow_copy
    configure(wd)
    snakemake(wd)
    first = digests(wd)
    snakemake(wd, "--forceall")
    assert digests(wd) == first
    # every step's outputs, the two whole-project tables, the gallery, the report's figures,
    # the (empty) list of missing images and the (empty) warnings
    assert len(first) == len(STEPS) * len(SUBJECTS) + 2 + 1 + len(SUBJECTS) + 1 + 1


def test_example_end_to_end_all_layers_and_formats(workflow_copy):
    # the shipped config: the example's Panoptes export, both layers, all three formats
    wd = workflow_copy
    config = wd / "config" / "config.yaml"
    config.write_text(config.read_text().replace("formats: [png]", "formats: [png, pdf, svg]"))
    snakemake(wd)
    exported = [f"1500000{i}" for i in range(4)]
    for layer in ("blobs", "rings"):
        for subject in exported:
            for fmt, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")):
                path = wd / "results" / "figures" / layer / f"{subject}.{fmt}"
                assert path.read_bytes().startswith(magic), path
    # a subject without rings gets an empty heat map, still a figure
    empty = [
        s
        for s in exported
        if np.load(wd / "results" / "histogram" / "rings" / f"{s}.npy").sum() == 0
    ]
    assert empty == ["15000002"]
    # the export holds the same marks as the example's per-subject tables
    for i, subject in enumerate(exported):
        table = f"synthetic-000{i}.csv"
        ingested = read_marks(wd / "results" / "ingest" / "marks" / "blobs" / f"{subject}.csv")
        tabled = read_marks(wd / "example" / "marks" / "blobs" / table)
        assert sorted(zip(ingested.x, ingested.y, strict=True)) == sorted(
            zip(tabled.x, tabled.y, strict=True)
        )


def test_a_bad_marks_file_fails_its_job_with_a_clear_log(workflow_copy):
    wd = workflow_copy
    configure(wd)
    bad = wd / "example" / "marks" / "blobs" / "synthetic-0001.csv"
    lines = bad.read_text().splitlines()
    lines[6] = "volunteer999,oops,12.5,3"
    bad.write_text("\n".join(lines) + "\n")
    proc = snakemake(wd, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    log = wd / "logs" / "histogram" / "blobs" / "synthetic-0001.log"
    assert str(log.relative_to(wd)) in out
    message = "line 7 (data row 6), field 'x': expected a number, found 'oops'"
    assert message in log.read_text()
    assert "Traceback" not in log.read_text()
    # the end of the run lists the failed job, its log and its error
    end = proc.stderr[proc.stderr.rindex("Exiting because a job execution failed") :]
    # (both steps that read the marks: the histogram and the consensus)
    assert "zooheat: 2 failed jobs:\n" in end
    for rule in ("histogram", "consensus"):
        line = f"  {rule} (log: logs/{rule}/blobs/synthetic-0001.log):\n      "
        assert f"{line}example/marks/blobs/synthetic-0001.csv, {message}" in end
    # keep-going (the default profile): the other subjects are finished
    for subject in ("synthetic-0000", "synthetic-0002", "synthetic-0003"):
        assert (wd / "results" / "figures" / "blobs" / f"{subject}.png").is_file()
    assert not (wd / "results" / "histogram" / "blobs" / "synthetic-0001.npy").exists()


def test_a_bad_subject_table_is_one_clear_error(workflow_copy):
    wd = workflow_copy
    configure(wd)
    table = wd / "example" / "subjects.tsv"
    table.write_text(table.read_text() + "../escape\timages/x.png\t25\tm.csv\tm.csv\n")
    proc = snakemake(wd, "-n", check=False)
    assert proc.returncode != 0
    assert re.search(
        r"subjects\.tsv, line 6, field 'subject': '\.\./escape' is not a usable",
        proc.stdout + proc.stderr,
    )


def test_batches_make_the_same_files_and_rerun_only_what_changed(workflow_copy):
    wd = workflow_copy
    configure(wd)
    snakemake(wd)
    per_subject = digests(wd)
    shutil.rmtree(wd / "results")
    shutil.rmtree(wd / ".snakemake")
    (wd / "config" / "config.yaml").write_text(CONFIG.format(bin_size=6) + "batches: 3\n")
    cold = snakemake(wd)
    ran = jobs_run(cold)
    # crc32 deals the four subjects into batches 1, 0, 2, 2
    assert ran == [("heatmap_batch", f"layer=blobs, batch={b}") for b in (0, 1, 2)]
    files = digests(wd, skip=("batches",))
    assert files == per_subject  # the same files, byte for byte

    assert jobs_run(snakemake(wd)) == []
    # Snakemake tracks no subject's file: each batch job's inputs, as its records say, are
    # none of its images and mark tables (their sizes and times are one parameter)
    records = [json.loads(p.read_text()) for p in (wd / ".snakemake" / "metadata").iterdir()]
    batches = [r for r in records if r["rule"] == "heatmap_batch"]
    assert len(batches) == 3 * 2 and all(r["input"] == [] for r in batches)  # 2 outputs each

    # an image touched but not changed: its batch runs and makes nothing again
    image = wd / "example" / "images" / "synthetic-0003.png"
    os.utime(image)
    (job,) = jobs_run(snakemake(wd))
    log = wd / "logs" / "heatmap_batch" / "blobs" / f"{job[1].split('batch=')[1]}.log"
    assert job[0] == "heatmap_batch" and ", 0 made again" in log.read_text()
    assert digests(wd, skip=("batches",)) == per_subject

    # one subject's marks edited: its batch runs, and makes that one subject again
    marks = wd / "example" / "marks" / "blobs" / "synthetic-0002.csv"
    marks.write_text(marks.read_text() + "latecomer,100.5,200.5,4.0\n")
    figures = wd / "results" / "figures" / "blobs"
    before = {p.name: p.stat().st_mtime_ns for p in figures.iterdir()}
    edited = snakemake(wd)
    (job,) = jobs_run(edited)
    assert job[0] == "heatmap_batch"
    after = {p.name: p.stat().st_mtime_ns for p in figures.iterdir()}
    assert [name for name in after if after[name] != before[name]] == ["synthetic-0002.png"]
    log = wd / "logs" / "heatmap_batch" / "blobs" / f"{job[1].split('batch=')[1]}.log"
    assert ", 1 made again" in log.read_text()

    # a figure deleted by hand comes back, the same bytes, from its batch's code: one job
    # after the batch, never a per-subject job beside it; and again the next time
    lost = figures / "synthetic-0001.png"
    before = lost.read_bytes()
    for _ in range(2):
        lost.unlink()
        assert [rule for rule, _ in jobs_run(snakemake(wd, "-n"))] == ["repair_batch"]
        assert [rule for rule, _ in jobs_run(snakemake(wd))] == ["repair_batch"]
        assert lost.read_bytes() == before
        assert jobs_run(snakemake(wd)) == []


def test_a_bad_subject_fails_its_batch_but_not_the_others(workflow_copy):
    wd = workflow_copy
    (wd / "config" / "config.yaml").write_text(CONFIG.format(bin_size=6) + "batches: 1\n")
    bad = wd / "example" / "marks" / "blobs" / "synthetic-0001.csv"
    good = bad.read_text()
    bad.write_text(good + "volunteer999,oops,12.5,3\n")
    proc = snakemake(wd, check=False)
    assert proc.returncode != 0
    log = (wd / "logs" / "heatmap_batch" / "blobs" / "0.log").read_text()
    assert "1 of 4 subjects failed" in log
    assert "synthetic-0001: " in log and "field 'x': expected a number, found 'oops'" in log
    figures = wd / "results" / "figures" / "blobs"
    assert sorted(p.name for p in figures.iterdir()) == [
        "synthetic-0000.png",
        "synthetic-0002.png",
        "synthetic-0003.png",
    ]
    bad.write_text(good)
    fixed = snakemake(wd)
    assert len(jobs_run(fixed)) == 1
    assert ", 1 made again" in (wd / "logs" / "heatmap_batch" / "blobs" / "0.log").read_text()


def test_a_killed_run_is_finished_by_the_next_run(workflow_copy):
    wd = workflow_copy
    configure(wd)
    reference = workflow_copy.parent / "reference"
    shutil.copytree(wd, reference)
    snakemake(reference)
    expected = digests(reference)

    exe = Path(sys.executable).with_name("snakemake")
    run = subprocess.Popen(
        [str(exe), "--cores", "2"],
        cwd=wd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    first = wd / "results" / "histogram" / "blobs"
    deadline = time.time() + 120
    while time.time() < deadline and not (first.is_dir() and any(first.iterdir())):
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)  # snakemake and its running jobs, mid-run
    run.wait()
    assert len(digests(wd)) < len(expected), "the run finished before it was killed"

    # the documented recovery: release the killed run's lock, run again
    locked = snakemake(wd, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake(wd, "--unlock")
    snakemake(wd)
    assert digests(wd) == expected
    assert jobs_run(snakemake(wd)) == []


def test_warnings_reach_the_end_of_the_run(workflow_copy):
    """A layer no mark matched and an image too small for its marks end the run's output."""
    from PIL import Image

    wd = workflow_copy
    (wd / "config" / "config.yaml").write_text(
        CONFIG.replace("  blobs:", "  rings: {{task: T3, tool: 1}}\n  blobs:").format(bin_size=6)
    )
    for table in (wd / "example" / "marks" / "rings").iterdir():
        table.write_text(table.read_text().splitlines()[0] + "\n")  # header only
    image = wd / "example" / "images" / "synthetic-0002.png"
    with Image.open(image) as full:
        full.crop((0, 0, 120, 120)).save(image)  # not the image the marks were made on
    proc = snakemake(wd)
    end = proc.stderr[proc.stderr.rindex("(100%) done") :]
    digest = end[end.index("zooheat: ") :].splitlines()
    assert digest[0] == "zooheat: 2 warnings, listed in results/warnings.tsv:"
    assert digest[1] == (
        "  layer without marks: layer rings: no subject has a mark in this layer; check its "
        "task and tool"
    )
    assert re.fullmatch(
        r"  marks outside the image: subject synthetic-0002 layer blobs: \d+ of \d+ marks lie "
        r"outside the image; is it the image the marks were made on\?",
        digest[2],
    )
    rows = (wd / "results" / "warnings.tsv").read_text().splitlines()
    assert rows[0] == "warning\tsubject\tlayer\tdetail" and len(rows) == 3
    # a normal rerun: nothing to do, so nothing said (the warnings were said when the results
    # were made, and stay in warnings.tsv); no notice that asks for no action either (such as
    # Snakemake's "missing provenance")
    again, dry = snakemake(wd), snakemake(wd, "-n")
    assert jobs_run(again) == [] and jobs_run(dry) == []
    assert "zooheat:" not in again.stderr and "warning:" not in again.stderr.lower()
    assert "provenance" not in again.stdout + again.stderr + dry.stdout + dry.stderr
