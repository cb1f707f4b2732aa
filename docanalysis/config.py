"""Typed settings, read from the environment once and passed inward as a frozen value.

Without DATABASE_URL and CELERY_BROKER_URL the embedded defaults apply: a SQLite file and
kombu's filesystem broker, both under DOCANALYSIS_DATA_DIR. The table in README.md lists every
variable read here; tests/unit/test_config.py keeps the two in step.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BUNDLED_MODEL = "bundled:SmolLM2-135M-Instruct"
PRODUCTION_GUARD = "meta-llama/Llama-Guard-4-12B"
MAX_WINDOW_TOKENS = 131_072


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    broker_url: str
    model_backend: str  # "local" (transformers in process), "openai" (HTTP), "stub" (load tests)
    model: str  # BUNDLED_MODEL, a local folder, or the served model's name
    openai_base_url: str
    openai_api_key: str
    tokenizer: str  # folder of the serving model's tokenizer; "" = ask the server (/tokenize)
    model_context: int  # the served model's context in tokens; 0 = ask the server
    max_window_tokens: int
    window_overlap: int  # whole provisions shared by consecutive windows
    structured_output: str  # how the schema reaches an HTTP server (see llm/openai_compat.py)
    prompt_token_ids: bool | None  # prompts as token ids to the server: on, off, None = auto
    taxonomy_file: str  # a firm's own clause types (JSON), added to the CUAD ones
    scorer: str  # the clause scorer's artifact folder; "" = the bundled one; "off" = none
    model_weight: float  # the model's weight against the scorer's in a clause's confidence
    output_tokens: int
    guard_model: str
    guard_revision: str  # the model's revision (commit or tag) in the HF cache; "" = as found
    guard_device: str  # "cpu", "cuda", "cuda:1", or "auto"
    guard_dtype: str  # "auto" (the weights' own), "float32", "bfloat16", "float16"
    guard_policy: str  # a guard policy JSON file; "" = the bundled one (docs/guard.md)
    guard_timeout_s: int  # one batch longer than this is held, not waited for
    guard_batch_size: int
    include_hidden_text: bool  # text a reader cannot see goes to the model too
    injection_detector: str  # "rules", or a Prompt Guard model (local folder or HF cache id)
    injection_threshold: float
    max_upload_bytes: int
    api_rate: str  # requests per API key: "600/min" ("N/sec", "N/min", "N/hour", "N/day")
    # Documents by URL and webhook deliveries: private and loopback addresses are refused
    # unless allowed (documents on the deployment's own network; tests on loopback).
    allow_private_urls: bool
    fetch_timeout_s: int
    extract_timeout_s: int
    # The extraction child's CPU seconds (SIGXCPU, reported as too slow); it also stops a
    # child whose parent died before the parent's wall clock could (docanalysis/sandbox.py).
    extract_cpu_s: int
    extract_memory_mb: int
    extract_max_pages: int
    # Child processes that read one PDF's pages side by side, each under the limits above
    # (its own CPU seconds and memory); 1: one child reads every page.
    extract_processes: int
    # Scans (docanalysis/sandbox_ocr.py): pages without a usable text layer are OCRed unless
    # `ocr` is off; Tesseract languages joined by "+"; the OCR child's wall clock and CPU time
    # grow by `ocr_page_s` per page it recognizes.
    ocr: bool
    ocr_languages: str
    ocr_page_s: int
    audit_key: Path  # the Ed25519 key that signs audit checkpoints and exports (not in the DB)
    # How often the workers' scheduler signs a checkpoint and runs the retention purge: the
    # first bounds how many recent events a rewrite of the chain could change undetected.
    checkpoint_interval_s: int
    retention_interval_s: int
    # A run whose task killed its worker process this many times in a row is failed ("poison").
    max_attempts: int
    # The reconciler re-sends a run that is not final and has not moved for this long (a
    # message the broker lost: a Redis restarted without persistence, a worker killed whole).
    reconcile_after_s: int
    secret_key: str
    debug: bool
    allowed_hosts: tuple[str, ...]

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie between 0 and 1, got {value}")
    return value


def _usable_cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's share, not the host's)."""
    if hasattr(os, "sched_getaffinity"):  # not on macOS
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _rate(value: str) -> str:
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in ("sec", "min", "hour", "day"):
        raise ValueError(
            f"DOCANALYSIS_API_RATE={value!r}: write it as N/sec, N/min, N/hour or N/day"
        )
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("DOCANALYSIS_DATA_DIR") or "var").resolve()
    backend = env.get("DOCANALYSIS_MODEL_BACKEND") or "local"
    if backend not in ("local", "openai", "stub"):  # stub: load tests only (llm/stub.py)
        raise ValueError(
            f"DOCANALYSIS_MODEL_BACKEND must be 'local' or 'openai' ('stub' for load tests), "
            f"got {backend!r}"
        )
    extract_timeout_s = _int(env, "DOCANALYSIS_EXTRACT_TIMEOUT_S", 120)
    return Settings(
        data_dir=data_dir,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'docanalysis.sqlite3'}",
        broker_url=env.get("CELERY_BROKER_URL") or "filesystem://",
        model_backend=backend,
        model=env.get("DOCANALYSIS_MODEL") or BUNDLED_MODEL,
        openai_base_url=env.get("DOCANALYSIS_OPENAI_BASE_URL") or "http://127.0.0.1:8001/v1",
        openai_api_key=env.get("DOCANALYSIS_OPENAI_API_KEY") or "",
        tokenizer=env.get("DOCANALYSIS_TOKENIZER") or "",
        model_context=_int(env, "DOCANALYSIS_MODEL_CONTEXT", 0),
        max_window_tokens=min(
            _int(env, "DOCANALYSIS_MAX_WINDOW_TOKENS", MAX_WINDOW_TOKENS), MAX_WINDOW_TOKENS
        ),
        window_overlap=_int(env, "DOCANALYSIS_WINDOW_OVERLAP", 1),
        structured_output=env.get("DOCANALYSIS_STRUCTURED_OUTPUT") or "response_format",
        prompt_token_ids=_auto_flag(env, "DOCANALYSIS_PROMPT_TOKEN_IDS"),
        taxonomy_file=env.get("DOCANALYSIS_TAXONOMY_FILE") or "",
        scorer=env.get("DOCANALYSIS_SCORER") or "",
        # A served model (Llama 4 on vLLM) leads; the small embedded one mostly defers.
        model_weight=_fraction(
            env, "DOCANALYSIS_MODEL_WEIGHT", 0.7 if backend == "openai" else 0.2
        ),
        output_tokens=_int(env, "DOCANALYSIS_OUTPUT_TOKENS", 512),
        guard_model=env.get("DOCANALYSIS_GUARD_MODEL") or BUNDLED_MODEL,
        guard_revision=env.get("DOCANALYSIS_GUARD_REVISION") or "",
        guard_device=env.get("DOCANALYSIS_GUARD_DEVICE") or "cpu",
        guard_dtype=env.get("DOCANALYSIS_GUARD_DTYPE") or "auto",
        guard_policy=env.get("DOCANALYSIS_GUARD_POLICY") or "",
        guard_timeout_s=_int(env, "DOCANALYSIS_GUARD_TIMEOUT_S", 300),
        guard_batch_size=max(1, _int(env, "DOCANALYSIS_GUARD_BATCH_SIZE", 4)),
        include_hidden_text=(env.get("DOCANALYSIS_INCLUDE_HIDDEN_TEXT") or "0") == "1",
        injection_detector=env.get("DOCANALYSIS_INJECTION_DETECTOR") or "rules",
        injection_threshold=_fraction(env, "DOCANALYSIS_INJECTION_THRESHOLD", 0.5),
        max_upload_bytes=_int(env, "DOCANALYSIS_MAX_UPLOAD_MB", 100) * 1024 * 1024,
        api_rate=_rate(env.get("DOCANALYSIS_API_RATE") or "600/min"),
        allow_private_urls=(env.get("DOCANALYSIS_ALLOW_PRIVATE_URLS") or "0") == "1",
        fetch_timeout_s=max(1, _int(env, "DOCANALYSIS_FETCH_TIMEOUT_S", 30)),
        extract_timeout_s=extract_timeout_s,
        extract_cpu_s=_int(env, "DOCANALYSIS_EXTRACT_CPU_S", extract_timeout_s),
        extract_memory_mb=_int(env, "DOCANALYSIS_EXTRACT_MEMORY_MB", 1024),
        extract_max_pages=_int(env, "DOCANALYSIS_EXTRACT_MAX_PAGES", 2000),
        extract_processes=max(1, _int(env, "DOCANALYSIS_EXTRACT_PROCESSES", _usable_cpus())),
        ocr=(env.get("DOCANALYSIS_OCR") or "1") != "0",
        ocr_languages=_languages(env.get("DOCANALYSIS_OCR_LANGUAGES") or "eng"),
        ocr_page_s=max(1, _int(env, "DOCANALYSIS_OCR_PAGE_S", 60)),
        audit_key=Path(env.get("DOCANALYSIS_AUDIT_KEY") or data_dir / "audit_signing_key.pem"),
        checkpoint_interval_s=max(60, _int(env, "DOCANALYSIS_CHECKPOINT_INTERVAL_S", 3600)),
        retention_interval_s=max(60, _int(env, "DOCANALYSIS_RETENTION_INTERVAL_S", 3600)),
        max_attempts=max(1, _int(env, "DOCANALYSIS_MAX_ATTEMPTS", 3)),
        reconcile_after_s=max(1, _int(env, "DOCANALYSIS_RECONCILE_AFTER_S", 300)),
        secret_key=env.get("DOCANALYSIS_SECRET_KEY") or "",
        debug=(env.get("DOCANALYSIS_DEBUG") or "0") == "1",
        allowed_hosts=tuple(
            h.strip()
            for h in (env.get("DOCANALYSIS_ALLOWED_HOSTS") or "127.0.0.1,localhost").split(",")
            if h.strip()
        ),
    )


def _languages(value: str) -> str:
    """Tesseract language codes joined by "+" ("eng", "eng+fra"): checked here, since the value
    becomes an argument of the OCR child."""
    codes = [code.strip() for code in value.split("+") if code.strip()]
    if not codes or not all(re.fullmatch(r"[A-Za-z_]{3,16}", code) for code in codes):
        raise ValueError(f"DOCANALYSIS_OCR_LANGUAGES must be codes like eng+fra, not {value!r}")
    return "+".join(codes)


def _auto_flag(env: Mapping[str, str], name: str) -> bool | None:
    value = (env.get(name) or "auto").strip().lower()
    choices = {"auto": None, "on": True, "off": False}
    if value not in choices:
        raise ValueError(f"{name} must be auto, on or off, not {value!r}")
    return choices[value]
