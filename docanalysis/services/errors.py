"""Errors the use cases raise for the web, API and CLI to render."""

from __future__ import annotations

from docanalysis.core.errors import DocAnalysisError


class NotFound(DocAnalysisError):
    """The object does not exist or the actor may not see it (the two are not distinguished)."""

    code = "not_found"


class Rejected(DocAnalysisError):
    """The input was refused before anything was stored; `reason` is shown to the user."""

    code = "rejected"
