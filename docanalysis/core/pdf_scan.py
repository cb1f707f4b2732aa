"""Follows a PDF page's graphics state through pypdf's visitor calls and judges each
text-showing operator: can a reader see what it draws? (See hidden_text.py for how the
verdicts become the page's text.)"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pypdf import PageObject
from pypdf.generic import DictionaryObject, NameObject

from docanalysis.core.pdf_geometry import (
    IDENTITY,
    Colour,
    Matrix,
    Rect,
    bounds,
    centre,
    cmyk,
    cover_share,
    gray,
    multiply,
    overlaps,
    rgb,
    transform,
    union,
)

REASON_INVISIBLE = "invisible text (render mode 3)"
REASON_CLIP_ONLY = "invisible text (render mode 7)"
REASON_WHITE = "white text"
REASON_TRANSPARENT = "transparent text"
REASON_TINY = "text under 2 pt"
REASON_OUTSIDE = "text outside the page"

# Luminance (0 black .. 1 white) from which text on a white page cannot be told from the page.
# 0.98 grey is hidden; light-grey watermarks (0.8-0.9) and yellow (0.93) stay visible.
WHITE_LUMINANCE = 0.95
# Opacity (ExtGState /ca, /CA) below which nothing shows.
MIN_ALPHA = 0.05
# Rendered glyph height (or width scale) in points below which nobody reads it.
MIN_SIZE_PT = 2.0
# Text's extent is estimated from its bytes: half an em per byte (wide for one-byte fonts,
# twice the truth for two-byte ones), so text that may reach into the page counts as on it.
EM_PER_BYTE = 0.5
# An OCR layer: invisible text over a scanned image that covers this much of the page, on a
# page whose visible text is shorter than the invisible one.
OCR_IMAGE_COVER = 0.5
# Paints (filled paths, images) remembered per page, to find what lies under white text.
MAX_PAINTS = 20_000
# Path pieces kept before they are placed: bounds memory on a path that never ends.
MAX_PIECES = 1024

BLACK: Colour = (0.0, 0.0, 0.0)
Piece = tuple[Matrix, Matrix, list[tuple[float, float]]]  # part of a path: cm, base, points
TEXT_OPERATORS = frozenset({b"Tj", b"TJ", b"'", b'"'})
_PATH_FILLS = frozenset({b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"})
_PATH_ENDS = _PATH_FILLS | {b"S", b"s", b"n"}
_BLANK_BYTES = b" \t\r\n\x00"
_BLANK_CHARS = _BLANK_BYTES.decode()


@dataclass
class _State:
    """The part of the graphics state that decides whether text shows (saved by q, Do)."""

    fill: Colour = BLACK
    stroke: Colour = BLACK
    fill_space: Any = "/DeviceGray"
    stroke_space: Any = "/DeviceGray"
    fill_alpha: float = 1.0
    stroke_alpha: float = 1.0
    render_mode: int = 0
    font_size: float = 12.0  # pypdf's too, for text shown before any Tf
    font_scale: float = 1.0  # a Type3 font's FontMatrix, relative to the usual 1/1000
    horizontal_scale: float = 1.0

    def copy(self) -> _State:
        new = object.__new__(_State)  # q is frequent: a plain copy, not dataclasses.replace
        new.__dict__.update(self.__dict__)
        return new


@dataclass
class _Frame:
    """Page or form XObject being run: its resources and its matrix to page space."""

    resources: DictionaryObject
    base: Matrix
    state: _State
    saved: list[_State] = field(default_factory=list)  # q ... Q within this frame


class Scan:
    """Follows the graphics state through pypdf's visitor calls; judges each text operator."""

    def __init__(self, page: PageObject) -> None:
        self.box = _visible_box(page)
        self.frames = [_Frame(_dict(page.get("/Resources")), IDENTITY, _State())]
        self.count = 0  # text operators seen, in pypdf's order (the blanker counts the same)
        self.reasons: dict[str, list[int]] = {}
        self.visible_bytes = 0
        self.invisible_bytes = 0
        # The current path: its pieces (cm, base, points) are placed only if it is filled
        # (most paths are clips or strokes: one contract draws 16,000 per page), or once
        # MAX_PIECES wait, into `path_area`, in drawing order either way.
        self.path: list[Piece] = []
        self.path_area: Rect | None = None
        self.paints: list[tuple[Rect, bool]] = []  # (area, is white), in drawing order
        self.white: list[tuple[int, tuple[float, float], int]] = []  # (op, centre, paints)
        self.image_cover = 0.0
        self.handlers: dict[bytes, Callable[[list[Any], Matrix], None]] = {
            b"q": self._save,
            b"Q": self._restore,
            b"g": lambda o, cm: self._colour(fill=gray(o)),
            b"G": lambda o, cm: self._colour(stroke=gray(o)),
            b"rg": lambda o, cm: self._colour(fill=rgb(o)),
            b"RG": lambda o, cm: self._colour(stroke=rgb(o)),
            b"k": lambda o, cm: self._colour(fill=cmyk(o)),
            b"K": lambda o, cm: self._colour(stroke=cmyk(o)),
            b"cs": lambda o, cm: self._space(o, fill=True),
            b"CS": lambda o, cm: self._space(o, fill=False),
            b"sc": lambda o, cm: self._colour(fill=self._in_space(o, fill=True)),
            b"scn": lambda o, cm: self._colour(fill=self._in_space(o, fill=True)),
            b"SC": lambda o, cm: self._colour(stroke=self._in_space(o, fill=False)),
            b"SCN": lambda o, cm: self._colour(stroke=self._in_space(o, fill=False)),
            b"gs": self._ext_state,
            b"Tr": self._render_mode,
            b"Tf": self._font,
            b"Tz": self._horizontal_scale,
            b"re": self._rectangle,
            b"m": self._point,
            b"l": self._point,
            b"c": self._point,
            b"v": self._point,
            b"y": self._point,
            b"Do": self._enter,
            b"INLINE IMAGE": lambda o, cm: self._image(cm),
            b"sh": lambda o, cm: self._paint(self.box, white=False),
        }

    @property
    def state(self) -> _State:
        return self.frames[-1].state

    # pypdf's visitors -------------------------------------------------------------------

    def before(self, operator: Any, operands: Any, cm: Any, tm: Any) -> None:
        if operator in TEXT_OPERATORS:
            self._text(operator, operands, cm, tm)
            return
        if operator in _PATH_ENDS:
            self._end_path(operator)
            return
        if operator == b"Do":  # a frame for every Do, so that `after` pops one
            self.frames.append(replace(self.frames[-1], state=self.state.copy(), saved=[]))
        handler = self.handlers.get(operator)
        if handler is not None and isinstance(operands, list):
            try:
                handler(operands, cm)
            except MemoryError:
                raise
            except Exception:  # a malformed operator changes nothing we judge
                pass

    def after(self, operator: Any, operands: Any, cm: Any, tm: Any) -> None:
        if operator == b"Do" and len(self.frames) > 1:
            self.frames.pop()  # the form's q ... Q

    def hidden(self) -> dict[str, list[int]]:
        """Operators of hidden text, by reason, in drawing order. Invisible text over a
        scanned image is the page's OCR layer: what a reader sees on the image, so it is not
        hidden (see tests)."""
        reasons = {reason: list(ops) for reason, ops in self.reasons.items()}
        if self.image_cover >= OCR_IMAGE_COVER and self.visible_bytes < self.invisible_bytes:
            reasons.pop(REASON_INVISIBLE, None)
        white = [op for op, centre, painted in self.white if not self._shows(centre, painted)]
        if white:
            reasons[REASON_WHITE] = white
        return dict(sorted(reasons.items(), key=lambda item: item[1][0]))

    def _shows(self, point: tuple[float, float], painted: int) -> bool:
        """Whether white text at `point`, drawn after the first `painted` paints, is not
        simply white on the white page: the last paint under it is dark (white on a dark box
        shows), or a later dark paint covers it (a logo drawn over its own text: a reader sees
        the image, and covered text is not judged here, whatever its colour)."""
        x, y = point
        under = [
            white for (x0, y0, x1, y1), white in self.paints if x0 <= x <= x1 and y0 <= y <= y1
        ]
        before, after = under[:painted], under[painted:]
        return (bool(before) and not before[-1]) or not all(after)

    # text -------------------------------------------------------------------------------

    def _text(self, operator: bytes, operands: Any, cm: Any, tm: Any) -> None:
        self.count += 1
        size = _string_bytes(operator, operands)
        if size == 0:
            return  # nothing drawn, or only spaces: nothing to hide
        try:
            reason = self._judge(size, multiply(tm, multiply(cm, self.frames[-1].base)))
        except MemoryError:
            raise
        except Exception:  # malformed operands: not judged, read as visible
            reason = None
        if reason is None:
            self.visible_bytes += size
            return
        if reason == REASON_INVISIBLE:
            self.invisible_bytes += size
        self.reasons.setdefault(reason, []).append(self.count - 1)

    def _white(self, extent: Rect) -> None:
        """White text: hidden unless something dark is under it or over it (see hidden)."""
        self.white.append((self.count - 1, centre(extent), len(self.paints)))

    def _judge(self, size: int, matrix: Matrix) -> str | None:
        state = self.state
        mode = state.render_mode
        if mode == 3:
            return REASON_INVISIBLE
        if mode == 7:
            return REASON_CLIP_ONLY
        fills, strokes = mode in (0, 2, 4, 6), mode in (1, 2, 5, 6)
        if (not fills or state.fill_alpha < MIN_ALPHA) and (
            not strokes or state.stroke_alpha < MIN_ALPHA
        ):
            return REASON_TRANSPARENT
        em = state.font_size * state.font_scale
        height = abs(em) * math.hypot(matrix[2], matrix[3])
        width = abs(em * state.horizontal_scale) * math.hypot(matrix[0], matrix[1])
        if min(height, width) < MIN_SIZE_PT:
            return REASON_TINY
        extent = _text_extent(matrix, em, state.horizontal_scale, size)
        if self.box is not None and not overlaps(extent, self.box):
            return REASON_OUTSIDE
        if (not fills or _is_white(state.fill)) and (not strokes or _is_white(state.stroke)):
            self._white(extent)
        return None

    # graphics state ---------------------------------------------------------------------

    def _save(self, operands: list[Any], cm: Matrix) -> None:
        self.frames[-1].saved.append(self.state.copy())

    def _restore(self, operands: list[Any], cm: Matrix) -> None:
        frame = self.frames[-1]
        if frame.saved:
            frame.state = frame.saved.pop()

    def _colour(self, *, fill: Colour | bool = False, stroke: Colour | bool = False) -> None:
        if fill is not False:
            self.state.fill = fill if isinstance(fill, tuple) else None
        if stroke is not False:
            self.state.stroke = stroke if isinstance(stroke, tuple) else None

    def _space(self, operands: list[Any], *, fill: bool) -> None:
        space = self._colour_space(operands[0])
        # A new colour space starts at its initial colour: black, or full ink.
        if fill:
            self.state.fill_space, self.state.fill = space, BLACK
        else:
            self.state.stroke_space, self.state.stroke = space, BLACK

    def _colour_space(self, name: Any) -> Any:
        spaces = _dict(self.frames[-1].resources.get("/ColorSpace"))
        found = spaces.get(name)
        return found.get_object() if found is not None else name

    def _in_space(self, operands: list[Any], *, fill: bool) -> Colour:
        space = self.state.fill_space if fill else self.state.stroke_space
        values = [float(v) for v in operands if isinstance(v, int | float)]
        if len(values) != len(operands):
            return None  # a pattern: not judged
        return _colour_in(space, values)

    def _ext_state(self, operands: list[Any], cm: Matrix) -> None:
        states = _dict(self.frames[-1].resources.get("/ExtGState"))
        found: Any = _dict(states.get(operands[0]))
        if "/ca" in found:
            self.state.fill_alpha = float(found["/ca"])
        if "/CA" in found:
            self.state.stroke_alpha = float(found["/CA"])
        if "/Font" in found:
            self.state.font_size = float(found["/Font"][1])

    def _render_mode(self, operands: list[Any], cm: Matrix) -> None:
        mode = int(operands[0])
        self.state.render_mode = mode if 0 <= mode <= 7 else 0  # invalid: read as visible

    def _font(self, operands: list[Any], cm: Matrix) -> None:
        self.state.font_size = float(operands[1])
        fonts = _dict(self.frames[-1].resources.get("/Font"))
        self.state.font_scale = _font_scale(_dict(fonts.get(operands[0])))

    def _horizontal_scale(self, operands: list[Any], cm: Matrix) -> None:
        self.state.horizontal_scale = float(operands[0]) / 100

    # paths, images, forms ----------------------------------------------------------------

    def _rectangle(self, operands: list[Any], cm: Matrix) -> None:
        x, y, w, h = (float(v) for v in operands[:4])
        self._extend(cm, [(x, y), (x + w, y + h), (x, y + h), (x + w, y)])

    def _point(self, operands: list[Any], cm: Matrix) -> None:
        values = [float(v) for v in operands]
        self._extend(cm, list(zip(values[::2], values[1::2], strict=False)))

    def _extend(self, cm: Matrix, points: list[tuple[float, float]]) -> None:
        self.path.append((list(cm), self.frames[-1].base, points))
        if len(self.path) >= MAX_PIECES:
            self.path_area, self.path = _area(self.path, self.path_area), []

    def _end_path(self, operator: bytes) -> None:
        if operator in _PATH_FILLS:
            area = _area(self.path, self.path_area)
            if area is not None:
                self._paint(area, white=_is_white(self.state.fill))
        self.path, self.path_area = [], None

    def _paint(self, rect: Rect | None, *, white: bool) -> None:
        if rect is not None and len(self.paints) < MAX_PAINTS:
            self.paints.append((rect, white))

    def _image(self, cm: Matrix) -> None:
        corners = [(0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0)]
        rect = bounds(transform(multiply(cm, self.frames[-1].base), corners))
        self._paint(rect, white=False)
        if self.box is not None:
            self.image_cover = max(self.image_cover, cover_share(rect, self.box))

    def _enter(self, operands: list[Any], cm: Matrix) -> None:
        """`before` has pushed the frame (a copy of the caller's): make it the form's."""
        frame, caller = self.frames[-1], self.frames[-2]
        xobject = _dict(_dict(caller.resources.get("/XObject")).get(operands[0]))
        if xobject.get("/Subtype") == "/Image":
            self._image(cm)
            return
        frame.resources = _dict(xobject.get("/Resources")) or caller.resources
        frame.base = multiply(_matrix(xobject.get("/Matrix")), multiply(cm, caller.base))


