"""The passages the clause scorer judges: the contract cut at several granularities.

CUAD's gold answers are what a lawyer highlighted: a sentence, part of one, two sentences, or
a few words (a title, a date, a party's name). A prediction counts only when its words overlap
a gold answer's by half (Jaccard), so no single cut fits every category: sentences, their
clauses (cut at ";" and ":"), pairs of adjacent sentences, and short named spans (dates,
upper-case titles and names, company names, quoted defined terms) are all offered, and the
scorer learns per category which kind wins. Every candidate is the source's own text at its
offsets. Pure Python: no model, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kinds of candidate, in the order they are generated.
SENTENCE, CLAUSE, PAIR, DATE, CAPS, COMPANY, TERM = (
    "sentence",
    "clause",
    "pair",
    "date",
    "caps",
    "company",
    "term",
)
KINDS = (SENTENCE, CLAUSE, PAIR, DATE, CAPS, COMPANY, TERM)

# Short named spans are looked for near the top (title, preamble) and the end (signatures).
HEAD_CHARS = 6000
TAIL_CHARS = 6000
PAIR_MAX_WORDS = 160
CLAUSE_MIN_WORDS = 4

# A sentence ends at a line break, unless the sentence goes on in lower case after it (see
# _wrapped); at ".", "!" or "?" followed by blanks and a capital, a digit or an opening quote or
# bracket (unless the word before is an abbreviation, an initial or a section number: "12.
# Governing Law." stays one heading); or at a run of three or more blanks before a capital
# (text flattened from a PDF layout).
_BREAK = re.compile(
    r"\n\s*|(?<=[.!?])[^\S\n]+(?=[\"'(\[]?[A-Z0-9])|(?<=\S)[^\S\n]{3,}(?=[\"'(\[]?[A-Z0-9§])"
)
_ABBREVIATION = re.compile(
    r"(?:\b[A-Za-z]|\bInc|\bCo|\bCorp|\bLtd|\bNo|\bNos|\bMr|\bMrs|\bMs|\bDr|\bSt|\bSec"
    r"|\bArt|\bU\.S|\bi\.e|\be\.g|\betc|\bvs|\bv|\bJr|\bSr|(?:^|\s)\d{1,3}(?:\.\d{1,3})*)\.$"
)
_CLAUSE_CUT = re.compile(r"(?<=[;:])\s+|\s+(?=\([a-z0-9]{1,4}\)\s)")
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_DAY = r"(?:\d{1,2}(?:st|nd|rd|th)?|_+|\[\s*\]|\s?)"
_YEAR = r"(?:\d{4}|\d{2}|_+)"
_DATE = re.compile(
    rf"(?i:(?:the\s+)?{_DAY}\s*(?:day\s+)?(?:of\s+)?{_MONTH}\s*,?\s*{_YEAR})"
    rf"|(?i:{_MONTH}\s*{_DAY}\s*,?\s*{_YEAR})"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b"
    r"|(?i:(?:the\s+)?_*\s*day\s+of\s+_+\s*,?\s*\d{4})"
)
_UPPER_WORD = r"[A-Z][A-Z0-9&'.,\-]*(?![A-Za-z])"
_GAP = r"[^\S\n]{1,2}"
_CAPS = re.compile(rf"{_UPPER_WORD}(?:{_GAP}(?:(?:of|and|for|the){_GAP})?{_UPPER_WORD})+")
_SUFFIX = (
    r"(?:Inc\.?|Incorporated|LLC|L\.L\.C\.|Ltd\.?|Limited|Corporation|Corp\.?|Company|Co\."
    r"|L\.P\.|LP|LLP|plc|PLC|GmbH|AG|S\.A\.|N\.V\.|B\.V\.|S\.p\.A\.|Trust|Partners"
    r"|INC\.?|INCORPORATED|LTD\.?|LIMITED|CORPORATION|CORP\.?|COMPANY)(?![A-Za-z])"
)
# A name: up to seven capitalized words ending in a company suffix ("Acme Widgets, Inc.").
_COMPANY = re.compile(
    r"\b(?!(?:By|And|Between|This|The|With|Of|To|For)\b)"
    rf"(?:[A-Z][\w&'.\-]*,?[^\S\n]+){{1,7}}?{_SUFFIX}"
)
_TERM = re.compile(r"\(\s*(?:the\s+|each\s+a\s+|collectively,?\s+)?[\"“]([^\"”]{2,60})[\"”]\s*\)")


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    kind: str
    # The sentence the candidate lies in (the candidate itself for sentence-sized kinds): its
    # neighbours and heading are the candidate's context.
    sentence: int


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The text cut into sentences: (start, end) offsets, surrounding blanks excluded."""
    spans, begin = [], 0
    for cut in _BREAK.finditer(text):
        if "\n" in cut.group():
            if _wrapped(text, cut.start(), cut.end()):
                continue
        elif _ABBREVIATION.search(text[max(0, cut.start() - 8) : cut.start()]):
            continue
        spans.append((begin, cut.start()))
        begin = cut.end()
    spans.append((begin, len(text)))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s is not None]


