"""Numbered provisions: the paragraphs the model points at by number."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence

from docanalysis.core.types import ExtractedDocument, Provision


def render_provision(text: str, provision: Provision) -> str:
    """How a provision appears in the model's input: its number in brackets, then its text."""
    body = " ".join(text[provision.start : provision.end].split())
    return f"[{provision.number}] {body}\n"


def render_provisions(text: str, provisions: Sequence[Provision]) -> str:
    return "".join(render_provision(text, p) for p in provisions)


# --- Splitting a document into provisions -------------------------------------------------
#
# pypdf gives lines, not paragraphs, and real contracts often have no blank lines between
# clauses. A provision therefore starts at a blank line or at a line that opens a numbered or
# lettered section, a recital or an all-caps heading, but only where the previous line ended a
# sentence or a heading: "...as defined in Section\n5.2 of the Agreement" must not be cut.

_SECTION_START = re.compile(
    r"""(?x)
    (?: \d{1,3}(?:\.\d{1,3})*\.(?:\(\w{1,4}\))*(?=\s)   # 1.  1.1.  12.3.(a)
      | \d{1,3}(?:\.\d{1,3})+(?:\(\w{1,4}\))*(?=\s)     # 1.1  12.3(a)
      | \d{1,3}(?:\.\d{1,3})*\(\w{1,4}\)                # 12(a)
      | \((?:[a-zA-Z]{1,2}|[ivxlcIVXLC]{1,7}|\d{1,3})\) # (a) (iv) (A) (1)
      | [a-z]\)(?=\s)                                   # a)
      | [a-zA-Z]\.(?=\s|$)                              # A. Fees   c. the
      | (?i:section|article|clause|schedule|exhibit|annex|appendix|part)\s+[\dIVXLC]+\b
      | WHEREAS\b | NOW,?\s+THEREFORE\b | IN\s+WITNESS\s+WHEREOF\b
    )
    """
)
# "- 2 -", "Page 3 of 10", "iv": footers that belong to no provision.
_PAGE_NOISE = re.compile(
    r"(?i)^(?:page\s*)?[-–—(\s]*(?:\d{1,4}|[ivxlc]{1,6})[-–—)\s]*(?:of\s*\d+)?$"
)
_TERMINAL = ".;:!?)\"”'’"
_LIST_JOINER = re.compile(r"[;,]\s*(?:and|or|and/or)$")
_CLOSERS = ")\"”'’]"
_SENTENCE_END = re.compile(r"[.;:?!][\"”’)]*(?=\s+[\"“(]?[A-Z0-9(])")
_SPACE = re.compile(r"\s+")
# The same characters as str.isalnum, and a lowercase letter: found by one C-level scan each.
_ALNUM = re.compile(r"[^\W_]")
_ASCII_LOWER = re.compile(r"[a-z]")
_FRAGMENT_WORDS = 6


def split_provisions(doc: ExtractedDocument, *, max_chars: int = 2000) -> tuple[Provision, ...]:
    """Numbered paragraphs (1..n) covering the document's words, each at most `max_chars` long.

    text[start:end] starts and ends with a non-space character; `page` holds the first one.
    """
    text = doc.text
    if doc.by_paragraph:
        return _paragraph_provisions(doc, max_chars)
    blocks = _blocks(text)
    blocks = _merge(text, blocks, _is_page_noise, forward=False)
    blocks = _merge_continuations(text, blocks)
    # Lists before fragments: a short lead-in ("Vendor agrees:") must still see its items.
    blocks = _group_lists(text, blocks, max_chars)
    blocks = _merge(text, blocks, _is_fragment, forward=True)
    spans = [piece for block in blocks for piece in _split_long(text, block, max_chars)]
    page_of = _page_finder(doc)
    return tuple(
        Provision(number=n, start=s, end=e, page=page_of(s))
        for n, (s, e) in enumerate(spans, start=1)
    )


