"""Read models the web tier, the API and the CLI render. Plain frozen values, no ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who acts. `identity` is copied into audit rows so they stay true if the user changes."""

    user_id: int | None
    identity: str  # "alice <alice@firm.example>", "cli", "system"
    request_id: str = ""  # the HTTP request that acted (X-Request-ID), "" outside a request
    client_address: str = ""


@dataclass(frozen=True)
class MatterView:
    id: int
    name: str
    tenant: str
    legal_hold_since: datetime | None = None  # None: not under legal hold
    legal_hold_by: str = ""
    legal_hold_reason: str = ""
    retention_days: int | None = None  # the matter's own period (None: the tenant's, if any)

    @property
    def on_hold(self) -> bool:
        return self.legal_hold_since is not None


@dataclass(frozen=True)
class RunStatus:
    run_id: int
    state: str  # queued, extracting, windowing, analyzing, guarding, done, failed, held
    label: str  # what a lawyer reads: "Reading the document", "Analyzing part 2 of 5", "Done", ...
    reason: str  # why failed or held, "" otherwise
    stage_done: int
    stage_total: int
    final: bool
    updated_at: datetime


@dataclass(frozen=True)
class DocumentView:
    id: int
    matter_id: int
    name: str
    sha256: str
    size_bytes: int
    pages: int | None
    chars: int | None
    uploaded_at: datetime
    status: RunStatus
    media_type: str = "application/pdf"
    source_path: str | None = None  # its place in the archive of a bulk upload


@dataclass(frozen=True)
class CitedProvision:
    n: int
    page: int
    start: int
    end: int
    location: str = ""  # a Word file's "§ section, ¶ n" (its page is the paragraph); "" for a page


@dataclass(frozen=True)
class SummaryLine:
    """A sentence of the summary and the provisions it rests on."""

    text: str
    provisions: tuple[CitedProvision, ...] = ()


@dataclass(frozen=True)
class ReviewView:
    """A reviewer's decision on a clause: confirmed, rejected, or corrected (a value, a
    category, or a span of the source, quoted by the system). The model's original stays on
    the finding beside it."""

    decision: str  # confirmed, rejected, corrected
    reviewer: str
    reviewed_at: datetime
    category: str
    category_name: str
    value: str
    text: str  # the source's own words at [start, end)
    page: int | None
    start: int | None
    end: int | None
    note: str = ""


@dataclass(frozen=True)
class FindingView:
    kind: str  # "summary" or "clause"
    category: str  # clause category key ("" for the summary)
    category_name: str
    text: str  # the source's own words for a clause; the model's summary for a summary
    page: int | None
    start: int | None
    end: int | None
    value: str
    status: str  # released, flagged (shown, marked for review), held, pending
    verdict: str  # safe, unsafe, held, "" while pending
    guard_categories: tuple[str, ...]
    guard_model: str
    sentences: tuple[SummaryLine, ...] = ()  # a summary's sentences (empty while held)
    # How a lawyer cites where it is: a Word file's "§ 3. Termination, ¶ 2" (its `page` is the
    # paragraph's number); "" for a PDF or text page, cited by `page`.
    location: str = ""
    windows: tuple[int, ...] = ()  # a clause: the windows that proposed it
    support: int | None = None  # a clause: windows that proposed its value
    confidence: float | None = None  # a clause: see core/fusion.py
    basis: str = ""  # agreed, unconfirmed, candidate, model_only
    basis_reason: str = ""
    guard_policy_version: str = ""  # the policy that judged it, and its sha256
    guard_policy_sha256: str = ""
    guard_reason: str = ""  # why the guard could not judge it (held), "" otherwise
    released_by: str = ""  # a held result a reviewer released: who, and why
    release_reason: str = ""
    id: int = 0  # the finding's row id (what a review names)
    review: ReviewView | None = None  # the latest review of a clause, None if never reviewed

    @property
    def shown(self) -> bool:
        """Released by the guard, flagged or not: its text may be shown."""
        return self.status in SHOWN

    @property
    def rejected(self) -> bool:
        return self.review is not None and self.review.decision == "rejected"

    @property
    def final(self) -> FindingView | ReviewView:
        """What exports, the grid and the API report as the clause: the review's correction
        where there is one, the model's finding otherwise (a rejection keeps the original;
        callers check `rejected`)."""
        if self.review is not None and self.review.decision == "corrected":
            return self.review
        return self


SHOWN = ("released", "flagged")


@dataclass(frozen=True)
class DocumentAnalysis:
    document: DocumentView
    model_id: str
    model_revision: str
    summary: FindingView | None
    clauses: tuple[FindingView, ...]
    warnings: tuple[str, ...]
    dropped_refs: int
    usage: dict[str, Any] = field(default_factory=dict)  # tokens, calls, seconds per stage
    grounding: dict[str, Any] = field(default_factory=dict)  # proposed, verified, dropped


@dataclass(frozen=True)
class Submitted:
    document_id: int
    run_id: int


@dataclass(frozen=True)
class ProvisionView:
    """A numbered provision of a document: the source's own text, with page and offsets."""

    document_id: int
    document_name: str
    n: int
    page: int
    start: int
    end: int
    text: str
    location: str = ""  # a Word file's "§ section, ¶ n"; "" for a page


@dataclass(frozen=True)
class PageText:
    """A page of a document's extracted text; [start, end) is its place in the whole text."""

    number: int
    start: int
    end: int
    text: str
    ocr: bool = False  # read by OCR (a scan), with Tesseract's mean word confidence (0..1)
    ocr_confidence: float | None = None


@dataclass(frozen=True)
class OriginalFile:
    """A document's file as it was uploaded."""

    document_id: int
    matter_id: int
    name: str
    media_type: str
    sha256: str
    data: bytes
