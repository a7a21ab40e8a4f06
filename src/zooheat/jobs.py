"""What every workflow script does around its library call: its log, and one clear error line."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from zooheat.errors import ZooheatError, error_line

__all__ = ["failed_jobs", "failed_run_report", "job_error", "snakemake_job"]

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def snakemake_job(log_path: PathLike) -> Iterator[TextIO]:
    """Run a workflow script's body with stderr in its log and input errors as one clear line.

    Yields the log file (also ``sys.stderr`` inside the block) for the step's summary.

    A :class:`ZooheatError`, or an error of the file system (disk full, read-only, ...), is
    written to the log as ``error: <message>`` (no traceback) and to the terminal, and the job
    exits with status 1, so Snakemake reports the failed job and its log. Any other
    exception is a bug and keeps its traceback.
    """
    log = open(log_path, "w", buffering=1, encoding="utf-8")
    sys.stderr = log
    try:
        yield log
    except (ZooheatError, OSError) as exc:
        message = error_line(exc)
        print(f"error: {message}", file=sys.stderr)
        if sys.__stderr__ is not None:  # also on the terminal, beside Snakemake's report
            print(f"zooheat: error: {message}", file=sys.__stderr__)
        sys.exit(1)


def failed_jobs(snakemake_log: str) -> list[tuple[str, tuple[str, ...]]]:
    """Find the rule and log files of each failed job in the text of Snakemake's own log.

    Read from its ``Error in rule NAME:`` blocks, in order; a job tried again (``retries``)
    is listed once.

    Examples
    --------
    >>> text = '''Error in rule overlay:
    ...     jobid: 40
    ...     log: logs/overlay/a.log, logs/overlay/b.log (check log file(s) for error details)
    ... Finished jobid: 3'''
    >>> failed_jobs(text)
    [('overlay', ('logs/overlay/a.log', 'logs/overlay/b.log'))]
    """
    jobs: list[tuple[str, tuple[str, ...]]] = []
    in_block = False
    for line in snakemake_log.splitlines():
        if line.startswith("Error in rule ") and line.endswith(":"):
            jobs.append((line[len("Error in rule ") : -1], ()))
            in_block = True
        elif in_block and line.startswith("    log: "):
            paths = line[len("    log: ") :].split(" (check log file")[0]
            jobs[-1] = (jobs[-1][0], tuple(p.strip() for p in paths.split(",") if p.strip()))
        elif not line.startswith("    "):
            in_block = False
    listed: list[tuple[str, tuple[str, ...]]] = []
    for job in jobs:
        if not job[1] or job not in listed:  # a job without a log cannot be told apart
            listed.append(job)
    return listed


def job_error(log_path: PathLike, max_lines: int = 6) -> str:
    """Say what a failed job's log says went wrong: its ``error:`` lines, else its last line.

    The scripts write a failure as ``error: MESSAGE`` (a batch adds one line per failed
    subject); a crash leaves a traceback, whose last line names the exception.
    """
    try:
        with open(log_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - 65536, 0))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no log was written)"
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    if starts:
        shown = lines[starts[-1] : starts[-1] + max_lines]
        shown[0] = shown[0][len("error: ") :]
        more = len(lines) - starts[-1] - len(shown)
        if more > 0:
            shown.append(f"... ({more} more lines in the log)")
        return "\n      ".join(shown)
    last = next((line for line in reversed(lines) if line.strip()), "")
    return f"last line of the log: {last.strip()[:200]}" if last else "(the log is empty)"


def failed_run_report(snakemake_logs: PathLike | list[PathLike] | None) -> str:
    """Write the end of a failed run's output: each failed job, its log and its error.

    The Snakefile's ``onerror`` prints this from Snakemake's own log file(s), so the user
    need not search the run's output for the jobs that failed.
    """
    paths = snakemake_logs if isinstance(snakemake_logs, list) else [snakemake_logs]
    text = []
    for path in paths:
        if path is None:
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text.append(handle.read())
        except OSError:
            pass
    jobs = failed_jobs("\n".join(text))
    if not jobs:
        return "zooheat: the run failed; the reason is in the output above"
    lines = [f"zooheat: {len(jobs)} failed job{'s' if len(jobs) != 1 else ''}:"]
    for rule, logs in jobs:
        if not logs:
            lines.append(f"  {rule}: (no log; see the run's output above)")
            continue
        lines.append(f"  {rule} (log: {', '.join(logs)}):")
        lines.append(f"      {job_error(logs[0])}")
    return "\n".join(lines)
