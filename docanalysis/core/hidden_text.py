"""Text a reader cannot see, found while pypdf extracts a page, and the page's text without it.

Documents are untrusted: a contract can carry white-on-white, invisible (render mode 3),
microscopic or off-page text telling the model what to report. A person reading the PDF never
sees it, so by default it must not reach the model either.

How: pypdf's `extract_text` calls `visitor_operand_before(operator, operands, cm, tm)` before
it runs each content-stream operator (page and form XObjects alike), then
`visitor_operand_after` once the operator (for `Do`: the whole form) is done. `visitor_text`
is no help: it reports pypdf's text runs, which are flushed at BT/ET/Tf/cm and line changes,
not at colour or render-mode changes, so one run can mix visible and hidden words. Instead
`_Scan` follows the graphics state itself (colours, Tr, Tf, Tz, q/Q, form matrices) and judges
every text-showing operator (Tj, TJ, ', ") when pypdf is about to run it.

1. One pass with the scan: pypdf's output is exactly `page.extract_text()` (with a visitor,
   pypdf also parses forms that hold no text operator, which costs time but adds no text), so
   a page with no hidden text returns it, byte for byte.
2. Only if some operator drew hidden text: one pass per reason with every other text operator
   blanked (its string emptied for the length of that operator, then put back) gives the
   hidden text, and, unless it is asked for, one pass with the hidden operators blanked gives
   the page's text without them, laid out by pypdf as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pypdf import PageObject
from pypdf.generic import ArrayObject

from docanalysis.core.parse_once import parsed_contents
from docanalysis.core.pdf_scan import TEXT_OPERATORS, Scan


@dataclass(frozen=True)
class HiddenText:
    """Text of one kind a reader cannot see on a page: `passages` separate places, all of
    their text in `text` (pypdf's layout, in drawing order)."""

    reason: str
    passages: int
    text: str


@dataclass(frozen=True)
class PageText:
    """A page's text (without hidden text unless it was asked for) and what was hidden."""

    text: str
    hidden: tuple[HiddenText, ...] = ()


def read_page(page: PageObject, *, include_hidden: bool = False) -> PageText:
    """The page's text as `page.extract_text()` gives it, less the text a reader cannot see
    (kept when `include_hidden`); unchanged, byte for byte, where nothing is hidden."""
    # Every pass below reads the same content stream: parse it once (parse_once.py).
    with parsed_contents(page):
        read = _read(page, include_hidden)
    # visitors make pypdf parse more (forms); where that failed, read it as before, untouched
    return read if read is not None else PageText(page.extract_text())


def _read(page: PageObject, include_hidden: bool) -> PageText | None:
    scan = Scan(page)
    try:
        text = _extract(page, scan.before, scan.after)
    except MemoryError:
        raise
    except Exception:
        return None
    groups = [(reason, ops) for reason, ops in scan.hidden().items()]
    hidden = [_hidden_text(page, reason, ops) for reason, ops in groups]
    found = [(piece, ops) for piece, (_, ops) in zip(hidden, groups, strict=True) if piece.text]
    if not found:
        return PageText(text)  # only blanks were hidden: nothing to leave out
    if not include_hidden:
        dropped = frozenset(op for _, ops in found for op in ops)
        text = _extract(page, *_blanker(lambda op: op in dropped))
    return PageText(text, tuple(piece for piece, _ in found))


def _hidden_text(page: PageObject, reason: str, ops: Sequence[int]) -> HiddenText:
    kept = frozenset(ops)
    text = _extract(page, *_blanker(lambda op: op not in kept))
    return HiddenText(reason, _runs(ops), text.strip())


def _extract(
    page: PageObject,
    before: Callable[[Any, Any, Any, Any], None],
    after: Callable[[Any, Any, Any, Any], None],
) -> str:
    return page.extract_text(visitor_operand_before=before, visitor_operand_after=after)


def _runs(ops: Sequence[int]) -> int:
    """Passages: runs of consecutive text operators (a visible one in between splits them)."""
    return sum(1 for i, op in enumerate(ops) if i == 0 or op != ops[i - 1] + 1)


def _blanker(
    blank: Callable[[int], bool],
) -> tuple[Callable[[Any, Any, Any, Any], None], Callable[[Any, Any, Any, Any], None]]:
    """Visitors that empty the string of each text operator `blank` picks, for that operator
    only: pypdf still moves the text position, so the text around it is laid out as before."""
    count = 0
    saved: list[Any] = []

    def before(operator: Any, operands: Any, cm: Any, tm: Any) -> None:
        nonlocal count
        if operator not in TEXT_OPERATORS:
            return
        count += 1
        if blank(count - 1) and isinstance(operands, list) and operands:
            saved[:] = [operands[:]]
            index = 2 if operator == b'"' else 0
            if index < len(operands):
                operands[index] = ArrayObject() if operator == b"TJ" else ""

    def after(operator: Any, operands: Any, cm: Any, tm: Any) -> None:
        if saved and operator in TEXT_OPERATORS:
            operands[:] = saved.pop()

    return before, after
