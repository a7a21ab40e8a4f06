"""The ingest's progress through both phases, reading the export and writing the mark tables.

On a terminal, a tqdm bar per phase with the rate and the time left; in a log (a workflow
job), a tqdm-formatted line every 10 seconds, so the log stays readable.
"""

from __future__ import annotations

import time
from typing import IO

from tqdm import tqdm

__all__ = ["Progress"]

#: Seconds between lines in a log (not a terminal).
LOG_EVERY = 10.0


class Progress:
    """Report an ingest's work on ``stream``; :meth:`close` prints where the time went.

    Parameters
    ----------
    total : int
        Bytes of the export (the reading phase's total).
    stream : text stream
        Where to report (stderr, or a job's log).
    enabled : bool
        False: say nothing.
    """

    def __init__(self, total: int, stream: IO[str], enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and stream.isatty()
        self.start = time.monotonic()
        self._bar: tqdm | None = None
        self._phase = ("reading", max(total, 1), "B")
        self._phase_start = self._last = self.start
        self._rows = 0
        self._open_bar()

    def _open_bar(self) -> None:
        if self.tty:
            name, total, unit = self._phase
            self._bar = tqdm(
                total=total,
                desc=f"ingest: {name}",
                unit=unit,
                unit_scale=unit == "B",
                file=self.stream,
                mininterval=0.2,
                leave=False,
                dynamic_ncols=True,
            )

    def _report(self, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
            if self._phase[0] == "reading":
                self._bar.set_postfix_str(f"{self._rows:,} rows", refresh=False)
            return
        now = time.monotonic()
        if force or now - self._last >= LOG_EVERY:
            self._last = now
            name, total, unit = self._phase
            meter = tqdm.format_meter(
                done, total, now - self._phase_start, unit=unit, unit_scale=unit == "B"
            )
            extra = f", {self._rows:,} rows" if name == "reading" else ""
            print(f"ingest: {name}: {meter}{extra}", file=self.stream, flush=True)

    def __call__(self, rows: int, done: int) -> None:
        """Report ``rows`` scanned and ``done`` bytes of the export read."""
        self._rows = rows
        self._report(done)

    def writing(self, parts: int) -> None:
        """Start the second phase: the mark tables, written in ``parts`` parts."""
        if self._bar is not None:
            self._bar.close()
        self._phase = ("writing mark tables", max(parts, 1), "parts")
        self._phase_start = self._last = time.monotonic()
        self._open_bar()

    def wrote(self, done: int) -> None:
        """Report ``done`` parts of the mark tables written."""
        self._report(done)

    def close(self, rows: int, fast: int, scanned: float) -> None:
        """Print the totals; ``scanned`` is when reading ended and the tables began."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.enabled:
            now = time.monotonic()
            elapsed = now - self.start
            print(
                f"ingest: {rows:,} rows in {elapsed:.1f} s "
                f"({rows / max(elapsed, 1e-9):,.0f} rows/s; {fast:,} by the fast route; "
                f"reading {scanned - self.start:.1f} s, mark tables {now - scanned:.1f} s)",
                file=self.stream,
            )
