"""split_provisions: the numbered paragraphs the model cites, on synthetic and real contracts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docanalysis.core.extraction import assemble, extract_pdf
from docanalysis.core.provisions import split_provisions
from docanalysis.core.types import ExtractedDocument, Page, Provision

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CUAD = SHARED_DATA / "cuad"
KIROMIC_PDF = CUAD / "pdfs" / "KIROMICBIOPHARMA,INC_04_08_2020-EX-10.28-JOINT VENTURE AGREEMENT.PDF"
CUAD_TXT = [
    "GULFSOUTHMEDICALSUPPLYINC_12_24_1997-EX-4-AFFILIATE AGREEMENT.txt",
    "CHEETAHMOBILEINC_04_22_2014-EX-10.43-Cooperation Agreement.txt",
    "INGEVITYCORP_05_16_2016-EX-10.5-INTELLECTUAL PROPERTY AGREEMENT.txt",
    "NETGEAR,INC_04_21_2003-EX-10.16- AMENDMENT #2 TO THE DISTRIBUTION AGREEMENT.txt",
]


def one_page(text: str) -> ExtractedDocument:
    return ExtractedDocument(sha256="0" * 64, text=text, pages=(Page(1, 0, len(text)),))


def texts(doc: ExtractedDocument, provisions: tuple[Provision, ...]) -> list[str]:
    return [doc.text[p.start : p.end] for p in provisions]


def assert_well_formed(
    doc: ExtractedDocument, provisions: tuple[Provision, ...], limit: int
) -> None:
    assert [p.number for p in provisions] == list(range(1, len(provisions) + 1))
    for before, after in zip(provisions, provisions[1:], strict=False):
        assert before.end <= after.start
    for provision in provisions:
        body = doc.text[provision.start : provision.end]
        assert body and not body[0].isspace() and not body[-1].isspace()
        assert len(body) <= limit
        assert provision.page == doc.page_at(provision.start)
    # No word is lost: everything between provisions is whitespace.
    gaps = [doc.text[a.end : b.start] for a, b in zip(provisions, provisions[1:], strict=False)]
    assert all(not gap.strip() for gap in gaps)
    assert not doc.text[: provisions[0].start].strip()
    assert not doc.text[provisions[-1].end :].strip()


def test_numbered_sections_without_blank_lines_split_at_each_number() -> None:
    doc = one_page(
        'ARTICLE I\nDEFINITIONS\n1.1 "Affiliate" means any entity that controls a Party.\n'
        '1.2 "Term" has the meaning in Section\n5.2 of the Supply Agreement.\n'
        "12.3(a) Fees are due within thirty days;\n(b) interest accrues at 1% per month; and\n"
        "(iv) late fees apply.\n"
    )

    provisions = split_provisions(doc)

    assert texts(doc, provisions) == [
        'ARTICLE I\nDEFINITIONS\n1.1 "Affiliate" means any entity that controls a Party.',
        '1.2 "Term" has the meaning in Section\n5.2 of the Supply Agreement.',
        "12.3(a) Fees are due within thirty days;",
        "(b) interest accrues at 1% per month; and",
        "(iv) late fees apply.",
    ]
    assert [(p.start, p.end) for p in provisions][0] == (0, 77)


def test_recitals_and_caps_headings_open_provisions() -> None:
    doc = one_page(
        "This Agreement is made between Acme Inc. and Beta LLC.\n"
        "WHEREAS, Acme makes widgets;\nWHEREAS, Beta sells them;\n"
        "NOW, THEREFORE, the parties agree as follows:\n"
        "CONFIDENTIALITY\nEach party keeps the other's information secret.\n"
    )

    assert texts(doc, split_provisions(doc)) == [
        "This Agreement is made between Acme Inc. and Beta LLC.",
        "WHEREAS, Acme makes widgets;",
        "WHEREAS, Beta sells them;",
        "NOW, THEREFORE, the parties agree as follows:",
        "CONFIDENTIALITY\nEach party keeps the other's information secret.",
    ]


def test_a_sentence_cut_by_a_page_break_and_page_number_stays_whole() -> None:
    doc = assemble(
        "0" * 64,
        ["1. Term. This Agreement lasts until the\n- 1 -", "end of the Term.\n2. Fees. None."],
    )

    provisions = split_provisions(doc)

    assert texts(doc, provisions) == [
        "1. Term. This Agreement lasts until the\n- 1 -\n\nend of the Term.",
        "2. Fees. None.",
    ]
    assert [p.page for p in provisions] == [1, 2]
    assert provisions[1].start == doc.pages[1].start + len("end of the Term.\n")


def test_long_provisions_split_at_sentences() -> None:
    sentence = "The Supplier shall deliver the goods on time."
    doc = one_page("1. Delivery. " + " ".join([sentence] * 5) + " " + "x" * 30 + " " + "y" * 30)

    provisions = split_provisions(doc, max_chars=120)

    # Greedy: as many whole sentences as fit; "time. xxx" is no sentence end (lower case after).
    assert texts(doc, provisions) == [
        "1. Delivery. " + " ".join([sentence] * 2),
        " ".join([sentence] * 2),
        sentence + " " + "x" * 30 + " " + "y" * 30,
    ]
    assert_well_formed(doc, provisions, 120)


def test_a_long_sentence_splits_at_spaces() -> None:
    doc = one_page(" ".join(["word"] * 50))  # 249 characters, no sentence end

    provisions = split_provisions(doc, max_chars=100)

    assert [(p.start, p.end) for p in provisions] == [(0, 99), (100, 199), (200, 249)]


def test_a_single_word_longer_than_the_limit_is_cut_hard() -> None:
    doc = one_page("z" * 250)

    assert [(p.start, p.end) for p in split_provisions(doc, max_chars=100)] == [
        (0, 100),
        (100, 200),
        (200, 250),
    ]


def test_empty_text_has_no_provisions() -> None:
    assert split_provisions(one_page("  \n\n ")) == ()


@pytest.mark.parametrize("name", CUAD_TXT)
def test_cuad_contract_texts(name: str) -> None:
    doc = one_page((CUAD / "contracts_txt" / name).read_text())

    provisions = split_provisions(doc)

    assert_well_formed(doc, provisions, 2000)
    # A numbered section on its own line after a finished sentence always opens a provision.
    starts = {p.start for p in provisions}
    for match in re.finditer(r"[.;:]\n[ \t]*(\d{1,2}\.\d{0,2} +[A-Z])", doc.text):
        assert match.start(1) in starts, doc.text[match.start(1) : match.start(1) + 60]


def test_gulf_south_affiliate_agreement_sections() -> None:
    doc = one_page((CUAD / "contracts_txt" / CUAD_TXT[0]).read_text())

    bodies = texts(doc, split_provisions(doc))

    numbered = [b.split(".")[0] for b in bodies if re.match(r"\d\.  ", b)]
    assert numbered == ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    assert bodies[4].startswith("1.  Affiliate Status.  The undersigned understands")
    # "(d) ... Code")" continued after blank lines in lower case: rejoined, not split.
    assert any(
        b.startswith("(d) The undersigned is aware") and b.endswith("not to be satisfied.")
        for b in bodies
    )


def test_cuad_pdf_provisions_carry_the_page_of_their_first_word() -> None:
    doc = extract_pdf(KIROMIC_PDF.read_bytes())

    provisions = split_provisions(doc)

    assert_well_formed(doc, provisions, 2000)
    by_opening = {doc.text[p.start : p.start + 12]: p for p in provisions}
    assert by_opening["8. DURATION\n"].page == 8
    assert by_opening["10. TERMINAT"].page == 9
    assert by_opening["16. GOVERNIN"].page == 17
    # List items after "; and" open their own provisions.
    assert "(b) not to d" in by_opening


def test_a_lead_in_and_its_list_items_form_one_provision() -> None:
    doc = one_page(
        "18.1 Assignment. Datec must not assign this agreement unless Datec\n\n"
        "(a) is not in breach of this agreement;\n\n"
        "(b) obtains the prior written consent of the BSP; and\n\n"
        "(c) remains bound by this agreement,\n\n"
        "provided that notice is given.\n\n"
        "18.2 Change of Control. The BSP may terminate on notice:\n\n"
        "(i) if Datec is acquired; or\n\n"
        "(ii) if Datec is insolvent.\n\n"
        "18.3 Costs. Each party bears its own costs.\n"
    )

    assert texts(doc, split_provisions(doc)) == [
        "18.1 Assignment. Datec must not assign this agreement unless Datec\n\n"
        "(a) is not in breach of this agreement;\n\n"
        "(b) obtains the prior written consent of the BSP; and\n\n"
        "(c) remains bound by this agreement,\n\n"
        "provided that notice is given.",
        "18.2 Change of Control. The BSP may terminate on notice:\n\n"
        "(i) if Datec is acquired; or\n\n(ii) if Datec is insolvent.",
        "18.3 Costs. Each party bears its own costs.",
    ]


def test_numbered_items_nest_under_their_section_and_stop_at_the_next_one() -> None:
    doc = one_page(
        "4. Vendor Obligations. Vendor agrees:\n4.1. To deliver samples;\n"
        "4.2. To advertise the Distributor.\n5. Purchase. Distributor buys 100 units.\n"
    )

    assert texts(doc, split_provisions(doc)) == [
        "4. Vendor Obligations. Vendor agrees:\n4.1. To deliver samples;\n"
        "4.2. To advertise the Distributor.",
        "5. Purchase. Distributor buys 100 units.",
    ]


def test_a_list_longer_than_the_limit_keeps_its_items_apart() -> None:
    item = "the Supplier shall keep records of every delivery made"
    doc = one_page(f"The Supplier agrees:\n(a) {item};\n(b) {item};\n(c) {item}.\n")

    provisions = split_provisions(doc, max_chars=150)

    # The lead-in alone is too short to cite: it joins the first item, as any heading would.
    assert texts(doc, provisions) == [
        f"The Supplier agrees:\n(a) {item};",
        f"(b) {item};",
        f"(c) {item}.",
    ]
    assert_well_formed(doc, provisions, 150)


def test_the_agreement_opening_does_not_swallow_the_first_sections() -> None:
    doc = one_page(
        "NOW, THEREFORE, the parties agree as follows:\n\n1. Term. One year.\n\n2. Fees. None.\n"
    )

    assert texts(doc, split_provisions(doc)) == [
        "NOW, THEREFORE, the parties agree as follows:",
        "1. Term. One year.",
        "2. Fees. None.",
    ]


def test_pages_are_those_page_at_gives_whatever_the_page_table() -> None:
    text = "1. Term. One year.\n\n2. Fees. None.\n\n3. Law. New York.\n\n4. Notices. By mail."
    starts = [text.index(f"{n}. ") for n in (1, 2, 3, 4)]
    tables = {
        "in order": (Page(1, 0, starts[2]), Page(2, starts[2], len(text))),
        "a gap": (Page(1, 0, starts[1]), Page(2, starts[3], len(text))),
        "out of order": (Page(2, starts[2], len(text)), Page(1, 0, starts[2])),
        "overlapping": (Page(1, 0, starts[3]), Page(2, starts[1], len(text))),
    }
    pages = {}
    for name, table in tables.items():
        doc = ExtractedDocument(sha256="0" * 64, text=text, pages=table)
        provisions = split_provisions(doc)
        assert [p.start for p in provisions] == starts
        assert [p.page for p in provisions] == [doc.page_at(p.start) for p in provisions]
        pages[name] = [p.page for p in provisions]
    assert pages == {
        "in order": [1, 1, 2, 2],
        "a gap": [1, 2, 2, 2],  # in no page: the last page, as page_at says
        "out of order": [1, 1, 2, 2],
        "overlapping": [1, 1, 1, 2],
    }
