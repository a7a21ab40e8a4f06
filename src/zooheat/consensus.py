"""Consensus objects from volunteers' marks: which marks mean the same thing, and how many agree.

The method (chosen by measurement, ``benchmarks/consensus.py``; README, *Consensus*):

1. Each mark gets a size: its radius, but at least ``min_radius`` (a point, or a circle of
   radius 0, is as big as one scan pixel).
2. The distance of two marks is the distance of their centres over the larger of their two
   sizes: centres one radius apart are at distance 1, whatever the blob's size.
3. Marks are grouped by average-linkage hierarchical clustering
   (:func:`scipy.cluster.hierarchy.linkage`), cut where groups are on average more than
   ``link`` apart. Two marks of one volunteer are never in one group.
   Before that, one volunteer's marks closer than ``link`` to each other count as one (a
   double click): the one nearest the others stands for them, the rest are duplicates,
   counted in their object's ``marks`` but not in its ``volunteers`` nor its centre.
4. A group marked by at least ``min_volunteers`` distinct volunteers is an object; the
   groups of fewer volunteers are strays.
5. An object's centre is the median of its marks' centres, its radius the median of their
   radii above 0 (marks of radius 0 say nothing of the size), its spread the median
   distance of its marks from the centre.

Coordinates are the mark table's: image pixels, x the column, y the row, origin top-left.
A line across the image (x or y NaN: a column, a full-height or full-width line) is grouped
only with lines of its direction, by its one coordinate; its object's other coordinate is
NaN (empty in the table), and the figures draw it as a line.
The result does not depend on the order of the marks: they are sorted first.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
import types
from dataclasses import dataclass

import numpy as np

from zooheat.errors import ZooheatError
from zooheat.marks import Marks
from zooheat.settings import ConsensusSettings

__all__ = [
    "CONSENSUS_COLUMNS",
    "Consensus",
    "ConsensusSettings",
    "consensus_of_marks",
    "format_consensus",
    "read_consensus",
    "subject_agreement",
    "volunteers_of",
]

#: Columns of a consensus table, one row per object.
CONSENSUS_COLUMNS = (
    "object",
    "x",
    "y",
    "r",
    "marks",
    "volunteers",
    "agreement",
    "spread",
    "mark_rows",
)
#: Decimals of an object's numbers (a ten-thousandth of a pixel, of the agreement).
DECIMALS = 4
# Two marks of one volunteer are this far apart: never in one group.
_APART = 1e6
# scipy's codes of the linkage methods (scipy.cluster.hierarchy._LINKAGE_METHODS).
_METHOD_CODES = {"single": 0, "complete": 1, "average": 2}


_DEFAULT = ConsensusSettings()


# Not frozen: building a frozen dataclass took 3% of a subject's consensus (measured by
# benchmarks/consensus.py); treat it as read only.
@dataclass
class Consensus:
    """The objects of one subject and layer, and each mark's object.

    Attributes
    ----------
    x, y, r, spread, agreement : numpy.ndarray
        Per object: centre, radius (NaN when no mark had one), median distance of its marks
        from the centre (image pixels), and the fraction of the subject's classifiers who
        marked it.
    marks, volunteers : numpy.ndarray
        Per object: its marks (duplicates included) and the distinct volunteers among them.
    labels : numpy.ndarray
        Per mark, in the mark table's order: its object (1, 2, ...), or 0 for a stray.
    duplicate : numpy.ndarray
        Per mark: a volunteer's further mark on an object they had marked already.
    classifications : int
        The subject's classifiers that the agreement is a fraction of.

    Objects are numbered by volunteers (most first), then by centre (x, then y).
    """

    x: np.ndarray
    y: np.ndarray
    r: np.ndarray
    marks: np.ndarray
    volunteers: np.ndarray
    agreement: np.ndarray
    spread: np.ndarray
    labels: np.ndarray
    duplicate: np.ndarray
    classifications: int

    def __len__(self) -> int:
        return len(self.x)

    @property
    def strays(self) -> int:
        """Marks in no object."""
        return int((self.labels == 0).sum())

    @property
    def circles(self) -> np.ndarray:
        """``(objects, 3)`` ``x, y, r`` of the objects, as the figures draw them."""
        return np.column_stack([self.x, self.y, self.r])


def volunteers_of(marks: Marks) -> tuple[str, ...]:
    """Who made each mark: its ``user``, else its ``classification_id``, else the mark itself.

    A mark table without either column (a table of the original ``x,y,r`` layout) cannot say
    which marks one volunteer made; then each mark counts as its own volunteer's.

    Examples
    --------
    >>> from zooheat.marks import parse_marks
    >>> volunteers_of(parse_marks(["user,x,y", "ada,1,2", "bob,3,4"]))
    ('ada', 'bob')
    >>> volunteers_of(parse_marks(["1,2", "3,4"]))
    ('#1', '#2')
    """
    for column in ("user", "classification_id"):
        if column in marks.extra:
            return tuple(marks.extra[column])
    return tuple(f"#{i + 1}" for i in range(len(marks)))


@functools.cache
def _compiled() -> types.ModuleType:
    """Return scipy's compiled hierarchical clustering, imported once, on first use.

    Not at import: the steps that group nothing need no scipy. Not per call: an import
    statement costs more than a cut of a few dozen marks.
    """
    from scipy.cluster import _hierarchy

    return _hierarchy


def _cut(tree: np.ndarray, n: int, height: float) -> list[int]:
    """Flat groups of ``n`` leaves: the subtrees of ``tree`` joined at <= ``height``.

    :func:`scipy.cluster.hierarchy.fcluster` with ``criterion="distance"``, without its
    checks of the whole tree (ten times the cut for a few dozen marks): scipy's compiled
    cut, or the same in Python where this scipy has it not.
    """
    groups = np.zeros(n, dtype=np.int32)
    try:
        _compiled().cluster_dist(tree, groups, float(height), n)
        return groups.tolist()
    except (AttributeError, TypeError, ValueError):  # another scipy
        pass
    parent = list(range(2 * n - 1))
    for k, (a, b, joined, _) in enumerate(tree.tolist()):
        if joined <= height:
            parent[int(a)] = parent[int(b)] = n + k
    # A subtree is numbered after its members, so one pass from the top finds every root.
    for node in range(2 * n - 2, -1, -1):
        parent[node] = parent[parent[node]]
    return [parent[leaf] for leaf in range(n)]


@functools.lru_cache(maxsize=128)
def _pairs(n: int) -> np.ndarray:
    """Return each pair i < j of n marks as its place in a flat n x n matrix (read only).

    The pairs are in a condensed matrix's order.
    """
    i, j = np.triu_indices(n, 1)
    flat = i * n + j
    flat.flags.writeable = False
    return flat


def _linkage(condensed: np.ndarray, n: int, method: str) -> np.ndarray:
    """:func:`scipy.cluster.hierarchy.linkage` of a condensed matrix, without its overhead.

    For a few dozen marks the public function's checks and array-API layer cost more than
    the clustering, so scipy's compiled nearest-neighbour chain (average, complete) or
    minimum spanning tree (single) is called directly; where this scipy has them not, the
    public function runs. A test checks that both give the same tree.
    """
    try:
        if method == "single":
            return _compiled().mst_single_linkage(condensed, n)
        return _compiled().nn_chain(condensed, n, _METHOD_CODES[method])
    except (AttributeError, TypeError, ValueError):  # another scipy
        from scipy.cluster.hierarchy import linkage

        return linkage(condensed, method=method)


def _groups(
    distance: np.ndarray, volunteer: np.ndarray, settings: ConsensusSettings
) -> list[list[int]]:
    """Return the groups of the marks (index lists): hierarchical clustering cut at link.

    ``distance`` is the square matrix of the marks' distances; two marks of one volunteer
    (``volunteer``: a number per mark) farther apart than ``link`` never join. Groups are
    listed by their first mark, each in mark order.

    Where the pairs within ``link`` split the marks into cliques (every two marks of a part
    within ``link``, every two of different parts farther), every linkage cut at ``link``
    gives those parts: each part joins at or below the cut, and any two parts join above it
    (an average, the largest or the smallest of distances all above ``link``). Then the
    parts are the groups, without the clustering. (scipy's average linkage averages in
    floating point; with ``link`` 1, the default, its averages of distances at most 1 stay
    at most 1 and of distances above 1 above it. At another ``link`` an average within
    rounding of it could fall on the other side in scipy's, not here.)
    """
    n = len(distance)
    if n < 2:
        return [list(range(n))]
    link = settings.link
    close = distance <= link
    first = close.argmax(axis=1)  # each mark's first mark within link (itself at the latest)
    if close.tobytes() == (first[:, None] == first).tobytes():
        cut = first.tolist()
    else:
        apart = (volunteer[:, None] == volunteer) & ~close  # one volunteer's, beyond link
        condensed = np.where(apart, _APART, distance).ravel().take(_pairs(n))
        cut = _cut(_linkage(condensed, n, settings.method), n, link)
    groups: dict[int, list[int]] = {}
    for mark, group in enumerate(cut):
        groups.setdefault(group, []).append(mark)
    return list(groups.values())


def _median(values: list[float]) -> float:
    """Return the median of a short list (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])


