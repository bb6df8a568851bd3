"""Retrieval over a conversation on a small hand-made graph: linking, focus, follow-ups."""

import pytest
from rdflib import XSD, Graph, Literal, URIRef

from dialogqa.records import Fact
from dialogqa.kg.memory import MemoryKG
from dialogqa.kg.retriever import Question, Retriever
from dialogqa.records import Turn

EX = "http://example.org/"
TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex:Norway rdfs:label "Norway"@en ; ex:capital ex:Oslo ; ex:continent ex:Europe ;
    ex:population "5400000"^^xsd:integer ; ex:headOfGovernment ex:Erna ; ex:currency ex:NOK ;
    ex:officialLanguage ex:Norwegian .
ex:Sweden rdfs:label "Sweden"@en ; ex:capital ex:Stockholm ; ex:continent ex:Europe ;
    ex:population "10400000"^^xsd:integer ; ex:headOfGovernment ex:Ulf ; ex:currency ex:SEK .
ex:Denmark rdfs:label "Denmark"@en ; ex:capital ex:Copenhagen ; ex:continent ex:Europe .
ex:Oslo rdfs:label "Oslo"@en ; ex:population "700000"^^xsd:integer ; ex:country ex:Norway ;
    ex:inception "1040"^^xsd:gYear .
