"""Errors the core raises, each with a reason a lawyer understands."""

from __future__ import annotations


class DocAnalysisError(Exception):
    """Base class. `reason` is shown to users; `code` is stable for the API and the audit trail."""

    code = "error"

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


class ExtractionError(DocAnalysisError):
    """The PDF cannot be read: encrypted, malformed, empty, a scan, too large, too slow."""

    code = "extraction_failed"


class ModelOutputError(DocAnalysisError):
    """The model's answer could not be parsed even after a repair; `raw` is kept for audit."""

    code = "model_output_invalid"

    def __init__(self, reason: str, raw: str) -> None:
        super().__init__(reason)
        self.raw = raw


class ModelUnavailableError(DocAnalysisError):
    """The model server could not be reached or answered with an error (retryable)."""

    code = "model_unavailable"
