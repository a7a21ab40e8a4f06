"""The workflow at scale: N synthetic subjects, against the in-process limit and the seed.

    .venv/bin/python benchmarks/scale.py --subjects 1000
    .venv/bin/python benchmarks/scale.py --subjects 10000

Measured in one run, on one layer, with the settings the README recommends for large projects
(`batches`, quick-look PNGs): (a) the in-process limit: the same per-subject work (read image
and marks, every step of the chain, write its files) in a loop in one Python process, also
split by phase (read, compute, render, encode, write) in a second, timed run, and the heat
map alone (histogram, zoom, quick look; no consensus, density map or thumbnail) in a third;
(b) the workflow from cold with --cores 2; (c) a no-op rerun; (d) a rerun after one subject's
marks change; (e) the seed-equivalent single-subject command (`zooheat plot`, a matplotlib
figure, one new process per subject), timed on a few subjects and projected to N. The last
line is machine-readable. With --limit-subjects K, (a) runs on the first K subjects and is
projected to N (its process start counted once), so 10^5 subjects need not run it twice:

    .venv/bin/python benchmarks/scale.py --subjects 100000 --batches 100 --limit-subjects 5000
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure, synthetic_workflow

# What both in-process loops begin with: the first `count` subjects, the workflow's settings.
PRELUDE = """
import csv, sys, time
from zooheat.batch import BatchMember
from zooheat.pipeline import STEPS, step_settings
table, results, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(table, newline="") as f:
    rows = [BatchMember(r["subject"], "example/" + r["image"], "example/" + r["blobs"])
            for r in csv.DictReader(f, delimiter="\\t")][:count]
config = {"bin_size": 6, "overlay": {"renderer": "quicklook", "formats": ["png"]}}
settings = step_settings(config)
formats = {name: step.output_formats(config) for name, step in STEPS.items()}
"""

IN_PROCESS = (
    PRELUDE
    + """
from zooheat.batch import run_batch
if len(sys.argv) > 4:  # the same run, each phase's functions timed (PHASES)
    exec(sys.argv[4])
started = time.perf_counter()
run_batch(rows, "blobs", settings=settings, formats=formats, state=results + "/state.json",
          results=results)
print(len(rows), time.perf_counter() - started)
if len(sys.argv) > 4:
    report(len(rows))
"""
)

# The heat map alone, as the workflow ran it before the consensus, the density map and the
# gallery's thumbnail joined the chain: read image and marks, histogram, zoom, quick look,
# write their files (no batch bookkeeping: one chain per subject, in a loop).
HEAT_MAP_ONLY = (
    PRELUDE
    + """
from zooheat.pipeline import SubjectData, run_chain
started = time.perf_counter()
for m in rows:
    data = SubjectData(m.subject, "blobs", image=m.image, marks=m.marks, settings=settings)
    run_chain(data, formats, results=results, steps=("histogram", "zoom", "overlay"))
