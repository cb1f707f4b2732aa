"""The baseline's sentence cutting and labelling, on hand-made text."""

from __future__ import annotations

from docanalysis.evaluation import baseline

TEXT = "1. TERM.\n\nThis Agreement is made by M. D. Anderson Inc. and Acme. It ends in 2020.\n"


def test_sentences_keep_offsets_and_skip_abbreviations() -> None:
    cut = baseline.sentences(TEXT)
    # A section number is cut off its heading (the baseline is deliberately plain).
    assert [s.text for s in cut] == [
        "1.",
        "TERM.",
        "This Agreement is made by M. D. Anderson Inc. and Acme.",
        "It ends in 2020.",
    ]
    assert all(TEXT[s.start : s.end] == s.text for s in cut)
    assert (cut[3].start, cut[3].end) == (66, 82)


def test_a_sentence_is_positive_when_it_holds_half_a_span_or_is_half_covered() -> None:
    sentence = baseline.Sentence(66, 82, "It ends in 2020.")
    assert baseline.is_positive(sentence, [(77, 81)])  # "2020": the whole span inside
    assert baseline.is_positive(sentence, [(60, 75)])  # 9 of the sentence's 16 characters
    assert not baseline.is_positive(sentence, [(40, 70)])  # 4 of 16, 4 of the span's 30
    assert not baseline.is_positive(sentence, [])


def test_folds_deal_contracts_round_robin_by_name() -> None:
    names = ["e", "a", "c", "b", "d", "f"]
    assert [baseline.fold_of(n, names) for n in ["a", "b", "e", "f"]] == [0, 1, 4, 0]
