"""Every drawing tool's mark: its shape, the centre a heat map counts, and its own fields.

Panoptes has had two classifiers, and their marks differ:

- Panoptes-Front-End ("v1") marks carry a ``tool`` index and their fields, not their type; the
  shape is told by the fields (a triangle has a circle's ``x, y, r, angle``, a Bézier curve
  a polygon's ``points``, so each reads as the other, with the same centre);
- the newer front end ("v2") marks carry ``toolIndex`` and ``toolType``; circles, ellipses
  and (rotated) rectangles give their centre as ``x_center, y_center``.

The centre (``x, y``: column and row in the pixels of the subject image as uploaded, origin
top-left) is, by shape:

==========================================  ===============================================
point, circle, ellipse, triangle            ``x, y`` (or ``x_center, y_center``)
fan                                         its apex ``x, y`` (``radius`` is kept as ``r``,
                                            ``rotation`` as ``angle``, ``spread`` kept)
rectangle, rotateRectangle                  v1: the corner ``x, y`` plus half of ``width,
                                            height`` (v1 rotates a rectangle about its
                                            centre); v2: ``x_center, y_center``
line, transcriptionLine                     the midpoint of ``x1, y1`` and ``x2, y2``
polygon, bezier (``points``)                the centroid of the polygon through its points
                                            (of the points, if they enclose no area)
freehandLine (``pathX, pathY``)             the centroid of the path, each segment weighted by
                                            its length
==========================================  ===============================================

Three shapes span the whole image, so their centre is a line, not a point: one coordinate
of the centre is None (an empty cell in the mark table), and the heat map counts the mark in
every bin the line crosses (:mod:`zooheat.histogram`):

==========================================  ===============================================
column                                      its centre line ``x + width / 2`` (no y)
fullHeightLine                              ``x`` (no y)
fullWidthLine                               ``y`` (no x)
==========================================  ===============================================

A mark of a tool this module does not know, with no centre it can tell, is *unplaced*: it is
counted, never a reason to reject its classification. A mark whose numbers are broken (not
finite, a negative size) is: see :func:`mark_geometry`.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["LINE_SHAPES", "SHAPE_FIELDS", "BadMark", "centroid", "mark_geometry"]

#: The shape's own fields that a mark table keeps, in its column order, after x and y.
SHAPE_FIELDS = (
    "r",
    "rx",
    "ry",
    "angle",
    "width",
    "height",
    "x1",
    "y1",
    "x2",
    "y2",
    "spread",
    "points",
)
#: Shapes that span the image, so that their centre is a line: the coordinate they give.
LINE_SHAPES = {"column": "x", "fullHeightLine": "x", "fullWidthLine": "y"}

#: Every numeric field a mark may have: the centre's, those a table keeps, and a fan's
#: radius and rotation (kept as r and angle).
_NUMERIC_KEYS = frozenset(
    ("x", "y", "x_center", "y_center", "radius", "rotation", *SHAPE_FIELDS)
) - {"points"}
_NON_NEGATIVE = ("r", "radius", "rx", "ry", "width", "height")
_LINE_KEYS = ("x1", "y1", "x2", "y2")
_LARGEST = sys.float_info.max


class BadMark(ValueError):
    """A mark's numbers are unusable; the message says which and why (``x is not ...``)."""


def _bad_number(key: str, value: object, where: str = "") -> float:
    # The slow path: numbers written as text, and everything that is not a finite number.
    number = None
    if type(value) is str:
        try:
            number = float(value)
        except ValueError:
            pass
    elif type(value) in (int, float):
        number = float(value)  # type: ignore[arg-type]
    if number is None:
        raise BadMark(f"{where}{key} is not a number: {value!r:.40}")
    if number - number != 0:
        raise BadMark(f"{where}{key} is not a finite number: {value!r:.40}")
    return number


def _number(value: object, key: str, where: str = "") -> float:
    if (type(value) is float or type(value) is int) and value - value == 0:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    return _bad_number(key, value, where)


def centroid(xs: list[float], ys: list[float], *, closed: bool) -> tuple[float, float]:
    """Return the centroid of a polygon (``closed``) or of a path, as a heat map counts it.

    A polygon's centroid is that of the area it encloses; if it encloses none (all points on
    a line, or fewer than three), the mean of its points. A path's centroid weighs each
    segment's midpoint by the segment's length; a path of no length gives the mean of its
    points.

    Examples
    --------
    >>> centroid([0.0, 4.0, 4.0, 0.0], [0.0, 0.0, 2.0, 2.0], closed=True)
    (2.0, 1.0)
    >>> centroid([0.0, 3.0, 3.0], [0.0, 0.0, 1.0], closed=False)  # 3 px right, then 1 down
    (1.875, 0.125)
    """
    n = len(xs)
    if closed and n >= 3:
        area = cx = cy = 0.0
        for i in range(n):
            x0, y0, x1, y1 = xs[i - 1], ys[i - 1], xs[i], ys[i]
            cross = x0 * y1 - x1 * y0
            area += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
        if area != 0.0:
            return cx / (3.0 * area), cy / (3.0 * area)
    elif not closed and n >= 2:
        length = cx = cy = 0.0
        for i in range(1, n):
            step = ((xs[i] - xs[i - 1]) ** 2 + (ys[i] - ys[i - 1]) ** 2) ** 0.5
            length += step
            cx += (xs[i] + xs[i - 1]) / 2 * step
            cy += (ys[i] + ys[i - 1]) / 2 * step
        if length > 0.0:
            return cx / length, cy / length
    return sum(xs) / n, sum(ys) / n


