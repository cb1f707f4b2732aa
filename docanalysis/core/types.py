"""Values that cross layers. Frozen, so a stage can never change what an earlier one produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Page:
    """A page as a half-open range [start, end) of the document's text; numbers start at 1."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class ExtractedDocument:
    sha256: str
    text: str
    pages: tuple[Page, ...]
    warnings: tuple[str, ...] = ()

    def page_at(self, offset: int) -> int:
        """The number of the page that holds the character at `offset`."""
        for page in self.pages:
            if page.start <= offset < page.end:
                return page.number
        return self.pages[-1].number if self.pages else 1


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


@dataclass(frozen=True)
class ClauseCategory:
    key: str
    name: str
    description: str
    value_kind: Literal["text", "date", "duration", "jurisdiction", "yes_no", "none"] = "text"


@dataclass(frozen=True)
class ClauseRef:
    """What the model says: a category and the provision it points at, plus a normalized value."""

    category: str
    provision: int
    value: str = ""


@dataclass(frozen=True)
class WindowAnalysis:
    summary: str
    clauses: tuple[ClauseRef, ...]


@dataclass(frozen=True)
class GroundedClause:
    """A clause as shown to a user: the source's own text, located by page and offsets."""

    category: str
    provision: int
    text: str
    page: int
    start: int
    end: int
    value: str = ""


Verdict = Literal["safe", "unsafe", "held"]


@dataclass(frozen=True)
class GuardVerdict:
    """`held` means the guard could not judge (down, slow, garbage): the output is not released."""

    verdict: Verdict
    categories: tuple[str, ...]
    model: str
    policy_version: str
    score: float | None = None
    reason: str = ""

    @property
    def released(self) -> bool:
        return self.verdict == "safe"


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
