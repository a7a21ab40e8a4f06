"""What every workflow script does around its library call: its log, and one clear error line."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from zooheat.errors import ZooheatError

__all__ = ["snakemake_job"]

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def snakemake_job(log_path: PathLike) -> Iterator[TextIO]:
    """Run a workflow script's body with stderr in its log and input errors as one clear line.

    Yields the log file (also ``sys.stderr`` inside the block) for the step's summary.

    A :class:`ZooheatError` is written to the log as ``error: <message>`` (no traceback) and
    to the terminal, and the job exits with status 1, so Snakemake reports the failed job and
    its log. Any other exception is a bug and keeps its traceback.
    """
    log = open(log_path, "w", buffering=1, encoding="utf-8")
    sys.stderr = log
    try:
        yield log
    except ZooheatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if sys.__stderr__ is not None:  # also on the terminal, beside Snakemake's report
            print(f"zooheat: error: {exc}", file=sys.__stderr__)
        sys.exit(1)
