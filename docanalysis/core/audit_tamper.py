"""What kind of tampering the first bad row of an audit chain shows.

core.audit_chain.verify_events walks the chain and checks each row; at the first row that
breaks it, the functions here read the rest of the chain once more to tell one tampering from
another: changed, missing, reordered, forged, ... (the rules are in verify_events' docstring).

They hash a row only through the `hash_as` function the verifier passes in (a RowHasher), so
this module holds none of the canonical form and the two modules do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

# What can be wrong, in the words of the report.
CHANGED = "changed"  # a row's content was edited after it was written
MISSING = "missing"  # rows were deleted from inside the chain (seq jumps forward)
REORDERED = "reordered"  # rows were moved or swapped, or come out of order
FORGED = "forged"  # a row was inserted or replaced by one that never was part of the chain
MALFORMED = "malformed"  # a row cannot even be hashed (a column missing, a value refused)
TRUNCATED = "truncated"  # the chain ends before a known head (checkpoint): its end was removed
REWRITTEN = "rewritten"  # a known head's row has another hash: history rewritten, rehashed
KINDS = (CHANGED, MISSING, REORDERED, FORGED, MALFORMED, TRUNCATED, REWRITTEN)

# The hash `row`'s content would have at position `seq` after `prev_hash`, or None when the row
# cannot be hashed (a column missing, a value refused). audit_chain supplies it.
RowHasher = Callable[[Mapping[str, object], int, object], str | None]


def seq_of(row: Mapping[str, object]) -> int | None:
    """The row's seq if it is an int (a bool is not), else None."""
    seq = row.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _own_hash_ok(row: Mapping[str, object], hash_as: RowHasher) -> bool:
    """Does the row's stored hash match its content (with its own prev_hash)?"""
    seq = seq_of(row)
    return seq is not None and hash_as(row, seq, row.get("prev_hash")) == row.get("hash")


def row_name(seq: int) -> str:
    """How a report names the position `seq` (0 and below: before the first row)."""
    return "the start of the trail" if seq < 1 else f"row {seq}"


@dataclass
class _Evidence:
    """What the rows from the first bad one onward say about it, gathered in one pass."""

    next_seq: int | None = None  # the row right after the bad one, and its prev_hash
    next_prev: object = None
    hash_at: int | None = None  # first row whose stored hash is the sought one
    prev_at: int | None = None  # first row after the bad one whose prev_hash is the sought one
    seq_at: int | None = None  # first row whose seq lies in the sought range
    home: tuple[int, ...] = ()  # where the sought content was written: (seq,) or (seq, seq+1)


def _gather(
    bad: Mapping[str, object],
    rest: Iterator[Mapping[str, object]],
    hash_as: RowHasher,
    *,
    find_hash: object = None,
    find_prev: object = None,
    find_seqs: range = range(0),
    home_of: Mapping[str, object] | None = None,
) -> _Evidence:
    """Read the rest of the chain once, looking for the traces that tell one tampering from
    another. `home_of`: a row's content, tried at each later position k against the hash the
    chain recorded there (row k's own hash, or row k+1's prev_hash) to find where it was
    originally written. Costs one hash per remaining row when `home_of` is given."""
    found = _Evidence()
    previous: Mapping[str, object] = bad
    first = True
    home_seq = seq_of(home_of) if home_of is not None else None
    candidate: str | None = None  # hash of home_of written at `previous`'s position
    bad_seq = seq_of(bad)
    if home_of is not None and bad_seq is not None and bad_seq != home_seq:
        candidate = hash_as(home_of, bad_seq, bad.get("prev_hash"))
        if candidate is not None and candidate == bad.get("hash"):
            found.home = (bad_seq,)
    for row in rest:
        seq = seq_of(row)
        prev = row.get("prev_hash")
        if first:
            found.next_seq, found.next_prev, first = seq, prev, False
        if found.hash_at is None and find_hash is not None and row.get("hash") == find_hash:
            found.hash_at = seq
        if found.prev_at is None and find_prev is not None and prev == find_prev:
            found.prev_at = seq
        if found.seq_at is None and seq in find_seqs:
            found.seq_at = seq
        if home_of is not None and not found.home:
            if candidate is not None and prev == candidate:
                after = (seq,) if seq is not None else ()
                found.home = (int(str(previous.get("seq"))), *after)
            elif seq is not None and seq != home_seq:
                candidate = hash_as(home_of, seq, prev)
                if candidate is not None and candidate == row.get("hash"):
                    found.home = (seq,)
            else:
                candidate = None
        previous = row
    return found


