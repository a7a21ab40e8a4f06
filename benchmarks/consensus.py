"""Consensus objects against the known truth: zooheat's method beside panoptes_aggregation's.

    .venv/bin/python benchmarks/consensus.py                # 300 subjects, defaults
    .venv/bin/python benchmarks/consensus.py --hard         # close blobs, noisier crowd
    .venv/bin/python benchmarks/consensus.py --candidates   # the variants it was chosen from

Subjects come from zooheat.synthetic.marked_subject with a seed no test uses, so each mark's
true blob is known. A true blob is found when an object's centre lies within half its radius
(objects and blobs paired one to one, nearest first). Reported per method: recall (blobs
found / all blobs), the most any method could find (blobs that at least 3 volunteers marked),
spurious objects per true blob, the median relative radius error of the found blobs (an object
without a radius counts as 100% off), merges (objects holding two true blobs that at least 3
volunteers each marked), and two times per subject (CPU time, the best of five passes in each of
three rounds that alternate between the two sides):

- ms/subject, the grouping alone: zooheat's consensus_of_marks on marks in memory, beside
  panoptes_aggregation's reducer function (shape_reducer_dbscan) on extracts in memory;
- in process, the whole step in memory: for zooheat, each subject's mark table as CSV text
  parsed, grouped, and its objects' table written as text; for panoptes_aggregation, its
  in-process reduce, batch_reduce with one CPU (what `panoptes_aggregation reduce` runs), on
  the extracts as a table in its extracts CSV's layout (reading that CSV not timed). It finds
  the same objects as the reducer function, or the benchmark stops.

The baseline is panoptes_aggregation's shape_reducer_dbscan on circles (x, y, r), with its
defaults (eps 5, min_samples 3) and with eps 15 (its in-process reduce at eps 5 only), run in
its own environment (.venv-baseline, made from benchmarks/baseline-requirements.txt on first
use: it pins numpy and pandas below the versions zooheat uses). The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from zooheat.consensus import (
    ConsensusSettings,
    consensus_of_marks,
    format_consensus,
    volunteers_of,
)
from zooheat.marks import format_marks, parse_marks
from zooheat.synthetic import HARD_VOLUNTEERS, VolunteerModel, marked_subject

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".venv-baseline"
SEED = 20261128  # no test uses this seed
ROUNDS = 3


def baseline_python() -> Path | None:
    """The interpreter that has panoptes_aggregation, made on first use; None if it fails."""
    python = BASELINE / "bin" / "python"
    if not python.exists():
        print(f"making {BASELINE} for panoptes_aggregation (once)...", file=sys.stderr)
        made = subprocess.run([sys.executable, "-m", "venv", str(BASELINE)], check=False)
        requirements = ROOT / "benchmarks" / "baseline-requirements.txt"
        pip = [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)]
        if made.returncode != 0 or subprocess.run(pip, check=False).returncode != 0:
            return None
    return python


def match(truth: np.ndarray, found: np.ndarray) -> tuple[int, int, list[float]]:
    """Pair objects with true blobs (centre within half the radius, nearest first).

    Returns the blobs found, the spurious objects and the relative radius errors.
    """
    pairs = []
    for t, (tx, ty, tr) in enumerate(truth):
        for o, (ox, oy, _) in enumerate(found):
            gap = float(np.hypot(ox - tx, oy - ty))
            if gap <= 0.5 * tr:
                pairs.append((gap, t, o))
    used_t: set[int] = set()
    used_o: set[int] = set()
    errors = []
    for _, t, o in sorted(pairs):
        if t in used_t or o in used_o:
            continue
        used_t.add(t)
        used_o.add(o)
        r = found[o][2]
        errors.append(1.0 if not np.isfinite(r) else abs(r - truth[t][2]) / truth[t][2])
    return len(used_t), len(found) - len(used_o), errors


def merges(subject, labels: np.ndarray) -> int:
    """Objects holding two true blobs that 3+ volunteers each marked (within the object)."""
    who = np.array(volunteers_of(subject.marks))
    merged = 0
    for k in set(labels.tolist()) - {-1, 0}:
        inside = labels == k
        blobs = [
            b for b in set(subject.source[inside].tolist()) - {-1}
            if len(set(who[inside & (subject.source == b)])) >= 3
        ]  # fmt: skip
        merged += len(blobs) >= 2
    return merged


def score(name, subjects, objects, seconds, labels=None) -> dict:
    blobs = sum(len(s.truth) for s in subjects)
    found = spurious = 0
    errors: list[float] = []
    for s, o in zip(subjects, objects, strict=True):
        f, sp, e = match(s.truth, np.asarray(o, dtype=np.float64).reshape(-1, 3))
        found, spurious, errors = found + f, spurious + sp, errors + e
    merged = "-"
    if labels is not None:
        merged = sum(merges(s, np.asarray(lab)) for s, lab in zip(subjects, labels, strict=True))
    return {
        "name": name,
        "merged": merged,
        "recall": found / blobs,
        "spurious": spurious / blobs,
        "radius_err": float(np.median(errors)) if errors else float("nan"),
        "ms": 1000 * seconds / len(subjects),
    }


def reachable(subjects) -> float:
    """The recall a method could reach: blobs that at least 3 volunteers marked."""
    total = hits = 0
    for s in subjects:
        who = np.array(volunteers_of(s.marks))
        for k in range(len(s.truth)):
            total += 1
            hits += len(set(who[s.source == k])) >= 3
    return hits / total


def best_seconds(run) -> float:
    """CPU seconds of ``run()``, the best of five passes."""
    seconds = float("inf")
    for _ in range(5):
        started = time.process_time()
        run()
        seconds = min(seconds, time.process_time() - started)
    return seconds


def ours(subjects, settings: ConsensusSettings, name: str, in_process: bool = False) -> dict:
    def group():
        return [
            consensus_of_marks(s.marks, classifications=s.classifications, settings=settings)
            for s in subjects
        ]

    results = group()  # the objects scored; this first pass also warms up (imports)
    seconds = best_seconds(group)
    objects = [np.column_stack([c.x, c.y, c.r]) for c in results]
    row = score(name, subjects, objects, seconds, [c.labels for c in results])
    if in_process:
        # The whole step in memory, as panoptes_aggregation's in-process reduce is timed:
        # each subject's mark table as CSV text, parsed, grouped, its objects' table written.
        tables = [(format_marks(s.marks).splitlines(), s.classifications) for s in subjects]

        def step():
            for lines, classifications in tables:
                found = consensus_of_marks(
                    parse_marks(lines), classifications=classifications, settings=settings
                )
                format_consensus(found)

        row["ms_in_process"] = 1000 * best_seconds(step) / len(subjects)
    return row


def panoptes(subjects, epsilons) -> list[dict]:
    python = baseline_python()
    if python is None:
        print("panoptes_aggregation: could not be installed here, not measured")
        return []
    extracts = []
    orders = []  # each subject's marks in the order the reducer sees them
    for s in subjects:
        by_classification: dict[str, list[int]] = {}
        for i, c in enumerate(s.marks.extra["classification_id"]):
            by_classification.setdefault(c, []).append(i)
        orders.append([i for rows in by_classification.values() for i in rows])
        subject = []
        for rows in by_classification.values():
            subject.append(
                {
                    "frame0": {
                        "T0_tool0_x": s.marks.x[rows].tolist(),
                        "T0_tool0_y": s.marks.y[rows].tolist(),
                        "T0_tool0_r": s.marks.r[rows].tolist(),
                    }
                }
            )
        # classifiers who marked nothing
        subject += [{}] * (s.classifications - len(by_classification))
        extracts.append(subject)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.json", Path(tmp) / "out.json"
        source.write_text(json.dumps(extracts))
        script = ROOT / "benchmarks" / "_panoptes_reduce.py"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        subprocess.run(
            [str(python), str(script), str(source), str(target), *map(str, epsilons)],
            check=True,
            env=env,
        )
        results = json.loads(target.read_text())
    rows = []
    for eps in epsilons:
        result = results[str(eps)]
        labels = []
        for order, seen in zip(orders, result["labels"], strict=True):
            mine = np.full(len(order), -1)
            mine[order] = seen  # back to the marks' own order
            labels.append(mine)
        name = f"panoptes DBSCAN eps={eps}"
        rows.append(score(name, subjects, result["objects"], result["seconds"], labels))
    rows[0]["ms_in_process"] = 1000 * results["in_process"]["seconds"] / len(subjects)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=300)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--hard", action="store_true", help="close blobs, noisier volunteers")
    parser.add_argument(
        "--candidates", action="store_true", help="also the variants the method was chosen from"
    )
    args = parser.parse_args()

    model = HARD_VOLUNTEERS if args.hard else VolunteerModel()
    subjects = [marked_subject(i, seed=args.seed, model=model) for i in range(args.subjects)]
    marks = sum(len(s.marks) for s in subjects)
    blobs = sum(len(s.truth) for s in subjects)
    best = reachable(subjects)
    print(
        f"{args.subjects} subjects ({'hard' if args.hard else 'default'} crowd, seed {args.seed}): "
        f"{blobs} true blobs, {marks} marks, {model.volunteers} volunteers each; "
        f"the most any method could find: recall {best:.3f}"
    )
    # Rounds of both, each side's best kept: this machine's speed drifts over minutes, and
    # timing one side only early and the other only late would measure the drift.
    mine = ours(subjects, ConsensusSettings(), "zooheat (defaults)", in_process=True)
    baseline = panoptes(subjects, (5.0, 15.0))
    for _ in range(ROUNDS - 1):
        again = ours(subjects, ConsensusSettings(), "zooheat (defaults)", in_process=True)
        for key in ("ms", "ms_in_process"):
            mine[key] = min(mine[key], again[key])
        for kept, other in zip(baseline, panoptes(subjects, (5.0, 15.0)), strict=True):
            for key in ("ms", "ms_in_process"):
                if key in kept:
                    kept[key] = min(kept[key], other[key])
    rows = [mine]
    if args.candidates:
        for method in ("average", "complete", "single"):
            for link in (0.5, 0.75, 1.0, 1.5, 2.0):
                for scale in ("max", "mean"):
                    settings = ConsensusSettings(link=link, method=method, scale=scale)
                    rows.append(ours(subjects, settings, f"{method} link={link} scale={scale}"))
    rows += baseline
    print(
        f"{'method':34} {'recall':>7} {'spurious':>9} {'radius err':>10} {'merged':>7} "
        f"{'ms/subject':>10} {'in process':>10}"
    )
    for row in rows:
        in_process = f"{row['ms_in_process']:10.3f}" if "ms_in_process" in row else f"{'':10}"
        print(
            f"{row['name']:34} {row['recall']:7.3f} {row['spurious']:9.3f} "
            f"{row['radius_err']:10.3f} {row['merged']:>7} {row['ms']:10.3f} {in_process}"
        )
    mine = rows[0]
    default = baseline[0] if baseline else {"recall": float("nan"), "spurious": float("nan")}
    if baseline:
        print(
            f"speed, in process: {default['ms_in_process'] / mine['ms_in_process']:.1f}x "
            "panoptes_aggregation's in-process reduce (eps=5)"
        )
        print(
            f"speed, grouping alone: {default['ms'] / mine['ms']:.1f}x "
            "panoptes_aggregation's reducer function (eps=5)"
        )
    print(
        f"recall={mine['recall']:.3f} spurious={mine['spurious']:.3f} "
        f"radius_err={mine['radius_err']:.3f} baseline_recall={default['recall']:.3f} "
        f"baseline_spurious={default['spurious']:.3f} ms_per_subject={mine['ms']:.3f}"
    )


if __name__ == "__main__":
    main()
