"""Shared fixtures: the MoEDAL reference files, the CLI, and a scratch copy of the workflow."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The reference data sit beside the checkout (../shared); ZOOHEAT_SHARED points elsewhere.
SHARED = Path(os.environ.get("ZOOHEAT_SHARED", ROOT.parent / "shared"))
WORKFLOW_PARTS = (
    "Snakefile",
    "rules",
    "scripts",
    "envs",
    "config",
    "profiles",
    "report",
    "src",
    "example",
)


@pytest.fixture(scope="session")
def reference() -> Path:
    """Folder with the real MoEDAL scan, the volunteers' blob marks and the seed's histogram."""
    folder = SHARED / "reference" / "moedal-blob"
    needed = ("scan.png", "blobs.csv", "expected_histogram.npy")
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        message = f"reference files {missing} not found in {folder}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: these tests must run)")
        pytest.skip(message)
    return folder


def run_cli(*args: str | os.PathLike[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``zooheat`` command as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "zooheat", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def workflow_copy(tmp_path: Path) -> Path:
    """A scratch copy of the workflow and its example data, as a user's checkout would hold."""
    return copy_workflow(tmp_path / "zooheat")


def committed_paper_sums() -> dict[str, str]:
    """The example paper figures' sha256 by file name, as committed in docs/paper.sha256."""
    lines = (ROOT / "docs" / "paper.sha256").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> Path:
    """The bundled example, as shipped, run once in a copy of the workflow: the bytes other
    ways of running it (a container, a Snakemake module) must give."""
    workdir = copy_workflow(tmp_path_factory.mktemp("example") / "zooheat")
    snakemake(workdir)
    return workdir


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow and its example data to ``dest`` (a new folder); return it."""
    dest.mkdir()
    ignore = shutil.ignore_patterns(".snakemake", "results", "logs", "__pycache__", "*.egg-info")
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=ignore)
        else:
            shutil.copy2(src, dest / part)
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run real snakemake in ``workdir`` (the Snakemake beside this Python)."""
    exe = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run(
        [str(exe), "--cores", "2", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


_JOB = re.compile(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    wildcards: (.*)$", re.MULTILINE)


def jobs_run(proc: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """The (rule, wildcards) of each per-subject job Snakemake reported, sorted."""
    return sorted(_JOB.findall(proc.stdout + proc.stderr))


def digests(workdir: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under ``workdir/results``, by its path relative to ``workdir``.

    Snakemake's own markers in directory outputs (``.snakemake_timestamp``) are left out, and
    so is any file under a folder named in ``skip`` (e.g. the batches' bookkeeping).
    """
    return {
        str(p.relative_to(workdir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((workdir / "results").rglob("*"))
        if p.is_file()
        and not p.name.startswith(".snakemake")
        and not set(skip) & set(p.relative_to(workdir).parts)
    }
