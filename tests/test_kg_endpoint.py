"""The SPARQL endpoint backend beyond the shared contract: escaping, read-only queries,
errors.  Tests that need the Virtuoso server skip without one (fail in CI)."""

from __future__ import annotations

import http.server
import threading

import pytest
from rdflib import Graph, Literal, URIRef

from conftest import SMALL_TRIPLES
from dialogqa.errors import UserError
from dialogqa.kg.sparql_guard import QueryLimits, check_query, with_row_cap
from dialogqa.kg.sparql_text import sparql_iri, sparql_literal

EVIL = [
    'plain',
    'say "hi"',
    'back\\slash',
    'ends with backslash\\',
    'two\nlines\r\n',
    'tab\tand } brace { and ;',
    '" } ; DROP ALL ; SELECT * WHERE { ?s ?p ?o } #',
    '"""triple quoted"""',
    "single ' quote '''",
    '\\" } INSERT DATA { <http://evil/a> <http://evil/b> <http://evil/c> } #',
    '\\u0022 } . ?x ?y ?z #',
    '\\U0000007D\\u00220022 \\\\u0022',
    'nul\x00 and bell\x07',
    'Côte d’Ivoire 東京',
]


@pytest.mark.parametrize("text", EVIL)
def test_escaped_literal_parses_back_to_the_same_text(text):
    # rdflib's SPARQL parser must see exactly one literal holding exactly the text
    query = f"SELECT ?x WHERE {{ VALUES ?x {{ {sparql_literal(text)} }} }}"
    rows = list(Graph().query(query))
    expected = "".join(" " if (ord(c) < 0x20 and c not in "\n\r\t") else c for c in text)
    assert [str(r[0]) for r in rows] == [expected]


def test_literal_language_and_datatype():
    assert sparql_literal("Oslo", "en") == '"Oslo"@en'
    assert sparql_literal("5", datatype="http://www.w3.org/2001/XMLSchema#integer") == \
        '"5"^^<http://www.w3.org/2001/XMLSchema#integer>'
    with pytest.raises(UserError):
        sparql_literal("x", lang="en} ?s ?p ?o {")
    with pytest.raises(UserError):
        sparql_iri("http://x/a> ?p ?o . <http://x/b")


def test_only_select_and_ask_and_always_a_limit():
    def sent(query):
        return with_row_cap(check_query(query, QueryLimits()), 100)

    assert check_query("PREFIX ex: <http://x/>\n# c\nBASE <http://y/> select * {}", QueryLimits()).form == "SELECT"
    for update in ["INSERT DATA { <a:b> <a:c> <a:d> }", "DELETE WHERE { ?s ?p ?o }", "CLEAR ALL",
                   "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "PREFIX x: <y:> DROP ALL", ""]:
        with pytest.raises(UserError, match="only SELECT and ASK"):
            sent(update)
    assert sent("SELECT * { ?s ?p ?o }").endswith("\nLIMIT 101")  # one past the cap: "more"
    assert sent("SELECT * { ?s ?p ?o } # all\n").endswith("\nLIMIT 101")
    assert sent("SELECT * { ?s ?p ?o } limit 5").endswith("limit 5")
    assert sent("SELECT * { ?s ?p ?o } LIMIT 5000 OFFSET 10").endswith("LIMIT 101 OFFSET 10")
    assert sent("SELECT * { ?s ?p ?o } OFFSET 10 LIMIT 5000").endswith("OFFSET 10 LIMIT 101")
    assert sent("ASK { ?s ?p ?o }") == "ASK { ?s ?p ?o }"


def test_not_a_url_and_unreachable_endpoint():
    from dialogqa.kg.endpoint import EndpointKG

    with pytest.raises(UserError, match="http"):
        EndpointKG("ftp://example.org/sparql")
    with pytest.raises(UserError, match="cannot reach SPARQL endpoint http://127.0.0.1:9/sparql"):
        EndpointKG("http://127.0.0.1:9/sparql", timeout=2)


class _Broken(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/html"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not sparql</html>")
        else:
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b"Virtuoso 37000 Error SP030: SPARQL compiler, line 1: syntax error")

    def log_message(self, *args):
        pass


@pytest.fixture
def broken_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_errors_and_non_sparql_answers_are_user_errors(broken_server):
    from dialogqa.kg.endpoint import EndpointKG

    with pytest.raises(UserError, match="HTTP 400 Virtuoso 37000 Error SP030"):
        EndpointKG(broken_server + "/sparql")
    with pytest.raises(UserError, match="not answer with SPARQL JSON"):
        EndpointKG(broken_server + "/html")


def test_exact_search_reads_a_long_text_up_to_the_question_cap():
    from dialogqa.kg.endpoint import EndpointKG

    kg = EndpointKG.__new__(EndpointKG)  # no server: only the query it would send is looked at
    kg.langs = ("en", "")
    sent = []
    kg.select = lambda sparql: sent.append(sparql) or ([], [])
    assert kg._search_exact("Sweden " + "x" * 40_000 + " Norway", 10) == []
    [query] = sent
    assert '"Sweden"@en' in query and "Norway" not in query and "x" * 994 not in query


# -- against the Virtuoso server ------------------------------------------------------------

@pytest.fixture
def endpoint(small_ttl, virtuoso_graph):
    from dialogqa.kg.endpoint import EndpointKG

    kg = EndpointKG(virtuoso_graph(small_ttl))
    yield kg
    kg.close()


@pytest.mark.endpoint
@pytest.mark.parametrize("text", EVIL)
def test_injection_attempts_are_searched_as_text(endpoint, text, monkeypatch):
    import dialogqa.kg.endpoint as ep

    monkeypatch.setattr(ep, "INDEX_MAX_LABELS", 0)  # exact mode: the text goes into the query
    assert endpoint.search(text + " Sweden")[0].entity == URIRef("http://example.org/Sweden")
    assert endpoint.count() == SMALL_TRIPLES
    assert endpoint.query("ASK { <http://evil/a> ?p ?o }").boolean is False


@pytest.mark.endpoint
def test_exact_search_mode_for_big_graphs(endpoint, monkeypatch):
    import dialogqa.kg.endpoint as ep

    monkeypatch.setattr(ep, "INDEX_MAX_LABELS", 0)
    found = [(str(m.entity).rsplit("/", 1)[1], m.score) for m in endpoint.search("Is NEW YORK CITY near york?")]
    assert found == [("NewYorkCity", 1.0), ("York", 1.0)]
    assert endpoint.search("Swedn") == []  # no typo tolerance without the local index


@pytest.mark.endpoint
def test_user_queries_get_a_limit_and_updates_never_leave(endpoint):
    res = endpoint.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    assert len(res.rows) == SMALL_TRIPLES
    with pytest.raises(UserError, match="only SELECT and ASK"):
        endpoint.query("INSERT DATA { <http://evil/a> <http://evil/b> <http://evil/c> }")
    with pytest.raises(UserError, match="SPARQL error: Expected"):  # refused here, never sent
        endpoint.query("SELECT ?s WHERE { ?s ?p }")
    assert endpoint.labels(Literal("Sweden")) == []
    assert endpoint.label(URIRef("http://example.org/Sweden")) == "Sweden"
