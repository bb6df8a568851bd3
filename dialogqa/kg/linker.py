"""Entity linking: which entities does a text mention?

One sqlite-backed index serves every backend (":memory:" for an in-memory graph, a file in
the store directory for the on-disk one, so reopening costs nothing).  Lookup never scans
the labels: the text's word n-grams are looked up by their normalised form (case- and
accent-folded) in an indexed column, and a word that is not in the label vocabulary is
corrected to the vocabulary words one edit away (a letter dropped, added, changed or two
swapped), found through an index of each word's halves: one edit leaves one half of the
word intact and in place, so "Swedn" finds "Sweden" through "swe" with a few indexed
queries whatever the graph's size, and the index holds two keys per word where a table of
all one-letter deletions (SymSpell) would hold one per letter.
"""

from __future__ import annotations

import itertools
import operator
import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from dialogqa.kg.base import MAX_QUESTION_CHARS
from dialogqa.lexicon import lexicon
from dialogqa.kg.labels import LOCAL_NAME_RANK
from dialogqa.kg.words import known_words, stem

_WORD = re.compile(r"\w+")
MAX_NGRAM = 12  # labels longer than this many words are only found by their first 12
MIN_FUZZY_LEN = 4  # shorter words are too ambiguous to correct ("cat" -> "car", "bat", ...)
# Longer words are looked up only as written: a correction tries every one-letter deletion,
# n words of n letters (a 40,000-letter word held 4.7 GB); world.ttl's longest is 18.
MAX_FUZZY_WORD = 64
MAX_PER_LABEL = 50  # a label shared by more entities than this is not telling us much
MAX_VARIANTS = 64  # spelling variants tried per n-gram
_BATCH = 500  # parameters per IN (...) query, well under sqlite's limit

# Words that alone are never an entity mention, however the graph labels something.
NEVER_A_MENTION = frozenset(lexicon()["linking"]["never_a_mention"])  # data/en.json

SCHEMA = """
CREATE TABLE IF NOT EXISTS labels(entity TEXT NOT NULL, label TEXT NOT NULL, lang TEXT NOT NULL,
                                  rank INTEGER NOT NULL, norm TEXT NOT NULL,
                                  degree INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS vocab(token TEXT PRIMARY KEY, freq INTEGER NOT NULL,
                                 first TEXT, second TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS predicates(iri TEXT PRIMARY KEY) WITHOUT ROWID;
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS labels_norm ON labels(norm);
CREATE INDEX IF NOT EXISTS labels_entity ON labels(entity);
CREATE INDEX IF NOT EXISTS vocab_first ON vocab(first);
CREATE INDEX IF NOT EXISTS vocab_second ON vocab(second);
"""


