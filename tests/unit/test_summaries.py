from docanalysis.core.summaries import clean_summary, reduce_messages, reduce_schema


def test_repeated_sentences_and_a_cut_tail_are_removed() -> None:
    looped = (
        "The Amendment changes Section 2(c). The parties are bound by it. "
        "The parties are bound by it. The  parties are BOUND by it. The Amendment is"
    )
    assert (
        clean_summary(looped) == "The Amendment changes Section 2(c). The parties are bound by it."
    )


def test_a_single_unfinished_sentence_is_kept() -> None:
    assert clean_summary("A supply agreement between A and B") == (
        "A supply agreement between A and B"
    )
    assert clean_summary("") == ""


def test_reduce_prompt_numbers_the_parts_in_order() -> None:
    messages = reduce_messages(["First part.", " Second part. "])
    assert messages[-1].content.splitlines()[1:3] == ["Part 1: First part.", "Part 2: Second part."]
    assert reduce_schema(300)["properties"]["summary"] == {"type": "string", "maxLength": 300}
