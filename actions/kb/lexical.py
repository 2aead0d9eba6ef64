"""BM25 over the articles' words: the lexical half of the hybrid ranking.

Exact words matter where embeddings blur them: a country ("Canada"), a product
("kettle"), a term of art ("VAT", "APO"). Built in memory from the same rows as
the dense index; scoring touches only the postings of the query's words, so it
stays fast at 50,000 articles.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import numpy as np

K1 = 1.2
B = 0.75

_WORD = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]+")
# Words that say nothing about which article a question needs.
_STOPWORDS_TEXT = """
    a an the and or but if of to in on at by for from with about as into is are
    was were be been being do does did doing have has had i me my mine we us our you
    your u ur it its this that these those there here what which who whom how when
    where why can could would should will shall may might must just so than then too
    very not no yes hi hello hey please pls plz thanks thank any some all get got im
    ive id dont cant wont isnt whats hows theres also still really ok okay"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
# Chinese has no spaces: a run of characters counts as each character and each
# pair of neighbours (most Chinese words are two characters: 退货, 快递, 礼品);
# these characters say nothing on their own.
CHINESE_STOPWORDS = frozenset("的了吗呢吧啊呀么嘛哦哈我你您是在有亲请问")


def words(text: str) -> list[str]:
    """Lower-cased words without stopwords, with a light plural strip; Chinese
    as characters and character pairs."""
    found = []
    for word in _WORD.findall(text.lower()):
        if "\u4e00" <= word[0] <= "\u9fff":
            found.extend(c for c in word if c not in CHINESE_STOPWORDS)
            found.extend(word[i : i + 2] for i in range(len(word) - 1))
            continue
        if word in STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.append(word)
    return found


class BM25:
    """Okapi BM25 over one document per article."""

    def __init__(self, documents: list[str]) -> None:
        self.size = len(documents)
        lengths = np.zeros(self.size, dtype=np.float32)
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for number, document in enumerate(documents):
            counts = Counter(words(document))
            lengths[number] = sum(counts.values())
            for word, count in counts.items():
                postings[word].append((number, count))
        average = float(lengths.mean()) if self.size else 1.0
        self._norm = K1 * (1 - B + B * lengths / max(average, 1.0))
        self._postings = {
            word: (
                np.array([d for d, _ in pairs], dtype=np.int32),
                np.array([c for _, c in pairs], dtype=np.float32),
            )
            for word, pairs in postings.items()
        }
        self._idf = {
            word: math.log(1 + (self.size - len(pairs) + 0.5) / (len(pairs) + 0.5))
            for word, pairs in postings.items()
        }

    def scores(self, query: str) -> np.ndarray:
        """One score per document; zero where no query word occurs."""
        total = np.zeros(self.size, dtype=np.float32)
        for word in set(words(query)):
            if word not in self._postings:
                continue
            documents, counts = self._postings[word]
            tf = counts * (K1 + 1) / (counts + self._norm[documents])
            total[documents] += self._idf[word] * tf
        return total

    def best_possible(self, query_words: set[str]) -> float:
        """What a document holding every one of ``query_words`` would score at
        most; a word no document has counts as the rarest one."""
        unknown = math.log(1 + (self.size + 0.5) / 0.5)
        return sum(self._idf.get(word, unknown) * (K1 + 1) for word in query_words)

    def memory_bytes(self) -> int:
        arrays = sum(d.nbytes + c.nbytes for d, c in self._postings.values())
        return arrays + self._norm.nbytes
