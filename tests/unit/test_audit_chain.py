"""The pure hash chain: canonical form, a known hash, and the verifier's verdicts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from docanalysis.core.audit_chain import (
    CONTENT_FIELDS,
    GENESIS_HASH,
    ChainCheck,
    canonical_json,
    event_content,
    event_hash,
    verify_events,
)

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

# The first event of a chain and its hash, computed by hand from the documented canonical form:
# sha256("0"*64 + '{"action":"document.upload",...,"tenant_id":1}'.encode("utf-8")).
FIRST_CONTENT = {
    "seq": 1,
    "occurred_at": T0,
    "actor_id": 7,
    "actor": "alice",
    "tenant_id": 1,
    "matter_id": 2,
    "action": "document.upload",
    "subject": "document:1",
    "details": {"name": "Vertrag-ä.pdf"},
    "prev_hash": GENESIS_HASH,
}
FIRST_HASH = "7cc1b80df2efcad45ab09eb0aa0b59258ee70dd526de39722b9482db0e8004e8"


def test_canonical_json_sorts_keys_without_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [1, 2, {"d": None, "c": True}]}) == (
        '{"a":[1,2,{"c":true,"d":null}],"b":1}'
    )


def test_canonical_json_keeps_non_ascii_and_writes_tuples_as_arrays() -> None:
    assert canonical_json({"name": "zoë 契約", "ids": (1, 2)}) == '{"ids":[1,2],"name":"zoë 契約"}'


def test_canonical_json_writes_datetimes_in_utc_with_microseconds_and_z() -> None:
    paris = timezone(timedelta(hours=1))
    assert canonical_json(datetime(2026, 3, 1, 10, 30, tzinfo=paris)) == (
        '"2026-03-01T09:30:00.000000Z"'
    )
    assert canonical_json({"at": datetime(2026, 3, 1, 9, 30, 0, 5, tzinfo=UTC)}) == (
        '{"at":"2026-03-01T09:30:00.000005Z"}'
    )


def test_canonical_json_refuses_ambiguous_values() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        canonical_json({"at": datetime(2026, 3, 1, 9, 30)})
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_json({"score": float("nan")})
    with pytest.raises(TypeError, match="date is not allowed"):
        canonical_json({"day": date(2026, 3, 1)})


def test_event_hash_known_vector() -> None:
    assert event_hash(GENESIS_HASH, FIRST_CONTENT) == FIRST_HASH


def test_event_hash_depends_on_prev_hash() -> None:
    assert event_hash("1" * 64, FIRST_CONTENT) != FIRST_HASH


def test_event_content_takes_every_column_but_hash() -> None:
    row = {**FIRST_CONTENT, "hash": FIRST_HASH}
    assert tuple(event_content(row)) == CONTENT_FIELDS
    with pytest.raises(KeyError, match="details"):
        event_content({k: v for k, v in row.items() if k != "details"})


def _chain(n: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        content = {**FIRST_CONTENT, "seq": seq, "subject": f"document:{seq}", "prev_hash": prev}
        prev = event_hash(prev, content)
        rows.append({**content, "hash": prev})
    return rows


def test_verify_events_accepts_a_valid_chain() -> None:
    rows = _chain(4)
    assert rows[0]["hash"] == FIRST_HASH
    assert verify_events(rows) == ChainCheck(ok=True, count=4, last_hash=str(rows[3]["hash"]))


def test_verify_events_accepts_an_empty_chain() -> None:
    assert verify_events([]) == ChainCheck(ok=True, count=0, last_hash=GENESIS_HASH)


def test_verify_events_finds_a_changed_field() -> None:
    rows = _chain(4)
    rows[2]["details"] = {"name": "other.pdf"}

    assert verify_events(rows) == ChainCheck(
        ok=False,
        count=2,
        first_bad_seq=3,
        problem="hash of seq 3 does not match its content (the row was changed)",
        last_hash=str(rows[1]["hash"]),
    )


def test_verify_events_finds_a_broken_link() -> None:
    # Row 3 rewritten consistently (its own hash recomputed) but linked to the wrong parent.
    rows = _chain(4)
    content = {**event_content(rows[2]), "prev_hash": "f" * 64}
    rows[2] = {**content, "hash": event_hash("f" * 64, content)}

    check = verify_events(rows)
    assert (check.ok, check.count, check.first_bad_seq) == (False, 2, 3)
    assert check.problem == "prev_hash of seq 3 does not match the hash of the row before it"


def test_verify_events_finds_a_gap() -> None:
    rows = _chain(4)
    del rows[1]

    check = verify_events(rows)
    assert (check.ok, check.count, check.first_bad_seq) == (False, 1, 3)
    assert check.problem == "seq 3 where 2 was expected (a gap or a reordering)"


def test_verify_events_finds_a_missing_column() -> None:
    rows = _chain(2)
    del rows[1]["actor"]

    check = verify_events(rows)
    assert (check.ok, check.first_bad_seq) == (False, 2)
    assert check.problem == "seq 2 cannot be hashed: 'audit row lacks actor'"


def test_verify_events_checks_a_slice_from_a_known_row() -> None:
    rows = _chain(4)
    check = verify_events(rows[2:], first_seq=3, prev_hash=str(rows[1]["hash"]))
    assert (check.ok, check.count) == (True, 2)
