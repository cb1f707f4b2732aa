"""A content stream parsed into exactly the operations pypdf's ContentStream would make,
several times faster: pypdf reads a stream a byte at a time (see parse_once.py for why that
mattered).

`parse` reads the common tokens (operators, numbers, names, strings with one-byte escapes, hex
strings, flat arrays) with regular expressions, most operations in one match, building every
object with pypdf's own constructors; every other operand goes to pypdf's own `read_object`,
at the same byte, with the same budget. Anything it does not follow exactly (an inline image,
a comment, an odd operator, an indirect reference, a spent budget) makes it give up, and the
caller lets pypdf parse the whole stream.

`drop_idle` then removes operations that change nothing for our readers: `q Q` pairs with
nothing between them, paths that are only clipped or stroked. One contract's pages have
100,000 of the first and 16,000 of the second; pypdf and our visitors would run them all. The
commonest of them `parse` leaves out as it reads (in one match each, not an operation each).

tests/unit/test_content_stream.py compares `parse` with pypdf's parser (through drop_idle) on
real PDFs and on random streams.
"""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import get_configuration
from pypdf.generic import (
    ArrayObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamParsingBudget,
    create_string_object,
    read_object,
)

Operation = tuple[Any, bytes]  # (operands, operator), as in pypdf's ContentStream.operations

