"""Synthetic nuclear-track-detector scans and volunteers' marks, for the example and tests.

A scan is a small grey image (MoEDAL's are 64x65 pixels) of speckled plastic with dark filled
"blobs" and dark "rings", shown to volunteers scaled up (x6). Volunteers' marks scatter around
the true centres; some volunteers miss an object, some misclick anywhere on the image, and
some leave a circle of radius 0. Everything is drawn from ``numpy.random.default_rng`` seeded
by ``(seed, index)``, so the same arguments give the same pixels and marks on every machine.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from zooheat.fileio import atomic_write
from zooheat.marks import Marks, write_marks

__all__ = [
    "HARD_VOLUNTEERS",
    "MarkedSubject",
    "SyntheticSubject",
    "VolunteerModel",
    "marked_subject",
    "synthetic_marks",
    "synthetic_subject",
    "write_example",
]

#: The layers the generator draws: blobs (filled discs) and rings (annuli).
SYNTHETIC_LAYERS = ("blobs", "rings")
# Volunteers who classify each subject of the example.
_EXAMPLE_VOLUNTEERS = 25


@dataclass(frozen=True)
class SyntheticSubject:
    """One synthetic subject: the upscaled image, the true objects and volunteers' marks.

    Attributes
    ----------
    subject : str
        Subject id, e.g. ``"synthetic-0003"``.
    image : numpy.ndarray
        uint8 grey image, ``(scan rows * scale, scan cols * scale)``.
    truth : dict of str to numpy.ndarray
        Per layer, ``(n, 3)`` true ``x, y, r`` in image pixels.
    marks : dict of str to Marks
        Per layer, the volunteers' marks (columns ``user, x, y, r``).
    """

    subject: str
    image: np.ndarray
    truth: dict[str, np.ndarray]
    marks: dict[str, Marks]


def _scan(rng: np.random.Generator, shape: tuple[int, int], truth: dict[str, np.ndarray]):
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols] + 0.5
    scan = 0.86 + 0.06 * rng.standard_normal(shape)
    speckles = rng.random(shape) < 0.02
    scan[speckles] -= rng.uniform(0.15, 0.35, speckles.sum())
    for x, y, r in truth["blobs"]:
        d = np.hypot(xx - x, yy - y)
        scan -= 0.75 * np.clip(r + 0.5 - d, 0, 1)
    for x, y, r in truth["rings"]:
        d = np.abs(np.hypot(xx - x, yy - y) - r)
        scan -= 0.6 * np.clip(1.5 - d, 0, 1)
    return (np.clip(scan, 0, 1) * 255).round().astype(np.uint8)


def _objects(rng: np.random.Generator, n: int, shape: tuple[int, int], radius: tuple[float, float]):
    rows, cols = shape
    r = rng.uniform(*radius, n)
    x = rng.uniform(r + 1, cols - r - 1)
    y = rng.uniform(r + 1, rows - r - 1)
    return np.column_stack([x, y, r])


def _volunteer_marks(
    rng: np.random.Generator,
    truth_px: np.ndarray,
    users: list[str],
    image_shape: tuple[int, int],
    scatter_px: float,
) -> Marks:
    rows, cols = image_shape
    out: list[tuple[str, float, float, float]] = []
    for user in users:
        for x, y, r in truth_px:
            if rng.random() < 0.12:  # missed it
                continue
            mx, my = rng.normal((x, y), scatter_px)
            mr = 0.0 if rng.random() < 0.1 else r * rng.lognormal(0, 0.25)
            out.append((user, mx, my, mr))
        if len(truth_px) and rng.random() < 0.1:  # a misclick while marking this layer
            out.append((user, rng.uniform(0, cols), rng.uniform(0, rows), 0.0))
    arr = np.array([o[1:] for o in out], dtype=np.float64).reshape(-1, 3).round(2)
    return Marks(
        x=np.clip(arr[:, 0], 0, cols),
        y=np.clip(arr[:, 1], 0, rows),
        r=arr[:, 2],
        extra={"user": tuple(o[0] for o in out)},
    )


def _truth_and_marks(
    index: int, seed: int, scan_shape: tuple[int, int], scale: int, n_volunteers: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Marks]]:
    # Objects, the image's noise and the marks draw from separate streams, so that marks can
    # be made without rendering the image (synthetic exports of a million classifications).
    rng = np.random.default_rng([seed, index, 0])
    truth_scan = {
        "blobs": _objects(rng, int(rng.integers(1, 4)), scan_shape, (2.5, 6.0)),
        "rings": _objects(rng, int(rng.integers(0, 3)), scan_shape, (3.5, 7.0)),
    }
    rng = np.random.default_rng([seed, index, 2])
    users = [f"volunteer{int(u):03d}" for u in rng.choice(400, n_volunteers, replace=False)]
    image_shape = (scan_shape[0] * scale, scan_shape[1] * scale)
    truth = {layer: t * scale for layer, t in truth_scan.items()}
    marks = {
        layer: _volunteer_marks(rng, truth[layer], users, image_shape, scatter_px=0.8 * scale)
        for layer in SYNTHETIC_LAYERS
    }
    return truth_scan, truth, marks


def synthetic_marks(
    index: int,
    *,
    seed: int = 0,
    scan_shape: tuple[int, int] = (64, 65),
    scale: int = 6,
    n_volunteers: int = 25,
) -> tuple[dict[str, np.ndarray], dict[str, Marks]]:
    """Make the true objects and volunteers' marks of :func:`synthetic_subject`, not the image.

    Returns
    -------
    truth, marks : dict
        As the attributes of :class:`SyntheticSubject`.
    """
    _, truth, marks = _truth_and_marks(index, seed, scan_shape, scale, n_volunteers)
    return truth, marks


def synthetic_subject(
    index: int,
    *,
    seed: int = 0,
    scan_shape: tuple[int, int] = (64, 65),
    scale: int = 6,
    n_volunteers: int = 25,
) -> SyntheticSubject:
    """Make one synthetic subject, the same for the same arguments.

    Parameters
    ----------
    index : int
        Which subject (0, 1, ...); also its id ``synthetic-NNNN``.
    seed : int
        Seed of the whole synthetic project.
    scan_shape : tuple of int
        ``(rows, cols)`` of the scan before upscaling.
    scale : int
        Upscaling factor of the image shown to volunteers.
    n_volunteers : int
        Volunteers who classified the subject.

    Examples
    --------
    >>> s = synthetic_subject(3)
    >>> s.subject, s.image.shape, s.image.dtype.name
    ('synthetic-0003', (384, 390), 'uint8')
    >>> bool(np.array_equal(s.image, synthetic_subject(3).image))
    True
    """
    truth_scan, truth, marks = _truth_and_marks(index, seed, scan_shape, scale, n_volunteers)
    scan = _scan(np.random.default_rng([seed, index, 1]), scan_shape, truth_scan)
    image = np.repeat(np.repeat(scan, scale, axis=0), scale, axis=1)
    return SyntheticSubject(f"synthetic-{index:04d}", image, truth, marks)


def write_example(outdir: str | os.PathLike[str], n_subjects: int, *, seed: int = 0) -> Path:
    """Write a synthetic project: images, per-layer mark tables, a subject table and the truth.

    Layout under ``outdir``: ``images/{subject}.png``, ``marks/{layer}/{subject}.csv``,
    ``truth.csv`` (subject, layer, x, y, r of every true object) and ``subjects.tsv`` (columns
    ``subject``, ``image``, ``classifications`` (the volunteers who classified it) and one per
    layer, paths relative to the table).

    Returns
    -------
    pathlib.Path
        The subject table.
    """
    out = Path(outdir)
    table_rows = []
    truth_rows = []
    for index in range(n_subjects):
        s = synthetic_subject(index, seed=seed, n_volunteers=_EXAMPLE_VOLUNTEERS)
        image_rel = f"images/{s.subject}.png"
        (out / "images").mkdir(parents=True, exist_ok=True)
        with atomic_write(out / image_rel) as handle:
            Image.fromarray(s.image, mode="L").save(handle, format="png")
        row = [s.subject, image_rel, str(_EXAMPLE_VOLUNTEERS)]
        for layer in SYNTHETIC_LAYERS:
            rel = f"marks/{layer}/{s.subject}.csv"
            write_marks(s.marks[layer], out / rel)
            row.append(rel)
            truth_rows += [[s.subject, layer, *(f"{v:.2f}" for v in t)] for t in s.truth[layer]]
        table_rows.append(row)
    with atomic_write(out / "truth.csv", "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["subject", "layer", "x", "y", "r"])
        writer.writerows(truth_rows)
    table = out / "subjects.tsv"
    with atomic_write(table, "w") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["subject", "image", "classifications", *SYNTHETIC_LAYERS])
        writer.writerows(table_rows)
    return table


@dataclass(frozen=True)
class VolunteerModel:
    """How synthetic volunteers mark blobs; lengths in scan pixels.

    The defaults follow the real MoEDAL reference marks (``shared/reference``: 36 marks,
    29 on one blob of radius 51 image pixels): centres scattered by 0.09 radius, log radii
    by 0.065 with one radius in 27 about twice the rest, 7% of radii 0, a fifth of the
    marks elsewhere on the image.

    Attributes
    ----------
    volunteers : int
        Volunteers who classify each subject.
    miss : float
        Chance that a volunteer does not mark a blob.
    scatter : float
        Standard deviation of a marked centre along each axis, relative to the blob's radius.
    scatter_floor : float
        The least standard deviation, in scan pixels (a click is never better than this).
    radius_sigma : float
        Standard deviation of log(marked radius / true radius).
    radius_outlier : float
        Chance that a marked radius is about twice the truth.
    zero_radius : float
        Chance that a mark has radius 0 (a click without dragging).
    misclick : float
        Chance that a volunteer adds a mark anywhere on the image.
    double_click : float
        Chance that a volunteer marks a blob twice.
    blobs : tuple of int
        Fewest and most blobs per subject.
    radius : tuple of float
        Smallest and largest true radius.
    pairs : bool
        Place blobs in pairs closer than two radii (centre to centre 1.2 to 2 radii of the
        larger), the hard case for telling blobs apart.
    """

    volunteers: int = 15
    miss: float = 0.15
    scatter: float = 0.09
    scatter_floor: float = 0.4
    radius_sigma: float = 0.065
    radius_outlier: float = 0.04
    zero_radius: float = 0.07
    misclick: float = 0.2
    double_click: float = 0.05
    blobs: tuple[int, int] = (1, 3)
    radius: tuple[float, float] = (2.0, 9.0)
    pairs: bool = False


#: A noisier crowd marking blobs that sit close together (benchmarks/consensus.py --hard).
HARD_VOLUNTEERS = VolunteerModel(
    miss=0.25,
    scatter=0.2,
    scatter_floor=0.6,
    radius_sigma=0.2,
    radius_outlier=0.1,
    zero_radius=0.2,
    misclick=0.4,
    double_click=0.15,
    blobs=(2, 4),
    pairs=True,
)


@dataclass(frozen=True)
class MarkedSubject:
    """A synthetic subject's true blobs and volunteers' marks, each mark tied to its source.

    Attributes
    ----------
    truth : numpy.ndarray
        ``(n, 3)`` true ``x, y, r`` in image pixels.
    marks : Marks
        The marks, with ``user`` and ``classification_id`` columns.
    source : numpy.ndarray
        Per mark, the index of the true blob it was made for, or -1 for a misclick.
    classifications : int
        Volunteers who classified the subject (some may have marked nothing).
    """

    truth: np.ndarray
    marks: Marks
    source: np.ndarray
    classifications: int


def _blob_places(
    rng: np.random.Generator, model: VolunteerModel, shape: tuple[int, int]
) -> np.ndarray:
    rows, cols = shape
    n = int(rng.integers(model.blobs[0], model.blobs[1] + 1))
    placed: list[tuple[float, float, float]] = []
    while len(placed) < n:
        r = float(rng.uniform(*model.radius))
        if model.pairs and len(placed) % 2 == 1:
            x0, y0, r0 = placed[-1]
            gap = float(rng.uniform(1.2, 2.0)) * max(r, r0)
            angle = float(rng.uniform(0, 2 * np.pi))
            x, y = x0 + gap * np.cos(angle), y0 + gap * np.sin(angle)
        else:
            x, y = float(rng.uniform(r + 1, cols - r - 1)), float(rng.uniform(r + 1, rows - r - 1))
        inside = r + 1 <= x <= cols - r - 1 and r + 1 <= y <= rows - r - 1
        # apart from the others (but a pair's partner) by at least 2.5 radii
        others = placed[: len(placed) - (len(placed) % 2)] if model.pairs else placed
        apart = all(np.hypot(x - ox, y - oy) > 2.5 * max(r, orr) for ox, oy, orr in others)
        if inside and apart:
            placed.append((x, y, r))
        elif model.pairs and len(placed) % 2 == 1 and rng.random() < 0.1:
            placed.pop()  # this blob's partner keeps landing outside: place the pair anew
    return np.array(placed, dtype=np.float64).reshape(-1, 3)


def marked_subject(
    index: int,
    *,
    seed: int = 0,
    model: VolunteerModel = VolunteerModel(),
    scan_shape: tuple[int, int] = (64, 65),
    scale: int = 6,
) -> MarkedSubject:
    """Make one subject's true blobs and volunteers' marks, with each mark's source known.

    For measuring consensus methods against the truth (``benchmarks/consensus.py``, tests).
    The same arguments give the same marks on every machine.

    Examples
    --------
    >>> s = marked_subject(0)
    >>> s.truth.shape[1], len(s.marks) == len(s.source), s.classifications
    (3, True, 15)
    """
    rng = np.random.default_rng([seed, index, 7])
    truth_scan = _blob_places(rng, model, scan_shape)
    rows, cols = scan_shape[0] * scale, scan_shape[1] * scale
    truth = truth_scan * scale
    out: list[tuple[str, str, float, float, float, int]] = []
    for v in range(model.volunteers):
        user, classification = f"volunteer{v:02d}", str(1000 * index + v)
        for k, (x, y, r) in enumerate(truth):
            if rng.random() < model.miss:
                continue
            for _ in range(2 if rng.random() < model.double_click else 1):
                sigma = max(model.scatter * r, model.scatter_floor * scale)
                mx, my = rng.normal((x, y), sigma)
                zero = rng.random() < model.zero_radius
                outlier = np.log(2.0) if rng.random() < model.radius_outlier else 0.0
                mr = 0.0 if zero else r * float(rng.lognormal(outlier, model.radius_sigma))
                out.append((user, classification, mx, my, mr, k))
        if rng.random() < model.misclick:
            out.append((user, classification, rng.uniform(0, cols), rng.uniform(0, rows), 0.0, -1))
    values = np.array([o[2:5] for o in out], dtype=np.float64).reshape(-1, 3).round(2)
    marks = Marks(
        x=np.clip(values[:, 0], 0, cols),
        y=np.clip(values[:, 1], 0, rows),
        r=values[:, 2],
        extra={
            "user": tuple(o[0] for o in out),
            "classification_id": tuple(o[1] for o in out),
        },
    )
    source = np.array([o[5] for o in out], dtype=np.int64)
    return MarkedSubject(truth, marks, source, model.volunteers)
