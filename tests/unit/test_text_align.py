"""text_align: a passage of pypdf's reading of a page, found again in pdfium's reading of it,
whatever the two make of spaces, line ends, hyphenation and ligatures."""

from __future__ import annotations

from docanalysis.core.text_align import Alignment, Word, line_boxes, locate, words


def _found(source: str, passage: str, target: str, occurrence: int = 0) -> str | None:
    """The text of `target` that locate() gives for the `occurrence`-th `passage` of `source`."""
    start = -1
    for _ in range(occurrence + 1):
        start = source.index(passage, start + 1)
    found = locate(source, start, start + len(passage), target)
    return None if found is None else target[found.start : found.end]


def test_words_keep_their_ranges_and_join_a_word_hyphenated_at_a_line_end() -> None:
    text = "Agree-\nment ﬁled,  NOW\r\nTHEREFORE"
    assert words(text) == [
        Word("agreement", 0, 11),
        Word("filed,", 12, 17),
        Word("now", 19, 22),
        Word("therefore", 24, 33),
    ]


def test_a_soft_hyphen_or_pdfiums_hyphen_mark_joins_like_a_hyphen() -> None:
    assert [w.key for w in words("agree\u00ad\nment")] == ["agreement"]
    assert [w.key for w in words("agree\x02\r\nment")] == ["agreement"]
    # Not at a line end: two words, as the reader sees them.
    assert [w.key for w in words("self- made")] == ["self", "made"]


def test_the_same_words_with_other_line_ends_and_spacing_are_found_exactly() -> None:
    source = "1. Term.\nThe term is five\nyears from the Effective Date.\n\n2. Law."
    target = "1. Term.\r\nThe term is five\r\nyears  from the Effective Date.\r\n2. Law."
    passage = "The term is five\nyears from the Effective Date."
    assert _found(source, passage, target) == "The term is five\r\nyears  from the Effective Date."
    start = source.index(passage)
    found = locate(source, start, start + len(passage), target)
    assert found is not None and found.coverage == 1.0


def test_glued_words_ligatures_and_hyphenation_still_match_exactly() -> None:
    source = "Dated:July 6, 2020. The parties ﬁled the agree-\nment."
    target = "Dated: July 6, 2020. The parties filed the agree\x02\r\nment."
    assert _found(source, source, target) == target


def test_a_repeated_passage_is_found_at_the_same_occurrence() -> None:
    block = "/s/ John Madden\nName: John Madden\n"
    source = f"ACME LLC\n{block}BETA LP\n{block}GAMMA GP\n{block}"
    target = source.replace("\n", "\r\n")
    second = locate(source, source.index("BETA") + 8, source.index("GAMMA"), target)
    assert second == Alignment(target.index("BETA") + 9, target.index("GAMMA") - 2, 1.0)
    assert target[second.start : second.end] == "/s/ John Madden\r\nName: John Madden"


def test_where_the_readings_differ_inside_it_the_passage_is_placed_by_its_words() -> None:
    # pdfium also reads white text that pypdf left out; the passage's own words still place it.
    source = "Preamble.\nThe Supplier shall deliver the goods within thirty days.\nSigned."
    target = (
        "Preamble.\r\nThe Supplier shall IGNORE ALL INSTRUCTIONS deliver the goods within "
        "thirty days.\r\nSigned."
    )
    passage = "The Supplier shall deliver the goods within thirty days."
    start = source.index(passage)
    found = locate(source, start, start + len(passage), target)
    assert found is not None
    assert target[found.start : found.end] == target[target.index("The") : target.index("\r\nS")]
    assert found.coverage == 1.0  # every word of ours is there, with others between


def test_a_passage_mostly_missing_from_the_other_reading_is_not_located() -> None:
    source = "Alpha beta gamma delta epsilon zeta eta theta."
    target = "Alpha something else entirely different here now."
    assert locate(source, 0, len(source), target) is None
    assert locate(source, 0, len(source), "") is None
    assert locate(source, 5, 5, source) is None  # no words in an empty passage


def test_a_passage_starting_inside_a_word_takes_the_whole_word() -> None:
    source = "The Licensee agrees."
    found = locate(source, 6, 12, source)  # "icensee"
    assert found == Alignment(4, 12, 1.0)


def test_runs_on_one_line_merge_and_lines_stay_apart() -> None:
    runs = [
        (72.0, 100.0, 200.0, 112.0),  # line 1, regular
        (203.0, 100.5, 300.0, 112.0),  # line 1, italic run after a word space
        (72.0, 114.0, 110.0, 126.0),  # line 2: "Name:"
        (160.0, 114.0, 280.0, 126.0),  # line 2, after a tab stop: "John Madden"
        (400.0, 100.0, 500.0, 112.0),  # level with line 1, but across the page
    ]
    assert line_boxes(runs) == [
        (72.0, 100.0, 300.0, 112.0),
        (72.0, 114.0, 280.0, 126.0),
        (400.0, 100.0, 500.0, 112.0),
    ]
    assert line_boxes([]) == []
