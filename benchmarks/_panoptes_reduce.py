"""Run panoptes_aggregation's circle reducer on subjects given as JSON (in its own venv).

    .venv-baseline/bin/python benchmarks/_panoptes_reduce.py IN.json OUT.json EPS [EPS ...]

IN holds, per subject, its classifications as panoptes_aggregation's shape extracts. OUT gets,
per eps, the objects found per subject (x, y, r), each mark's cluster, and the CPU seconds the
reduce took in all (the best of five passes).
"""

import json
import sys
import time

from panoptes_aggregation.reducers.shape_reducer_dbscan import shape_reducer_dbscan

REPEATS = 5


def reduce_subject(extracts, eps):
    users = list(range(len(extracts)))
    reduced = shape_reducer_dbscan(
        extracts, shape="circle", eps=eps, min_samples=3, user_id=users
    ).get("frame0", {})
    objects = [
        [x, y, r]
        for x, y, r in zip(
            reduced.get("T0_tool0_clusters_x", []),
            reduced.get("T0_tool0_clusters_y", []),
            reduced.get("T0_tool0_clusters_r", []),
            strict=True,
        )
    ]
    # each mark's cluster (-1: none), in the order of the classifications' marks
    return objects, reduced.get("T0_tool0_cluster_labels", [])


def main() -> None:
    source, target, *epsilons = sys.argv[1:]
    with open(source) as handle:
        subjects = json.load(handle)
    results = {}
    for eps in epsilons:
        reduce_subject(subjects[0], float(eps))  # the first call imports and warms up
        best = float("inf")
        for _ in range(REPEATS):  # the best of a few passes: this machine's noise aside
            started = time.process_time()
            found = [reduce_subject(extracts, float(eps)) for extracts in subjects]
            best = min(best, time.process_time() - started)
        results[eps] = {
            "seconds": best,
            "objects": [objects for objects, _ in found],
            "labels": [labels for _, labels in found],
        }
    with open(target, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
