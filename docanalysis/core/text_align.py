"""Aligning two readings of the same page: the text our offsets index (pypdf's) and the text of
a reader that knows where each character is drawn (pdfium's), to highlight a clause's words on
the page image.

The two readers disagree on spacing (pypdf may glue "Dated:July", pdfium inserts "\\r\\n" at
line ends), hyphenation (a line-end "-" may be a soft hyphen, U+00AD or pdfium's U+0002, in the
other reading), ligatures ("ﬁ") and case of nothing; they agree on the words and their order.
So both texts become words (NFKC, case-folded, a word broken at a line-end hyphen joined), and a
passage is found first as an exact run of letters (spaces ignored), then, where the readings
differ inside it, by aligning the page's words. Plain functions over strings: no PDF here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

# A word ending in one of these, with a line break after it, continues on the next line.
HYPHENS = frozenset("-\u00ad\u2010\u2011\x02")
# Marks that are never part of a word as read: soft hyphens (pypdf and pdfium spell them
# differently) and pdfium's "non-character" placeholders.
_DROP = str.maketrans("", "", "\u00ad\x02\ufffe\uffff")
_WORD = re.compile(r"\S+")
# Below this share of its words found on the page, a passage is not said to be there: a few
# common words matched far apart would highlight the wrong lines.
MIN_COVERAGE = 0.5

# Runs of one line further apart than this many line heights are drawn as separate boxes.
LINE_GAP = 6

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class Word:
    key: str  # what is compared: NFKC, case-folded, soft hyphens dropped
    start: int  # [start, end) in the text it was read from
    end: int


@dataclass(frozen=True)
class Alignment:
    """Where a passage lies in the other text: [start, end) of that text's characters."""

    start: int
    end: int
    coverage: float  # share of the passage's words found there (1.0 for an exact match)


def words(text: str) -> list[Word]:
    """The words of `text` with their character ranges; a word hyphenated across a line
    break is one word spanning both parts."""
    found: list[Word] = []
    joins_next = False
    for match in _WORD.finditer(text):
        raw = match.group()
        key = unicodedata.normalize("NFKC", raw).casefold()
        hyphenated = raw[-1] in HYPHENS
        key = key.translate(_DROP)
        if hyphenated and key.endswith(tuple(HYPHENS)):
            key = key[:-1]
        if joins_next and found and "\n" in text[found[-1].end : match.start()]:
            found[-1] = Word(found[-1].key + key, found[-1].start, match.end())
        elif key or hyphenated:
            found.append(Word(key, match.start(), match.end()))
        joins_next = hyphenated
    return [w for w in found if w.key]


def locate(source: str, start: int, end: int, target: str) -> Alignment | None:
    """Where `source[start:end]` (a passage of one reading of a page) lies in `target` (another
    reading of the same page), or None if it is not found there."""
    ours, theirs = words(source), words(target)
    first = next((i for i, w in enumerate(ours) if w.end > start), len(ours))
    last = next((i for i in range(len(ours) - 1, -1, -1) if ours[i].start < end), -1)
    if first > last or not theirs:
        return None
    exact = _exact(ours, theirs, first, last)
    if exact is not None:
        return Alignment(theirs[exact[0]].start, theirs[exact[1]].end, 1.0)
    return _by_words(ours, theirs, first, last)


def _exact(ours: list[Word], theirs: list[Word], first: int, last: int) -> tuple[int, int] | None:
    """The passage's letters as one run in `theirs`: (first word, last word) there. Where the
    passage occurs more than once (a signature block repeated on the page), the k-th
    occurrence in our reading is taken to be the k-th in theirs."""
    needle = "".join(w.key for w in ours[first : last + 1])
    our_text, _ = _joined(ours)
    their_text, owner = _joined(theirs)
    their_hits = _occurrences(their_text, needle)
    if not their_hits:
        return None
    our_hits = _occurrences(our_text, needle)
    ours_at = len("".join(w.key for w in ours[:first]))
    k = our_hits.index(ours_at) if ours_at in our_hits else 0
    if len(our_hits) == len(their_hits):
        hit = their_hits[k]
    else:  # the readings disagree on the count: the one at the nearest relative position
        where = ours_at / max(len(our_text), 1)
        hit = min(their_hits, key=lambda h: abs(h / max(len(their_text), 1) - where))
    return owner[hit], owner[hit + len(needle) - 1]


def _joined(ws: Sequence[Word]) -> tuple[str, list[int]]:
    """The words' keys run together, and for each of its characters the word it belongs to."""
    owner = [i for i, w in enumerate(ws) for _ in w.key]
    return "".join(w.key for w in ws), owner


def _occurrences(text: str, needle: str) -> list[int]:
    hits: list[int] = []
    at = text.find(needle)
    while at != -1:
        hits.append(at)
        at = text.find(needle, at + 1)
    return hits


def _by_words(ours: list[Word], theirs: list[Word], first: int, last: int) -> Alignment | None:
    """Align the whole page word by word and take the span of the passage's matched words: a
    word read differently (a glued "Dated:July", hidden text only one reader kept) is skipped,
    the words around it still place the passage, and repeated passages are told apart by
    their context."""
    # No autojunk: it would drop the words common on the page ("the", "Name:"), which are
    # words of the passage all the same.
    matcher = SequenceMatcher(None, [w.key for w in ours], [w.key for w in theirs], autojunk=False)
    matched = [
        (a + i, b + i)
        for a, b, size in matcher.get_matching_blocks()
        for i in range(size)
        if first <= a + i <= last
    ]
    coverage = len(matched) / (last - first + 1)
    if not matched or coverage < MIN_COVERAGE:
        return None
    targets = [b for _, b in matched]
    return Alignment(theirs[min(targets)].start, theirs[max(targets)].end, coverage)


def line_boxes(rects: Sequence[Box]) -> list[Box]:
    """Character-run rectangles (x0, y0, x1, y1) merged into one per line: two runs are on one
    line where they overlap vertically by half the smaller height and the gap between them is
    at most LINE_GAP line heights (a word space or a tab stop, as in "Name:    John Madden";
    not the far side of a wide page). Order kept, by first run."""
    lines: list[Box] = []
    for rect in rects:
        for i, line in enumerate(lines):
            if _same_line(line, rect):
                lines[i] = (
                    min(line[0], rect[0]),
                    min(line[1], rect[1]),
                    max(line[2], rect[2]),
                    max(line[3], rect[3]),
                )
                break
        else:
            lines.append(rect)
    return lines


def _same_line(a: Box, b: Box) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    height = min(a[3] - a[1], b[3] - b[1])
    gap = max(a[0], b[0]) - min(a[2], b[2])
    return height > 0 and overlap >= height / 2 and gap <= LINE_GAP * max(a[3] - a[1], b[3] - b[1])