# helpers --------------------------------------------------------------------------------


def _area(pieces: list[Piece], area: Rect | None) -> Rect | None:
    """`area` grown by the bounds of each piece in page space, in order; a piece that cannot
    be placed (no points, a broken matrix) adds nothing, as when each was placed as it came."""
    for cm, base, points in pieces:
        try:
            rect = bounds(transform(multiply(cm, base), points))
        except MemoryError:
            raise
        except Exception:
            continue
        area = rect if area is None else union(area, rect)
    return area


def _dict(value: Any) -> DictionaryObject:
    try:
        found = value.get_object() if value is not None else None
    except Exception:  # a broken reference is no resource
        return DictionaryObject()
    return found if isinstance(found, DictionaryObject) else DictionaryObject()


def _visible_box(page: PageObject) -> Rect | None:
    """What a viewer shows: the CropBox (pypdf falls back to the MediaBox) within the MediaBox.
    None where the boxes are broken: then nothing is judged off the page."""
    try:
        crop, media = bounds(_corners(page.cropbox)), bounds(_corners(page.mediabox))
    except Exception:
        return None
    x0, y0 = max(crop[0], media[0]), max(crop[1], media[1])
    x1, y1 = min(crop[2], media[2]), min(crop[3], media[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _corners(box: Any) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return [(x0, y0), (x1, y1)]


def _font_scale(font: DictionaryObject) -> float:
    """A Type3 font's glyph size relative to the usual 1/1000 em; other fonts: 1."""
    if font.get("/Subtype") != "/Type3":
        return 1.0
    matrix = _matrix(font.get("/FontMatrix"), default=[0.001, 0.0, 0.0, 0.001, 0.0, 0.0])
    return math.hypot(matrix[2], matrix[3]) / 0.001


def _matrix(value: Any, default: Matrix = IDENTITY) -> Matrix:
    try:
        matrix = [float(v) for v in value]
    except Exception:  # absent or malformed
        return default
    return matrix if len(matrix) == 6 else default


def _string_bytes(operator: bytes, operands: Any) -> int:
    """Bytes of text an operator shows, not counting blanks."""
    if not isinstance(operands, list) or not operands:
        return 0
    if operator == b"TJ":
        items = operands[0] if isinstance(operands[0], list) else []
    else:
        items = operands[2:3] if operator == b'"' else operands[:1]
    total = 0
    for item in items:
        if isinstance(item, bytes):
            total += len(item.strip(_BLANK_BYTES))
        elif isinstance(item, str) and not isinstance(item, NameObject):
            total += len(item.strip(_BLANK_CHARS))
    return total


def _colour_in(space: Any, values: list[float]) -> Colour:
    """The colour `values` give in `space` (a name or a colour-space array); None where
    we cannot tell (Lab, Indexed, Pattern): such text counts as visible."""
    family = space[0] if isinstance(space, list) and space else space
    if family == "/ICCBased":
        components = int(_dict(space[1]).get("/N", 0)) if len(space) > 1 else 0
        family = {1: "/DeviceGray", 3: "/DeviceRGB", 4: "/DeviceCMYK"}.get(components)
    if family in ("/DeviceGray", "/CalGray", "/G") and len(values) == 1:
        return gray(values)
    if family in ("/DeviceRGB", "/CalRGB", "/RGB") and len(values) == 3:
        return rgb(values)
    if family in ("/DeviceCMYK", "/CMYK") and len(values) == 4:
        return cmyk(values)
    if family in ("/Separation", "/DeviceN") and values:
        # A tint is ink: no ink at all is the paper. (Separation /None never marks.)
        return (1.0, 1.0, 1.0) if max(values) <= 1 - WHITE_LUMINANCE else None
    return None


def _is_white(colour: Colour) -> bool:
    if colour is None:
        return False
    r, g, b = colour
    return 0.2126 * r + 0.7152 * g + 0.0722 * b >= WHITE_LUMINANCE


def _text_extent(matrix: Matrix, em: float, horizontal: float, size: int) -> Rect:
    """Where the text may lie: from its origin, an estimated advance by one em up."""
    advance = EM_PER_BYTE * size * em * horizontal
    corners = [(0.0, 0.0), (advance, 0.0), (0.0, em), (advance, em)]
    return bounds(transform(matrix, corners))
