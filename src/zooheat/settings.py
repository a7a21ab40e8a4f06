"""Settings of the methods, checked when made; light to import (no numpy), for the command line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ConsensusSettings"]


@dataclass(frozen=True)
class ConsensusSettings:
    """How marks are grouped into objects.

    Attributes
    ----------
    link : float
        The largest average distance, in radii, between the marks of one object.
    min_volunteers : int
        Volunteers who must mark an object for it to count.
    min_radius : float
        The size of a mark without a radius (or of radius 0), in image pixels; the workflow
        sets it to ``bin_size`` (one scan pixel).
    method : {"average", "complete", "single"}
        The linkage (average is the default; the others are there for comparison).
    scale : {"max", "mean"}
        Which of two marks' sizes their distance is measured in.
    """

    link: float = 1.0
    min_volunteers: int = 3
    min_radius: float = 6.0
    method: Literal["average", "complete", "single"] = "average"
    scale: Literal["max", "mean"] = "max"

    def __post_init__(self) -> None:
        if not (isinstance(self.link, int | float) and self.link > 0):
            raise ValueError(f"consensus link must be a number > 0, got {self.link!r}")
        if not (isinstance(self.min_volunteers, int) and self.min_volunteers >= 1):
            raise ValueError(
                f"consensus min_volunteers must be a whole number >= 1, got {self.min_volunteers!r}"
            )
        if not (isinstance(self.min_radius, int | float) and self.min_radius > 0):
            raise ValueError(f"consensus min_radius must be a number > 0, got {self.min_radius!r}")
        if self.method not in ("average", "complete", "single"):
            raise ValueError(
                f"consensus method {self.method!r}: expected average, complete or single"
            )
        if self.scale not in ("max", "mean"):
            raise ValueError(f"consensus scale {self.scale!r}: expected max or mean")
