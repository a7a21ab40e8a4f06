"""Run panoptes_aggregation's circle reducer on subjects given as JSON (in its own venv).

    .venv-baseline/bin/python benchmarks/_panoptes_reduce.py IN.json OUT.json EPS [EPS ...]

IN holds, per subject, its classifications as panoptes_aggregation's shape extracts. OUT gets,
per eps, the objects found per subject (x, y, r), each mark's cluster, and the CPU seconds the
reducer function took in all (the best of five passes); and, under "in_process", the CPU
seconds of panoptes_aggregation's in-process reduce at the first eps: ``batch_reduce`` with
one CPU, what ``panoptes_aggregation reduce`` runs, on the same extracts as a table in the
layout of its extracts CSV (the table built first, not timed; the best of three passes).
"""

import json
import sys
import time

import pandas
from panoptes_aggregation.reducers.shape_reducer_dbscan import shape_reducer_dbscan
from panoptes_aggregation.scripts.batch_utils import batch_reduce

REPEATS = 5
IN_PROCESS_REPEATS = 3


def best_of(repeats, run):
    """CPU seconds of ``run()``, the best of ``repeats`` passes (this machine's noise aside),
    and what its last pass returned."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        result = run()
        best = min(best, time.process_time() - started)
    return best, result


def reduce_subject(extracts, eps):
    users = list(range(len(extracts)))
    reduced = shape_reducer_dbscan(
        extracts, shape="circle", eps=eps, min_samples=3, user_id=users
    ).get("frame0", {})
    # each mark's cluster (-1: none), in the order of the classifications' marks
    return objects_of(reduced), reduced.get("T0_tool0_cluster_labels", [])


def objects_of(reduced):
    """The objects (x, y, r) of one subject's reduction of frame 0."""
    return [
        [x, y, r]
        for x, y, r in zip(
            reduced.get("T0_tool0_clusters_x", []),
            reduced.get("T0_tool0_clusters_y", []),
            reduced.get("T0_tool0_clusters_r", []),
            strict=True,
        )
    ]


def extracts_table(subjects):
    """The extracts as the extracts CSV has them: a row per classification, data as text."""
    rows = []
    for subject, extracts in enumerate(subjects):
        for k, extract in enumerate(extracts):
            row = {
                "classification_id": len(rows) + 1,
                "user_name": f"volunteer{k}",
                "user_id": k,
                "workflow_id": 1,
                "task": "T0",
                "created_at": pandas.Timestamp("2026-01-01") + pandas.Timedelta(seconds=k),
                "subject_id": subject,
                "extractor": "shape_extractor_circle",
            }
            for key, values in extract.get("frame0", {}).items():
                row[f"data.frame0.{key}"] = json.dumps(values)
            rows.append(row)
    return pandas.DataFrame(rows)


def in_process(subjects, eps, objects):
    """CPU seconds of batch_reduce over all subjects; checks it finds the same objects."""
    config = {
        "reducer_config": {
            "shape_reducer_dbscan": {"shape": "circle", "eps": eps, "min_samples": 3}
        }
    }
    table = extracts_table(subjects)

    def reduce():
        extracts = table.copy()  # batch_reduce sorts its table in place
        return batch_reduce(extracts, config, cpu_count=1, hide_progressbar=True)

    best, reduced = best_of(IN_PROCESS_REPEATS, reduce)
    found = [objects_of(row.get("frame0", {})) for row in reduced["data"]]
    if list(reduced["subject_id"]) != list(range(len(subjects))) or found != objects:
        raise SystemExit("batch_reduce found other objects than the reducer function")
    return best


def main() -> None:
    source, target, *epsilons = sys.argv[1:]
    with open(source) as handle:
        subjects = json.load(handle)
    results = {}
    for eps in epsilons:
        reduce_subject(subjects[0], float(eps))  # the first call imports and warms up
        best, found = best_of(
            REPEATS, lambda eps=eps: [reduce_subject(extracts, float(eps)) for extracts in subjects]
        )
        results[eps] = {
            "seconds": best,
            "objects": [objects for objects, _ in found],
            "labels": [labels for _, labels in found],
        }
    first = epsilons[0]
    results["in_process"] = {
        "eps": float(first),
        "seconds": in_process(subjects, float(first), results[first]["objects"]),
    }
    with open(target, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
