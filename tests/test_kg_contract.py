"""One contract, every backend: the same small graph served in memory, from an on-disk
store and from a SPARQL endpoint must answer every call the same way."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS, XSD

from conftest import SMALL_TRIPLES, SMALL_TTL
from dialogqa.errors import UserError
from dialogqa.kg.base import KnowledgeGraph

EX = "http://example.org/"


def ex(name: str) -> URIRef:
    return URIRef(EX + name)


@pytest.fixture(params=["memory", "store", pytest.param("endpoint", marks=pytest.mark.endpoint)])
def kg(request):
    graph = request.getfixturevalue(f"{request.param}_kg")()
    yield graph
    graph.close()


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("contract") / "small.ttl"
    path.write_text(SMALL_TTL, encoding="utf-8")
    return path


@pytest.fixture
def memory_kg(small_file):
    from dialogqa.kg.memory import MemoryKG

    return lambda: MemoryKG.from_files([small_file])


@pytest.fixture(scope="module")
def store_dir(small_file):
    from dialogqa.kg.store import StoreKG

    path = small_file.parent / "store"
    StoreKG.load([small_file], path).close()
    return path


@pytest.fixture
def store_kg(store_dir):
    from dialogqa.kg.store import StoreKG

    return lambda: StoreKG.open(store_dir)  # reopened, as a chat would


@pytest.fixture
def endpoint_kg(small_file, virtuoso_graph):
    from dialogqa.kg.endpoint import EndpointKG

    url = virtuoso_graph(small_file)
    return lambda: EndpointKG(url)


def test_is_a_knowledge_graph(kg):
    assert isinstance(kg, KnowledgeGraph)
    assert kg.name


def test_count(kg):
    assert kg.count() == SMALL_TRIPLES


def test_triples_by_pattern(kg):
    out = set(kg.triples(ex("Sweden"), None, None))
    assert (ex("Sweden"), ex("capital"), ex("Stockholm")) in out
    assert len(out) == 6
    assert set(kg.triples(None, ex("capital"), None)) == {
        (ex("Sweden"), ex("capital"), ex("Stockholm")),
        (ex("Norway"), ex("capital"), ex("Oslo")),
        (ex("IvoryCoast"), ex("capital"), ex("Yamoussoukro")),
    }
    assert set(kg.triples(None, None, ex("Norway"))) == {
        (ex("Sweden"), ex("neighbour"), ex("Norway")), (ex("Oslo"), ex("country"), ex("Norway"))}
    population = Literal("10400000", datatype=XSD.integer)
    assert list(kg.triples(None, ex("population"), population)) == [
        (ex("Sweden"), ex("population"), population)]
    assert list(kg.triples(None, RDFS.label, Literal("Sweden", lang="en"))) == [
        (ex("Sweden"), RDFS.label, Literal("Sweden", lang="en"))]
    assert len(list(kg.triples(limit=3))) == 3
    assert list(kg.triples(ex("Nowhere"))) == []


def test_labels_in_language_order(kg):
    assert kg.label(ex("Sweden")) == "Sweden"
    assert kg.labels(ex("Sweden")) == [("Sweden", "en"), ("Sverige", ""), ("Suède", "fr")]
    assert kg.label(ex("NewYorkCity")) == "New York City"  # prefLabel before altLabel
    assert kg.label(ex("USA")) == "United States of America"  # schema:name
    assert kg.label(ex("UK")) == "United Kingdom"  # https://schema.org/name
    assert kg.label(ex("IvoryCoast")) == "Côte d'Ivoire"  # foaf:name
    assert kg.label(ex("capital")) == "capital"


def test_label_language_preference_follows_langs(kg):
    # same graph, French first: the protocol's langs drives label()
    kg.langs = ("fr", "")
    assert kg.label(ex("Sweden")) == "Suède"
    assert kg.label(ex("Oslo")) == "Oslo"  # untagged when no French label


def test_local_name_and_literal_fallback(kg):
    assert kg.labels(ex("French_Guiana")) == []
    assert kg.label(ex("French_Guiana")) == "French Guiana"
    assert kg.label(ex("frenchLanguage")) == "french language"
    assert kg.label(Literal("10400000", datatype=XSD.integer)) == "10400000"


def _found(kg, text):
    return [(str(m.entity)[len(EX):], text[m.start:m.end]) for m in kg.search(text)]


def test_search_case_insensitive_exact(kg):
    assert _found(kg, "What is the capital of SWEDEN?") == [("Sweden", "SWEDEN")]
    best = kg.search("sweden")[0]
    assert best.score == 1.0 and best.label in ("Sweden", "Sverige")


def test_search_multi_word_and_longest_first(kg):
    assert _found(kg, "Is New York City in the united kingdom?") == [
        ("NewYorkCity", "New York City"), ("UK", "united kingdom")]
    assert _found(kg, "York") == [("York", "York")]
    assert _found(kg, "nyc") == [("NewYorkCity", "nyc")]  # altLabel


def test_search_ignores_accents(kg):
    assert _found(kg, "capital of cote d'ivoire") == [("IvoryCoast", "cote d'ivoire")]
    assert _found(kg, "Norvege") == [("Norway", "Norvege")]


def test_search_tolerates_small_typos(kg):
    matches = kg.search("What is the capital of Swedn?")
    assert [m.entity for m in matches] == [ex("Sweden")]
    assert 0.5 < matches[0].score < 1.0
    assert _found(kg, "Stokholm") == [("Stockholm", "Stokholm")]


def test_search_finds_local_names_and_skips_predicates(kg):
    assert _found(kg, "french guiana") == [("French_Guiana", "french guiana")]
    assert _found(kg, "capital") == []  # names the relation ex:capital, not an entity
    assert kg.search("") == [] and kg.search("?!") == []


def test_neighbours_out_then_in_without_labels(kg):
    out = kg.neighbours(ex("Sweden"))
    assert set(out[:3]) == {
        (ex("Sweden"), ex("capital"), ex("Stockholm")),
        (ex("Sweden"), ex("population"), Literal("10400000", datatype=XSD.integer)),
        (ex("Sweden"), ex("neighbour"), ex("Norway"))}
    assert set(out[3:]) == {(ex("Stockholm"), ex("country"), ex("Sweden"))}
    assert len(kg.neighbours(ex("Sweden"), limit=1)) == 2  # one out, one in


def test_query_select_and_ask(kg):
    res = kg.query(f"SELECT ?c ?x WHERE {{ ?c <{EX}capital> ?x }} ORDER BY ?c")
    assert res.variables == ["c", "x"]
    assert res.rows == [(ex("IvoryCoast"), ex("Yamoussoukro")), (ex("Norway"), ex("Oslo")),
                        (ex("Sweden"), ex("Stockholm"))]
    res = kg.query(f"SELECT ?c ?missing WHERE {{ ?c <{EX}neighbour> ?n OPTIONAL {{ ?c <{EX}nope> ?missing }} }}")
    assert res.rows == [(ex("Sweden"), None)]
    assert kg.query(f"ASK {{ <{EX}Sweden> <{EX}capital> <{EX}Stockholm> }}").boolean is True
    assert kg.query(f"ASK {{ <{EX}Sweden> <{EX}capital> <{EX}Oslo> }}").boolean is False


def test_query_errors_are_user_errors(kg):
    with pytest.raises(UserError, match="SPARQL"):
        kg.query("SELECT ?s WHERE { ?s ?p ")
    with pytest.raises(UserError):
        kg.query(f"INSERT DATA {{ <{EX}a> <{EX}b> <{EX}c> }}")
    assert kg.count() == SMALL_TRIPLES


# -- a person's own query: row cap, SERVICE, timeout (sparql_guard) --------------------------

CROSS = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"  # 25 x 25 rows from 25 triples


def test_query_rows_stop_at_the_cap_and_say_so(kg):
    from dialogqa.kg.sparql_guard import QueryLimits

    res = kg.query(CROSS, QueryLimits(rows=7))
    assert len(res.rows) == 7 and res.truncated
    assert len(res.variables) == 6
    res = kg.query(f"SELECT ?c WHERE {{ ?c <{EX}capital> ?x }}", QueryLimits(rows=3))
    assert len(res.rows) == 3 and not res.truncated  # exactly the cap: nothing more
    res = kg.query(f"{CROSS} LIMIT 500", QueryLimits(rows=10))  # the query's own LIMIT is higher
    assert len(res.rows) == 10 and res.truncated
    assert len(kg.query(CROSS).rows) == 625 and not kg.query(CROSS).truncated  # default cap 1,000


def test_service_is_refused_without_reaching_the_network(kg, silent_listener):
    url, accepted = silent_listener
    for query in (f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                  f"ASK {{ ?x ?y ?z OPTIONAL {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }}",
                  f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ service <{url}> {{ ?s ?p ?o }} }} }} }}"):
        with pytest.raises(UserError, match="SERVICE .* refused; `kg query --allow-service`"):
            kg.query(query)
    assert accepted == []
    # a variable or a string named "service" is not a SERVICE clause
    assert kg.query('SELECT ?service WHERE { ?service ?p "SERVICE <x:y> {}" }').rows == []


def test_runaway_query_stops_at_the_timeout(kg):
    import threading

    from dialogqa.kg.endpoint import EndpointKG
    from dialogqa.kg.sparql_guard import QueryLimits

    if isinstance(kg, EndpointKG):
        pytest.skip("a runaway query would keep the shared test server busy; see test_sparql_safety")
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o . ?p ?q ?r }"
    with pytest.raises(UserError, match=r"SPARQL query stopped after 0\.5 s .*--timeout"):
        kg.query(runaway, QueryLimits(timeout=0.5))
    for thread in threading.enumerate():  # the evaluation itself was stopped, not left running
        if thread.name == "sparql-query":
            thread.join(10)
            assert not thread.is_alive()
    assert kg.query(f"ASK {{ <{EX}Sweden> <{EX}capital> <{EX}Stockholm> }}").boolean is True


def test_allowed_service_still_stops_at_the_timeout(kg, silent_listener):
    from dialogqa.kg.endpoint import EndpointKG
    from dialogqa.kg.sparql_guard import QueryLimits

    if isinstance(kg, EndpointKG):
        pytest.skip("the test server would be the one to call the listener")
    url, accepted = silent_listener
    with pytest.raises(UserError, match="stopped after 1 s"):
        kg.query(f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                 QueryLimits(timeout=1, allow_service=True))
