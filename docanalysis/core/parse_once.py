"""What pypdf would parse again on every call, parsed once: content streams and fonts.

Why: pypdf parses a page's content stream, and every form it draws, again on every
`extract_text` call (hidden_text.py makes up to three for a page that hides something), and
builds each font of a page (widths, ToUnicode map) again for every page and form that uses it.
With pypdf's byte-at-a-time parser that was most of the time spent on our slowest contracts
(a 154-page CUAD filing whose pages draw their rules as hundreds of thousands of tiny paths).

Streams: `parsed_contents` lends a page streams that parse themselves once, on pypdf's first
look (pypdf reuses a /Contents, or a form, that is already a ContentStream), with
content_stream.py's parser where it can, and puts the originals back afterwards.

Fonts: within `shared_fonts`, pypdf's Font.from_font_resource answers a font dictionary it has
seen with the Font it built the first time (pypdf only reads a Font after building it, but for
the space width, which it sets to the same value every time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pypdf import PageObject
from pypdf.generic import ContentStream, DictionaryObject, NameObject, StreamObject
from pypdf.generic._font import Font

from docanalysis.core.content_stream import ENCODING, Operation, drop_idle, parse


@contextmanager
def parsed_contents(page: PageObject) -> Iterator[None]:
    """Within the block, the page's /Contents, and the forms it draws, are streams that parse
    themselves once, on pypdf's first look (`_Parsed`); afterwards the page and every
    dictionary changed are as they were."""
    ledger = _Ledger(page.pdf)
    try:
        if "/Contents" in page:
            source = dict.__getitem__(page, "/Contents")
            ledger.replace(page, NameObject("/Contents"), _Parsed(page, source, ledger))
        yield
    finally:
        ledger.restore()


class _Ledger:
    """The dictionary entries replaced for one page, to put back; one `_Parsed` per form."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf  # the reader, which pypdf's extraction passes for every stream
        self.replaced: list[tuple[DictionaryObject, NameObject, Any]] = []
        self.forms: dict[int, _Parsed] = {}

    def replace(self, owner: DictionaryObject, key: NameObject, value: _Parsed) -> None:
        self.replaced.append((owner, key, dict.__getitem__(owner, key)))
        owner[key] = value

    def restore(self) -> None:
        while self.replaced:
            owner, key, original = self.replaced.pop()
            owner[key] = original

    def wrap_forms(self, operations: list[Operation], resources: Any) -> None:
        """The forms `operations` draw (Do), where pypdf will look them up: parsed once."""
        try:
            names = {ops[0] for ops, op in operations if op == b"Do" and ops}
            xobjects = resources.get_object()["/XObject"].get_object()
            found = [(n, xobjects[n]) for n in names if isinstance(n, NameObject) and n in xobjects]
        except MemoryError:
            raise
        except Exception:  # damaged resources: pypdf meets them as before
            return
        for name, form in found:
            fresh = isinstance(form, StreamObject) and not isinstance(form, _Parsed)
            if fresh and form.get("/Subtype") == "/Form":
                parsed = self.forms.get(id(form)) or _Parsed(form, form, self)
                self.forms[id(form)] = parsed
                self.replace(xobjects, name, parsed)


class _Parsed(ContentStream):
    """A page's content stream or a form, as pypdf's text extraction reads it, parsed on first
    use (by `parse` where it can), less what no reader sees (`drop_idle`). A form keeps its
    dictionary (/Subtype, /Resources, /Matrix): pypdf and the hidden-text scan read it."""

    def __init__(self, owner: DictionaryObject, source: Any, ledger: _Ledger) -> None:
        super().__init__(None, ledger.pdf, ENCODING)
        self.owner = owner  # the page or the form: its resources
        self.source = source  # the stream, or the page's /Contents entry
        self.ledger = ledger
        self.parsed = False
        if not isinstance(owner, PageObject):
            for key in owner:
                if key not in ("/Filter", "/DecodeParms", "/Length"):
                    self[key] = dict.__getitem__(owner, key)

    @property
    def operations(self) -> list[Operation]:
        if not self.parsed:  # a stream that fails fails again on every pass, as in pypdf
            self._operations = self._parse()
            self.parsed = True
        return self._operations

    @operations.setter
    def operations(self, operations: list[Operation]) -> None:
        self.parsed, self._operations = True, operations

    def _parse(self) -> list[Operation]:
        try:
            content = ContentStream(self.source.get_object(), self.pdf, ENCODING)
        except (AttributeError, KeyError):  # where pypdf's text extraction reads nothing
            return []
        operations = parse(content.get_data()) or content.operations
        # A page starts with no path; a form may be drawn while one is open.
        operations = drop_idle(operations, path_closed=isinstance(self.owner, PageObject))
        self.ledger.wrap_forms(operations, self.owner.get_inherited("/Resources", None))
        return operations


# The fonts built within the current `shared_fonts` block: id of the font dictionary -> the
# dictionary (kept alive, so its id is not reused) and its Font. None outside a block.
_FONTS: ContextVar[dict[int, tuple[Any, Font]] | None] = ContextVar("pypdf_fonts", default=None)
_BUILD_FONT = Font.from_font_resource.__func__  # type: ignore[attr-defined]


@contextmanager
def shared_fonts() -> Iterator[None]:
    """Within the block (one document, in one thread), each font is built once."""
    token = _FONTS.set({})
    try:
        yield
    finally:
        _FONTS.reset(token)


def _font(cls: type[Font], font: DictionaryObject) -> Font:
    """Font.from_font_resource, answered from the current block's fonts where it has one."""
    fonts = _FONTS.get()
    if fonts is None:
        return _BUILD_FONT(cls, font)  # type: ignore[no-any-return]
    seen = fonts.get(id(font))
    if seen is not None and seen[0] is font:
        return seen[1]
    built = _BUILD_FONT(cls, font)
    fonts[id(font)] = (font, built)
    return built  # type: ignore[no-any-return]


# pypdf's text extraction calls this for every font of every page and form, every time; outside
# a `shared_fonts` block it does exactly what pypdf's own does.
Font.from_font_resource = classmethod(_font)  # type: ignore[method-assign, assignment]
