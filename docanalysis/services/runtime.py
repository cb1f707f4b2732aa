"""What a process needs to run use cases, built once from the settings and passed inward."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Engine

from docanalysis.config import MAX_WINDOW_TOKENS, Settings, load_settings
from docanalysis.core.ports import Guard, InjectionDetector, LanguageModel
from docanalysis.core.types import ClauseCategory
from docanalysis.db.engine import make_engine
from docanalysis.services.blobs import BlobStore

if TYPE_CHECKING:
    from docanalysis.scoring.model import ClauseScorer


class RunQueue(Protocol):
    def enqueue_run(self, run_id: int) -> None:
        """Start (or resume) the pipeline of a run. Called only after its rows are committed."""
        ...


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    blobs: BlobStore
    queue: RunQueue

    @cached_property
    def model(self) -> LanguageModel:
        # Loaded on first use, once per process: the web tier never pays for it.
        if self.settings.model_backend == "stub":  # load tests: instant, not a language model
            from docanalysis.llm.stub import StubModel

            return StubModel(self.settings.model_context or MAX_WINDOW_TOKENS)
        from docanalysis.llm.factory import build_model

        return build_model(self.settings)

    @cached_property
    def taxonomy(self) -> tuple[ClauseCategory, ...]:
        """The clause types: CUAD's 41, plus a firm's own from DOCANALYSIS_TAXONOMY_FILE."""
        from docanalysis.taxonomy import load_taxonomy

        return load_taxonomy(self.settings.taxonomy_file)

    @property
    def category_names(self) -> dict[str, str]:
        return {c.key: c.name for c in self.taxonomy}

    @cached_property
    def scorer(self) -> ClauseScorer | None:
        """The clause scorer (CPU), or None where DOCANALYSIS_SCORER is "off"."""
        from docanalysis.scoring import ARTIFACT, load_scorer

        if self.settings.scorer == "off":
            return None
        return load_scorer(Path(self.settings.scorer) if self.settings.scorer else ARTIFACT)

    @cached_property
    def guard(self) -> Guard:
        if self.settings.guard_model == "stub":  # load tests: holds every output, judges none
            from docanalysis.guard_policies import load_policy
            from docanalysis.llm.stub import StubGuard

            return StubGuard(load_policy(self.settings.guard_policy))
        from docanalysis.llm.factory import build_guard

        return build_guard(self.settings)

    @cached_property
    def injection_detector(self) -> InjectionDetector:
        """The screen for instructions aimed at the model in a document's text: the rules, or
        the Prompt Guard model the settings name, loaded on first use."""
        from docanalysis.llm.factory import build_injection_detector

        return build_injection_detector(self.settings)


def build_runtime(settings: Settings, queue: RunQueue | None = None) -> Runtime:
    if queue is None:
        from workers.queue import CeleryRunQueue

        queue = CeleryRunQueue(settings)
    return Runtime(
        settings=settings,
        engine=make_engine(settings.database_url),
        blobs=BlobStore(settings.blob_dir),
        queue=queue,
    )


_lock = threading.Lock()
_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """The process-wide runtime, from the environment."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(load_settings())
        return _runtime


def reset_runtime() -> None:
    """Forget the process-wide runtime (tests that change the environment)."""
    global _runtime
    with _lock:
        _runtime = None
