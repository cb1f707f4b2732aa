"""Small real tokenizers for tests: byte-level BPE trained in a second on CUAD contract text.

They are Hugging Face fast tokenizers like the bundled model's (same library, same kind of
model), saved as a folder that TokenizerCounter and OpenAICompatModel load by name, without the
30 s it takes to read the bundled GGUF file. `words_first=False` trains one that cuts text only
at spaces before merging, so its tokens run across newlines (".\n[12]"): the case the planner
must catch.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

CUAD_TXT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cuad" / "contracts_txt"
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# ChatML, as SmolLM2's template writes it (without its default system message).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def training_texts(count: int = 12) -> list[str]:
    paths = sorted(CUAD_TXT.glob("*.txt"))[:count]
    return [path.read_text(encoding="utf-8-sig") for path in paths]


def save_bpe(folder: Path, *, words_first: bool = True, vocab_size: int = 3000) -> Path:
    """Train a byte-level BPE tokenizer with a ChatML template and save it to `folder`."""
    tokenizer = Tokenizer(models.BPE())
    if words_first:
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(" "), behavior="merged_with_next"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    texts = training_texts()
    if not words_first:  # make sure merges across a newline exist, as in "]\n[" or ".\n["
        texts += ["end.\n[12] Start;\n[13] more:\n<<<END DOCUMENT>>>\n"] * 200
    tokenizer.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return folder
