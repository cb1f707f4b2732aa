"""The guard policy in force: the bundled file, or the one DOCANALYSIS_GUARD_POLICY names."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from docanalysis.core.guard_policy import GuardPolicy, PolicyError, load_policy_text

BUNDLED_POLICY = Path(__file__).parent / "data" / "guard_policy.json"


@cache
def load_policy(path: str = "") -> GuardPolicy:
    """The policy in `path` ("" = the bundled one). A missing or bad file is a PolicyError: the
    guard then holds every output rather than judge under a policy nobody wrote."""
    source = Path(path) if path else BUNDLED_POLICY
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"guard policy {source} cannot be read: {exc.strerror}") from None
    return load_policy_text(text)
