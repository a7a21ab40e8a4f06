"""Ingest speed and memory against a plain csv.reader + json.loads loop, on one synthetic export.

    .venv/bin/python benchmarks/ingest.py --rows 100000
    .venv/bin/python benchmarks/ingest.py --rows 1000000

The baseline reads the same file with csv.reader and json.loads every row's three JSON columns
(annotations, subject_data, metadata): the least a full parse does, with nothing written.
zooheat's ingest does that and more: validates every field, filters, extracts the marks,
resolves duplicates and writes the mark tables (one file per subject and layer), manifest,
rejects and summary. Its rows go the compiled fast route (pyarrow, orjson) unless they need
the exact one; its log line says how many took which, and how long reading and writing took.
The export is made by the project's own generator and kept in --data for the next run. The
last line is machine-readable.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure

PLAIN_LOOP = """
import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as handle:
    reader = csv.reader(handle)
    header = next(reader)
    a, s, m = (header.index(c) for c in ("annotations", "subject_data", "metadata"))
    n = 0
    for row in reader:
        json.loads(row[a]); json.loads(row[s]); json.loads(row[m])
        n += 1
print(n)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, help="ingest workers (default: all CPUs, max 4)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "zooheat-bench")
    args = parser.parse_args()

    args.data.mkdir(parents=True, exist_ok=True)
    export = args.data / f"export-{args.rows}.csv"
    if not export.exists():
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "zooheat",
                "synthetic-export",
                str(export),
                "--rows",
                str(args.rows),
            ],
            check=True,
        )
        print(f"generated {export} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    size_mb = export.stat().st_size / 1e6
    print(f"export: {args.rows:,} rows, {size_mb:,.0f} MB ({export})")

    plain = measure([sys.executable, "-c", PLAIN_LOOP, str(export)])
    assert plain.returncode == 0, plain.stderr
    assert int(plain.stdout) == args.rows, plain.stdout

    # A fresh output folder. The last run's is deleted only after measuring: on ext4, files
    # created just after thousands were deleted take several times longer (seen here: 0.13 ms
    # -> 0.4-0.8 ms each), which would time the file system's journal, not the ingest.
    out = args.data / f"out-{args.rows}"
    old = args.data / f"out-{args.rows}.old"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    cmd = [
        sys.executable,
        "-m",
        "zooheat",
        "ingest",
        str(export),
        "-o",
        str(out),
        "--layer",
        "blobs=T3:0",
        "--layer",
        "rings=T3:1",
        "--workflow-id",
        "1234",
    ]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    cold = measure(cmd)
    assert cold.returncode == 0, cold.stderr
    warm = measure(cmd)  # the same export again: nothing to rewrite
    assert warm.returncode == 0, warm.stderr
    lines = cold.stderr.strip().splitlines()
    print(lines[-1])
    print(next(line for line in lines if " rows in " in line))  # where the time went
    shutil.rmtree(old, ignore_errors=True)

    rate_plain = args.rows / plain.wall_s
    rate = args.rows / cold.wall_s
    print(f"{'':24} {'wall s':>8} {'cpu s':>8} {'rows/s':>10} {'peak RSS MB':>12}")
    for name, m in (
        ("plain csv+json loop", plain),
        ("zooheat ingest (new)", cold),
        ("zooheat ingest (again)", warm),
    ):
        print(
            f"{name:24} {m.wall_s:8.1f} {m.cpu_s:8.1f} {args.rows / m.wall_s:10,.0f} "
            f"{m.peak_rss_mb:12.0f}"
        )
    print(
        f"ratio vs plain loop (rows/s): {rate / rate_plain:.2f}; "
        f"again: {args.rows / warm.wall_s / rate_plain:.2f}"
    )
    try:
        import panoptes_aggregation  # noqa: F401
    except ImportError:
        print("panoptes_aggregation: not installed here, not measured")
    print(
        f"rows={args.rows} rows_per_s={rate:.0f} ratio_vs_plain={rate / rate_plain:.2f} "
        f"peak_rss_mb={cold.peak_rss_mb:.0f}"
    )


if __name__ == "__main__":
    main()
