"""The ingest's progress: a bar on a terminal, a line every few seconds in a log."""

from __future__ import annotations

import time
from typing import IO

__all__ = ["Progress"]


class Progress:
    """Report rows and bytes done on ``stream``; :meth:`close` prints where the time went."""

    def __init__(self, total: int, stream: IO[str], enabled: bool) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and stream.isatty()
        self.start = self.last = time.monotonic()

    def __call__(self, rows: int, done: int) -> None:
        """Report ``rows`` scanned and ``done`` bytes of the export (not more often than needed)."""
        now = time.monotonic()
        if not self.enabled or now - self.last < (0.2 if self.tty else 10):
            return
        self.last = now
        rate = rows / max(now - self.start, 1e-9)
        fraction = min(done / self.total, 1.0)
        if self.tty:
            bar = "#" * int(30 * fraction)
            print(
                f"\ringest [{bar:<30}] {fraction:6.1%} {rows:,} rows {rate:,.0f} rows/s",
                end="",
                file=self.stream,
                flush=True,
            )
        else:
            print(f"ingest: {fraction:.1%} {rows:,} rows, {rate:,.0f} rows/s", file=self.stream)

    def close(self, rows: int, fast: int, scanned: float) -> None:
        """Print the totals; ``scanned`` is when reading ended and the tables began."""
        if self.enabled:
            now = time.monotonic()
            elapsed = now - self.start
            end = "\n" if self.tty else ""
            print(
                f"{end}ingest: {rows:,} rows in {elapsed:.1f} s "
                f"({rows / max(elapsed, 1e-9):,.0f} rows/s; {fast:,} by the fast route; "
                f"reading {scanned - self.start:.1f} s, mark tables {now - scanned:.1f} s)",
                file=self.stream,
            )