ex:Stockholm rdfs:label "Stockholm"@en ; ex:population "975000"^^xsd:integer .
ex:Copenhagen rdfs:label "Copenhagen"@en .
ex:Erna rdfs:label "Erna Solberg"@en ; ex:spouse ex:Sindre ; ex:placeOfBirth ex:Bergen .
ex:Ulf rdfs:label "Ulf Kristersson"@en ; ex:spouse ex:Birgitta .
ex:Sindre rdfs:label "Sindre Finnes"@en .
ex:Birgitta rdfs:label "Birgitta Ed"@en .
ex:Bergen rdfs:label "Bergen"@en ; ex:country ex:Norway ; ex:population "285000"^^xsd:integer .
ex:Europe rdfs:label "Europe"@en .
ex:NOK rdfs:label "Norwegian krone"@en .
ex:SEK rdfs:label "Swedish krona"@en .
ex:Norwegian rdfs:label "Norwegian"@en .
ex:capital rdfs:label "capital"@en .
ex:continent rdfs:label "continent"@en .
ex:population rdfs:label "population"@en .
ex:headOfGovernment rdfs:label "head of government"@en .
ex:currency rdfs:label "currency"@en .
ex:officialLanguage rdfs:label "official language"@en .
ex:country rdfs:label "country"@en .
ex:inception rdfs:label "inception"@en .
ex:spouse rdfs:label "spouse"@en .
ex:placeOfBirth rdfs:label "place of birth"@en .
"""


def ex(name):
    return URIRef(EX + name)


@pytest.fixture(scope="module", params=["memory", "store",
                                        pytest.param("endpoint", marks=pytest.mark.endpoint)])
def kg(request, tmp_path_factory):
    """The same conversation tests on every backend: the retriever uses only the protocol."""
    if request.param == "memory":
        yield MemoryKG(Graph().parse(data=TTL, format="turtle"))
        return
    path = tmp_path_factory.mktemp("graph") / "small.ttl"
    path.write_text(TTL, encoding="utf-8")
    if request.param == "store":
        from dialogqa.kg.store import StoreKG

        graph = StoreKG.load([path], path.parent / "store")
    else:
        url = request.getfixturevalue("virtuoso_graph")(path)
        endpoint = pytest.importorskip("dialogqa.kg.endpoint")
        graph = endpoint.EndpointKG(url)
    yield graph
    graph.close()


def turn(kg, question, answer, s, p, o):
    """A gold earlier turn: the answer text and the fact it cited (``o`` a name or a term)."""
    obj = o if isinstance(o, Literal) else ex(o)
    fact = Fact(ex(s), ex(p), obj, kg.label(ex(s)), kg.label(ex(p)), kg.label(obj))
    return Turn(user=question, answer=answer, evidence=[fact])


def triples(facts):
    return [f.triple for f in facts]


def rank(facts, s, p, o=None):
    for i, f in enumerate(facts):
        if f.s == ex(s) and f.p == ex(p) and (o is None or f.o == ex(o)):
            return i
    return None


def test_a_named_entity_and_a_predicate_word(kg):
    facts = Retriever(kg).retrieve("What is the capital of Norway?", [])
    assert facts[0].triple == (ex("Norway"), ex("capital"), ex("Oslo"))
    assert (facts[0].s_label, facts[0].p_label, facts[0].o_label) == ("Norway", "capital", "Oslo")
    assert all(a.score >= b.score for a, b in zip(facts, facts[1:]))


def test_at_most_k_and_no_duplicates(kg):
    facts = Retriever(kg, k=3).retrieve("Tell me about Norway and Sweden", [])
    assert len(facts) == 3 and len(set(triples(facts))) == 3


def test_ellipsis_keeps_the_predicate_and_switches_the_entity(kg):
    history = [turn(kg, "What is the capital of Norway?", "Oslo", "Norway", "capital", "Oslo")]
    r = Retriever(kg)
    for question in ("And Sweden?", "What about Sweden?"):
        facts = r.retrieve(question, history)
        assert facts[0].triple == (ex("Sweden"), ex("capital"), ex("Stockholm")), question
        assert facts[0].score > facts[1].score  # the carried predicate, not a tie
    assert r.focus("And Sweden?", history)[0] == ex("Sweden")


def test_question_without_an_entity_uses_the_focus(kg):
    history = [turn(kg, "Who is the head of government of Sweden?", "Ulf Kristersson",
                    "Sweden", "headOfGovernment", "Ulf")]
    facts = Retriever(kg).retrieve("Which currency is used?", history)
    assert facts[0].triple == (ex("Sweden"), ex("currency"), ex("SEK"))


def test_pronoun_reaches_the_previous_answer(kg):
    history = [turn(kg, "Who leads Norway?", "Erna Solberg", "Norway", "headOfGovernment", "Erna")]
    r = Retriever(kg)
    facts = r.retrieve("Who is her spouse?", history)
    assert facts[0].triple == (ex("Erna"), ex("spouse"), ex("Sindre"))
    assert set(r.focus("Who is her spouse?", history)[:2]) == {ex("Norway"), ex("Erna")}


def test_there_after_a_capital_question(kg):
    history = [turn(kg, "Which city is the capital of Norway?", "Oslo", "Norway", "capital", "Oslo")]
    r = Retriever(kg)
    facts = r.retrieve("How many people live there?", history)
    # "there" could be Norway or Oslo: both populations lead, the place just answered first
    assert rank(facts, "Oslo", "population") == 0 and rank(facts, "Norway", "population") == 1
    # "its" keeps the question's topic first
    facts = r.retrieve("What is its population?", history)
    assert rank(facts, "Norway", "population") == 0 and rank(facts, "Oslo", "population") == 1


def test_chain_where_the_answer_becomes_the_subject(kg):
    history = [
        turn(kg, "Who is the head of government of Norway?", "Erna Solberg",
             "Norway", "headOfGovernment", "Erna"),
        turn(kg, "Who is her spouse?", "Sindre Finnes", "Erna", "spouse", "Sindre"),
    ]
    r = Retriever(kg)
    facts = r.retrieve("Where was she born?", history)
    assert facts[0].triple == (ex("Erna"), ex("placeOfBirth"), ex("Bergen"))
    # and the conversation's first subject is still in play two turns later
    facts = r.retrieve("What is the official language?", history)
    assert facts[0].triple == (ex("Norway"), ex("officialLanguage"), ex("Norwegian"))


def test_focus_decays_with_age(kg):
    history = [
        turn(kg, "What is the capital of Sweden?", "Stockholm", "Sweden", "capital", "Stockholm"),
        turn(kg, "What is the capital of Norway?", "Oslo", "Norway", "capital", "Oslo"),
    ]
    facts = Retriever(kg).retrieve("Which currency?", history)
    assert rank(facts, "Norway", "currency") < rank(facts, "Sweden", "currency")


def test_the_last_answer_outweighs_what_the_turn_before_was_about(kg):
    # Sweden was the topic a turn ago, Bergen the last answer: "its" is Bergen's (the newer
    # mention), though Sweden has a population too and Erna, the last topic, has none
    history = [
        turn(kg, "What is the capital of Sweden?", "Stockholm", "Sweden", "capital", "Stockholm"),
        turn(kg, "Where was Erna Solberg born?", "Bergen", "Erna", "placeOfBirth", "Bergen"),
    ]
    facts = Retriever(kg).retrieve("What is its population?", history)
    assert facts[0].triple[:2] == (ex("Bergen"), ex("population"))


def test_the_members_of_a_list_answer_share_its_weight(kg):
    # after a list of three countries, "its" is not the first one listed but the country
    # talked about before
    listed = Turn(user="Which countries are in Europe?", answer="Norway, Sweden and Denmark.",
                  evidence=[Fact(ex(c), ex("continent"), ex("Europe"), c, "continent", "Europe")
                            for c in ("Norway", "Sweden", "Denmark")])
    listed.topic = [ex("Europe")]
    history = [turn(kg, "What is the capital of Sweden?", "Stockholm", "Sweden", "capital", "Stockholm"),
               listed]
    facts = Retriever(kg).retrieve("What is its population?", history)
    assert facts[0].triple[:2] == (ex("Sweden"), ex("population"))


def test_date_question(kg):
    history = [turn(kg, "What is the capital of Norway?", "Oslo", "Norway", "capital", "Oslo")]
    facts = Retriever(kg).retrieve("When was it founded?", history)
    assert facts[0].triple[:2] == (ex("Oslo"), ex("inception"))  # founded -> inception, a date


def test_a_fact_already_answered_steps_back(kg):
    history = [
        turn(kg, "What is the population of Norway?", "5400000", "Norway", "population",
             Literal("5400000", datatype=XSD.integer)),
        turn(kg, "What is its capital?", "Oslo", "Norway", "capital", "Oslo"),
    ]
    facts = Retriever(kg).retrieve("What is the population?", history)
    assert facts[0].triple[:2] == (ex("Oslo"), ex("population"))
    assert rank(facts, "Norway", "population") == 1


def test_partial_name_of_a_focus_entity(kg):
    history = [turn(kg, "Who leads Norway?", "Erna Solberg", "Norway", "headOfGovernment", "Erna"),
               turn(kg, "Who leads Sweden?", "Ulf Kristersson", "Sweden", "headOfGovernment", "Ulf")]
    facts = Retriever(kg).retrieve("Who is Solberg's spouse?", history)
    assert facts[0].triple == (ex("Erna"), ex("spouse"), ex("Sindre"))


def test_second_hop_through_the_best_first_hop(kg):
    facts = Retriever(kg).retrieve("What is the population of the capital of Sweden?", [])
    assert rank(facts, "Stockholm", "population") is not None
    assert rank(facts, "Sweden", "capital") is not None


def test_a_crowd_into_a_hub_shares_its_weight(kg):
    # Norway, Sweden and Denmark all point at Europe with one predicate: each of those three
    # facts says little about Europe, so together they weigh what one fact of Europe would.
    weighted = dict(Retriever(kg)._edges(ex("Europe")))
    crowd = [w for (s, p, o), w in weighted.items() if p == ex("continent")]
    assert len(crowd) == 3 and all(w < 0.5 for w in crowd)
    oslo = dict(Retriever(kg)._edges(ex("Oslo")))
    assert len(oslo) == 4 and set(oslo.values()) == {1.0}  # one fact per predicate: no damping


def test_a_hub_beyond_the_neighbour_cut():
    # Europe has more edges than the retriever fetches per entity; the one asked for is
    # looked up by its predicate (known here from the previous turn's evidence)
    countries = "".join(f"ex:C{i} ex:continent ex:Europe .\n" for i in range(30))
    ttl = TTL + countries + """
