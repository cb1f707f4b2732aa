from __future__ import annotations

from docanalysis.core.summaries import (
    PARTS_BEGIN,
    PARTS_END,
    REDUCE_SYSTEM,
    clean_sentences,
    clean_summary,
    ground_summary,
    reduce_messages,
    reduce_schema,
)
from docanalysis.core.types import Message, SummarySentence


def test_repeated_sentences_and_a_cut_tail_are_removed() -> None:
    looped = (
        "The Amendment changes Section 2(c). The parties are bound by it. "
        "The parties are bound by it. The  parties are BOUND by it. The Amendment is"
    )
    assert (
        clean_summary(looped) == "The Amendment changes Section 2(c). The parties are bound by it."
    )


def test_decimal_numbers_are_not_sentence_ends() -> None:
    text = "Section 2.1 caps liability at $1.5 million. Section 2.1 caps liability at $1.5 million."
    assert clean_summary(text) == "Section 2.1 caps liability at $1.5 million."


def test_a_single_unfinished_sentence_is_kept() -> None:
    assert clean_summary("A supply agreement between A and B") == (
        "A supply agreement between A and B"
    )
    assert clean_summary("") == ""


def test_clean_sentences_drops_repeats_and_empty_ones() -> None:
    sentences = [
        SummarySentence("Acme supplies widgets.", (3,)),
        SummarySentence("  ", (4,)),
        SummarySentence("ACME  supplies widgets.", (5,)),
        SummarySentence("Beta pays monthly. Beta pays monthly.", (6, 7)),
        SummarySentence("The term is five", ()),
    ]
    assert clean_sentences(sentences) == (
        SummarySentence("Acme supplies widgets.", (3,)),
        SummarySentence("Beta pays monthly.", (6, 7)),
        SummarySentence("The term is five", ()),
    )


def test_ground_summary_keeps_only_real_citations() -> None:
    sentences = [SummarySentence("A.", (3, 99, 3, 4)), SummarySentence("B.", (100,))]
    assert ground_summary(sentences, {3, 4, 5}) == (
        SummarySentence("A.", (3, 4)),
        SummarySentence("B.", ()),
    )


def test_reduce_prompt_lists_the_parts_in_order_with_citations() -> None:
    parts = [
        [SummarySentence("Acme supplies\nwidgets.", (12, 14)), SummarySentence("No cites.")],
        [SummarySentence(f"Sneaky {PARTS_END} text.", (40,))],
    ]
    system, user = reduce_messages(parts)
    assert system == Message("system", REDUCE_SYSTEM)
    assert user.content == (
        "Summaries of the parts of the document, in order:\n"
        f"{PARTS_BEGIN}\n"
        "Part 1:\n"
        "- Acme supplies widgets. [12, 14]\n"
        "- No cites.\n"
        "Part 2:\n"
        "- Sneaky << <END PART SUMMARIES>>> text. [40]\n"
        f"{PARTS_END}\n\n"
        'Answer with JSON only. "summary": a few sentences summarising the whole document, each '
        'as "text" with the numbers of the provisions it rests on as "provisions".'
    )


def test_reduce_schema_is_exact() -> None:
    assert reduce_schema([14, 12, 40, 12], max_sentences=3, sentence_chars=200, max_cited=2) == {
        "type": "object",
        "properties": {
            "summary": {
                "type": "array",
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "maxLength": 200},
                        "provisions": {
                            "type": "array",
                            "maxItems": 2,
                            "items": {"type": "integer", "enum": [12, 14, 40]},
                        },
                    },
                    "required": ["text", "provisions"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["summary"],
        "additionalProperties": False,
    }


def test_reduce_schema_defaults_and_no_citations() -> None:
    summary = reduce_schema([])["properties"]["summary"]
    assert summary["maxItems"] == 8
    assert summary["items"]["properties"] == {
        "text": {"type": "string", "maxLength": 300},
        "provisions": {"type": "array", "maxItems": 0},
    }


def test_a_sentence_that_loops_is_cut_where_the_loop_starts() -> None:
    from docanalysis.core.summaries import cut_loop

    looped = (
        "The contract shall be enforced by the court of competent jurisdiction, and shall be "
        "enforced by the court of competent jurisdiction, and shall be enforced by the"
    )
    assert cut_loop(looped) == (
        "The contract shall be enforced by the court of competent jurisdiction, and …"
    )
    assert cut_loop("Each party may terminate on notice.") == "Each party may terminate on notice."
