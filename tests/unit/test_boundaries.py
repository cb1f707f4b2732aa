"""The layer boundaries of DESIGN.md §2, checked on the source (parsed, never imported).

core imports only the standard library and docanalysis.core; workers, db, llm and services
never import Django or DRF, not even inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CORE_FORBIDDEN = (
    "django",
    "sqlalchemy",
    "celery",
    "kombu",
    "rest_framework",
    "torch",
    "transformers",
    "httpx",
)
DJANGO_FREE = ("workers", "docanalysis/db", "docanalysis/llm", "docanalysis/services")
DJANGO = ("django", "rest_framework")


def imported_modules(source: str, module: str = "") -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import anywhere in the source, functions included.
    `module` is the dotted name of the file, to resolve relative imports."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join([*parent, base] if base else parent)
            yield node.lineno, base
            # `from docanalysis import db` imports docanalysis.db, not only docanalysis.
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def core_violations(source: str, module: str = "docanalysis.core.x") -> list[str]:
    found = []
    for line, name in imported_modules(source, module):
        framework = any(_matches(name, bad) for bad in CORE_FORBIDDEN)
        project = _matches(name, "docanalysis") and not _matches(name, "docanalysis.core")
        # `from docanalysis import core` yields "docanalysis" itself, which is the package.
        if framework or (project and name != "docanalysis"):
            found.append(f"line {line}: {name}")
    return found


def django_violations(source: str, module: str = "") -> list[str]:
    return [
        f"line {line}: {name}"
        for line, name in imported_modules(source, module)
        if any(_matches(name, bad) for bad in DJANGO)
    ]


def _module_name(path: Path) -> str:
    # A package's __init__ keeps its last part, so that `from . import x` resolves inside it.
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def _sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def _report(folder: str, check: Callable[[str, str], list[str]]) -> dict[str, list[str]]:
    problems = {}
    for path in _sources(folder):
        found = check(path.read_text(encoding="utf-8"), _module_name(path))
        if found:
            problems[str(path.relative_to(REPO))] = found
    return problems


# The checker itself, on synthetic sources, so the real checks cannot pass vacuously.


def test_checker_flags_django_imports_inside_functions() -> None:
    source = (
        "import os\n"
        "def f():\n"
        "    import django\n"
        "    from django.db import models\n"
        "    from rest_framework.views import APIView\n"
    )
    assert django_violations(source) == [
        "line 3: django",
        "line 4: django.db",
        "line 4: django.db.models",
        "line 5: rest_framework.views",
        "line 5: rest_framework.views.APIView",
    ]


def test_checker_ignores_names_that_only_start_like_django() -> None:
    assert django_violations("import djangoish\nfrom mydjango import x\n") == []


def test_checker_flags_frameworks_and_other_project_packages_in_core() -> None:
    source = (
        "import json\n"
        "from docanalysis.core import types\n"
        "from . import errors\n"
        "import sqlalchemy as sa\n"
        "def f():\n"
        "    from docanalysis.db import tables\n"
        "    from ..llm import openai_compat\n"
        "    from docanalysis import config\n"
        "    import torch.nn\n"
    )
    assert core_violations(source, "docanalysis.core.audit_chain") == [
        "line 4: sqlalchemy",
        "line 6: docanalysis.db",
        "line 6: docanalysis.db.tables",
        "line 7: docanalysis.llm",
        "line 7: docanalysis.llm.openai_compat",
        "line 8: docanalysis.config",
        "line 9: torch.nn",
    ]


def test_the_folders_checked_exist() -> None:
    assert _sources("docanalysis/core"), "no core sources found: the check would be vacuous"
    assert _sources("docanalysis/db")


# The real source tree.


def test_core_imports_only_the_standard_library_and_itself() -> None:
    assert _report("docanalysis/core", core_violations) == {}


def test_workers_db_llm_services_never_import_django() -> None:
    problems: dict[str, list[str]] = {}
    for folder in DJANGO_FREE:
        problems.update(_report(folder, django_violations))
    assert problems == {}