ex:CoE rdfs:label "Council of Europe"@en .
ex:Strasbourg rdfs:label "Strasbourg"@en ; ex:seatOf ex:CoE .
ex:Brussels rdfs:label "Brussels"@en ; ex:seatOf ex:Europe .
ex:seatOf rdfs:label "seat of"@en .
"""
    hub = MemoryKG(Graph().parse(data=ttl, format="turtle"))
    r = Retriever(hub, per_entity=5)
    history = [turn(hub, "What is the seat of the Council of Europe?", "Strasbourg",
                    "Strasbourg", "seatOf", "CoE")]
    facts = r.retrieve("And of Europe?", history)
    assert (ex("Brussels"), ex("seatOf"), ex("Europe")) in triples(facts)
    assert (ex("Brussels"), ex("seatOf"), ex("Europe")) not in hub.neighbours(ex("Europe"), limit=5)


def test_no_entity_no_history_gives_nothing(kg):
    assert Retriever(kg).retrieve("What is the capital?", []) == []


def test_turn_without_evidence_links_its_texts(kg):
    history = [Turn(user="Tell me about Denmark", answer="Denmark is in Europe.")]
    facts = Retriever(kg).retrieve("What is the capital?", history)
    assert facts[0].triple == (ex("Denmark"), ex("capital"), ex("Copenhagen"))


def test_question_words():
    q = Question.parse("How many people live in Oslo?", [(22, 26)])
    assert q.wants_number and not q.wants_date
    assert "popul" in q.content and "oslo" not in q.content
    assert Question.parse("When was it founded?").wants_date


class CountingKG:
    """Only the protocol, and a count of the backend calls the retriever makes."""

    def __init__(self, kg):
        self.kg, self.calls = kg, {"neighbours": 0, "search": 0}
        self.name, self.langs = "counting", kg.langs

    def neighbours(self, entity, limit=200):
        self.calls["neighbours"] += 1
        return self.kg.neighbours(entity, limit=limit)

    def search(self, text, limit=10):
        self.calls["search"] += 1
        return self.kg.search(text, limit=limit)

    def __getattr__(self, name):
        return getattr(self.kg, name)


def test_backend_calls_are_cached(kg):
    counting = CountingKG(kg)
    r = Retriever(counting)
    history = [turn(kg, "What is the capital of Norway?", "Oslo", "Norway", "capital", "Oslo")]
    first = r.retrieve("And Sweden?", history)
    calls = dict(counting.calls)
    assert r.retrieve("And Sweden?", history) == first
    assert counting.calls == calls  # the same turn again: everything from the caches


def test_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        Retriever(None, k=0)


def test_the_entity_switched_to_outweighs_an_older_repeated_one(kg):
    # Norway was the subject of two turns, Sweden of the last one: "its" is Sweden's
    history = [turn(kg, "What is the capital of Norway?", "Oslo", "Norway", "capital", "Oslo"),
               turn(kg, "What is its currency?", "Norwegian krone", "Norway", "currency", "NOK"),
               turn(kg, "And Sweden?", "Swedish krona", "Sweden", "currency", "SEK")]
    facts = Retriever(kg).retrieve("What is its population?", history)
    assert facts[0].triple[:2] == (ex("Sweden"), ex("population"))
    focus = Retriever(kg).focus("What is its population?", history)
    assert focus.index(ex("Sweden")) < focus.index(ex("Norway"))


def test_a_cited_literal_read_back_from_a_transcript(kg):
    # a transcript keeps a literal's lexical form only ("5400000", no xsd:integer): the fact
    # it cited must still step back as in test_a_fact_already_answered_steps_back
    history = [
        turn(kg, "What is the population of Norway?", "5400000", "Norway", "population",
             Literal("5400000")),
        turn(kg, "What is its capital?", "Oslo", "Norway", "capital", "Oslo"),
    ]
    facts = Retriever(kg).retrieve("What is the population?", history)
    assert facts[0].triple[:2] == (ex("Oslo"), ex("population"))
    assert rank(facts, "Norway", "population") == 1


def test_derived_words_match_a_label_the_stemmer_keeps_apart(tmp_path):
    """"discovered" (stem discov) asks for "location of discovery" (discoveri), "created"
    (creat) for "creator": one stem begins the other. Such a match counts, below an exact
    one, and short stems ("art"/"arthropod") never pair."""
    from dialogqa.kg.retriever import STEM_PREFIX_DISCOUNT, _stem_prefix

    path = tmp_path / "d.ttl"
    path.write_text("""\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Laos rdfs:label "Laos"@en ; ex:capital ex:Vientiane ; ex:highestPoint ex:PhouBia .