@dataclass(frozen=True)
class Finding:
    """What verify_events reports about the first bad row (ChainCheck's fields on failure)."""

    kind: str
    first_bad_seq: int
    problem: str
    rows: tuple[int, ...]
    resume_seq: int | None
    previous_bad: bool = False  # the row before the one being checked is the bad one


def out_of_sequence(
    row: Mapping[str, object],
    seq: int,
    expected: int,
    prev_hash: str,
    prev_row: Mapping[str, object] | None,
    rest: Iterator[Mapping[str, object]],
    hash_as: RowHasher,
) -> Finding:
    """Row `seq` stands where `expected` should: a duplicate, a step back, or a gap."""
    before = (expected - 1,) if prev_row is not None else ()
    if seq < expected:
        if prev_row is not None and seq == expected - 1:
            return Finding(
                FORGED,
                seq,
                f"row {seq} appears twice: a second row with that number was added",
                (seq,),
                None,
            )
        return Finding(
            REORDERED,
            seq,
            f"row {seq} comes after row {expected - 1}: the rows are out of order",
            (*before, seq),
            None,
        )
    found = _gather(
        row, rest, hash_as, find_hash=row.get("prev_hash"), find_seqs=range(expected, seq)
    )
    if found.seq_at is not None:
        return Finding(
            REORDERED,
            expected,
            f"row {expected} is out of place: it comes after row {seq}, the rows are out of order",
            (*before, seq, found.seq_at),
            None,
        )
    if found.hash_at is not None:
        return Finding(
            REORDERED,
            expected,
            f"row {expected} is out of place: the row written before row {seq} now appears "
            f"as row {found.hash_at} (rows were renumbered)",
            (*before, seq, found.hash_at),
            seq,
        )
    if prev_row is not None and row.get("prev_hash") == prev_hash:
        return Finding(
            CHANGED,
            seq,
            f"row {seq} was renumbered: it was written right after row {expected - 1}, "
            f"as row {expected}",
            (*before, seq),
            seq,
        )
    if seq == expected + 1:
        gone = f"row {expected} is missing"
    else:
        gone = f"rows {expected} to {seq - 1} are missing"
    where = (
        f"the trail jumps from row {expected - 1} to row {seq}"
        if prev_row is not None
        else f"the trail starts at row {seq}"
    )
    return Finding(MISSING, expected, f"{gone}: {where} (deleted)", (*before, seq), seq)


