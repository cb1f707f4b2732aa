"""Clause categories the model is asked to find, as data.

The core reads no files: callers load records (the bundled CUAD taxonomy, a firm's own file; see
docanalysis.taxonomy) and pass them here to be checked and combined. Keys are stored with
findings and used in the model's schema, so they are validated strictly and never reused.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

from docanalysis.core.types import VALUE_KINDS, ClauseCategory, ValueKind

KEY_PATTERN = r"[a-z][a-z0-9_]{0,63}"
FIELDS = ("key", "name", "description", "value_kind")


class TaxonomyError(ValueError):
    """A taxonomy record or merge that cannot be used; the message names the record."""


def parse_taxonomy(records: Iterable[Mapping[str, object]]) -> tuple[ClauseCategory, ...]:
    """Check records ({"key", "name", "description", "value_kind"}) and build the categories.

    `value_kind` may be left out ("text"); any other missing or unknown field is refused, so a
    misspelt field name in a firm's file fails loudly instead of being ignored.
    """
    categories: list[ClauseCategory] = []
    first_seen: dict[str, int] = {}
    for index, record in enumerate(records):
        category = _parse_record(index, record)
        if category.key in first_seen:
            raise TaxonomyError(
                f"{_where(index, record)}: duplicate key, first used by "
                f"categories[{first_seen[category.key]}]"
            )
        first_seen[category.key] = index
        categories.append(category)
    return tuple(categories)


def merge_taxonomies(
    base: Iterable[ClauseCategory],
    extra: Iterable[ClauseCategory],
    remove: Collection[str] = (),
) -> tuple[ClauseCategory, ...]:
    """`base` with `extra` applied: a known key is replaced in place, a new one appended.

    Keys in `remove` are dropped. Removing a key that `base` lacks is refused (a typo would
    otherwise leave the category in silently), and so is defining and removing the same key.
    """
    merged = {category.key: category for category in base}
    added = [category.key for category in extra]
    for key in remove:
        if key in added:
            raise TaxonomyError(f"category {key!r} is both defined and removed")
        if key not in merged:
            raise TaxonomyError(f"cannot remove unknown category {key!r}")
    for category in extra:
        merged[category.key] = category  # dict assignment keeps a replaced key's position
    return tuple(category for key, category in merged.items() if key not in remove)


def _parse_record(index: int, record: object) -> ClauseCategory:
    if not isinstance(record, Mapping):
        raise TaxonomyError(f"categories[{index}]: must be an object, got {type(record).__name__}")
    where = _where(index, record)
    unknown = sorted(str(name) for name in record if name not in FIELDS)
    if unknown:
        raise TaxonomyError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    key = record.get("key")
    if not isinstance(key, str) or not re.fullmatch(KEY_PATTERN, key):
        raise TaxonomyError(
            f"{where}: key must be snake_case matching ^{KEY_PATTERN}$, got {key!r}"
        )
    return ClauseCategory(
        key=key,
        name=_text(where, record, "name"),
        description=_text(where, record, "description"),
        value_kind=_value_kind(where, record.get("value_kind", "text")),
    )


def _text(where: str, record: Mapping[str, object], field: str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        raise TaxonomyError(f"{where}: {field} must be a non-empty string, got {value!r}")
    return value.strip()


def _value_kind(where: str, value: object) -> ValueKind:
    for kind in VALUE_KINDS:
        if value == kind:
            return kind  # the literal from VALUE_KINDS, so the type checker sees a ValueKind
    raise TaxonomyError(
        f"{where}: value_kind must be one of {', '.join(VALUE_KINDS)}, got {value!r}"
    )


def _where(index: int, record: Mapping[str, object]) -> str:
    """How an error names a record: its position, and its key when it has a readable one."""
    key = record.get("key")
    if isinstance(key, str) and key:
        return f"categories[{index}] (key {key!r})"
    return f"categories[{index}]"