ex:Frog rdfs:label "Laotian frog"@en ; ex:locationOfDiscovery ex:Laos .
ex:Vientiane rdfs:label "Vientiane"@en .
ex:PhouBia rdfs:label "Phou Bia"@en .
ex:capital rdfs:label "capital"@en .
ex:highestPoint rdfs:label "highest point"@en .
ex:locationOfDiscovery rdfs:label "location of discovery"@en .
""")
    r = Retriever(MemoryKG.from_files([str(path)]), k=5)
    facts = r.retrieve("What was discovered in Laos?")
    assert facts[0].p_label == "location of discovery"
    exact = r.retrieve("What is the location of discovery of the Laotian frog?")[0]
    assert facts[0].score < exact.score  # the prefix match is discounted
    assert STEM_PREFIX_DISCOUNT < 1
    assert _stem_prefix("discov", "discoveri") and _stem_prefix("creator", "creat")
    assert not _stem_prefix("art", "arthropod") and not _stem_prefix("capit", "capit")


PHRASED = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Cordelia rdfs:label "Cordelia"@en ; ex:discoverer ex:Voyager ; ex:madeFrom ex:Ice ;
    ex:namedAfter ex:Lear .
ex:Voyager rdfs:label "Voyager 2"@en ; ex:manufacturer ex:JPL .
ex:Ice rdfs:label "water ice"@en .
ex:Lear rdfs:label "Cordelia (King Lear)"@en .
ex:JPL rdfs:label "Jet Propulsion Laboratory"@en .
ex:discoverer rdfs:label "discoverer or inventor"@en .
ex:madeFrom rdfs:label "made from material"@en .
ex:namedAfter rdfs:label "named after"@en .
ex:manufacturer rdfs:label "manufacturer"@en .
"""
PHRASINGS = """\
@prefix ex: <http://example.org/> .
@prefix dqa: <https://dialogqa.dev/ns#> .
ex:discoverer dqa:question "Who brought … to light?"@en, "Who discovered … ?"@en ;
    dqa:inverseQuestion "What did … reveal to the world?"@en .
"""