def _paragraph_provisions(doc: ExtractedDocument, max_chars: int) -> tuple[Provision, ...]:
    """A Word file's provisions: its paragraphs as the author made them (no guessing where a
    clause starts), a long one cut like any other block; each keeps its paragraph's "page"."""
    spans = [
        (piece, page.number)
        for page in doc.pages
        for piece in _split_long(doc.text, _trim(doc.text, page.start, page.end), max_chars)
        if piece[0] < piece[1]
    ]
    return tuple(
        Provision(number=n, start=s, end=e, page=page)
        for n, ((s, e), page) in enumerate(spans, start=1)
    )


def _page_finder(doc: ExtractedDocument) -> Callable[[int], int]:
    """doc.page_at, by bisection where the pages are in order and apart (as extraction makes
    them): page_at scans every page, which made splitting quadratic in the pages."""
    pages = doc.pages
    ordered = all(a.end <= b.start for a, b in zip(pages, pages[1:], strict=False))
    if not ordered:
        return doc.page_at
    starts = [page.start for page in pages]

    def page_of(offset: int) -> int:
        index = bisect_right(starts, offset) - 1
        if index >= 0 and offset < pages[index].end:
            return pages[index].number
        return doc.page_at(offset)  # in no page: page_at's answer for that

    return page_of


def _lines(text: str) -> list[tuple[int, int, bool]]:
    """Non-blank lines as (start, end, blank line before), trimmed of surrounding whitespace."""
    lines: list[tuple[int, int, bool]] = []
    offset = 0
    blank_before = False
    for raw in text.split("\n"):
        body = raw.strip()
        if body:
            start = offset + len(raw) - len(raw.lstrip())
            lines.append((start, start + len(body), blank_before))
            blank_before = False
        else:
            blank_before = True
        offset += len(raw) + 1
    return lines


def _line_width(lines: Sequence[tuple[int, int, bool]]) -> int:
    """The width of a full line of body text: most lines of prose wrap at the right margin."""
    lengths = sorted(end - start for start, end, _ in lines)
    return lengths[int(len(lengths) * 0.9)] if lengths else 0


def _blocks(text: str) -> list[tuple[int, int]]:
    blocks: list[tuple[int, int]] = []
    lines = _lines(text)
    # A line that stops well short of the margin was not wrapped: the paragraph ended there.
    short = _line_width(lines) * 0.7
    previous = ""  # the last line with a letter or digit: underlines of dashes say nothing
    for start, end, blank_before in lines:
        line = text[start:end]
        opens = _opens_section(line) and _closes(previous)
        ended = (
            bool(previous)
            and len(previous) < short
            and _starts_paragraph(line)
            and (previous[-1] in _TERMINAL or _is_caps_heading(line))
        )
        if not blocks or blank_before or opens or ended:
            blocks.append((start, end))
        else:
            blocks[-1] = (blocks[-1][0], end)
        if _ALNUM.search(line):
            previous = line
    return blocks


def _starts_paragraph(line: str) -> bool:
    return line[0].isupper() or line[0].isdigit() or line[0] in '("“'


def _opens_section(line: str) -> bool:
    return bool(_SECTION_START.match(line)) or _is_caps_heading(line)


def _closes(line: str) -> bool:
    """Whether a section may start after `line`: it ended a sentence, a list item or a heading."""
    if not line or line[-1] in _TERMINAL or _LIST_JOINER.search(line):
        return True
    return _is_caps_heading(line) or _is_page_noise(line)


def _is_caps_heading(line: str) -> bool:
    # Most lines are prose: one lowercase letter settles it without a pass per character.
    if len(line) > 100 or _ASCII_LOWER.search(line):
        return False
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters)


def _is_page_noise(block: str) -> bool:
    return bool(_PAGE_NOISE.match(block))