# pypdf's text extraction reads strings as bytes (ContentStream(..., "bytes")): so do we.
ENCODING = "bytes"
# What ends an operator or a name for pypdf (NameObject.delimiter_pattern), or the data's end.
_ENDS = rb"(?=[\s()<>\[\]{}/%]|\Z)"
# Blanks as pypdf skips them between tokens (read_non_whitespace); arrays also skip \v.
_BLANKS = b"\x00\t\n\f\r "
_BLANK = rb"[\x00\t\n\f\r ]*"
_ARRAY_BLANK = rb"[\x00\t\n\x0b\f\r ]*"
# The fast tokens. A number: all of its run of [+,-.0-9] characters (at most 19: pypdf looks
# 20 bytes ahead). A name: printable, no #xx escape. A string: no nested parentheses, no line
# continuation, escapes pypdf reads as one byte (octal up to \377). A hex string: even length,
# no blanks. An array: flat, of those. An operator: the characters real operators use.
_NUMBER = rb"[+-]?(?:\d+\.?\d*|\.\d+)(?=[^+,\-.0-9]|\Z)"
_NAME_CHARS = re.escape(bytes(c for c in range(0x21, 0x7F) if c not in b"()<>[]{}/%#"))
_NAME = rb"/[" + _NAME_CHARS + rb"]{0,127}" + _ENDS
_STRING = rb"\((?:[^()\\]|\\[nrtbf()/\\ %<>\[\]#_&$]|\\[0-3][0-7]{0,2}|\\[4-7][0-7]?(?![0-7]))*\)"
_HEX = rb"<(?:[0-9A-Fa-f]{2})*>"
_ELEMENT = b"|".join((_NUMBER, _NAME, _STRING, _HEX))
_ARRAY = rb"\[" + _ARRAY_BLANK + b"(?:(?:" + _ELEMENT + b")" + _ARRAY_BLANK + rb")*\]"
_OPERATOR = rb"[A-Za-z'\"][A-Za-z0-9*'\"]{0,15}" + _ENDS
_OPERAND = b"|".join((_ELEMENT, _ARRAY))
_GROUPS = b"(" + b")|(".join((_NUMBER, _NAME, _STRING, _HEX)) + b")"
# Blanks bytes.split() splits on, at least one: where a run's tokens must be counted.
_SEP = rb"[\t\n\f\r ]+"
# Numbers, each with blanks after it; an operator that builds a path (m l c v y re h W W*).
_NUMBERS = b"(?:" + _NUMBER + _SEP + b")*+"
_BUILD = rb"(?:re|[mlcvyh]|W\*?)" + _SEP
# One whole operation (fast operands, then the operator); a run of empty "q Q" pairs; or a q
# and an idle path after it (a clip: built with numbers and m l c v y re h W W*, 32 operators
# at most, then ended unfilled by n S or s), which for both readers does what its end alone
# does (drop_idle). Only after a q: tried at every path operator, the look for the end would
# cost more than it saves on long paths.
_OPERATION = re.compile(
    _BLANK
    + b"(?:(?P<saves>(?:q[\t\n\f\r ]"
    + _BLANK
    + b"Q"
    + _ENDS
    + _BLANK
    + b")+)|(?P<clip>q"
    + _SEP
    + _NUMBERS
    + _BUILD
    + b"(?:"
    + _NUMBERS
    + _BUILD
    + b"){0,31}+[nSs]"
    + _ENDS
    + b")|(?P<head>"
    + _NUMBERS
    + b")(?P<rest>(?:(?:"
    + _OPERAND
    + b")"
    + _BLANK
    + b")*+)(?P<operator>"
    + _OPERATOR
    + b"))"
)
# An operation's operands (groups: number, name, string, hex, array), an array's elements.
_ARGUMENTS = re.compile(_BLANK + b"(?:" + _GROUPS + b"|(" + _ARRAY + b"))")
_ELEMENTS = re.compile(_ARRAY_BLANK + b"(?:" + _GROUPS + b")")
# One token where no whole operation matches: an operand (groups 1-5 as in _ARGUMENTS) or an
# operator (group 6).
_TOKEN = re.compile(_BLANK + b"(?:" + _GROUPS + b"|(" + _ARRAY + b")|(" + _OPERATOR + b"))")
_OPERATOR_GROUP = 6
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)
_ESCAPED = {ord(c): ord(v) for c, v in zip("nrtbf", "\n\r\t\b\f", strict=True)}
# pypdf reads "1 0 R" as an indirect reference wherever a number starts (its IndirectPattern:
# digits, blanks, digits, blanks, R and a non-letter); found from the R, which is rare.
_REFERENCE_END = re.compile(rb"R[^a-zA-Z]")
_SPACE = b" \t\n\r\f\x0b"
_DIGITS = b"0123456789"
# How operators touch the current path (pdf_scan.py).
_PATH_CLIPPING = frozenset({b"h", b"W", b"W*"})  # no point added
_PATH_BUILDING = frozenset({b"m", b"l", b"c", b"v", b"y", b"re"}) | _PATH_CLIPPING
_PATH_DISCARDING = frozenset({b"n", b"S", b"s"})
_PATH_FILLING = frozenset({b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"})
_SAVE: Operation = ([], b"q")
_MAX_NUMBER = 19  # pypdf's look-ahead is 20 bytes: the number and the byte that ends it
_MAX_ARRAY = 100_000  # pypdf's array_maximum_element_count by default


class _GiveUp(Exception):
    """Not a stream this parser follows exactly: pypdf parses it."""


def parse(data: bytes) -> list[Operation] | None:
    """The operations pypdf's ContentStream would parse from `data` (less some that drop_idle
    would drop anyway: runs of empty q Q pairs, a clip's path as "n"), or None where this
    parser does not follow the stream exactly."""
    if _has_reference(data):
        return None
    budget = StreamParsingBudget(get_configuration().stream_parsing_work_maximum_count)
    try:
        return _operations(data, budget)
    except MemoryError:
        raise
    except Exception:  # _GiveUp, or pypdf's reader failed: pypdf's parse says how
        return None


def drop_idle(operations: list[Operation], *, path_closed: bool) -> list[Operation]:
    """`operations` less those that change nothing for pypdf's text extraction and for
    pdf_scan.Scan, the only readers of these operations:
    - q closed by Q with nothing left between them: no state changes, and the pair is as if
      it was never there (so `parse` may leave such pairs out itself);
    - a path built and ended unfilled (m l c v y re h W W*, then n S or s): pypdf ignores
      paths and Scan only remembers filled ones, so it does what a lone "n" does: end the
      path that was open, if one was (`path_closed` at the start: a page's stream, not a
      form's, which may be drawn in the middle of one); where none was, nothing."""
    kept: list[Operation] = []
    run: int | None = None  # where in `kept` the path being built began
    closed = path_closed  # whether no path was open when it began
    runs: list[tuple[int | None, bool]] = []  # (run, closed) when each empty q in `kept` came
    for operation in operations:
        operands, operator = operation
        if operator in _PATH_BUILDING:
            if run is None:
                run, closed = len(kept), path_closed
            path_closed = path_closed and operator in _PATH_CLIPPING
            kept.append(operation)
        elif operator in _PATH_DISCARDING:
            if run is not None:
                del kept[run:]
                path_closed = closed
            if not path_closed:
                kept.append(([], b"n"))
            path_closed, run = True, None
        elif operator == b"Q" and not operands and kept and kept[-1] == _SAVE:
            kept.pop()
            run, closed = runs.pop()
        else:
            if operation == _SAVE:
                runs.append((run, closed))
            path_closed = path_closed or operator in _PATH_FILLING
            run = None
            kept.append(operation)
    return kept


def _operations(data: bytes, budget: StreamParsingBudget) -> list[Operation]:
    """pypdf's ContentStream._parse_content_stream loop. Most operations (fast operands, then
    the operator) are read whole (`_whole`); the rest token by token, odd operands
    (dictionaries, nested arrays...) by pypdf's read_object."""
    operations: list[Operation] = []
    operands: list[Any] = []
    numbers: dict[bytes, Any] = {}  # numbers repeat (coordinates); their objects are immutable
    pos = spent = 0
    # Every unit pypdf spends is a token of a byte or more: only a long stream can run out, so
    # only there are array elements counted one by one.
    count = 2 * len(data) > budget.remaining_budget
    while True:
        if not operands:
            pos, whole = _whole(data, pos, operations, numbers, count)
            spent += whole
        found = _TOKEN.match(data, pos)
        if found is not None and found.lastindex == _OPERATOR_GROUP:
            if found[_OPERATOR_GROUP] == b"BI":
                raise _GiveUp  # an inline image: pypdf's own reader for those
            operations.append((operands, found[_OPERATOR_GROUP]))
            operands, pos, spent = [], found.end(), spent + 1
            continue
        if found is not None:
            value = _values([found.groups()[:5]], numbers)
            operands.extend(value)
            pos, spent = found.end(), spent + _spent(value, found[0])
            continue
        pos = _skip(data, pos)
        if pos >= len(data):
            _check(budget, spent)
            return operations
        if data[pos : pos + 1].isalpha() or data[pos] in b"'\"%":
            raise _GiveUp  # an operator with other characters, or a comment
        slow, pos = _slow(data, pos, budget)
        operands.append(slow)
        spent += 1


def _whole(
    data: bytes, pos: int, operations: list[Operation], numbers: dict[bytes, Any], count: bool
) -> tuple[int, int]:
    """Whole operations from `pos` on, added to `operations` (runs of empty q Q pairs left
    out, a clip's path as "n"): where they stop (the first that is not one, or BI), and the
    budget pypdf would spend on them (array elements counted only where `count`)."""
    spent = 0
    append = operations.append
    for found in _OPERATION.finditer(data, pos):
        start, end = found.span()
        saves, clip, head, rest, operator = found.group(1, 2, 3, 4, 5)
        if start != pos or operator == b"BI":
            break
        pos = end
        if saves:
            spent += 2 * saves.count(b"q")
        elif clip:
            append(([], b"q"))
            append(([], b"n"))
            spent += len(clip.split())
        elif not rest:  # numbers alone, or nothing: most operations
            words = head.split()
            append(([numbers[w] if w in numbers else _number(w, numbers) for w in words], operator))
            spent += len(words) + 1
        else:
            text = head + rest
            arguments = _values(_ARGUMENTS.findall(text), numbers)
            append((arguments, operator))
            spent += (_spent(arguments, text) if count else len(arguments)) + 1
    return pos, spent


def _number(text: bytes, numbers: dict[bytes, Any]) -> Any:
    if len(text) > _MAX_NUMBER:
        raise _GiveUp
    value = numbers[text] = FloatObject(text) if b"." in text else NumberObject(text)
    return value


def _values(tokens: list[Any], numbers: dict[bytes, Any]) -> list[Any]:
    """pypdf's objects for fast tokens (findall's tuples: number, name, string, hex[, array]),
    made by pypdf's own constructors."""
    values: list[Any] = []
    for token in tokens:
        if token[0]:
            number = token[0]
            values.append(numbers[number] if number in numbers else _number(number, numbers))
        elif token[1]:
            values.append(NameObject(token[1].decode("utf-8")))
        elif token[2]:
            values.append(create_string_object(_unescape(token[2][1:-1]), ENCODING))
        elif token[3]:
            hexa = bytes.fromhex(token[3][1:-1].decode())
            values.append(create_string_object(hexa, ENCODING))
        else:
            elements = _values(_ELEMENTS.findall(token[4][1:-1]), numbers)
            if len(elements) > _MAX_ARRAY:
                raise _GiveUp
            values.append(ArrayObject(elements))
    return values


def _spent(values: list[Any], text: bytes) -> int:
    """pypdf's parsing budget for these operands: one each, one more per array element."""
    if b"[" not in text:
        return len(values)
    return len(values) + sum(len(v) for v in values if isinstance(v, ArrayObject))


def _unescape(body: bytes) -> bytes:
    """A string's bytes as pypdf's read_string_from_stream reads them (the escapes that
    _STRING lets through)."""
    return _ESCAPE.sub(_escaped, body) if b"\\" in body else body


def _escaped(found: re.Match[bytes]) -> bytes:
    code = found[1]
    if code[0] in _DIGITS:
        return bytes((int(code, 8),))
    return bytes((_ESCAPED.get(code[0], code[0]),))


def _slow(data: bytes, pos: int, budget: StreamParsingBudget) -> tuple[Any, int]:
    """pypdf's read_object at `pos` (escaped strings, dictionaries...): its value and end."""
    stream = io.BytesIO(data)
    stream.seek(pos)
    value = read_object(stream, None, ENCODING, parsing_budget=budget)
    return value, stream.tell()


def _has_reference(data: bytes) -> bool:
    """Whether pypdf may see an indirect reference anywhere in `data`."""
    for end in _REFERENCE_END.finditer(data):
        pos = end.start()
        for chars in (_SPACE, _DIGITS, _SPACE, _DIGITS):
            start = pos
            while pos > 0 and data[pos - 1] in chars:
                pos -= 1
            if pos == start:
                break
        else:
            return True
    return False


def _skip(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] in _BLANKS:
        pos += 1
    return pos


def _check(budget: StreamParsingBudget, spent: int) -> None:
    """pypdf spends one unit per token (its read_object spends inside dictionaries too);
    past its budget it raises: let it. Spending only grows, so checking the total at the end
    finds every stream pypdf would stop."""
    if spent > budget.remaining_budget:
        raise _GiveUp