def test_question_phrasings_of_a_predicate_count_like_labels_in_their_direction(tmp_path):
    """A label holds one wording; a graph may add how people ask for a predicate's object
    (dqa:question) or subject (dqa:inverseQuestion), and the retriever matches those too,
    each only in its own direction."""
    plain = tmp_path / "plain.ttl"
    plain.write_text(PHRASED)
    phrasings = tmp_path / "phrasings.ttl"
    phrasings.write_text(PHRASINGS)
    before = Retriever(MemoryKG.from_files([str(plain)]), k=5).retrieve("Who brought Cordelia to light?")
    scores = {f.p_label: f.score for f in before if f.s_label == "Cordelia"}
    assert scores["discoverer or inventor"] == scores["named after"]  # no label word matches

    r = Retriever(MemoryKG.from_files([str(plain), str(phrasings)]), k=5)
    top = r.retrieve("Who brought Cordelia to light?")[0]
    assert (top.s_label, top.p_label, top.o_label) == ("Cordelia", "discoverer or inventor", "Voyager 2")
    assert top.score > scores["discoverer or inventor"]
    inverse = r.retrieve("What did Voyager 2 reveal to the world?")[0]
    assert (inverse.s_label, inverse.p_label) == ("Cordelia", "discoverer or inventor")
    # the object-asking phrasing does not fire when the question's entity is the object
    reversed_ = r.retrieve("Who brought Voyager 2 to light?")[0]
    assert reversed_.p_label == "manufacturer"


def test_a_label_match_outranks_an_equal_phrasing_match(tmp_path):
    """Phrasing libraries are noisy: KGConv's gives "located in the administrative territorial
    entity" the phrasing "What country is … in?". A question that matches one predicate's
    label as well as another's phrasing takes the label's predicate."""
    path = tmp_path / "g.ttl"
    path.write_text("""\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dqa: <https://dialogqa.dev/ns#> .
ex:Kisoji rdfs:label "Kisoji Beer"@en ; ex:locatedIn ex:Nagano ; ex:country ex:Japan .
ex:Nagano rdfs:label "Nagano Prefecture"@en .
ex:Japan rdfs:label "Japan"@en .
ex:country rdfs:label "country"@en .
ex:locatedIn rdfs:label "located in the administrative territorial entity"@en ;
    dqa:question "What country is … in?"@en, "In which state is … located?"@en .
""")
    r = Retriever(MemoryKG.from_files([str(path)]), k=5)
    facts = {f.p_label: f.score for f in r.retrieve("In which country is Kisoji Beer?")}
    assert facts["country"] > facts["located in the administrative territorial entity"] > 0
    top = r.retrieve("In which state is Kisoji Beer located?")[0]  # the phrasing still counts
    assert top.p_label == "located in the administrative territorial entity"


