"""The chain's fast routes give exactly the generic ones' bytes and verdicts.

payload_template (the PostgreSQL writer's spliced text), wire_payload and walk_wire_rows (the
verifier's walk over rows read as text) must agree with event_hash and verify_events on every
row, tampered or not: the fast walk vouches only for rows verify_events would accept, and hands
the rest over to it at the right place.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docanalysis.core.audit_chain import (
    GENESIS_HASH,
    ChainCheck,
    canonical_json,
    event_content,
    event_hash,
    format_timestamp,
    payload_template,
    verify_events,
)
from docanalysis.core.audit_wire import (
    WIRE_COLUMNS,
    WalkStop,
    canonical_texts,
    walk_wire_rows,
    wire_payload,
)

T0 = datetime(2026, 3, 1, 9, 30, 0, 250000, tzinfo=UTC)
Row = dict[str, Any]


def _content(seq: int, **changes: Any) -> Row:
    content: Row = {
        "seq": seq,
        "occurred_at": T0 + timedelta(seconds=seq, microseconds=seq),
        "actor_id": None if seq % 4 == 0 else seq,
        "actor": 'zoë "the clerk" <z@firm.example>\t',
        "tenant_id": 1 + seq % 3,
        "matter_id": None if seq % 5 == 0 else 100 + seq,
        "action": "document.upload",
        "subject": f"document:{seq}",
        "details": {"name": f"Vertrag-{seq}.pdf", "pages": seq, "at": [1.5, None, True]},
        "prev_hash": "",
        "outcome": ("ok", "", "refused")[seq % 3],
        "request_id": "" if seq % 2 else f"req-{seq}\u2028",
        "client_address": "" if seq % 3 else "10.0.0.7",
    }
    content.update(changes)
    return content


def _chain(n: int) -> list[Row]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        row = {**_content(seq), "prev_hash": prev}
        prev = row["hash"] = event_hash(prev, event_content(row))
        rows.append(row)
    return rows


def _wire(row: Row, details_text: str | None = None) -> tuple[Any, ...]:
    """`row` as db.audit reads it from PostgreSQL (details stored as `details_text`)."""
    ids = {k: None if row[k] is None else str(row[k]) for k in ("actor_id", "tenant_id")}
    ids["matter_id"] = None if row["matter_id"] is None else str(row["matter_id"])
    text = {
        "occurred_at": format_timestamp(row["occurred_at"]),
        "details": canonical_json(row["details"]) if details_text is None else details_text,
    }
    return tuple({**row, **ids, **text}[name] for name in WIRE_COLUMNS)


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [1, 2.5, None, True, {"d": 'é\u2028\x01"', "c": -0.0}]},
        ["zoë 契約", 10**30, 1e-7, {}],
        "line\nbreak",
    ],
)
def test_canonical_json_is_still_what_json_dumps_writes(value: object) -> None:
    options: dict[str, Any] = {"sort_keys": True, "separators": (",", ":")}
    assert canonical_json(value) == json.dumps(value, ensure_ascii=False, **options)


@pytest.mark.parametrize("seq", range(1, 7))
def test_the_template_splices_into_event_hashs_payload(seq: int) -> None:
    prev = "ab" * 32
    content = event_content({**_content(seq), "prev_hash": prev})
    head, middle, tail = payload_template(content)
    assert prev + head + prev + middle + str(seq) + tail == prev + canonical_json(content)


def test_the_template_leaves_out_the_seq_and_prev_hash_it_is_given() -> None:
    content = event_content({**_content(2), "seq": 0, "prev_hash": ""})
    head, middle, tail = payload_template(content)
    assert head.startswith('{"action":') and head.endswith(',"prev_hash":"')
    assert middle == '","request_id":"req-2\u2028","seq":' and tail.startswith(',"subject":')


@pytest.mark.parametrize("seq", range(1, 7))
def test_a_wire_row_hashes_as_its_typed_row(seq: int) -> None:
    row = _chain(seq)[-1]
    expected = row["prev_hash"] + canonical_json(event_content(row))
    assert wire_payload(_wire(row), canonical_details=True) == expected
    spaced = json.dumps(row["details"])  # as SQLAlchemy stored details before
    assert wire_payload(_wire(row, spaced)) == expected
    assert wire_payload(_wire(row, spaced), canonical_details=True) != expected


def test_a_year_written_otherwise_by_the_database_is_not_vouched_for() -> None:
    row = {**_chain(1)[0], "occurred_at": datetime(999, 1, 2, tzinfo=UTC)}
    wire = list(_wire(row))
    wire[1] = "0999-01-02T00:00:00.000000Z"  # to_char's YYYY pads; strftime's %Y may not
    with pytest.raises(ValueError, match="years 1000 to 9999"):
        wire_payload(wire)


def test_canonical_texts_accepts_only_texts_that_are_their_own_encoding() -> None:
    assert canonical_texts(['{"a":1,"b":"é"}', "[]", "{}", '"x"', "12"])
    assert canonical_texts([])
    for odd in (
        '{"a": 1}',  # whitespace
        '{"b":1,"a":2}',  # key order
        '{"a":"\\u00e9"}',  # an escape the encoder does not write
        '{"a":1,"a":2}',  # a repeated key
        '{"a":NaN}',  # refused by the encoder
        '{"a":1.0e2}',  # another spelling of 100.0
        " {}",  # leading whitespace
    ):
        assert not canonical_texts(['{"ok":1}', odd]), odd
    # Joined, these parse and re-encode to the same text, but none is a whole value of its own.
    assert not canonical_texts(["[1", "2]", "3,4"])


def _count_if(tenant: int | None) -> Callable[[Mapping[str, object]], bool] | None:
    if tenant is None:
        return None
    return lambda row: row["tenant_id"] == tenant


def _walk_then_generic(
    typed: list[Row], wire: list[tuple[Any, ...]], batch: int, **options: Any
) -> ChainCheck:
    """What db.audit does: the fast walk, then verify_events from where it stopped (the rows
    read again from that seq on, in order of seq, as the database returns them)."""
    tenant = options.pop("tenant", None)
    batches = [wire[i : i + batch] for i in range(0, len(wire), batch)]
    walk = walk_wire_rows(batches, tenant=tenant, **options)
    if isinstance(walk, ChainCheck):
        return walk
    assert isinstance(walk, WalkStop)
    check = verify_events(
        [row for row in typed if row["seq"] >= walk.seq],
        first_seq=walk.seq,
        prev_hash=walk.prev_hash,
        count_if=_count_if(tenant),
        **options,
    )
    return replace(check, count=check.count + walk.count)


def _tamper(rows: list[Row], texts: list[str | None], rng: random.Random) -> None:
    """One tampering of the kinds verify_events names, or a row that is only odd."""
    i = rng.randrange(len(rows))
    kind = rng.choice(["edit", "rehash", "delete", "swap", "spaced", "forged_text", "old_year"])
    if kind == "delete":
        del rows[i], texts[i]
        return
    if kind == "swap" and i + 1 < len(rows):
        a, b = rows[i], rows[i + 1]
        rows[i] = {**b, "seq": a["seq"]}
        rows[i + 1] = {**a, "seq": b["seq"]}
        return
    row = rows[i]
    if kind in ("edit", "rehash"):
        row["details"] = {**row["details"], "pages": -1}
    if kind == "spaced":  # stored as SQLAlchemy wrote it: same value, another text
        texts[i] = json.dumps(row["details"])
    if kind == "old_year":
        row["occurred_at"] = row["occurred_at"].replace(year=999)
    if kind == "forged_text":  # hashed over a non-canonical text: verify_events refuses it
        texts[i] = json.dumps(row["details"])
        wire = _wire(row, texts[i])
        payload = wire_payload(wire, canonical_details=True)
        row["hash"] = hashlib.sha256(payload.encode()).hexdigest()
    elif kind in ("rehash", "old_year"):
        row["hash"] = event_hash(row["prev_hash"], event_content(row))


def _wire_of(row: Row, text: str | None) -> tuple[Any, ...]:
    wire = list(_wire(row, text))
    if row["occurred_at"].year < 1000:
        wire[1] = "0" + wire[1]  # the database pads the year to four digits
    return tuple(wire)


@pytest.mark.parametrize("seed", range(60))
def test_the_fast_walk_and_verify_events_agree_on_tampered_chains(seed: int) -> None:
    rng = random.Random(seed)
    rows = _chain(rng.randrange(1, 14))
    texts: list[str | None] = [None] * len(rows)
    for _ in range(rng.randrange(0, 3)):
        if rows:
            _tamper(rows, texts, rng)
    wire = [_wire_of(row, text) for row, text in zip(rows, texts, strict=True)]
    head = None
    if rng.random() < 0.6:  # a checkpoint at, before or past the end; its hash true or not
        at = rng.randrange(1, len(rows) + 3)
        head = (at, _chain(at)[-1]["hash"] if rng.random() < 0.7 else "f" * 64)
    for tenant in (None, 2):
        expected = verify_events(
            rows,
            expected_head=head,
            count_if=_count_if(tenant),
        )
        for batch in (1, 3, 50):
            got = _walk_then_generic(rows, wire, batch, expected_head=head, tenant=tenant)
            assert got == expected, (seed, tenant, batch)


def test_the_fast_walk_stops_where_it_cannot_vouch_and_counts_before_it() -> None:
    rows = _chain(6)
    wire = [_wire(row) for row in rows]
    assert walk_wire_rows([wire]) == verify_events(rows)
    broken = wire[:3] + [(*wire[3][:13], "0" * 64)] + wire[4:]
    assert walk_wire_rows([broken]) == WalkStop(3, rows[2]["prev_hash"], 2)
    cut = walk_wire_rows([broken[:1]], expected_head=(3, rows[2]["hash"]))
    assert isinstance(cut, ChainCheck) and (cut.kind, cut.first_bad_seq) == ("truncated", 2)
    assert walk_wire_rows([[(*wire[0][:13], "0" * 64)]]) == WalkStop(1, GENESIS_HASH, 0)
    tenant_two = sum(1 for row in rows if row["tenant_id"] == 2)
    whole = walk_wire_rows([wire[:2], wire[2:]], tenant=2)
    assert isinstance(whole, ChainCheck) and (whole.ok, whole.count) == (True, tenant_two)
