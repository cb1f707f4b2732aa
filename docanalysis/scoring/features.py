"""What the scorer sees of a candidate: named tokens, turned into a sparse TF-IDF vector.

Tokens carry a namespace so one vocabulary holds them all: the candidate's own words and word
pairs (no prefix), its section heading ("h:"), the words just before and after it ("l:",
"r:"), its kind, length and position ("k:", "n:", "p:", and their combinations) and its shape
("s:"). Context is what separates a date that is the Effective Date from any other date, and a
heading names the clause its sentences belong to. Pure Python apart from the vector itself.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from docanalysis.scoring.candidates import Candidate, sentence_spans

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
TEXT_WORDS = 120  # a long candidate's first words carry its meaning; the rest is cost
CONTEXT_WORDS = 4
HEADING_MAX_WORDS = 8
_NUMBERED = re.compile(r"^(?:section|article|§)?\s*[\dIVXivx]+(?:\.\d+)*[.)]?\s+(.{2,60}?)[.:]\s")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def headings(text: str, sentences: Sequence[tuple[int, int]]) -> list[str]:
    """For each sentence, the words of the heading it falls under ("" before any heading).

    A heading is a short sentence with no final period in Title Case or upper case
    ("GOVERNING LAW", "Term"), or the title opening a numbered sentence ("12. Governing Law.
    This Agreement shall ...").
    """
    current, found = "", []
    for start, end in sentences:
        piece = text[start:end]
        numbered = _NUMBERED.match(piece)
        if _is_heading(piece):
            current = piece
        elif numbered:
            current = numbered.group(1)
        found.append(current)
    return found


def _is_heading(piece: str) -> bool:
    tokens = piece.split()
    if not tokens or len(tokens) > HEADING_MAX_WORDS or piece.rstrip().endswith((",", ";")):
        return False
    capitals = sum(t[:1].isupper() or not t[:1].isalpha() for t in tokens)
    return capitals >= len(tokens) - 1


def _bucket(value: float, edges: Sequence[float]) -> int:
    return sum(value >= edge for edge in edges)


def tokens(text: str, candidate: Candidate, heading: str) -> list[str]:
    """The named tokens of one candidate (see the module's docstring)."""
    own = words(text[candidate.start : candidate.end])
    kind = candidate.kind
    length = _bucket(len(own), (2, 4, 8, 16, 32, 64, 128))
    position = _bucket(candidate.start / max(1, len(text)), (0.02, 0.05, 0.1, 0.3, 0.6, 0.9, 0.97))
    head = (
        "top" if candidate.start < 3000 else ("end" if len(text) - candidate.end < 3000 else "mid")
    )
    left = words(text[max(0, candidate.start - 60) : candidate.start])[-CONTEXT_WORDS:]
    right = words(text[candidate.end : candidate.end + 60])[:CONTEXT_WORDS]
    body = own[:TEXT_WORDS]
    named = [
        f"k:{kind}",
        f"n:{length}",
        f"p:{position}",
        f"k:{kind}|n:{length}",
        f"k:{kind}|p:{position}",
        f"k:{kind}|{head}",
        *_shape(text, candidate),
    ]
    named += [f"h:{w}" for w in words(heading)]
    named += [f"l:{w}" for w in left] + [f"r:{w}" for w in right]
    if left:
        named.append(f"l1:{left[-1]}")
    if right:
        named.append(f"r1:{right[0]}")
    pairs = [f"{a} {b}" for a, b in zip(body, body[1:], strict=False)]
    return body + pairs + named


def _shape(text: str, candidate: Candidate) -> list[str]:
    piece = text[candidate.start : candidate.end]
    letters = [c for c in piece if c.isalpha()]
    shape = []
    if letters and sum(c.isupper() for c in letters) > 0.8 * len(letters):
        shape.append(f"s:upper|{candidate.kind}")
    if '"' in piece or "“" in piece:
        shape.append("s:quote")
    if piece.endswith("."):
        shape.append("s:period")
    return shape


def contract_tokens(text: str, found: Sequence[Candidate]) -> list[list[str]]:
    """The tokens of every candidate of one contract."""
    sentences = sentence_spans(text)
    heading_of = headings(text, sentences)
    return [
        tokens(text, c, heading_of[c.sentence] if c.sentence < len(heading_of) else "")
        for c in found
    ]


BUCKETS = 1 << 20


def bucket(token: str) -> int:
    """A token's column: a stable hash (crc32), so no vocabulary needs to be shipped."""
    return zlib.crc32(token.encode("utf-8")) & (BUCKETS - 1)


class Vectorizer:
    """Sublinear TF-IDF over hashed tokens, L2-normalized. Fitted once, it is one array (each
    column's IDF; 0 for columns seen in fewer than min_df candidates, which are ignored)."""

    def __init__(self, idf: Any):
        import numpy as np

        self.idf = np.asarray(idf, dtype=np.float32)

    @classmethod
    def fit(cls, documents: Sequence[Sequence[str]], min_df: int = 3) -> Vectorizer:
        import numpy as np

        counts = np.zeros(BUCKETS, dtype=np.int64)
        for document in documents:
            counts[list({bucket(t) for t in document})] += 1
        idf = np.log((1 + len(documents)) / (1 + counts)) + 1.0
        idf[counts < min_df] = 0.0
        return cls(idf.astype(np.float16))  # as shipped: training sees what users get

    def transform(self, documents: Sequence[Sequence[str]]) -> Any:
        """A scipy CSR matrix, one row per document."""
        import numpy as np
        from scipy.sparse import csr_matrix

        indptr, indices, values = [0], [], []
        for document in documents:
            counted = Counter(bucket(t) for t in document)
            weights = {i: (1.0 + math.log(n)) * float(self.idf[i]) for i, n in counted.items()}
            weights = {i: w for i, w in weights.items() if w > 0.0}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for i in sorted(weights):
                indices.append(i)
                values.append(weights[i] / norm)
            indptr.append(len(indices))
        return csr_matrix(
            (np.asarray(values, dtype=np.float32), np.asarray(indices), np.asarray(indptr)),
            shape=(len(documents), BUCKETS),
        )