def _is_fragment(block: str) -> bool:
    """A heading or label too short to cite alone; it belongs to the text that follows it."""
    words = block.split()
    if len(words) > _FRAGMENT_WORDS or _is_page_noise(block) or _LIST_JOINER.search(block):
        return False
    # A colon introduces what follows ("Gentlemen:", "Recitals:"), so it does not end a clause.
    return block[-1] not in ".;!?" or _is_numbered_title(block)


def _is_numbered_title(block: str) -> bool:
    """ "1. Definitions." or "Section 5. Governing Law.": a title, not a one-line clause."""
    opening = _SECTION_START.match(block)
    if opening is None or block.startswith("WHEREAS"):
        return False
    rest = block[opening.end() :].strip().rstrip(".")
    words = rest.split()
    return (
        0 < len(words) <= 4
        and "." not in rest
        and ";" not in rest
        and all(word[0].isupper() for word in words if len(word) > 3)
        and words[0][0].isupper()
    )


def _merge(
    text: str, blocks: list[tuple[int, int]], test: Callable[[str], bool], *, forward: bool
) -> list[tuple[int, int]]:
    """Fold blocks that pass `test` into their neighbour (the next one if `forward`)."""
    if len(blocks) < 2:
        return blocks
    out: list[tuple[int, int]] = []
    carry: int | None = None  # start of fragments waiting for the next block
    for start, end in blocks:
        if carry is not None:
            start, carry = carry, None
        if forward and test(text[start:end]):
            carry = start
        elif not forward and out and test(text[start:end]):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    if carry is not None:  # trailing fragments: nothing follows, so they join what precedes
        if out:
            out[-1] = (out[-1][0], blocks[-1][1])
        else:
            out.append((carry, blocks[-1][1]))
    return out


