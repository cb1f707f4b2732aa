"""The pure hash chain: canonical form, a known hash, and the verifier's verdicts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from docanalysis.core.audit_chain import (
    CHANGED,
    CONTENT_FIELDS,
    FORGED,
    GENESIS_HASH,
    MALFORMED,
    MISSING,
    OPTIONAL_FIELDS,
    REORDERED,
    REWRITTEN,
    TRUNCATED,
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


def test_optional_columns_are_hashed_only_when_they_hold_text() -> None:
    # Rows written before the columns existed read back with "" and keep their hash.
    old = {**FIRST_CONTENT, "outcome": "", "request_id": "", "client_address": "", "hash": ""}
    assert event_content(old) == FIRST_CONTENT
    assert event_hash(GENESIS_HASH, event_content(old)) == FIRST_HASH
    new = {**old, "outcome": "refused", "request_id": "req-1"}
    assert event_content(new) == {**FIRST_CONTENT, "outcome": "refused", "request_id": "req-1"}
    assert tuple(OPTIONAL_FIELDS) == ("outcome", "request_id", "client_address")


def test_verify_events_finds_an_optional_column_changed_or_emptied() -> None:
    rows = _chain(4)
    rows[1]["outcome"] = "ok"
    _rehash(rows, 1)
    assert verify_events(rows).ok
    for tampered in ("refused", ""):
        edited = [dict(r) for r in rows]
        edited[1]["outcome"] = tampered
        assert _verdict(verify_events(edited)) == (False, 1, 2, "changed")


def _chain(n: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        content = {
            **FIRST_CONTENT,
            "seq": seq,
            "occurred_at": T0 + timedelta(seconds=seq - 1),
            "tenant_id": 1 + (seq - 1) % 3,
            "subject": f"document:{seq}",
            "prev_hash": prev,
        }
        if seq == 1:
            content["occurred_at"] = T0
            content["tenant_id"] = 1
            content["subject"] = "document:1"
        prev = event_hash(prev, content)
        rows.append({**content, "hash": prev})
    return rows


def _rehash(rows: list[dict[str, object]], start: int, *, relink: bool = True) -> None:
    """Recompute the hash of rows[start:] as an attacker with the algorithm would; `relink`
    also rewrites each prev_hash so the links hold (a full rewrite)."""
    for i in range(start, len(rows)):
        row = rows[i]
        if relink:
            row["prev_hash"] = rows[i - 1]["hash"] if i else GENESIS_HASH
        row["hash"] = event_hash(str(row["prev_hash"]), event_content(row))
        if not relink:
            return


def _swap_rows(rows: list[dict[str, object]], a: int, b: int) -> None:
    """Exchange every column but seq of rows a and b (1-based seqs)."""
    ra, rb = rows[a - 1], rows[b - 1]
    rows[a - 1], rows[b - 1] = {**rb, "seq": a}, {**ra, "seq": b}


def _swap_contents(rows: list[dict[str, object]], a: int, b: int) -> None:
    """Exchange what happened (occurred_at .. details) of rows a and b; seq, prev_hash and hash
    stay in place."""
    moved = [f for f in CONTENT_FIELDS if f not in ("seq", "prev_hash")]
    ra, rb = rows[a - 1], rows[b - 1]
    rows[a - 1] = {**ra, **{f: rb[f] for f in moved}}
    rows[b - 1] = {**rb, **{f: ra[f] for f in moved}}


def _verdict(check: ChainCheck) -> tuple[bool, int, int | None, str]:
    return check.ok, check.count, check.first_bad_seq, check.kind


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
        kind=CHANGED,
        rows=(3,),
        resume_seq=4,
    )


def test_verify_events_calls_a_changed_last_row_changed() -> None:
    rows = _chain(4)
    rows[3]["actor"] = "mallory"
    assert _verdict(verify_events(rows)) == (False, 3, 4, CHANGED)


def test_verify_events_finds_a_row_rewritten_with_a_foreign_link() -> None:
    # Row 3 rewritten consistently (its own hash recomputed) but linked to the wrong parent:
    # row 4 still refers to row 3's original hash.
    rows = _chain(4)
    content = {**event_content(rows[2]), "prev_hash": "f" * 64}
    rows[2] = {**content, "hash": event_hash("f" * 64, content)}

    check = verify_events(rows)
    assert _verdict(check) == (False, 2, 3, CHANGED)
    assert check.problem == (
        "row 3 was changed and its hash recomputed to hide it: it no longer links to the row "
        "before it, and row 4 still refers to its original hash"
    )
    assert check.rows == (2, 3, 4)


def test_verify_events_finds_a_row_edited_and_rehashed() -> None:
    # The attacker knows the algorithm and recomputes the edited row's hash, but not the rows
    # after it: row 4 refers to the original hash of row 3.
    rows = _chain(5)
    rows[2]["details"] = {"name": "other.pdf"}
    _rehash(rows, 2, relink=False)

    check = verify_events(rows)
    assert _verdict(check) == (False, 2, 3, CHANGED)
    assert check.problem == (
        "row 3 was changed and its hash recomputed to hide it: row 4 still refers to the "
        "row's original hash"
    )
    assert (check.last_hash, check.rows, check.resume_seq) == (rows[1]["hash"], (3, 4), 4)


def test_verify_events_finds_a_changed_link_field() -> None:
    rows = _chain(4)
    rows[2]["prev_hash"] = "e" * 64  # the link edited, the hash left: row 4 still refers to it
    check = verify_events(rows)
    assert _verdict(check) == (False, 2, 3, CHANGED)
    assert check.problem.startswith("row 3 was changed: its link to the row before it")


def test_verify_events_finds_a_missing_row() -> None:
    rows = _chain(4)
    del rows[1]

    check = verify_events(rows)
    assert _verdict(check) == (False, 1, 2, MISSING)
    assert check.problem == "row 2 is missing: the trail jumps from row 1 to row 3 (deleted)"
    assert (check.rows, check.resume_seq) == ((1, 3), 3)


def test_verify_events_finds_missing_rows_and_a_missing_start() -> None:
    rows = _chain(6)
    check = verify_events(rows[:2] + rows[4:])
    assert _verdict(check) == (False, 2, 3, MISSING)
    assert check.problem == "rows 3 to 4 are missing: the trail jumps from row 2 to row 5 (deleted)"

    check = verify_events(rows[1:])
    assert _verdict(check) == (False, 0, 1, MISSING)
    assert check.problem == "row 1 is missing: the trail starts at row 2 (deleted)"


def test_verify_events_finds_rows_out_of_order() -> None:
    rows = _chain(5)
    check = verify_events([rows[0], rows[1], rows[3], rows[2], rows[4]])
    assert _verdict(check) == (False, 2, 3, REORDERED)
    assert check.problem == (
        "row 3 is out of place: it comes after row 4, the rows are out of order"
    )

    check = verify_events([rows[0], rows[1], rows[2], rows[0]])
    assert _verdict(check) == (False, 3, 1, REORDERED)
    assert check.problem == "row 1 comes after row 3: the rows are out of order"


def test_verify_events_finds_a_duplicated_seq() -> None:
    rows = _chain(3)
    twin = {**rows[1], "actor": "mallory"}
    check = verify_events([rows[0], rows[1], twin, rows[2]])
    assert _verdict(check) == (False, 2, 2, FORGED)
    assert check.problem == "row 2 appears twice: a second row with that number was added"


def test_verify_events_finds_a_renumbered_row() -> None:
    # Row 2 moved to the end under a new number (the seq column edited): the slot is empty,
    # but row 3 names the row written before it, which now appears as row 9.
    rows = _chain(4)
    moved = {**rows[1], "seq": 9}
    check = verify_events([rows[0], rows[2], rows[3], moved])
    assert _verdict(check) == (False, 1, 2, REORDERED)
    assert check.problem == (
        "row 2 is out of place: the row written before row 3 now appears as row 9 "
        "(rows were renumbered)"
    )


@pytest.mark.parametrize(("a", "b"), [(2, 5), (3, 4)])
def test_verify_events_finds_two_whole_rows_swapped(a: int, b: int) -> None:
    rows = _chain(6)
    _swap_rows(rows, a, b)

    check = verify_events(rows)
    assert _verdict(check) == (False, a - 1, a, REORDERED)
    assert (
        check.problem == f"rows {a} and {b} were swapped: each holds the other's recorded contents"
    )
    assert {a, b} <= set(check.rows)


@pytest.mark.parametrize(("a", "b"), [(2, 5), (3, 4), (5, 6)])
def test_verify_events_finds_swapped_contents_with_hashes_left(a: int, b: int) -> None:
    rows = _chain(6)
    _swap_contents(rows, a, b)

    check = verify_events(rows)
    assert _verdict(check) == (False, a - 1, a, REORDERED)
    assert check.problem == (
        f"rows {a} and {b} were swapped: row {a} holds the contents recorded as row {b}"
    )


@pytest.mark.parametrize(("a", "b"), [(2, 5), (3, 4), (4, 6)])
def test_verify_events_finds_swapped_contents_with_hashes_recomputed(a: int, b: int) -> None:
    # Each row's hash recomputed over its new content and in-place prev_hash, so both rows
    # check out on their own; the rows after them still refer to the original hashes.
    rows = _chain(7)
    _swap_contents(rows, a, b)
    _rehash(rows, a - 1, relink=False)
    _rehash(rows, b - 1, relink=False)

    check = verify_events(rows)
    assert _verdict(check) == (False, a - 1, a, REORDERED)
    assert check.problem == (
        f"rows {a} and {b} were swapped and their hashes recomputed to hide it: row {a} "
        f"holds the contents recorded as row {b}, and row {a + 1} still refers to the "
        f"original row {a}"
    )
    assert check.last_hash == rows[a - 2]["hash"]


def test_verify_events_finds_an_inserted_row() -> None:
    # A row forged between 2 and 3 (made-up hash); the rows after it renumbered.
    rows = _chain(4)
    forged = {**rows[1], "seq": 3, "actor": "mallory", "prev_hash": rows[1]["hash"]}
    forged["hash"] = "a" * 64
    renumbered = [{**row, "seq": row["seq"] + 1} for row in rows[2:]]  # type: ignore[operator]
    check = verify_events([*rows[:2], forged, *renumbered])
    assert _verdict(check) == (False, 2, 3, FORGED)
    assert check.problem == "row 3 was inserted: row 4 was written directly after row 2"


def test_verify_events_finds_an_inserted_row_with_a_valid_hash() -> None:
    # The forger computes a correct hash for the inserted row: row 4 (the old row 3) then
    # names the same predecessor as the forged row.
    rows = _chain(4)
    forged = {**rows[1], "seq": 3, "actor": "mallory", "prev_hash": rows[1]["hash"]}
    forged["hash"] = event_hash(str(forged["prev_hash"]), event_content(forged))
    renumbered = [{**row, "seq": row["seq"] + 1} for row in rows[2:]]  # type: ignore[operator]
    check = verify_events([*rows[:2], forged, *renumbered])
    assert _verdict(check) == (False, 2, 3, FORGED)
    assert check.problem == "row 3 was inserted: row 4 was written directly after row 2"
    assert check.last_hash == rows[1]["hash"]


def test_verify_events_finds_a_replaced_row() -> None:
    # Row 3 replaced by a row whose hash is made up: it links to row 2, but nothing refers to it.
    rows = _chain(4)
    rows[2] = {**rows[2], "actor": "mallory", "hash": "b" * 64}
    check = verify_events(rows)
    assert _verdict(check) == (False, 2, 3, FORGED)
    assert check.problem == (
        "row 3 is not the row that was written: its hash does not match its content and row 4 "
        "does not refer to it (a forged or replaced row)"
    )


def test_verify_events_finds_a_missing_column() -> None:
    rows = _chain(2)
    del rows[1]["actor"]

    check = verify_events(rows)
    assert _verdict(check) == (False, 1, 2, MALFORMED)
    assert check.problem == "row 2 cannot be checked: 'audit row lacks actor'"


def test_a_full_rewrite_verifies_without_a_head_and_fails_with_one() -> None:
    # Changing a row and recomputing every later hash leaves a consistent chain: only a head
    # recorded before (a signed checkpoint) shows it.
    rows = _chain(6)
    head, mid = (6, str(rows[5]["hash"])), (4, str(rows[3]["hash"]))
    rows[1]["details"] = {"name": "other.pdf"}
    _rehash(rows, 1)

    assert verify_events(rows).ok is True
    check = verify_events(rows, expected_head=head)
    assert _verdict(check) == (False, 5, 6, REWRITTEN)
    assert check.problem == (
        "row 6 no longer has the hash the checkpoint recorded: the trail up to row 6 was "
        "rewritten and its hashes recomputed"
    )
    assert _verdict(verify_events(rows, expected_head=mid)) == (False, 3, 4, REWRITTEN)


def test_a_cut_off_end_verifies_without_a_head_and_fails_with_one() -> None:
    rows = _chain(6)
    head = (6, str(rows[5]["hash"]))
    assert verify_events(rows, expected_head=head).ok is True
    assert verify_events(rows, expected_head=(3, str(rows[2]["hash"]))).ok is True

    assert verify_events(rows[:5]).ok is True
    check = verify_events(rows[:4], expected_head=head)
    assert _verdict(check) == (False, 4, 5, TRUNCATED)
    assert check.problem == (
        "the chain ends before the checkpoint: it stops at row 4, the checkpoint covers row 6, "
        "so rows 5 to 6 are missing (the end was deleted)"
    )
    check = verify_events([], expected_head=head)
    assert _verdict(check) == (False, 0, 1, TRUNCATED)


def test_verify_events_counts_only_what_count_if_accepts() -> None:
    rows = _chain(7)
    tenant_2 = verify_events(rows, count_if=lambda row: row["tenant_id"] == 2)
    assert (tenant_2.ok, tenant_2.count) == (True, 2)  # seqs 2 and 5

    rows[5]["details"] = {"name": "other.pdf"}
    tenant_1 = verify_events(rows, count_if=lambda row: row["tenant_id"] == 1)
    assert _verdict(tenant_1) == (False, 2, 6, CHANGED)  # seqs 1 and 4 before the bad row 6


def test_verify_events_checks_a_slice_from_a_known_row() -> None:
    rows = _chain(4)
    check = verify_events(rows[2:], first_seq=3, prev_hash=str(rows[1]["hash"]))
    assert (check.ok, check.count) == (True, 2)


def test_verify_events_from_a_known_row_names_a_broken_first_link() -> None:
    rows = _chain(4)
    rows[1]["details"] = {"name": "other.pdf"}
    _rehash(rows, 1)  # rewritten after the slice's anchor (row 2's original hash) was taken
    anchor = str(_chain(4)[1]["hash"])
    check = verify_events(rows[2:], first_seq=3, prev_hash=anchor)
    assert _verdict(check) == (False, 0, 2, CHANGED)
