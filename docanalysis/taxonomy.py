"""Load the clause taxonomy: the bundled CUAD one, plus a firm's own file (docs/taxonomy.md).

The reading happens here so that docanalysis.core.taxonomy stays pure; every problem with a
firm's file comes out as a TaxonomyError that names the file, for the operator who wrote it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

from docanalysis.core.taxonomy import TaxonomyError, merge_taxonomies, parse_taxonomy
from docanalysis.core.types import ClauseCategory

BUNDLED = "data/cuad_taxonomy.json"
FILE_FIELDS = ("categories", "remove")

__all__ = ["TaxonomyError", "bundled_taxonomy", "load_taxonomy"]


@cache
def bundled_taxonomy() -> tuple[ClauseCategory, ...]:
    """The 41 CUAD categories shipped with the package (data/cuad_taxonomy.json)."""
    text = resources.files("docanalysis").joinpath(BUNDLED).read_text(encoding="utf-8")
    categories, _ = _parse_file(json.loads(text))
    return categories


def load_taxonomy(extra_file: str = "") -> tuple[ClauseCategory, ...]:
    """The bundled taxonomy, with a firm's file applied when `extra_file` names one."""
    if not extra_file:
        return bundled_taxonomy()
    try:
        categories, remove = _parse_file(_read_json(Path(extra_file)))
        return merge_taxonomies(bundled_taxonomy(), categories, remove)
    except TaxonomyError as exc:
        raise TaxonomyError(f"taxonomy file {extra_file}: {exc}") from exc


def _read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaxonomyError(f"cannot read it ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaxonomyError(
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc


def _parse_file(data: object) -> tuple[tuple[ClauseCategory, ...], tuple[str, ...]]:
    """{"categories": [records...], "remove": [keys...]}, both optional."""
    if not isinstance(data, dict):
        raise TaxonomyError('must be a JSON object with "categories" and/or "remove"')
    unknown = sorted(name for name in data if name not in FILE_FIELDS)
    if unknown:
        raise TaxonomyError(f"unknown field(s) {', '.join(map(repr, unknown))}")
    records = data.get("categories", [])
    if not isinstance(records, list):
        raise TaxonomyError('"categories" must be a list of objects')
    remove = data.get("remove", [])
    if not isinstance(remove, list) or not all(isinstance(key, str) for key in remove):
        raise TaxonomyError('"remove" must be a list of category keys')
    return parse_taxonomy(records), tuple(remove)