def _points(mark: dict[str, Any]) -> tuple[list[float], list[float]] | None:
    """Return the vertices of a polygon's ``points`` or a free-hand line's ``pathX, pathY``."""
    if "points" in mark:
        points = mark["points"]
        if type(points) is not list or not points:
            raise BadMark(f"points is not a list of points: {points!r:.40}")
        xs, ys = [], []
        for k, point in enumerate(points):
            if type(point) is not dict or "x" not in point or "y" not in point:
                raise BadMark(f"point {k} is not an x, y object: {point!r:.40}")
            xs.append(_number(point["x"], "x", f"point {k} "))
            ys.append(_number(point["y"], "y", f"point {k} "))
        return xs, ys
    if "pathX" in mark or "pathY" in mark:
        path_x, path_y = mark.get("pathX"), mark.get("pathY")
        if type(path_x) is not list or type(path_y) is not list or not path_x:
            raise BadMark("pathX, pathY are not lists of numbers")
        if len(path_x) != len(path_y):
            raise BadMark("pathX and pathY differ in length")
        xs = [_number(v, "pathX") for v in path_x]
        ys = [_number(v, "pathY") for v in path_y]
        return xs, ys
    return None


#: Inferred shapes by the numeric fields a mark has, in its order (points and paths are
#: told apart before: they have no x and y).
_INFERRED: dict[tuple[str, ...], str] = {}


def _inferred_shape(numbers: dict[str, float], has_points: bool, has_path: bool) -> str:
    # A v1 mark's shape, from its fields (the first rule that fits).
    if has_points:
        return "polygon"
    if has_path:
        return "freehandLine"
    if "x1" in numbers:
        return "line"
    if "rx" in numbers or "ry" in numbers:
        return "ellipse"
    if "spread" in numbers or "radius" in numbers or "rotation" in numbers:
        return "fan"
    if "r" in numbers:
        return "circle"
    has_x, has_y = "x" in numbers, "y" in numbers
    if "width" in numbers and "height" in numbers:
        return "rotateRectangle" if "angle" in numbers else "rectangle"
    if has_x and has_y:
        return "point"
    if has_x:
        return "column" if "width" in numbers else "fullHeightLine"
    if has_y:
        return "fullWidthLine"
    return "unknown"


def mark_geometry(mark: dict[str, Any]) -> tuple:
    """Return a mark's centre, fields and shape.

    Parameters
    ----------
    mark : dict
        One mark of a drawing task's ``value``.

    Returns
    -------
    tuple
        ``(x, y, r, rx, ry, angle, width, height, x1, y1, x2, y2, spread, points, shape)``:
        the centre (x or y None for a line across the image, both when the mark is
        unplaced), each field of
        :data:`SHAPE_FIELDS` or None (``points`` as text ``"x y;x y;..."``), and the shape
        (``toolType``, or told by the fields).

    Raises
    ------
    BadMark
        A number is not finite, a size is negative, or points are not a list of x, y objects.

    Examples
    --------
    >>> line = mark_geometry({"tool": 1, "x1": 0, "y1": 0, "x2": 10, "y2": 4})
    >>> line[:2], line[-1]
    ((5.0, 2.0), 'line')
    >>> column = mark_geometry({"tool": 2, "x": 10, "width": 6})
    >>> column[:2], column[-1]
    ((13.0, None), 'column')
    """
    numbers: dict[str, float] = {}
    negative = False
    for key, value in mark.items():
        if key in _NUMERIC_KEYS and value is not None:
            kind = type(value)
            if (kind is float or kind is int) and value - value == 0:
                numbers[key] = float(value)
                negative = negative or value < 0
            else:
                numbers[key] = _bad_number(key, value)
                negative = True  # look again below
    if negative:
        for key in _NON_NEGATIVE:
            if numbers.get(key, 0.0) < 0:
                raise BadMark(f"{key} must be >= 0, found {mark[key]!r:.40}")
    get = numbers.get
    r = get("r")
    angle = get("angle")
    width = get("width")
    height = get("height")
    rx = get("rx")
    ry = get("ry")
    x1 = get("x1")
    y1 = get("y1")
    x2 = get("x2")
    y2 = get("y2")
    spread = get("spread")
    declared = mark.get("toolType")
    shape = declared if type(declared) is str and declared else None
    points_text = None
    if "x_center" in numbers or "y_center" in numbers:
        x = get("x_center")
        y = get("y_center")
    elif "x" in numbers and "y" in numbers:
        x = numbers["x"]
        y = numbers["y"]
        if width is not None and height is not None:
            x, y = x + width / 2, y + height / 2  # v1 rectangles give their top-left corner
    elif x1 is not None and y1 is not None and x2 is not None and y2 is not None:
        x = (x1 + x2) / 2
        y = (y1 + y2) / 2
    else:
        x = y = None
        vertices = _points(mark)
        if vertices is not None:
            xs, ys = vertices
            path = "points" not in mark
            if shape is None:
                shape = "freehandLine" if path else "polygon"
            x, y = centroid(xs, ys, closed=not path and shape != "freehandLine")
            points_text = ";".join(f"{a!r} {b!r}" for a, b in zip(xs, ys, strict=True))
    if shape is None:  # told by which fields the mark has: the same for each of a tool's
        layout = tuple(numbers)
        shape = _INFERRED.get(layout)
        if shape is None:
            shape = _inferred_shape(numbers, "points" in mark, "pathX" in mark)
            if len(_INFERRED) > 256:
                _INFERRED.clear()
            _INFERRED[layout] = shape
    if shape in LINE_SHAPES:
        x = y = None
        if LINE_SHAPES[shape] == "y":
            y = get("y")
        elif (x := get("x")) is not None and width is not None:
            x += width / 2  # a column's centre line
    if r is None:
        r = get("radius")
    if angle is None:
        angle = get("rotation")
    return (x, y, r, rx, ry, angle, width, height, x1, y1, x2, y2, spread, points_text, shape)