def broken_link(
    row: Mapping[str, object],
    seq: int,
    prev_hash: str,
    prev_row: Mapping[str, object] | None,
    rest: Iterator[Mapping[str, object]],
    hash_as: RowHasher,
) -> Finding:
    """Row `seq` is numbered right but its prev_hash is not the hash of the row before it."""
    link = row.get("prev_hash")
    before = (seq - 1,) if prev_row is not None else ()
    found = _gather(row, rest, hash_as, find_hash=link, find_prev=prev_hash, home_of=prev_row)
    own_ok = _own_hash_ok(row, hash_as)
    resume = seq if own_ok else seq + 1
    if found.hash_at is not None and found.hash_at > seq:
        # Row `seq` was written after a row that now comes later: rows were moved (a swap of
        # whole rows, prev_hash and hash travelling with the content).
        moved_to = found.prev_at
        if moved_to is not None and found.hash_at in (moved_to - 1, moved_to):
            text = (
                f"rows {seq} and {moved_to} were swapped: each holds the other's recorded contents"
            )
        elif moved_to is not None:
            text = (
                f"rows were moved: row {seq} holds a row written after row {found.hash_at}, "
                f"and the row written as {seq} now sits at row {moved_to}"
            )
        else:
            text = f"row {seq} is out of place: it holds a row written after row {found.hash_at}"
        extra = (found.hash_at,) + ((moved_to,) if moved_to is not None else ())
        return Finding(REORDERED, seq, text, (*before, seq, *extra), resume)
    if prev_row is not None and found.home:
        # The row before holds contents written elsewhere, its hash recomputed to fit.
        other = found.home[0]
        return Finding(
            REORDERED,
            seq - 1,
            f"rows {seq - 1} and {other} were swapped and their hashes recomputed to hide it: "
            f"row {seq - 1} holds the contents recorded as row {other}, and row {seq} still "
            f"refers to the original row {seq - 1}",
            (seq - 1, seq, *found.home),
            resume,
            previous_bad=True,
        )
    if prev_row is not None and link == prev_row.get("prev_hash"):
        return Finding(
            FORGED,
            seq - 1,
            f"row {seq - 1} was inserted: row {seq} was written directly after {row_name(seq - 2)}",
            (seq - 1, seq),
            resume,
            previous_bad=True,
        )
    follower = (found.next_seq,) if found.next_seq is not None else ()
    endorsed = found.next_seq is not None and found.next_prev == row.get("hash")
    if own_ok and (endorsed or found.next_seq is None):
        # Row `seq` is intact (its hash fits and the next row refers to it), and it names the
        # hash its predecessor had when it was written: the predecessor was edited, rehashed.
        if prev_row is None:
            text = (
                f"row {seq} does not follow on from the verified row before it: rows up to "
                f"{seq - 1} were changed after they were verified"
            )
        else:
            text = (
                f"row {seq - 1} was changed and its hash recomputed to hide it: row {seq} "
                f"still refers to the row's original hash"
            )
        return Finding(CHANGED, seq - 1, text, (*before, seq), seq, previous_bad=True)
    if own_ok:
        return Finding(
            CHANGED,
            seq,
            f"row {seq} was changed and its hash recomputed to hide it: it no longer links to "
            f"the row before it, and row {found.next_seq} still refers to its original hash",
            (*before, seq, *follower),
            seq + 1,
        )
    if endorsed:
        return Finding(
            CHANGED,
            seq,
            f"row {seq} was changed: its link to the row before it and its hash no longer "
            "match its content",
            (*before, seq),
            seq + 1,
        )
    return Finding(
        FORGED,
        seq,
        f"row {seq} does not belong to the trail: it neither links to the row before it nor "
        "matches its own hash, and the next row does not refer to it",
        (*before, seq, *follower),
        seq + 1,
    )


def bad_hash(
    row: Mapping[str, object],
    seq: int,
    prev_row: Mapping[str, object] | None,
    rest: Iterator[Mapping[str, object]],
    hash_as: RowHasher,
) -> Finding:
    """Row `seq` is numbered and linked right, but its stored hash does not match it."""
    before = (seq - 1,) if prev_row is not None else ()
    found = _gather(row, rest, hash_as, home_of=row)
    follower = (found.next_seq,) if found.next_seq is not None else ()
    if found.next_seq is not None and found.next_prev == row.get("prev_hash"):
        return Finding(
            FORGED,
            seq,
            f"row {seq} was inserted: row {found.next_seq} was written directly after "
            f"{row_name(seq - 1)}",
            (*before, seq, *follower),
            seq + 1,
        )
    if found.home:
        other = found.home[0]
        return Finding(
            REORDERED,
            seq,
            f"rows {seq} and {other} were swapped: row {seq} holds the contents recorded as "
            f"row {other}",
            (seq, *found.home),
            seq + 1,
        )
    if found.next_seq is None or found.next_prev == row.get("hash"):
        # Kept word for word: existing callers and reports quote it.
        return Finding(
            CHANGED,
            seq,
            f"hash of seq {seq} does not match its content (the row was changed)",
            (seq,),
            seq + 1,
        )
    return Finding(
        FORGED,
        seq,
        f"row {seq} is not the row that was written: its hash does not match its content and "
        f"row {found.next_seq} does not refer to it (a forged or replaced row)",
        (seq, *follower),
        seq + 1,
    )


__all__ = [
    "CHANGED",
    "FORGED",
    "KINDS",
    "MALFORMED",
    "MISSING",
    "REORDERED",
    "REWRITTEN",
    "TRUNCATED",
    "Finding",
    "RowHasher",
    "bad_hash",
    "broken_link",
    "out_of_sequence",
    "row_name",
    "seq_of",
]
