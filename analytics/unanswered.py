"""The questions the assistant could not answer, masked and grouped by similarity.

"Where's my parcel??" and "where is my parcel" are one gap in what the
assistant knows, not two. Texts are compared by character n-grams (2 to 4,
counts without IDF, which would let a rare order number outweigh the words
around it; digits are read as one digit), which read typos, word order and
Chinese alike, and gathered greedily:
the most frequent text opens a group, and each next text joins the first group
whose opening text it resembles (cosine at least ``SIMILAR``). Only the most
frequent ``MAX_TEXTS`` distinct texts are grouped, which bounds the work
whatever the period's volume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from actions.privacy import mask_personal

SIMILAR = 0.5
MAX_TEXTS = 1000
EXAMPLES = 3
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Group:
    text: str  # the most frequent wording
    count: int  # messages in the group
    examples: tuple[str, ...]  # other wordings, most frequent first


def group(counted: list[tuple[str, int]], limit: int = 20) -> list[Group]:
    """The ``limit`` largest groups of ``(text, count)`` pairs, texts masked."""
    merged: dict[str, int] = {}
    for text, count in counted:
        masked = " ".join(mask_personal(text).split())
        if masked:
            merged[masked] = merged.get(masked, 0) + count
    texts = sorted(merged, key=lambda text: (-merged[text], text))[:MAX_TEXTS]
    if not texts:
        return []
    similarity = similarities(texts)
    leaders: list[int] = []
    members: dict[int, list[int]] = {}
    for i in range(len(texts)):
        close = [lead for lead in leaders if similarity[i, lead] >= SIMILAR]
        if close:
            members[close[0]].append(i)
        else:
            leaders.append(i)
            members[i] = [i]
    groups = [
        Group(
            texts[lead],
            int(np.sum([merged[texts[i]] for i in members[lead]])),
            tuple(texts[i] for i in members[lead][1 : 1 + EXAMPLES]),
        )
        for lead in leaders
    ]
    groups.sort(key=lambda g: (-g.count, g.text))
    return groups[:limit]


def similarities(texts: list[str]) -> np.ndarray:
    """Cosine similarity of every pair of ``texts`` by character n-grams."""
    vectors = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), lowercase=True, use_idf=False
    ).fit_transform([_DIGITS.sub("0", text) for text in texts])
    return (vectors @ vectors.T).toarray()