def fold(word: str) -> str:
    """Case- and accent-folded form of one word: "Ångström" -> "angstrom"."""
    if word.isascii():  # most labels: skip the Unicode work
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """(folded word, start, end) for each word of a text; spans index the original text."""
    return [(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def normalise(text: str) -> str:
    """A label's words, folded, space-separated: the key ``search`` looks n-grams up by.
    Folds the whole text at once (index builds call this for every label)."""
    return " ".join(_WORD.findall(fold(text)))


_ITEM = [operator.itemgetter(i) for i in range(4)]
_NON_WORDS = re.compile(r"[^\w\n]+")


def _normalise_all(labels: list[str]) -> list[str]:
    """``normalise`` of each label, the regular expressions run once over all of them."""
    text = "\n".join(labels)
    if text.count("\n") != max(len(labels) - 1, 0):  # a label with a line break in it
        return [normalise(label) for label in labels]
    return list(map(str.strip, _NON_WORDS.sub(" ", fold(text)).split("\n"))) if labels else []


def _first_per_label(rows: list[tuple]) -> list[tuple]:
    """The rows, each (entity, label, language) kept once, as first given."""
    keys = list(map(operator.itemgetter(0, 1, 2), rows))
    if len(set(keys)) == len(keys):
        return rows
    first = dict(zip(reversed(keys), reversed(rows)))
    return [first[k] for k in dict.fromkeys(keys)]


def deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def half_keys(word: str) -> tuple[str, str] | tuple[None, None]:
    """The keys a vocabulary word is found by when a text misspells it (its length with its
    first half, and with its second half); none for words too short or with digits."""
    if len(word) < MIN_FUZZY_LEN or _has_digit(word):
        return None, None
    h = len(word) // 2
    return f"{len(word)}{word[:h]}", f"{len(word)}{word[h:]}"


def _probe_keys(word: str) -> tuple[list[str], list[str]]:
    """The first- and second-half keys of every word of the same length as ``word`` or
    one letter longer that is one edit away from it: an edit in the second half keeps the
    first half in place, one in the first half keeps the second half at the end."""
    n = len(word)
    first, second = [], []
    for m in (n, n + 1):
        h = m // 2
        first.append(f"{m}{word[:h]}")
        second.append(f"{m}{word[n - (m - h):]}")
    return first, second


@dataclass(frozen=True)
class Hit:
    """One entity found in a text (entity as stored: an IRI, or "_:id" for a blank node)."""

    entity: str
    score: float
    label: str
    start: int
    end: int
    words: int  # length of the matched span in words: longer spans win overlaps
    rank: int  # label predicate rank (0 = rdfs:label ... local name last)
    degree: int = 0  # out-edges of the entity: the better connected reading of a name wins


class LabelIndex:
    """Labels of entities, by entity (for ``labels()``) and by normalised text (for linking)."""

    def __init__(self, path: str = ":memory:"):
        self.path = path
        # check_same_thread=False: the chat UI reads the graph from a worker thread; the
        # index is only written while it is built, before anyone else holds it.
        self.db = sqlite3.connect(path, check_same_thread=False)
        # Lookups hop around a large file: keep it in the page cache / mapped, not re-read.
        self.db.execute("PRAGMA cache_size=-65536")
        if path != ":memory:":
            self.db.execute("PRAGMA mmap_size=1073741824")
        self.db.executescript(SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key='max_words'").fetchone()
        self.max_words = int(row[0]) if row else 1

    # -- building ---------------------------------------------------------------------

    @classmethod
    def in_memory(cls, rows: Iterable[tuple]) -> "LabelIndex":
        """An index held in memory, built from (entity, label, lang, rank[, degree]) rows."""
        index = cls(":memory:")
        index.build(rows)
        return index

    def build(self, rows: Iterable[tuple], predicates: Iterable[str] = ()) -> int:
        """Index (entity, label, lang, rank[, degree]) rows, and remember which IRIs are
        used as predicates; returns how many labels were indexed."""
        db = self.db
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA temp_store=MEMORY")
        rows = _first_per_label(list(rows))
        norms = _normalise_all([r[1] for r in rows])
        words = list(map(str.count, norms, itertools.repeat(" ")))  # one less than the words
        for i in itertools.compress(range(len(norms)), map(MAX_NGRAM.__le__, words)):
            norms[i] = " ".join(norms[i].split()[:MAX_NGRAM])
            words[i] = MAX_NGRAM - 1
        vocab = Counter(" ".join(norms).split())
        max_words = max(words, default=0) + 1
        table = itertools.compress(zip(
            map(_ITEM[0], rows), map(_ITEM[1], rows), map(_ITEM[2], rows), map(_ITEM[3], rows), norms,
            [r[4] if len(r) > 4 else 0 for r in rows]), norms)  # a label with no words is not indexed
        with db:
            db.executemany("INSERT INTO labels VALUES (?,?,?,?,?,?)", table)
            db.executemany("INSERT OR IGNORE INTO predicates VALUES (?)", ((p,) for p in predicates))
            db.executemany("INSERT OR REPLACE INTO vocab VALUES (?,?,?,?)",
                           [(w, n, *half_keys(w)) for w, n in vocab.items()])
            db.execute("INSERT OR REPLACE INTO meta VALUES ('max_words', ?)", (str(max_words),))
            db.executescript(INDEXES)  # made after the inserts: cheaper than maintaining them
        self.max_words = max_words
        return sum(map(bool, norms))

    # -- reading ----------------------------------------------------------------------

    def labels(self, entity: str) -> list[tuple[str, str, int]]:
        """(label, lang, rank) rows of one entity, in no particular order."""
        return self.db.execute(
            "SELECT label, lang, rank FROM labels WHERE entity=?", (entity,)
        ).fetchall()

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM labels").fetchone()[0]

    def predicates(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT iri FROM predicates")}

    def search(self, text: str, limit: int = 10) -> list[Hit]:
        """Entities the text mentions: longest span first, then best score; spans that
        overlap a longer chosen span are dropped ("New York City" hides "York").  Only the
        first ``MAX_QUESTION_CHARS`` characters are read, as a question is cut there."""
        words = word_spans(text[:MAX_QUESTION_CHARS])
        if not words:
            return []
        options = self._spellings([w for w, _, _ in words])
        # every n-gram spelling -> (first word, length, edits)
        wanted: dict[str, list[tuple[int, int, int]]] = {}
        for i in range(len(words)):
            for n in range(1, min(self.max_words, len(words) - i) + 1):
                span = words[i:i + n]
                if _skip_span(span, text):
                    continue
                choices = [options[i + k] for k in range(n)]
                if any(not c for c in choices):
                    break  # a word nothing is called: no longer span can match either
                for combo in itertools.islice(itertools.product(*choices), MAX_VARIANTS):
                    key = " ".join(w for w, _ in combo)
                    wanted.setdefault(key, []).append((i, n, sum(e for _, e in combo)))
        hits: list[Hit] = []
        for norm, entity, label, rank, degree in self._lookup(list(wanted)):
            for i, n, edits in wanted[norm]:
                score = 1.0 - 0.15 * edits / n - (0.05 if rank >= LOCAL_NAME_RANK else 0.0)
                hits.append(Hit(entity, round(score, 4), label, words[i][1], words[i + n - 1][2],
                                n, rank, degree))
        return longest_first(hits, limit)

    def _lookup(self, keys: list[str]) -> Iterator[tuple[str, str, str, int, int]]:
        per_norm: Counter[str] = Counter()
        for chunk in _chunks(keys, _BATCH):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT norm, entity, label, rank, degree FROM labels WHERE norm IN ({marks}) "
                "ORDER BY degree DESC", chunk  # a name shared by many: keep the best connected
            ):
                per_norm[row[0]] += 1
                if per_norm[row[0]] <= MAX_PER_LABEL:
                    yield row

    def _spellings(self, words: list[str]) -> list[list[tuple[str, int]]]:
        """For each word: [(spelling, edits)], the word itself when the labels use it,
        else its corrections at one edit (adjacent swaps count one)."""
        known = set()
        for chunk in _chunks(sorted(set(words)), _BATCH):
            marks = ",".join("?" * len(chunk))
            known.update(r[0] for r in self.db.execute(
                f"SELECT token FROM vocab WHERE token IN ({marks})", chunk))
        out: list[list[tuple[str, int]]] = []
        cache: dict[str, list[tuple[str, int]]] = {}
        for w in words:
            if w in known:
                out.append([(w, 0)])
            elif w in cache:
                out.append(cache[w])
            else:
                cache[w] = self._corrections(w)
                out.append(cache[w])
        return out

    def _corrections(self, word: str, keep: int = 3) -> list[tuple[str, int]]:
        if not MIN_FUZZY_LEN <= len(word) <= MAX_FUZZY_WORD or _has_digit(word) or word in NEVER_A_MENTION:
            return []
        # one letter shorter: the word less a letter; a swap across the middle breaks both
        # halves, so that spelling is looked up whole
        direct = deletions(word)
        h = len(word) // 2
        direct.add(word[:h - 1] + word[h] + word[h - 1] + word[h + 1:])
        first, second = _probe_keys(word)
        rows = self.db.execute(
            f"SELECT token, freq FROM vocab WHERE token IN ({','.join('?' * len(direct))}) "
            "OR first IN (?,?) OR second IN (?,?)",
            [*direct, *first, *second],
        ).fetchall()
        scored = []
        for token, freq in rows:
            dist = OSA.distance(word, token, score_cutoff=1)
            if dist <= 1:
                scored.append((dist, -freq, token))
        if scored and word in known_words():
            # a word of the language is no misspelling ("born" is not "Bern", kg/words.py),
            # though it may be another form of a label's word ("bands": "band")
            own = stem(word)
            scored = [x for x in scored if stem(x[2]) == own]
        scored.sort()
        return [(t, d) for d, _, t in scored[:keep]]

    def close(self) -> None:
        self.db.close()


_has_digit = re.compile(r"\d").search


def _skip_span(span: list[tuple[str, int, int]], text: str) -> bool:
    """Spans that never name an entity on their own: a lone letter, or only stopwords
    (unless written capitalised, as in a title: "The Who")."""
    if len(span) == 1 and len(span[0][0]) == 1 and not span[0][0].isdigit():
        return True
    if all(w in NEVER_A_MENTION for w, _, _ in span):
        return len(span) == 1 or not all(text[s:e][:1].isupper() for _, s, e in span)
    return False


def longest_first(hits: list[Hit], limit: int) -> list[Hit]:
    best: dict[tuple[str, int, int], Hit] = {}
    for h in hits:  # one hit per entity and span: its best label
        key = (h.entity, h.start, h.end)
        if key not in best or h.score > best[key].score:
            best[key] = h
    ordered = sorted(best.values(), key=lambda h: (-h.words, -h.score, -h.degree, h.rank, h.start))
    taken: list[tuple[int, int]] = []
    out: list[Hit] = []
    seen_entities: set[str] = set()
    for h in ordered:
        overlaps = any(h.start < e and s < h.end and (s, e) != (h.start, h.end) for s, e in taken)
        if overlaps or h.entity in seen_entities:
            continue
        if (h.start, h.end) not in taken:
            taken.append((h.start, h.end))
        seen_entities.add(h.entity)
        out.append(h)
        if len(out) >= limit:
            break
    return out


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# -- between the index (strings) and the graph (rdflib terms) -----------------------------

def entity_key(term) -> str:
    """How an entity is stored in the index: IRIs as themselves, blank nodes as "_:id"."""
    from rdflib.term import BNode

    return f"_:{term}" if isinstance(term, BNode) else str(term)


def entity_term(key: str):
    from rdflib.term import BNode, URIRef

    return BNode(key[2:]) if key.startswith("_:") else URIRef(key)


def opaque_local_name(name: str) -> bool:
    """Local names that are identifiers, not names ("Q20", "P36", "n123", "a1b2c3"):
    indexing them would link "Q20" typed in a question, but also every stray number."""
    letters = sum(c.isalpha() for c in name)
    return letters < 3 or re.fullmatch(r"[A-Za-z]{0,2}\d+", name.replace(" ", "")) is not None


def to_matches(hits: list[Hit], is_predicate, limit: int, degree=None) -> list:
    """Index hits -> ``Match``es, predicates dropped: a question's "capital" names a
    relation, which the retriever ranks facts by, not an entity to start from.  ``degree``
    breaks ties among equally good readings of a span where the index does not know it
    (an endpoint); it costs a graph lookup, so it runs only on hits that can make the cut."""
    from dialogqa.records import Match

    groups: dict[tuple[int, float], list[Hit]] = {}
    for h in hits:  # hits come longest span, best score first
        groups.setdefault((h.words, h.score), []).append(h)
    out: list = []
    for group in groups.values():
        kept = [(h, term) for h in group if not is_predicate(term := entity_term(h.entity))]
        if degree is not None and len(kept) > 1:
            kept.sort(key=lambda x: (-degree(x[1]), x[0].start))
        out.extend(Match(term, h.score, h.label, h.start, h.end) for h, term in kept)
        if len(out) >= limit:
            break
    return out[:limit]