def test_facts_reached_from_their_object_are_marked_inverse(kg):
    facts = Retriever(kg, k=30).retrieve("What is the capital of Norway?")
    by_p = {f.p_label: f for f in facts}
    assert not by_p["capital"].inverse  # Norway . capital . Oslo, from Norway
    country = next(f for f in facts if f.p_label == "country" and f.s_label == "Oslo")
    assert country.inverse  # Oslo . country . Norway, reached from Norway


def test_each_label_of_a_predicate_is_a_whole_name():
    """"What is its pay?" names a predicate labelled "annual salary" with the alternative
    label "pay" as fully as its main label would: each label is matched on its own."""
    g = Graph().parse(data="""@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
ex:ana rdfs:label "Ana Lind"@en ; ex:salary 54000 ; ex:title "engineer"@en ; ex:hired "2019"@en .
ex:salary rdfs:label "annual salary"@en ; skos:altLabel "pay"@en, "yearly pay"@en .
ex:title rdfs:label "job title"@en ; skos:altLabel "position"@en, "role"@en .
ex:hired rdfs:label "hire date"@en .
""", format="turtle")
    r = Retriever(MemoryKG(g))
    assert r.predicate_score("What is the pay of Ana Lind?", ex("salary")) == pytest.approx(1.0)
    assert r.predicate_score("What is the annual salary of Ana Lind?", ex("salary")) == pytest.approx(2 ** 0.5)
    assert r.predicate_score("And her position?", ex("title")) == pytest.approx(1.0)
    assert r.predicate_score("And her position?", ex("salary")) == 0.0
    assert r.retrieve("What is the position of Ana Lind?")[0].p == ex("title")


def test_a_name_said_in_part_finds_its_entity_however_long_ago(kg):
    """"Solberg" after eight turns about other things: the conversation's Erna Solberg,
    found by the part of her label the question writes as a name."""
    history = [turn(kg, "Who leads Norway?", "Erna Solberg.", "Norway", "headOfGovernment", "Erna")]
    history += [turn(kg, f"Question {i} about Sweden?", "Stockholm.", "Sweden", "capital", "Stockholm")
                for i in range(9)]
    r = Retriever(kg)
    facts = r.retrieve("Where was Solberg born?", history)
    assert (facts[0].s, facts[0].p) == (ex("Erna"), ex("placeOfBirth"))
    # written in lower case it is a word, not a name: no entity of the older turns is found
    assert all(f.s != ex("Erna") for f in r.retrieve("where was solberg born?", history)[:1])


def test_a_name_the_language_does_not_know_may_be_the_start_of_one(kg, monkeypatch):
    """"Swe" for Sweden: a capitalised word that is no word of the language and begins a
    word of a focus entity's label points at that entity."""
    import dialogqa.kg.retriever as retriever_module

    history = [turn(kg, "What is the capital of Sweden?", "Stockholm.", "Sweden", "capital", "Stockholm"),
               turn(kg, "What is the currency of Norway?", "Norwegian krone.", "Norway", "currency", "NOK")]
    monkeypatch.setattr(retriever_module, "known_words", lambda: frozenset({"what", "is", "the", "capital", "of"}))
    facts = Retriever(kg).retrieve("What is the capital of Swe?", history)
    assert (facts[0].s, facts[0].p) == (ex("Sweden"), ex("capital"))
    monkeypatch.setattr(retriever_module, "known_words", lambda: frozenset())  # no word list: no guess
    facts = Retriever(kg).retrieve("What is the capital of Swe?", history)
    assert (facts[0].s, facts[0].p) == (ex("Norway"), ex("capital"))