def _one_per_volunteer(
    group: list[int], who_is: list[int], distance: np.ndarray, duplicate: np.ndarray
) -> list[int]:
    """Return one mark per volunteer of a group, flagging their others in ``duplicate``.

    The mark nearest the volunteer's others stands for them (the first of ties, so of two
    marks the first).
    """
    by_volunteer: dict[int, list[int]] = {}
    for i in group:
        by_volunteer.setdefault(who_is[i], []).append(i)
    first = []
    for own in by_volunteer.values():
        if len(own) == 2:
            duplicate[own[1]] = True
        elif len(own) > 2:
            inner = distance[np.ix_(own, own)].sum(axis=1)
            best = own[int(np.argmin(inner))]
            duplicate[[i for i in own if i != best]] = True
            own = [best]
        first.append(own[0])
    return first


def _nan_last(value: float) -> tuple[bool, float]:
    """Sort key of a coordinate: a line's missing one (NaN) after every number."""
    return (True, 0.0) if math.isnan(value) else (False, value)


def consensus_of_marks(
    marks: Marks,
    *,
    classifications: int | None = None,
    settings: ConsensusSettings | None = None,
) -> Consensus:
    """Group one subject's marks of one layer into consensus objects.

    Parameters
    ----------
    marks : Marks
        The subject's marks of the layer (``user`` or ``classification_id`` say whose).
    classifications : int, optional
        Volunteers who classified the subject, marks or not (the agreement's denominator);
        by default the distinct volunteers among the marks.
    settings : ConsensusSettings, optional
        The method's parameters.

    Returns
    -------
    Consensus

    Raises
    ------
    ValueError
        ``classifications`` is below the number of distinct volunteers who marked.

    Examples
    --------
    >>> from zooheat.marks import parse_marks
    >>> rows = ["user,x,y,r", "a,100,100,20", "b,104,98,22", "c,97,101,0", "d,300,40,5"]
    >>> c = consensus_of_marks(parse_marks(rows), classifications=5)
    >>> len(c), c.x.tolist(), c.y.tolist(), c.r.tolist(), c.volunteers.tolist()
    (1, [100.0], [100.0], [21.0], [3])
    >>> c.agreement.tolist(), c.labels.tolist()
    ([0.6], [1, 1, 1, 0])
    """
    settings = settings or _DEFAULT
    n = len(marks)
    who = volunteers_of(marks)
    names = sorted(set(who))
    if classifications is None:
        classifications = len(names)
    elif classifications < len(names):
        raise ValueError(
            f"{classifications} classifications, but {len(names)} distinct volunteers marked"
        )
    # A canonical order (by volunteer, then centre and radius), so that the result does not
    # depend on the table's row order.
    number_of = {name: i for i, name in enumerate(names)}
    volunteer = np.fromiter(map(number_of.__getitem__, who), np.int64, n)
    radius = np.fmax(marks.r, 0.0)  # no radius (NaN) is 0
    # A line across the image has one coordinate: 0 stands for the other while grouping,
    # and lines join only lines of their direction (kind 1: no y, 2: no x; points 0).
    # A NaN in x or y makes their dot product NaN: one call tells whether there is a line
    # (coordinates are finite; a product too large would only take the lines' path).
    lines = math.isnan(float(np.dot(marks.x, marks.y)))
    if lines:
        no_x, no_y = np.isnan(marks.x), np.isnan(marks.y)
        kind = no_y.astype(np.int64) + 2 * no_x.astype(np.int64)
        x, y = np.nan_to_num(marks.x), np.nan_to_num(marks.y)
        order = np.lexsort((radius, y, x, kind, volunteer))
        kind = kind[order]
    else:  # points only: the common case, without the lines' bookkeeping
        x, y = marks.x, marks.y
        order = np.lexsort((radius, y, x, volunteer))
    x, y, radius, volunteer = x[order], y[order], radius[order], volunteer[order]
    size = np.maximum(radius, settings.min_radius)
    where = np.empty(n, dtype=np.complex128)  # one subtraction and abs: twice hypot's speed
    where.real, where.imag = x, y
    gap = np.abs(where[:, None] - where)  # every pair, both ways: broadcasting, no indexing
    if settings.scale == "max":
        scale = np.maximum(size[:, None], size)
    else:
        scale = 0.5 * (size[:, None] + size)
    distance = gap / scale  # square and symmetric, 0 on the diagonal
    if lines:
        distance[kind[:, None] != kind] = _APART
    # Two marks of one volunteer never join, unless they are closer than `link`: a double
    # click, sorted out in each group below.
    groups = _groups(distance, volunteer, settings)

    # Groups of enough volunteers are objects. A few dozen marks: plain Python is quicker
    # here than numpy's calls.
    xs, ys, rs, who_is = x.tolist(), y.tolist(), radius.tolist(), volunteer.tolist()
    duplicate = np.zeros(n, dtype=bool)
    objects = []
    least = settings.min_volunteers
    share = max(classifications, 1)  # the agreement's denominator
    for group in groups:
        if len(group) < 2 <= least:
            continue  # a lone mark: no object, no duplicate
        if len({who_is[i] for i in group}) == len(group):
            first = group  # each volunteer once: the common case
        else:
            first = _one_per_volunteer(group, who_is, distance, duplicate)
        if len(first) < least:
            continue
        cx, cy = _median([xs[i] for i in first]), _median([ys[i] for i in first])
        ox, oy = cx, cy  # where the spread is measured from (a line's 0 stands for none)
        if lines and kind[first[0]]:  # a line: its other coordinate is none
            cx, cy = (cx, math.nan) if kind[first[0]] == 1 else (math.nan, cy)
        cr = _median([rs[i] for i in first if rs[i] > 0])  # radius 0 says nothing of size
        spread = _median([math.hypot(xs[i] - ox, ys[i] - oy) for i in first])
        # Kept at the precision the table is written with, so that a consensus read back
        # from its file gives the same numbers as the one computed.
        objects.append(
            (
                len(first),
                round(cx, DECIMALS),
                round(cy, DECIMALS),
                round(cr, DECIMALS),
                round(spread, DECIMALS),
                len(group),
                round(len(first) / share, DECIMALS),
                group,
            )
        )
    # Number the objects by volunteers (most first), then by centre.
    if lines:
        objects.sort(key=lambda o: (-o[0], _nan_last(o[1]), _nan_last(o[2])))
    else:
        objects.sort(key=lambda o: (-o[0], o[1], o[2]))
    labels = [0] * n
    for k, obj in enumerate(objects, start=1):
        for i in obj[-1]:
            labels[i] = k
    # One array of the objects' numbers (columns volunteers, x, y, r, spread, marks,
    # agreement); the result's arrays are its columns.
    table = np.array([o[:-1] for o in objects], dtype=np.float64).reshape(-1, 7)
    counts = table[:, 0:6:5].astype(np.int64)  # volunteers, marks
    # Back to the mark table's order.
    out_labels = np.empty(n, dtype=np.int64)
    out_labels[order] = labels
    out_duplicate = np.empty(n, dtype=bool)
    out_duplicate[order] = duplicate
    return Consensus(
        x=table[:, 1],
        y=table[:, 2],
        r=table[:, 3],
        marks=counts[:, 1],
        volunteers=counts[:, 0],
        agreement=table[:, 6],
        spread=table[:, 4],
        labels=out_labels,
        duplicate=out_duplicate,
        classifications=classifications,
    )