def _wrapped(text: str, start: int, end: int) -> bool:
    """A line break inside a sentence (a PDF's wrapped line, a page break mid-sentence): the
    line before does not end a sentence and the next one goes on in lower case."""
    before = text[max(0, start - 8) : start].rstrip()
    return bool(before) and before[-1] not in ".;:!?" and text[end : end + 1].islower()


def _strip(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    body = piece.strip()
    if not body:
        return None
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(body)


def _words(text: str, start: int, end: int) -> int:
    return len(text[start:end].split())


def candidates(text: str) -> list[Candidate]:
    """Every candidate passage of `text`, deduplicated by offsets."""
    sentences = sentence_spans(text)
    found: dict[tuple[int, int], Candidate] = {}

    def add(start: int, end: int, kind: str, index: int) -> None:
        while end > start and text[end - 1] in " \t\n,;":
            end -= 1
        span = _strip(text, start, end)
        if span is not None and span not in found:
            found[span] = Candidate(span[0], span[1], kind, index)

    for index, (start, end) in enumerate(sentences):
        add(start, end, SENTENCE, index)
    for index, (start, end) in enumerate(sentences):
        for a, b in _clauses(text, start, end):
            add(a, b, CLAUSE, index)
        if index + 1 < len(sentences):
            after = sentences[index + 1][1]
            if _words(text, start, after) <= PAIR_MAX_WORDS:
                add(start, after, PAIR, index)
    for start, end, kind in _named_spans(text):
        add(start, end, kind, _sentence_at(sentences, start))
    return sorted(found.values(), key=lambda c: (c.start, c.end))


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A long sentence's parts between ";", ":" and enumerators like "(a)" or "(ii)"."""
    if _words(text, start, end) < 2 * CLAUSE_MIN_WORDS:
        return []
    cuts = [m for m in _CLAUSE_CUT.finditer(text, start, end)]
    if not cuts:
        return []
    bounds = [start] + [m.start() for m in cuts] + [end]
    starts = [start] + [m.end() for m in cuts]
    parts = [(a, b) for a, b in zip(starts, bounds[1:], strict=True)]
    return [(a, b) for a, b in parts if _words(text, a, b) >= CLAUSE_MIN_WORDS]


def _named_spans(text: str) -> list[tuple[int, int, str]]:
    """Dates anywhere; titles, names and defined terms near the top and the end."""
    spans = [(m.start(), m.end(), DATE) for m in _DATE.finditer(text)]
    regions = [(0, min(len(text), HEAD_CHARS)), (max(0, len(text) - TAIL_CHARS), len(text))]
    for begin, finish in regions:
        for m in _CAPS.finditer(text, begin, finish):
            if len(m.group().split()) >= 2:
                spans.append((m.start(), m.end(), CAPS))
        spans += [(m.start(), m.end(), COMPANY) for m in _COMPANY.finditer(text, begin, finish)]
        for m in _TERM.finditer(text, begin, finish):
            spans.append((m.start(1), m.end(1), TERM))
    return [(a, b, kind) for a, b, kind in spans if text[a:b].strip(" ,.")]


def _sentence_at(sentences: list[tuple[int, int]], offset: int) -> int:
    """The index of the sentence holding `offset` (the nearest one before it otherwise)."""
    low, high = 0, len(sentences) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if sentences[middle][0] <= offset:
            low = middle
        else:
            high = middle - 1
    return max(low, 0)
