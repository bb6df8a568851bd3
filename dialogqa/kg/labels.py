"""What a term is called: label predicates, language preference, IRI local names.

Every backend shares these rules so the same graph reads the same in memory, on disk and
behind an endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rdflib.term import Literal, Node, URIRef

DEFAULT_LANGS: tuple[str, ...] = ("en", "")  # label languages, best first; "" = untagged

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
FOAF_NAME = "http://xmlns.com/foaf/0.1/name"

# Best first: a term's preferred label comes from the earliest predicate that has one in the
# most preferred language.  altLabel last: it names the thing, but not the way people expect.
LABEL_PREDICATES: tuple[str, ...] = (
    RDFS_LABEL,
    SKOS_PREF,
    "http://schema.org/name",
    "https://schema.org/name",
    FOAF_NAME,
    SKOS_ALT,
)
# How people ask for a predicate's object ("What is the capital of …?") or, inverse, for its
# subject ("Which country has … as its capital?"): question phrasings a graph may carry on its
# predicates, beside their labels, to teach the retriever wordings a label does not hold.
DQA = "https://dialogqa.dev/ns#"
QUESTION = URIRef(DQA + "question")
INVERSE_QUESTION = URIRef(DQA + "inverseQuestion")
SUBJECT_SLOT = "…"  # where a phrasing's subject (or, inverse, its object) goes

LABEL_PREDICATE_RANK = {iri: i for i, iri in enumerate(LABEL_PREDICATES)}
LABEL_PREDICATE_TERMS = frozenset(URIRef(p) for p in LABEL_PREDICATES)
LOCAL_NAME_RANK = len(LABEL_PREDICATES)  # a label derived from the IRI itself ranks last

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def is_label_predicate(p: Node) -> bool:
    return p in LABEL_PREDICATE_TERMS


def namespace(iri: str) -> str:
    """``http://example.org/onto#capital`` -> ``http://example.org/onto#``."""
    m = re.match(r"(.*[/#:])[^/#:]*$", iri)
    return m.group(1) if m else iri


def _last_segment(iri: str) -> str:
    return re.split(r"[/#:]", iri.rstrip("/#"))[-1] if iri else ""


def iri_tail(iri: str) -> str:
    """The last segment of an IRI as it is written (``.../capitalCity`` -> "capitalCity"),
    else the IRI: what the prompt shows for a term that came without a label."""
    return _last_segment(iri) or iri


def local_name(iri: str) -> str:
    """The last segment of an IRI as words: ``.../NewYorkCity`` -> "New York City",
    ``.../capital_city`` -> "capital city", ``Q20`` stays "Q20"."""
    tail = _last_segment(iri)
    if not tail:
        return iri
    from urllib.parse import unquote

    tail = unquote(tail)
    words = re.sub(r"[_\-+.]+", " ", tail)
    words = " ".join(_CAMEL.sub(" ", words).split())
    if words[:1].islower():  # property style ("capitalCity"): all words lower case
        words = " ".join(w if w.isupper() else w.lower() for w in words.split())
    return words or tail


def lang_rank(lang: str, langs: Sequence[str]) -> int:
    """Position of a language in the preference list; languages not listed come after all
    listed ones (a French-only label beats the IRI's local name)."""
    lang = (lang or "").lower()
    for i, want in enumerate(langs):
        want = want.lower()
        if lang == want or (want and lang.startswith(want + "-")):
            return i
    return len(langs)


def sort_labels(
    items: Iterable[tuple[str, str, int]], langs: Sequence[str]
) -> list[tuple[str, str]]:
    """(label, lang, predicate rank) triples -> [(label, lang)] preferred first, duplicates dropped."""
    ordered = sorted(items, key=lambda x: (lang_rank(x[1], langs), x[2]))
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for text, lang, _rank in ordered:
        if (text, lang) not in seen:
            seen.add((text, lang))
            out.append((text, lang))
    return out


def fallback_label(term: Node) -> str:
    """The label of a term that has no label triple."""
    if isinstance(term, Literal):
        return str(term)
    if isinstance(term, URIRef):
        return local_name(str(term))
    return str(term)


def label_literal_parts(obj: Node) -> tuple[str, str] | None:
    """(text, lang) of a label triple's object, None when it is not a usable literal."""
    if not isinstance(obj, Literal):
        return None
    text = " ".join(str(obj).split())
    if not text:
        return None
    return text, (obj.language or "")
