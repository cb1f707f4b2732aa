"""The clause taxonomy: the bundled CUAD categories, record checks, merging, a firm's file."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from docanalysis.core.taxonomy import TaxonomyError, merge_taxonomies, parse_taxonomy
from docanalysis.core.types import ClauseCategory
from docanalysis.taxonomy import bundled_taxonomy, load_taxonomy
from tests.conftest import CUAD

GOOD = {"key": "data_protection", "name": "Data Protection", "description": "GDPR terms?"}


def cuad_names() -> list[str]:
    with (CUAD / "category_descriptions.csv").open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    return [
        row["Category (incl. context and answer)"].removeprefix("Category:").strip() for row in rows
    ]


def test_bundled_taxonomy_is_the_41_cuad_categories_in_order(shared_data: Path) -> None:
    names = [category.name for category in bundled_taxonomy()]
    assert len(names) == 41
    assert names == cuad_names()


def test_bundled_keys_are_unique_and_value_kinds_match_cuad_answer_formats() -> None:
    taxonomy = bundled_taxonomy()
    kinds = {category.key: category.value_kind for category in taxonomy}
    assert len(kinds) == 41
    assert {key: kinds[key] for key in KNOWN_KINDS} == KNOWN_KINDS
    assert Counter(kinds.values()) == {
        "yes_no": 32,
        "date": 3,
        "duration": 3,
        "jurisdiction": 1,
        "parties": 1,
        "text": 1,
    }


KNOWN_KINDS = {
    "document_name": "text",
    "parties": "parties",
    "agreement_date": "date",
    "effective_date": "date",
    "expiration_date": "date",
    "renewal_term": "duration",
    "notice_period_to_terminate_renewal": "duration",
    "governing_law": "jurisdiction",
    "non_compete": "yes_no",
    "no_solicit_of_customers": "yes_no",
    "termination_for_convenience": "yes_no",
    "rofr_rofo_rofn": "yes_no",
    "anti_assignment": "yes_no",
    "ip_ownership_assignment": "yes_no",
    "affiliate_license_licensee": "yes_no",  # blank Answer Format in the CSV; CUAD answers Yes/No
    "unlimited_all_you_can_eat_license": "yes_no",
    "cap_on_liability": "yes_no",
    "warranty_duration": "duration",
}


def test_bundled_descriptions_are_cuad_text_without_prefix_or_stray_spaces() -> None:
    by_key = {category.key: category for category in bundled_taxonomy()}
    assert by_key["document_name"].description == "The name of the contract"
    assert by_key["termination_for_convenience"].description == (
        "Can a party terminate this contract without cause (solely by giving a notice and "
        "allowing a waiting period to expire)?"
    )
    assert all("\xa0" not in c.description and "  " not in c.description for c in by_key.values())


def test_parse_taxonomy_builds_categories_and_defaults_value_kind_to_text() -> None:
    records = [
        GOOD,
        {"key": "term", "name": "Term", "description": "How long?", "value_kind": "duration"},
    ]
    assert parse_taxonomy(records) == (
        ClauseCategory("data_protection", "Data Protection", "GDPR terms?", "text"),
        ClauseCategory("term", "Term", "How long?", "duration"),
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {**GOOD, "value_kind": "number"},
            "categories[1] (key 'data_protection'): value_kind must be one of "
            "yes_no, date, duration, jurisdiction, parties, text, got 'number'",
        ),
        (
            {**GOOD, "key": "Data-Protection"},
            "categories[1] (key 'Data-Protection'): key must be snake_case matching "
            "^[a-z][a-z0-9_]{0,63}$, got 'Data-Protection'",
        ),
        (
            {**GOOD, "key": "x" * 65},
            f"categories[1] (key '{'x' * 65}'): key must be snake_case matching "
            f"^[a-z][a-z0-9_]{{0,63}}$, got '{'x' * 65}'",
        ),
        (
            {"name": "N", "description": "D"},
            "categories[1]: key must be snake_case matching ^[a-z][a-z0-9_]{0,63}$, got None",
        ),
        (
            {**GOOD, "name": "  "},
            "categories[1] (key 'data_protection'): name must be a non-empty string, got '  '",
        ),
        (
            {**GOOD, "description": 7},
            "categories[1] (key 'data_protection'): description must be a non-empty string, got 7",
        ),
        (
            {**GOOD, "type": "text", "desc": "x"},
            "categories[1] (key 'data_protection'): unknown field(s) 'desc', 'type'",
        ),
        (
            {**GOOD, "key": "parties"},
            "categories[1] (key 'parties'): duplicate key, first used by categories[0]",
        ),
        (["parties"], "categories[1]: must be an object, got list"),
    ],
)
def test_parse_errors_name_the_record_and_the_problem(record: object, message: str) -> None:
    first = {"key": "parties", "name": "Parties", "description": "Who signed"}
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy([first, record])  # type: ignore[list-item]
    assert str(caught.value) == message


A = ClauseCategory("a", "A", "first")
B = ClauseCategory("b", "B", "second")
C = ClauseCategory("c", "C", "third")


def test_merge_replaces_known_keys_in_place_appends_new_ones_and_removes() -> None:
    new_b = ClauseCategory("b", "B", "rewritten", "yes_no")
    d = ClauseCategory("d", "D", "fourth")
    assert merge_taxonomies((A, B, C), (d, new_b)) == (A, new_b, C, d)
    assert merge_taxonomies((A, B, C), (d,), remove=("a", "c")) == (B, d)
    assert merge_taxonomies((A, B), ()) == (A, B)


def test_merge_refuses_unknown_and_contradictory_removals() -> None:
    with pytest.raises(TaxonomyError) as caught:
        merge_taxonomies((A, B), (), remove=("z",))
    assert str(caught.value) == "cannot remove unknown category 'z'"
    with pytest.raises(TaxonomyError) as caught:
        merge_taxonomies((A, B), (C,), remove=("c",))
    assert str(caught.value) == "category 'c' is both defined and removed"


def write(tmp_path: Path, content: str) -> str:
    path = tmp_path / "firm.json"
    path.write_text(content, encoding="utf-8")
    return str(path)


def test_load_taxonomy_without_a_file_is_the_bundled_one() -> None:
    assert load_taxonomy() is bundled_taxonomy()


def test_load_taxonomy_applies_a_firm_file(tmp_path: Path) -> None:
    law = {
        "key": "governing_law",
        "name": "Governing Law",
        "description": "Which law governs, and which courts have jurisdiction?",
        "value_kind": "jurisdiction",
    }
    firm = {"categories": [law, {**GOOD, "value_kind": "yes_no"}], "remove": ["source_code_escrow"]}
    taxonomy = load_taxonomy(write(tmp_path, json.dumps(firm)))
    keys = [category.key for category in taxonomy]
    bundled_keys = [category.key for category in bundled_taxonomy()]
    assert keys == [key for key in bundled_keys if key != "source_code_escrow"] + [
        "data_protection"
    ]
    assert taxonomy[-1] == ClauseCategory(
        "data_protection", "Data Protection", "GDPR terms?", "yes_no"
    )
    assert taxonomy[7] == ClauseCategory(**law)  # type: ignore[arg-type]
    assert len(bundled_taxonomy()) == 41  # the cached bundled tuple is untouched


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"categories": [', "not valid JSON (Expecting value at line 1 column 17)"),
        ("[]", 'must be a JSON object with "categories" and/or "remove"'),
        ('{"categories": [], "extra": 1}', "unknown field(s) 'extra'"),
        ('{"categories": {}}', '"categories" must be a list of objects'),
        ('{"remove": "insurance"}', '"remove" must be a list of category keys'),
        ('{"remove": ["no_such_key"]}', "cannot remove unknown category 'no_such_key'"),
        (
            '{"categories": [{"key": "data_protection", "name": "Data Protection", '
            '"description": "GDPR terms?", "value_kind": "bool"}]}',
            "categories[0] (key 'data_protection'): value_kind must be one of "
            "yes_no, date, duration, jurisdiction, parties, text, got 'bool'",
        ),
    ],
)
def test_a_bad_firm_file_names_the_path_and_the_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert str(caught.value) == f"taxonomy file {path}: {problem}"


def test_a_missing_firm_file_names_the_path(tmp_path: Path) -> None:
    path = str(tmp_path / "absent.json")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert str(caught.value) == f"taxonomy file {path}: cannot read it (No such file or directory)"


def test_a_firm_file_that_is_not_utf8_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"remove": ["caf\xe9"]}')
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(str(path))
    assert str(caught.value) == (
        f"taxonomy file {path}: not UTF-8 text (invalid continuation byte at byte 16)"
    )