def _merge_continuations(text: str, blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Rejoin a sentence cut by a page break or a stray blank line: "...in the" + "event of"."""
    out: list[tuple[int, int]] = []
    for start, end in blocks:
        if out and text[start].islower() and not _ends_sentence(text[out[-1][0] : out[-1][1]]):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _ends_sentence(block: str) -> bool:
    # '("Code")' closes a parenthesis, not a sentence: look through closers to the punctuation.
    return block.rstrip(_CLOSERS)[-1:] in (".", ";", ":", "!", "?")


# --- Lists: a sentence that introduces items holds them -----------------------------------
#
# "Datec must not assign this agreement unless Datec" + "(a) ...;" + "(b) ...; and" + "(c) ...":
# neither the lead-in nor an item means anything alone, and lawyers mark the whole as one clause.
# So a lead-in and its items form one provision when they fit `max_chars` together; a longer
# list keeps its items apart (each then still reads as "(b) ..." under a cited lead-in).

_ITEM = re.compile(
    r"""(?x)
    (?P<open>\()? (?P<label>[a-zA-Z]{1,2}|[ivxlcIVXLC]{1,7}|\d{1,3}) (?P<close>\))
    | (?P<number>\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}\.)(?:\(\w{1,4}\))*(?=\s)
    | (?P<letter>[a-zA-Z]|[ivxlcIVXLC]{1,7})\.(?=\s)
    | (?P<bullet>[•·▪●◦○■➢*\-–—])(?=\s)
    """
)
_ITEM_FIRST = re.compile(r"\(?(?:[aAiI1])[.)](?=\s)|\([aAiI1]\)")
_WHOLE_AGREEMENT = re.compile(r"(?i)^(?:now,?\s+therefore|witnesseth|in\s+witness\s+whereof)")
# A list marker's style and depth: "(a)" and "(b)" share one; "(i)" nests under them, and "1.1"
# (depth 2) under "1." (depth 1).
_Style = tuple[str, int]


def _group_lists(text: str, blocks: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    index = 0
    while index < len(blocks):
        last = _list_end(text, blocks, index, max_chars)
        out.append((blocks[index][0], blocks[last][1]))
        index = last + 1
    return out


def _list_end(text: str, blocks: Sequence[tuple[int, int]], lead: int, max_chars: int) -> int:
    """The last item of the list that blocks[lead] introduces, if it all fits; else `lead`."""
    start, end = blocks[lead]
    if not _introduces_list(text[start:end]):
        return lead
    own = _item_style(text[start:end])
    first: _Style | None = None
    last = lead
    for index in range(lead + 1, len(blocks)):
        body = text[blocks[index][0] : blocks[index][1]]
        style = _item_style(body)
        if style is None:
            # "provided, however, ..." or "then ..." after the items continues the clause.
            if first is None or not body[0].islower():
                break
        elif _is_caps_heading(body.split("\n", 1)[0]) or not _in_list(own, first, style, body):
            break
        first = first or style
        if blocks[index][1] - start > max_chars:
            return lead
        last = index
    return last


def _introduces_list(block: str) -> bool:
    """Ends with a colon, or stops mid-sentence ("... unless Datec"), and is no heading.

    An item that ends "; and" is a list's own item, not the lead-in of another.
    """
    if _WHOLE_AGREEMENT.match(block) or _LIST_JOINER.search(block):
        return False
    if _is_caps_heading(block.split("\n", 1)[0]):
        return False
    tail = block.rstrip(_CLOSERS)[-1:]
    return tail == ":" or tail == "," or tail.islower()


def _item_style(block: str) -> _Style | None:
    match = _ITEM.match(block)
    if match is None:
        return None
    if match["number"]:
        return "number", match["number"].rstrip(".").count(".") + 1
    if match["bullet"]:
        return "bullet", 0
    label = match["label"] or match["letter"]
    # "(i)" is a roman numeral, "(c)" a letter: romans of one letter other than i, v, x are rare.
    kind = "roman" if re.fullmatch(r"[ivx]+|[IVX]+", label) else "letter"
    case = "digit" if label.isdigit() else ("upper" if label.isupper() else "lower")
    bracket = "(" if match["open"] else (")" if match["close"] else ".")
    return f"{bracket}{kind}{case}", 0


def _in_list(own: _Style | None, first: _Style | None, style: _Style, body: str) -> bool:
    """Whether an item of `style` continues a list whose lead-in opened with `own`."""
    if style == first:
        return True
    if own is not None and style[0] == own[0] and style[1] <= own[1]:
        # The lead-in's own level is the next section, unless a new list starts at "(a)": the
        # lead-in then holds earlier items too ("(f) ... Each Party shall require them:").
        return first is None and _ITEM_FIRST.match(body) is not None
    if style[0] == "number":
        # A numbered block inside a lettered list is the next section, not an item.
        return first is None or (first[0] == "number" and style[1] >= first[1])
    return True


def _split_long(text: str, block: tuple[int, int], max_chars: int) -> list[tuple[int, int]]:
    """Cut at sentence ends so each piece fits `max_chars`; a longer sentence at spaces."""
    start, end = block
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        limit = start + max_chars
        cut = _last_sentence_end(text, start, limit) or _last_space(text, start, limit)
        if cut is None:  # one "word" longer than max_chars (a table row, a URL): hard cut
            cut = limit
        pieces.append(_trim(text, start, cut))
        start = _trim(text, cut, end)[0]
    pieces.append((start, end))
    return pieces


def _last_sentence_end(text: str, start: int, limit: int) -> int | None:
    """Offset just after the last sentence that ends in text[start:limit], if any."""
    cut = None
    # The lookahead needs a few characters past `limit` to see the next sentence's capital.
    for match in _SENTENCE_END.finditer(text, start, min(len(text), limit + 4)):
        if start < match.end() <= limit:
            cut = match.end()
    return cut


def _last_space(text: str, start: int, limit: int) -> int | None:
    cut = None
    for match in _SPACE.finditer(text, start, limit + 1):
        if match.start() > start:
            cut = match.start()
    return cut


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
