"""Run a command and measure its wall time, CPU time and peak memory of its whole process tree."""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measurement:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float  # the whole process tree, proportional set size
    root_peak_rss_mb: float  # the command's own process (VmHWM)
    returncode: int
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def _tree_rss_kb(root: int) -> int:
    """Memory of a process and its descendants, in kB (Linux /proc).

    Each process counts its proportional set size (Pss): pages shared by forked workers
    are split between them rather than counted once per process.
    """
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        pss = next((line for line in rollup.splitlines() if line.startswith("Pss:")), None)
        total += int(pss.split()[1]) if pss else 0
        stack.extend(_children(pid))
    return total


def measure(
    cmd: list[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    poll_s: float = 0.1,
    env: dict[str, str] | None = None,
) -> Measurement:
    """Run ``cmd``; report wall and CPU seconds and the peak summed RSS of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # output goes to files: a pipe nobody reads until the end would fill and stall the command
    out = tempfile.TemporaryFile("w+")
    err = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, text=True, env=env)
    peak = root_peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        root_peak = max(root_peak, _high_water_kb(proc.pid))
        time.sleep(poll_s)
    proc.wait()
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    out.close()
    err.close()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_mb = peak / 1024
    return Measurement(wall, cpu, peak_mb, root_peak / 1024, proc.returncode, stdout, stderr)


def _high_water_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1])


ROOT = Path(__file__).resolve().parents[1]
#: What a run of the workflow needs from the checkout (the example is generated).
WORKFLOW_PARTS = ("Snakefile", "rules", "scripts", "envs", "config", "profiles", "report", "src")


def synthetic_workflow(work: Path, subjects: int, config: dict) -> Path:
    """Make ``work`` a copy of the workflow over ``subjects`` synthetic subjects; return it.

    The subjects (``zooheat example``, seed 0) are generated once and kept between runs; the
    workflow's files are copied afresh each time, and ``config`` replaces its config.
    """
    import json
    import shutil
    import sys

    example = work / "example"
    if not (example / "subjects.tsv").exists():
        subprocess.run(
            [sys.executable, "-m", "zooheat", "example", str(example), "--subjects", str(subjects)],
            check=True,
        )
    for name in WORKFLOW_PARTS:
        target = work / name
        if target.is_dir():
            shutil.rmtree(target)
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, target)
    (work / "config" / "config.yaml").write_text(json.dumps(config))
    return work
