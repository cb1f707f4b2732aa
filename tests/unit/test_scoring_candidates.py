"""The scorer's candidates: the source's own text at every granularity a gold answer takes."""

from __future__ import annotations

from docanalysis.scoring.candidates import (
    CAPS,
    CLAUSE,
    COMPANY,
    DATE,
    PAIR,
    SENTENCE,
    TERM,
    candidates,
    sentence_spans,
)

CONTRACT = (
    "Exhibit 10.5\n\nTRADEMARK LICENSE AGREEMENT\n\n"
    "This Trademark License Agreement is made as of June 8, 2010 by and between Acme Widgets, "
    'Inc., a Delaware corporation ("Licensor"), and Blue Sky LLC ("Licensee").\n\n'
    "12. Governing Law. This Agreement shall be governed by the laws of the State of New York. "
    "Each party submits to the courts of New York County; the courts of Delaware have no "
    "jurisdiction over any dispute arising under this Agreement.\n"
)


def _texts(kind: str) -> list[str]:
    return [CONTRACT[c.start : c.end] for c in candidates(CONTRACT) if c.kind == kind]


def test_sentences_are_cut_at_periods_and_line_breaks_not_at_abbreviations() -> None:
    cut = [CONTRACT[a:b] for a, b in sentence_spans(CONTRACT)]
    assert cut[:3] == ["Exhibit 10.5", "TRADEMARK LICENSE AGREEMENT", cut[2]]
    assert cut[2].startswith("This Trademark License Agreement") and cut[2].endswith(
        '("Licensee").'
    )
    assert "12. Governing Law." in cut
    assert "This Agreement shall be governed by the laws of the State of New York." in cut


def test_every_candidate_is_the_sources_text_without_surrounding_blanks() -> None:
    found = candidates(CONTRACT)
    assert found == sorted(found, key=lambda c: (c.start, c.end))
    assert len({(c.start, c.end) for c in found}) == len(found)
    for c in found:
        piece = CONTRACT[c.start : c.end]
        assert piece == piece.strip(" \n\t,;") and piece


def test_long_sentences_are_also_offered_clause_by_clause() -> None:
    assert (
        "the courts of Delaware have no jurisdiction over any dispute arising under this "
        "Agreement." in _texts(CLAUSE)
    )
    assert "Each party submits to the courts of New York County;" not in _texts(CLAUSE)
    assert "Each party submits to the courts of New York County" in _texts(CLAUSE)


def test_adjacent_sentences_are_offered_as_a_pair() -> None:
    assert (
        "12. Governing Law. This Agreement shall be governed by the laws of the State of New York."
        in _texts(PAIR)
    )


def test_short_answers_are_offered_as_spans() -> None:
    assert "June 8, 2010" in _texts(DATE)
    assert "TRADEMARK LICENSE AGREEMENT" in _texts(SENTENCE)  # a line of its own
    signatures = "IN WITNESS WHEREOF, the parties have signed.   By BLUE SKY LLC: J. Smith"
    names = [
        signatures[c.start : c.end] for c in candidates(signatures) if c.kind in (CAPS, COMPANY)
    ]
    assert names == ["IN WITNESS WHEREOF", "BLUE SKY LLC"]
    assert "Acme Widgets, Inc." in _texts(COMPANY)
    assert "Blue Sky LLC" in _texts(COMPANY)
    assert {"Licensor", "Licensee"} <= set(_texts(TERM))
    assert _texts(SENTENCE)
