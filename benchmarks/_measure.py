"""Run a command and measure its wall time, CPU time and peak memory of its whole process tree."""

from __future__ import annotations

import os
import resource
import subprocess
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


def _tree_rss_kb(root: int) -> int:
    """Memory of a process and its descendants, in kB (Linux /proc).

    Each process counts its proportional set size (Pss): pages shared by forked workers
    are split between them rather than counted once per process.
    """
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        children.setdefault(int(fields.get("PPid", "0").strip()), []).append(pid)
        try:
            rollup = (entry / "smaps_rollup").read_text()
        except OSError:
            continue
        pss = next((line for line in rollup.splitlines() if line.startswith("Pss:")), None)
        rss[pid] = int(pss.split()[1]) if pss else 0
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(
    cmd: list[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    poll_s: float = 0.05,
    env: dict[str, str] | None = None,
) -> Measurement:
    """Run ``cmd``; report wall and CPU seconds and the peak summed RSS of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    peak = root_peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        root_peak = max(root_peak, _high_water_kb(proc.pid))
        time.sleep(poll_s)
    stdout, stderr = proc.communicate()
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