print(len(rows), time.perf_counter() - started)
"""
)

# Times the functions of each phase of the per-subject chain, each call's own time (a call
# inside another's is counted in its own phase only), and prints ms per subject by phase.
PHASES = """
import collections, dataclasses, functools, json, time
import zooheat.batch, zooheat.pipeline, zooheat.quicklook
spent, stack = collections.Counter(), []
def timed(phase, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        stack.append(0.0)
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            spent[phase] += elapsed - stack.pop()
            if stack:
                stack[-1] += elapsed
    return wrapper
for module, name, phase in [
    (zooheat.pipeline, "read_pixels", "read"), (zooheat.pipeline, "read_marks", "read"),
    (zooheat.batch, "_read", "read"), (zooheat.quicklook, "blend_heat", "render"),
    (zooheat.quicklook, "compose", "render"), (zooheat.quicklook, "png_bytes", "encode"),
    (zooheat.quicklook, "thumbnail", "encode"), (zooheat.pipeline, "write_if_changed", "write"),
    (zooheat.batch, "write_if_changed", "write"),
]:
    setattr(module, name, timed(phase, getattr(module, name)))
for step in list(STEPS.values()):
    STEPS[step.name] = dataclasses.replace(
        step, compute=timed("compute", step.compute), encode=timed("encode", step.encode))
begun = time.perf_counter()
def report(n):
    spent["other"] = time.perf_counter() - begun - sum(spent.values())
    print(json.dumps({k: v / n * 1000 for k, v in spent.items()}))
"""
PHASE_NAMES = ("read", "compute", "render", "encode", "write", "other")


def du_bytes(*folders: Path) -> int:
    out = subprocess.run(["du", "-s", "-B1", *map(str, folders)], capture_output=True, text=True)
    return sum(int(line.split()[0]) for line in out.stdout.splitlines())


def jobs(output: str) -> int:
    return len(re.findall(r"^(?:local)?rule (?!all:)\w+:", output, re.MULTILINE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--batches", type=int, help="default: one per 200 subjects, at least 2")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "zooheat-scale")
    parser.add_argument(
        "--limit-subjects", type=int, help="run (a) on this many subjects, projected to N"
    )
    args = parser.parse_args()
    n = args.subjects
    sample = min(n, args.limit_subjects or n)
    batches = args.batches or max(2, n // 200)

    work = synthetic_workflow(
        args.data / f"n{n}",
        n,
        {
            "panoptes": {"export": None},
            "subjects": "example/subjects.tsv",
            "layers": {"blobs": {"task": "T3", "tool": 0}},
            "bin_size": 6,
            "batches": batches,
            "overlay": {"renderer": "quicklook", "formats": ["png"]},
        },
    )
    example = work / "example"
    for stale in ("results", "logs", ".snakemake", "limit", "limit2", "limit3"):
        shutil.rmtree(work / stale, ignore_errors=True)
    snakemake = [str(Path(sys.executable).with_name("snakemake")), "--cores", "2"]

    table = str(example / "subjects.tsv")
    limit = measure(
        [sys.executable, "-c", IN_PROCESS, table, str(work / "limit"), str(sample)], cwd=work
    )
    assert limit.returncode == 0, limit.stderr
    # the loop's own time (the process's start and imports are in limit.wall_s)
    loop_s = float(limit.stdout.split()[1])
    limit_ms = loop_s / sample * 1000
    limit_s = limit.wall_s - loop_s + limit_ms * n / 1000  # projected to N if sampled
    limit_cpu_s = limit.cpu_s * limit_s / limit.wall_s
    phased = measure(
        [sys.executable, "-c", IN_PROCESS, table, str(work / "limit2"), str(sample), PHASES],
        cwd=work,
    )
    assert phased.returncode == 0, phased.stderr
    phases = json.loads(phased.stdout.splitlines()[-1])
    heat_only = measure(
        [sys.executable, "-c", HEAT_MAP_ONLY, table, str(work / "limit3"), str(sample)], cwd=work
    )
    assert heat_only.returncode == 0, heat_only.stderr
    heat_ms = float(heat_only.stdout.split()[1]) / sample * 1000
    # Every run below pays Snakemake's own start; where SLURM's tools are installed but no
    # controller answers, its SLURM plugin waits for them on import (some 9 s here)
    start = measure([sys.executable, "-c", "import snakemake.cli"], cwd=work)
    cold = measure(snakemake, cwd=work)
    assert cold.returncode == 0, cold.stderr[-2000:]
    noop = measure(snakemake, cwd=work)
    assert noop.returncode == 0 and jobs(noop.stdout + noop.stderr) == 0, noop.stderr[-2000:]
    marks = example / "marks" / "blobs" / "synthetic-0007.csv"
    marks.write_text(marks.read_text() + "latecomer,100.5,200.5,4.0\n")
    change_started = time.time()
    change = measure(snakemake, cwd=work)
    assert change.returncode == 0, change.stderr[-2000:]
    change_jobs = jobs(change.stdout + change.stderr)
    remade = sum(
        int(re.search(r"(\d+) made again", log.read_text()).group(1))
        for log in (work / "logs" / "heatmap_batch" / "blobs").glob("*.log")
        if log.stat().st_mtime >= change_started
    )

    seed_runs = []
    for i in range(3):
        subject = f"synthetic-{i:04d}"
        seed_runs.append(
            measure(
                [
                    sys.executable,
                    "-m",
                    "zooheat",
                    "plot",
                    f"example/images/{subject}.png",
                    f"example/marks/blobs/{subject}.csv",
                    "-o",
                    f"seed-{i}.png",
                    "--histogram",
                    f"seed-{i}-h.npy",
                    "--zoomed",
                    f"seed-{i}-z.npy",
                ],
                cwd=work,
            )
        )
        assert seed_runs[-1].returncode == 0, seed_runs[-1].stderr
    seed_one = sum(r.wall_s for r in seed_runs) / len(seed_runs)

    disk = du_bytes(work / "results" / "histogram", work / "results" / "zoom")
    float64 = n * ((64 * 65 + 384 * 390) * 8 + 2 * 128)
    print(f"{n:,} subjects, 1 layer, {batches} batches, quick-look PNGs, --cores 2")
    print(f"{'':34} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}")
    sampled = f" (on {sample:,}, projected)" if sample < n else ""
    print(
        f"{'(a) in-process limit, 1 process':34} {limit_s:8.1f} {limit_cpu_s:8.1f} "
        f"{limit.peak_rss_mb:8.0f}{sampled}"
    )
    for name, m in (
        ("(b) workflow, cold", cold),
        ("(c) no-op rerun", noop),
        ("(d) one subject changed", change),
    ):
        print(f"{name:34} {m.wall_s:8.1f} {m.cpu_s:8.1f} {m.peak_rss_mb:8.0f}")
    print(
        f"(e) seed-equivalent command, 1 subject: {seed_one:.2f} s -> x{n}: {seed_one * n:,.0f} s"
    )
    print(
        "(a) in-process, ms per subject by phase: "
        + ", ".join(f"{name} {phases.get(name, 0.0):.2f}" for name in PHASE_NAMES)
        + f" (sum {sum(phases.values()):.2f}; untimed {limit_ms:.2f})"
    )
    print(
        f"(a) in-process, the heat map alone (histogram, zoom, quick look; no consensus, "
        f"density map or thumbnail): {heat_ms:.2f} ms per subject"
    )
    print(f"Snakemake's own start (in each run above): {start.wall_s:.1f} s")
    print(f"cold / in-process limit: {cold.wall_s / limit_s:.2f}")
    print(f"seed x N / cold: {seed_one * n / cold.wall_s:.1f}")
    print(
        f"jobs: no-op {jobs(noop.stdout + noop.stderr)}, one change {change_jobs} "
        f"(subjects made again: {remade})"
    )
    print(
        f"snakemake process peak RSS: cold {cold.root_peak_rss_mb:.0f} MB, "
        f"no-op {noop.root_peak_rss_mb:.0f} MB"
    )
    print(
        f"intermediates on disk: {disk / 1e6:,.1f} MB; as float64 {float64 / 1e6:,.1f} MB "
        f"({disk / float64:.1%})"
    )
    print(
        f"cold_s={cold.wall_s:.1f} cold_ratio={cold.wall_s / limit_s:.2f} "
        f"seed_speedup={seed_one * n / cold.wall_s:.1f} noop_s={noop.wall_s:.1f} "
        f"one_change_s={change.wall_s:.1f} "
        f"one_change_jobs={change_jobs} peak_rss_mb={cold.root_peak_rss_mb:.0f} "
        f"limit_ms_per_subject={limit_ms:.2f} heat_map_ms_per_subject={heat_ms:.2f}"
    )


if __name__ == "__main__":
    main()
