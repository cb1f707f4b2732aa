"""Values that cross layers. Frozen, so a stage can never change what an earlier one produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Page:
    """A page as a half-open range [start, end) of the document's text; numbers start at 1.

    A Word file has no pages: each of its paragraphs is a "page" whose `label` is how a lawyer
    cites it ("§ 3. Termination, ¶ 2"); "" for a real page, cited by its number."""

    number: int
    start: int
    end: int
    label: str = ""
    # Read by OCR (a scan: core/ocr_pages.py), with tesseract's mean word confidence (0..1;
    # None: OCR found no word). False for a page read from its text layer.
    ocr: bool = False
    ocr_confidence: float | None = None


@dataclass(frozen=True)
class ExtractedDocument:
    sha256: str
    text: str
    pages: tuple[Page, ...]
    warnings: tuple[str, ...] = ()
    # A scan's OCR output (core/ocr_pages.py): every page, the OCRed ones straightened, with
    # their text layer where the words are drawn. The viewer shows it, so that highlights land
    # on the words; the file as uploaded stays the record. None when no page was OCRed.
    ocr_pdf: bytes | None = field(default=None, compare=False, repr=False)

    def page_at(self, offset: int) -> int:
        """The number of the page that holds the character at `offset`."""
        for page in self.pages:
            if page.start <= offset < page.end:
                return page.number
        return self.pages[-1].number if self.pages else 1

    @property
    def by_paragraph(self) -> bool:
        """Whether the pages are a Word file's paragraphs (cited by section and paragraph)."""
        return bool(self.pages) and all(page.label for page in self.pages)


@dataclass(frozen=True)
class Provision:
    """A numbered paragraph: the unit the model points at. Text is document.text[start:end]."""

    number: int
    start: int
    end: int
    page: int


@dataclass(frozen=True)
class Window:
    """A run of consecutive provisions that fits the model's input budget."""

    index: int
    first: int  # number of the first provision
    last: int  # number of the last provision (inclusive)
    start: int  # character offsets into the document text
    end: int
    tokens: int


ValueKind = Literal["yes_no", "date", "duration", "jurisdiction", "parties", "text"]
VALUE_KINDS: tuple[ValueKind, ...] = (
    "yes_no",
    "date",
    "duration",
    "jurisdiction",
    "parties",
    "text",
)


@dataclass(frozen=True)
class ClauseCategory:
    key: str  # snake_case, stable: stored with findings and used in the model's schema
    name: str
    description: str
    value_kind: ValueKind = "text"


@dataclass(frozen=True)
class ClauseRef:
    """What the model says: a category, the provisions it points at, a normalized value."""

    category: str
    provisions: tuple[int, ...]
    value: str = ""


@dataclass(frozen=True)
class SummarySentence:
    """One sentence of a summary and the provisions it rests on (possibly none)."""

    text: str
    provisions: tuple[int, ...] = ()


@dataclass(frozen=True)
class WindowAnalysis:
    summary: tuple[SummarySentence, ...]
    clauses: tuple[ClauseRef, ...]


@dataclass(frozen=True)
class GroundedClause:
    """A clause as shown to a user: the source's own text, located by page and offsets.

    One per (category, provision). `windows` lists the windows that proposed it; `support`
    counts the windows that proposed the kept `value` (0: the scorer's candidate, not the
    model's).
    """

    category: str
    provision: int
    text: str
    page: int
    start: int
    end: int
    value: str = ""
    windows: tuple[int, ...] = ()
    support: int = 1
    # From fusion with the clause scorer (core/fusion.py): None until judged.
    confidence: float | None = None
    basis: str = ""
    reason: str = ""


@dataclass(frozen=True)
class DroppedRef:
    """A model citation that was not shown: kept for audit with the reason."""

    window: int
    category: str
    provision: int
    value: str
    why: str  # "unknown provision", "unknown category", "provision outside the window"


@dataclass(frozen=True)
class GroundingReport:
    proposed: int  # (category, provision) pairs the model proposed, over all windows
    verified: int  # distinct findings kept after merging duplicates from overlapping windows
    dropped: tuple[DroppedRef, ...]


Verdict = Literal["safe", "unsafe", "held"]
# What the policy does with an unsafe output: block (held for a reviewer, never shown) or flag
# (shown, marked for review). A safe output is released; a held one is always blocked.
Action = Literal["block", "flag"]
Outcome = Literal["release", "block", "flag"]


@dataclass(frozen=True)
class GuardVerdict:
    """`held` means the guard could not judge (down, slow, garbage): the output is not released.

    `outcome` is what the policy decided (see GuardPolicy.action_for); the verdict carries the
    policy's version and hash so that it names the exact policy that judged it.
    """

    verdict: Verdict
    categories: tuple[str, ...]
    model: str
    policy_version: str
    score: float | None = None
    reason: str = ""
    policy_sha256: str = ""
    outcome: Outcome = "block"

    @property
    def released(self) -> bool:
        return self.outcome != "block"

    @classmethod
    def held_for(
        cls, reason: str, model: str, policy_version: str, policy_sha256: str = ""
    ) -> GuardVerdict:
        """No verdict could be had (why in `reason`): the output is blocked."""
        return cls("held", (), model, policy_version, None, reason[:500], policy_sha256, "block")


@dataclass(frozen=True)
class ModelIdentity:
    id: str
    revision: str
    context_length: int


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
