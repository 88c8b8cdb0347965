"""Text analysis for BM25, modelled on Lucene's ``EnglishAnalyzer`` (what Pyserini indexes with).

Lucene's chain is StandardTokenizer -> EnglishPossessiveFilter -> LowerCaseFilter -> StopFilter
(Lucene's 33 English stop words) -> PorterStemFilter. Here:

- tokens are runs of word characters (Unicode letters, digits, underscore) joined across an
  apostrophe or a period between word characters ("don't", "u.s.a", "3.14") and across a comma
  between digits ("1,000"), the cases where Unicode word segmentation (UAX #29, which Lucene's
  StandardTokenizer implements) keeps a word whole;
- a trailing possessive ``'s`` is removed, then the token is lower-cased;
- Lucene's English stop words are dropped;
- tokens are stemmed by PyStemmer's ``porter`` algorithm (Porter, 1980, the algorithm of Lucene's
  PorterStemFilter); ``english`` (Snowball's Porter2) is the alternative.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import Stemmer

from lsr.errors import InputError

# org.apache.lucene.analysis.en.EnglishAnalyzer.ENGLISH_STOP_WORDS_SET
LUCENE_ENGLISH_STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)

_TOKEN = re.compile(r"\w+(?:(?:['’.]|(?<=\d),(?=\d))\w+)*")
_POSSESSIVE = re.compile(r"['’][sS]$")


class EnglishAnalyzer:
    """Lucene-like English analysis: tokenize, drop possessives, lower-case, stop, stem."""

    def __init__(
        self, stemmer: str | None = "porter", stopwords: Iterable[str] = LUCENE_ENGLISH_STOP_WORDS
    ) -> None:
        if stemmer is not None and stemmer not in Stemmer.algorithms():
            raise InputError(
                f"unknown stemmer {stemmer!r}; PyStemmer offers {', '.join(Stemmer.algorithms())}"
            )
        self.stemmer_name = stemmer
        self.stopwords = frozenset(stopwords)
        self._stemmer = Stemmer.Stemmer(stemmer) if stemmer else None

    def __call__(self, text: str) -> list[str]:
        """The analysed terms of ``text``, in order, repeats kept (they are term frequencies)."""
        words = [_POSSESSIVE.sub("", w).lower() for w in _TOKEN.findall(text)]
        words = [w for w in words if w and w not in self.stopwords]
        return self._stemmer.stemWords(words) if self._stemmer else words

    def options(self) -> dict[str, object]:
        stopwords = (
            "lucene-english"
            if self.stopwords == LUCENE_ENGLISH_STOP_WORDS
            else sorted(self.stopwords)
        )
        return {"stemmer": self.stemmer_name, "stopwords": stopwords}

    @classmethod
    def from_options(cls, stemmer: str | None = "porter", stopwords: object = "lucene-english"):
        if stopwords == "lucene-english":
            return cls(stemmer)
        if not isinstance(stopwords, list):
            raise InputError(f"stopwords must be 'lucene-english' or a list, got {stopwords!r}")
        return cls(stemmer, stopwords)
