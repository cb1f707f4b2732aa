"""Numbered provisions: the paragraphs the model points at by number."""

from __future__ import annotations

from collections.abc import Sequence

from docanalysis.core.types import Provision


def render_provision(text: str, provision: Provision) -> str:
    """How a provision appears in the model's input: its number in brackets, then its text."""
    body = " ".join(text[provision.start : provision.end].split())
    return f"[{provision.number}] {body}\n"


def render_provisions(text: str, provisions: Sequence[Provision]) -> str:
    return "".join(render_provision(text, p) for p in provisions)