def test_a_noun_a_demonstrative_makes_a_mention_is_no_relation_word(kg):
    r = Retriever(kg)
    relation = lambda text: set().union(*r._question(text).terms)
    # "this country" is the country talked about; "head of government" is what is asked
    assert relation("Who is the head of government of this country?") == {"head", "govern"}
    assert r._question("Who is the head of government of this country?").semantic_text == \
        "Who is the head of government of it?"
    # ... unless no other word names a relation, or the noun is one ("this part of")
    assert relation("What was the name of this body?") == {"bodi"}
    assert relation("How is this fabricated?") == {"fabric"}
    assert "part" in relation("What region is this part of?")
    assert "won" in relation("Who is the man that won the race?")  # "that" relates, not points
    facts = r.retrieve("Who is the head of government of this country?",
                       [turn(kg, "Which country is Bergen in?", "Norway", "Bergen", "country", "Norway")])
    assert facts[0].triple == (ex("Norway"), ex("headOfGovernment"), ex("Erna"))
    # ... nor where the answer's type is asked ("What continent ..."): it may name the relation
    assert "countri" not in r._question("What continent is this country in?").content
    facts = r.retrieve("What continent is this country in?",
                       [turn(kg, "Which country is Bergen in?", "Norway", "Bergen", "country", "Norway")])
    assert facts[0].triple == (ex("Norway"), ex("continent"), ex("Europe"))
    # a participle after "this" is no noun: "this" is the mention, "located" the relation
    assert "locat" in relation("What state is this located in?")


def test_a_verb_matches_a_label_with_another_form_of_it():
    # "speaks" and "spoken", "taught" and "teaches": a suffix stemmer leaves these apart; each
    # word is stemmed from its dictionary form
    g = Graph().parse(data="""
        @prefix ex: <http://example.org/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        ex:ama rdfs:label "Ama Owusu"@en ; ex:studies ex:twi ; ex:family ex:akan .
        ex:twi rdfs:label "Twi"@en ; ex:family ex:akan . ex:akan rdfs:label "Akan"@en .
        ex:kofi rdfs:label "Kofi Mensah"@en ; ex:speaks ex:twi .
        ex:speaks rdfs:label "languages spoken"@en . ex:studies rdfs:label "studies"@en .
        ex:family rdfs:label "language family"@en .
    """, format="turtle")
    facts = Retriever(MemoryKG(g)).retrieve("Who speaks Twi?")
    assert facts[0].p == ex("speaks") and facts[0].inverse


def test_where_takes_the_more_exact_of_two_near_places(tmp_path, monkeypatch):
    """"Where is it located?" matches the town's fact and the country's alike; the graph says
    the town lies in the country, so the town's fact names the place more exactly. A
    question that names the relation ("Which country ...") or a clear lead keeps its fact."""
    import dialogqa.kg.retriever as retriever

    path = tmp_path / "p.ttl"
    path.write_text("""\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Temple rdfs:label "Vinh Trang Temple"@en ; ex:locatedIn ex:MyTho ; ex:country ex:Vietnam .
ex:MyTho rdfs:label "My Tho"@en ; ex:country ex:Vietnam .
ex:Vietnam rdfs:label "Vietnam"@en .
ex:country rdfs:label "country"@en .
ex:locatedIn rdfs:label "located in the administrative territorial entity"@en .
""")
    kg = MemoryKG.from_files([str(path)])

    def top(question):
        facts = Retriever(kg, k=5).retrieve(question)
        return [(f.o_label, f.score) for f in facts if f.s_label == "Vinh Trang Temple"]

    exact, country = top("Where is Vinh Trang Temple located?")
    assert exact[0] == "My Tho" and country[0] == "Vietnam"
    assert exact[1] == pytest.approx(country[1] + retriever.SPECIFIC_PLACE)
    assert top("Which country is Vinh Trang Temple in?")[0][0] == "Vietnam"  # no "where"
    assert top("Where is Vinh Trang Temple?")[0][0] == "Vietnam"  # a lead beyond SPECIFIC_NEAR

    monkeypatch.setattr(retriever, "SPECIFIC_PLACE", 0.0)
    exact, country = top("Where is Vinh Trang Temple located?")
    assert exact[1] == country[1]  # without it the two tie