def _number(value: float) -> str:
    return "" if math.isnan(value) else repr(float(value))


def format_consensus(consensus: Consensus) -> str:
    """Write a consensus as CSV: :data:`CONSENSUS_COLUMNS`, one row per object.

    ``mark_rows`` lists the object's marks as data rows of the mark table (1 is the first
    mark), separated by ``;``; a duplicate's row is followed by ``*``. Marks in no row are
    strays. A subject without objects gives the header alone.

    Examples
    --------
    >>> from zooheat.marks import parse_marks
    >>> rows = ["user,x,y,r", "a,100,100,20", "b,104,98,22", "c,97,101,0", "a,101,99,18"]
    >>> print(format_consensus(consensus_of_marks(parse_marks(rows))), end="")
    object,x,y,r,marks,volunteers,agreement,spread,mark_rows
    1,100.0,100.0,21.0,4,3,1.0,3.1623,1;2;3;4*
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CONSENSUS_COLUMNS)
    for k in range(len(consensus)):
        rows = np.flatnonzero(consensus.labels == k + 1)
        cells = [f"{i + 1}{'*' if consensus.duplicate[i] else ''}" for i in rows]
        writer.writerow(
            [
                k + 1,
                _number(consensus.x[k]),
                _number(consensus.y[k]),
                _number(consensus.r[k]),
                int(consensus.marks[k]),
                int(consensus.volunteers[k]),
                _number(consensus.agreement[k]),
                _number(consensus.spread[k]),
                ";".join(cells),
            ]
        )
    return out.getvalue()


def read_consensus(path: str | os.PathLike[str], n_marks: int | None = None) -> Consensus:
    """Read a consensus table written by :func:`format_consensus`.

    ``n_marks``, the number of marks in the subject's table, sizes the labels (by default
    the highest row the table names).

    Raises
    ------
    ZooheatError
        The file is missing or is not a consensus table.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
            header = rows[0].keys() if rows else None
    except FileNotFoundError:
        raise ZooheatError(f"{path}: consensus table not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ZooheatError(f"{path}: not a readable consensus table ({exc})") from None
    if header is not None and tuple(header) != CONSENSUS_COLUMNS:
        raise ZooheatError(f"{path}: expected columns {list(CONSENSUS_COLUMNS)}")
    try:
        members = [
            [
                (int(cell.rstrip("*")) - 1, cell.endswith("*"))
                for cell in row["mark_rows"].split(";")
            ]
            for row in rows
        ]
        highest = max((i for m in members for i, _ in m), default=-1) + 1
        n = highest if n_marks is None else n_marks
        labels = np.zeros(n, dtype=np.int64)
        duplicate = np.zeros(n, dtype=bool)
        for k, m in enumerate(members, start=1):
            for i, dup in m:
                labels[i] = k
                duplicate[i] = dup

        def column(name: str) -> np.ndarray:
            return np.array([float(row[name]) if row[name] else math.nan for row in rows])

        volunteers = column("volunteers").astype(np.int64)
        agreement = column("agreement")
        classifications = (
            round(float(volunteers[0] / agreement[0])) if len(rows) and agreement[0] else 0
        )
        return Consensus(
            x=column("x"),
            y=column("y"),
            r=column("r"),
            marks=column("marks").astype(np.int64),
            volunteers=volunteers,
            agreement=agreement,
            spread=column("spread"),
            labels=labels,
            duplicate=duplicate,
            classifications=classifications,
        )
    except (ValueError, IndexError, KeyError) as exc:
        raise ZooheatError(f"{path}: not a readable consensus table ({exc})") from None


def subject_agreement(consensus: Consensus, n_marks: int) -> dict[str, float | int]:
    """Numbers for the summary: objects, mean agreement, strays and how contested it is.

    ``contested`` (0 to 1) sorts subjects for review: the largest of, for each object,
    ``1 - |2 a - 1|`` (1 when half the classifiers marked it, 0 when all or none did), and the
    fraction of the marks that are strays.
    """
    ambiguity = 1.0 - np.abs(2.0 * consensus.agreement - 1.0)
    strays = consensus.strays
    contested = max(float(ambiguity.max(initial=0.0)), strays / n_marks if n_marks else 0.0)
    return {
        "objects": len(consensus),
        "mean_agreement": round(float(consensus.agreement.mean()), 4) if len(consensus) else 0.0,
        "strays": strays,
        "contested": round(contested, 4),
    }
