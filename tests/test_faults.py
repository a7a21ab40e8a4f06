"""Faults of the machine, not of the input: a full disk and a read-only folder.

During an ingest and during a workflow run, each fault must end with one clear line naming
the file, leave nothing half-written that a later run could take for finished, and a rerun
once the fault is gone must give the bytes of an undisturbed run.

The faults are real: a small tmpfs and a read-only bind mount, made in a mount namespace of
the test's own (``unshare --mount --map-root-user``), so the machine's mounts never change
and nothing is left mounted if a test dies.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, copy_workflow, digests, snakemake

pytestmark = pytest.mark.workflow

EXAMPLE_EXPORT = ROOT / "example" / "classifications.csv"
CONFIG = ROOT / "config" / "config.yaml"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
OWN_MOUNTS = ("unshare", "--mount", "--map-root-user", "--propagation", "private")
NO_SPACE = "no space left on the device (free some space, then run again"
READ_ONLY = "the file system is read-only (choose a writable output folder)"


def in_own_mounts(script: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run a bash script in a mount namespace of its own; fail on any unexpected error."""
    proc = subprocess.run(
        [*OWN_MOUNTS, "bash", "-euc", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"the test's script failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module", autouse=True)
def mounts_work(tmp_path_factory):
    """The faults need a mount namespace (unshare); without one these tests cannot run."""
    folder = tmp_path_factory.mktemp("probe")
    try:
        proc = subprocess.run(
            [*OWN_MOUNTS, "mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        reason = proc.stderr.strip() if proc.returncode else None
    except FileNotFoundError:
        reason = "unshare (util-linux) is not installed"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"cannot make a mount namespace ({reason}); CI must run the fault tests")
        pytest.skip(f"cannot make a mount namespace here: {reason}")


def tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (hidden ones too), by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def zooheat_ingest(export: Path, out: Path) -> str:
    return f"{sys.executable} -m zooheat ingest {export} -o {out} --config {CONFIG} --quiet"


def test_ingest_on_a_full_disk(tmp_path):
    clean = tmp_path / "clean"
    subprocess.run(zooheat_ingest(EXAMPLE_EXPORT, clean), shell=True, check=True)
    expected = tree(clean)
    disk = tmp_path / "disk"
    disk.mkdir()
    # the disk fills at different points: the first files, the working files, the tables
    sizes = ("8k", "40k", "80k")
    script = ""
    for size in sizes:
        script += f"""
mount -t tmpfs -o size={size} tmpfs disk
set +e
{zooheat_ingest(EXAMPLE_EXPORT, disk / "out")} 2> full-{size}.err
echo $? > full-{size}.rc
set -e
cp -a disk/out failed-{size}
mount -o remount,size=16m disk
{zooheat_ingest(EXAMPLE_EXPORT, disk / "out")} 2> again-{size}.err
cp -a disk/out after-{size}
umount disk
"""
    in_own_mounts(script, tmp_path)
    for size in sizes:
        assert (tmp_path / f"full-{size}.rc").read_text() == "2\n"
        error = (tmp_path / f"full-{size}.err").read_text()
        assert error.count("\n") == 1, error  # one line, no traceback
        assert re.fullmatch(rf"zooheat: error: {disk}/out(/\S+)?: {re.escape(NO_SPACE)}.*\n", error)
        # what the failed ingest left is finished work, never a truncated table
        left = tree(tmp_path / f"failed-{size}")
        assert all(expected.get(name) == digest for name, digest in left.items()), size
        # after space is freed, a rerun gives the undisturbed ingest's bytes, and no leftovers
        assert tree(tmp_path / f"after-{size}") == expected, size


def test_ingest_into_a_read_only_folder(tmp_path):
    out = tmp_path / "out"
    subprocess.run(zooheat_ingest(EXAMPLE_EXPORT, out), shell=True, check=True)
    before = tree(out)
    newer = tmp_path / "newer.csv"  # the next export: some classifications fewer
    with open(EXAMPLE_EXPORT, newline="") as source, open(newer, "w", newline="") as target:
        csv.writer(target).writerows(list(csv.reader(source))[:-30])
    clean = tmp_path / "clean"
    subprocess.run(zooheat_ingest(newer, clean), shell=True, check=True)
    in_own_mounts(
        f"""
mount --bind out out && mount -o remount,bind,ro out
set +e
{zooheat_ingest(newer, out)} 2> ro.err
echo $? > ro.rc
""",
        tmp_path,
    )
    assert (tmp_path / "ro.rc").read_text() == "2\n"
    error = (tmp_path / "ro.err").read_text()
    assert error.count("\n") == 1, error
    assert error.startswith(f"zooheat: error: {out}") and READ_ONLY in error
    assert tree(out) == before  # the earlier results are untouched
    subprocess.run(zooheat_ingest(newer, out), shell=True, check=True)  # writable again
    assert tree(out) == tree(clean)


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory) -> dict[str, str]:
    """The example workflow's results, from a run that nothing disturbed."""
    wd = copy_workflow(tmp_path_factory.mktemp("undisturbed") / "zooheat")
    snakemake(wd)
    return digests(wd)


def failed_jobs(stderr: str) -> list[tuple[str, str]]:
    """The (rule, error) of each failed job listed at the end of a run's output."""
    end = stderr[stderr.rindex("zooheat: ") :]
    return re.findall(r"^  (\w+) \(log: .*\):\n      (.*)$", end, re.MULTILINE)


def assert_rerun_finishes(wd: Path, undisturbed: dict[str, str], failed_run: dict[str, str]):
    # what the failed run left is finished work: each file is the undisturbed run's bytes
    assert failed_run and all(undisturbed[name] == d for name, d in failed_run.items())
    snakemake(wd)
    assert digests(wd) == undisturbed


def test_workflow_on_a_full_disk(tmp_path, undisturbed):
    wd = copy_workflow(tmp_path / "zooheat")
    (wd / "results").mkdir()
    in_own_mounts(
        f"""
mount -t tmpfs -o size=700k tmpfs results
set +e
{SNAKEMAKE} --cores 2 > full.out 2> full.err
echo $? > full.rc
set -e
mkdir failed && cp -a results failed/results
""",
        wd,
    )
    assert (wd / "full.rc").read_text() == "1\n"
    stderr = (wd / "full.err").read_text()
    failed = failed_jobs(stderr)
    assert failed, stderr[-3000:]
    for rule, error in failed:
        assert re.fullmatch(rf"results/\S+: {re.escape(NO_SPACE)}.*", error), (rule, error)
    assert "Traceback" not in stderr
    left = digests(wd / "failed")
    shutil.rmtree(wd / "failed")
    assert_rerun_finishes(wd, undisturbed, left)


def test_workflow_with_a_read_only_folder(tmp_path, undisturbed):
    """A results folder turned read-only (a mount, permissions) stops the run as it starts.

    One line names the folder; nothing runs, so nothing is half-made. (Snakemake clears a
    job's old outputs before the job; in a read-only folder that fails inside Snakemake with
    a traceback, so the check comes first.)
    """
    wd = copy_workflow(tmp_path / "zooheat")
    snakemake(wd)
    (wd / "results" / "figures" / "blobs" / "15000002.png").unlink()  # one figure to make
    before = digests(wd)
    in_own_mounts(
        f"""
mount --bind results/figures/blobs results/figures/blobs
mount -o remount,bind,ro results/figures/blobs
set +e
{SNAKEMAKE} --cores 2 > ro.out 2> ro.err
echo $? > ro.rc
{SNAKEMAKE} --cores 2 -n > dry.out 2> dry.err
echo $? > dry.rc
""",
        wd,
    )
    assert (wd / "ro.rc").read_text() == "1\n"
    stderr = (wd / "ro.err").read_text()
    assert stderr.splitlines()[-1] == f"zooheat: error: results/figures/blobs: {READ_ONLY}"
    assert "Traceback" not in stderr and "rule " not in stderr  # no job ran
    assert digests(wd) == before
    assert (wd / "dry.rc").read_text() == "0\n"  # a dry run writes nothing: no check
    snakemake(wd)  # writable again
    assert digests(wd) == undisturbed
