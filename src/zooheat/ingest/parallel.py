"""Phase 1 across processes: the export's chunks scanned by worker processes.

Workers are forked after the fast route's modules are imported, so they share them. Each
task is a record-aligned span of the export, ``(first line, offset, length)``: the worker
reads those bytes itself (from the page cache), so none travel through a pipe.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from zooheat.errors import ZooheatError
from zooheat.ingest import chunks
from zooheat.ingest.scan import ChunkScanner, ScanPlan, ScanTotals

__all__ = ["scan_export"]

#: ``progress(rows scanned, bytes of the export done)``
Progress = Callable[[int, int], None]


def _spans(plan: ScanPlan) -> Iterator[tuple[int, int, bytes]]:
    """``(first line, offset, bytes)`` of each record-aligned chunk after the header."""
    line, at = plan.first_line, plan.offset
    with open(plan.export, "rb") as handle:
        handle.seek(plan.offset)
        for chunk in chunks.record_chunks(handle, chunks.CHUNK_BYTES):
            yield line, at, chunk
            line += chunk.count(b"\n")
            at += len(chunk)


def _worker_main(worker: int, plan: ScanPlan, tasks: Any, results: Any) -> None:
    try:
        scanner = ChunkScanner(worker, plan)
        with open(plan.export, "rb") as handle:
            for first_line, offset, length in iter(tasks.get, None):
                data = os.pread(handle.fileno(), length, offset)
                if len(data) != length:
                    raise ZooheatError(f"{plan.export}: changed while being read")
                results.put(("progress", scanner.scan(first_line, data)))
        results.put(("done", scanner.finish()))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def scan_export(plan: ScanPlan, workers: int, progress: Progress) -> list[ScanTotals]:
    """Scan the whole export with ``workers`` processes (in this one when ``workers <= 1``).

    Returns
    -------
    list of ScanTotals
        One per worker; worker ``k`` spooled to the files named by ``k``.

    Raises
    ------
    ZooheatError
        A worker failed or died.
    """
    total = plan.export.stat().st_size
    if workers <= 1:
        scanner = ChunkScanner(0, plan)
        rows = 0
        done = plan.offset
        for line, _, chunk in _spans(plan):
            rows += scanner.scan(line, chunk)
            done += len(chunk)
            progress(rows, done)
        return [scanner.finish()]

    if plan.fast:  # once, before the workers fork: they share its memory
        import zooheat.ingest.fastscan  # noqa: F401
    ctx = multiprocessing.get_context("fork")
    tasks = ctx.Queue(maxsize=2 * workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker_main, args=(k, plan, tasks, results), daemon=True)
        for k in range(workers)
    ]
    for proc in procs:
        proc.start()
    finals: list[ScanTotals] = []
    rows = 0
    done = plan.offset

    def drain(block: bool) -> None:
        nonlocal rows
        while True:
            try:
                kind, payload = results.get(block=block, timeout=1 if block else None)
            except queue.Empty:
                return
            if kind == "error":
                raise ZooheatError(f"{plan.export}: ingest worker failed:\n{payload}")
            if kind == "progress":
                rows += payload
                progress(rows, min(done, total))
            else:
                finals.append(payload)
            if block:
                return

    try:
        for line, at, chunk in _spans(plan):
            task = (line, at, len(chunk))
            while True:
                try:
                    tasks.put(task, timeout=0.2)
                    break
                except queue.Full:  # report progress while workers catch up
                    drain(block=False)
                    if not all(p.is_alive() for p in procs):
                        drain(block=False)
                        raise ZooheatError(f"{plan.export}: an ingest worker died") from None
            done += len(chunk)
            drain(block=False)
        for _ in procs:
            tasks.put(None)
        while len(finals) < workers:
            if not any(p.is_alive() for p in procs) and results.empty():
                raise ZooheatError(f"{plan.export}: an ingest worker died before finishing")
            drain(block=True)
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
    return finals
