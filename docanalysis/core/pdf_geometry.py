"""Plane geometry and device colours for reading PDF content streams: affine matrices in PDF's
row-vector order, axis-aligned rectangles, and grey/RGB/CMYK values as RGB."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Matrix = list[float]
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1
Colour = tuple[float, float, float] | None  # RGB; None: not known, taken as visible
IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def gray(operands: list[Any]) -> Colour:
    value = float(operands[0])
    return (value, value, value)


def rgb(operands: list[Any]) -> Colour:
    r, g, b = (float(v) for v in operands[:3])
    return (r, g, b)


def cmyk(operands: list[Any]) -> Colour:
    c, m, y, k = (float(v) for v in operands[:4])
    return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))


def multiply(m: Sequence[float], n: Sequence[float]) -> Matrix:
    """m then n (PDF's row-vector order), as pypdf composes tm with cm."""
    return [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]


def transform(
    m: Sequence[float], points: Iterable[tuple[float, float]]
) -> list[tuple[float, float]]:
    return [(x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5]) for x, y in points]


def bounds(points: Sequence[tuple[float, float]]) -> Rect:
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return (min(xs), min(ys), max(xs), max(ys))


def union(a: Rect, b: Rect) -> Rect:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]


def centre(rect: Rect) -> tuple[float, float]:
    return ((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2)


def cover_share(rect: Rect, box: Rect) -> float:
    width = min(rect[2], box[2]) - max(rect[0], box[0])
    height = min(rect[3], box[3]) - max(rect[1], box[1])
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / ((box[2] - box[0]) * (box[3] - box[1]))
