"""A person's own SPARQL (sparql_guard): read-only decided by a real parse of a canonical
text, whatever comments, strings and escapes try; what an endpoint receives; the
``kg query`` flags."""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef
from rdflib.plugins.sparql.parser import parseUpdate

from conftest import SMALL_TRIPLES
from dialogqa.commands.cli import main
from dialogqa.errors import UserError
from dialogqa.kg.sparql_guard import QueryLimits, canonical_query, check_query

EX = "http://example.org/"
ATTACK = '#\rINSERT DATA { <http://e/s> <http://e/p> """\nSELECT * {} """ } # LIMIT 5'


def _oxigraph_reads_as_update(text: str) -> bool:
    """pyoxigraph reads comments as the grammar says (a CR ends one), as Virtuoso does:
    the stand-in for 'what an endpoint would run'.  Tried on a throwaway in-memory store."""
    try:
        ox.Store().update(text)
    except (SyntaxError, ValueError, OSError):
        return False
    return True


def _oxigraph_reads_as_query(text: str) -> bool:
    try:
        ox.Store().query(text)
    except (SyntaxError, ValueError):
        return False
    return True


# -- the fuzz: comments, strings and escapes never smuggle an update ----------------------

EOLS = ["\r", "\n", "\r\n"]
COMMENTS = ["", " note", " SELECT * {}", " 'x", ' """', " <http://e/x", " \\u000A", " ASK {}", " \\"]
QUOTES = ["'", '"', "'''", '"""']
STRING_BODIES = ["#", "# INSERT DATA {", "\\u0022", "\\u0027", "\\\\u0022", '\\"', "\\'", "\\n",
                 "SELECT * {}", "\\u000A#", "''", '""', "it's", "\\U00000023", "\\\\", "} INSERT DATA {"]
UPDATES = ["INSERT DATA { <http://e/s> <http://e/p> <http://e/o> }", "DELETE WHERE { ?s ?p ?o }",
           "CLEAR ALL", "DROP SILENT GRAPH <http://e/g>", "LOAD <http://127.0.0.1:9/x>"]
READS = ["SELECT * { ?s ?p ?o }", "ASK { ?s ?p ?o }", 'SELECT ?s { ?s ?p "x" }', "SELECT * {}"]
PIECES = ["\\u0023", "\\u000A", "\\u000D", "\\u0022", "{", "}", ".", ";", "<http://e/a#b>", "?x"]


def _comment(rng):
    return "#" + rng.choice(COMMENTS) + rng.choice(EOLS)


def _string(rng):
    quote = rng.choice(QUOTES)
    eol = rng.choice(EOLS) if len(quote) == 3 else ""
    return quote + rng.choice(STRING_BODIES) + eol + rng.choice(STRING_BODIES) + quote


def _fuzz_case(rng) -> str:
    shape = rng.randrange(4)
    if shape == 0:  # the issue's form: a comment hides an update whose string hides a query
        quote = rng.choice(['"""', "'''"])
        return (_comment(rng) + "INSERT DATA { <http://e/s> <http://e/p> " + quote + rng.choice(EOLS)
                + rng.choice(READS) + " " + quote + " } " + _comment(rng).rstrip("\r\n") + " LIMIT 5")
    if shape == 1:  # a read query with a tricky string, then perhaps a comment and an update
        tail = rng.choice(["", _comment(rng) + rng.choice(UPDATES), " " + rng.choice(UPDATES)])
        return f"SELECT * {{ ?s ?p {_string(rng)} }}" + tail
    if shape == 2:  # comments (and escapes in them) before either kind
        lead = "".join(_comment(rng) for _ in range(rng.randrange(1, 3)))
        return lead + rng.choice(UPDATES + READS) + rng.choice(["", " " + _comment(rng)])
    parts = [_comment, _string, lambda r: r.choice(UPDATES), lambda r: r.choice(READS),
             lambda r: r.choice(PIECES), lambda r: r.choice(EOLS)]
    return " ".join(rng.choice(parts)(rng) for _ in range(rng.randrange(2, 6)))


def test_fuzz_no_update_ever_passes_as_read_only():
    rng = random.Random(16)
    passed = refused_updates = 0
    for _ in range(400):
        text = _fuzz_case(rng)
        try:
            checked = check_query(text, QueryLimits())
        except UserError:
            refused_updates += _oxigraph_reads_as_update(text)
            continue
        passed += 1
        # what passed is not an update to the grammar's reading of the original text, nor to
        # either parser's reading of the canonical text that is actually run or sent
        assert not _oxigraph_reads_as_update(text), repr(text)
        assert not _oxigraph_reads_as_update(checked.text), repr(text)
        with pytest.raises(Exception):
            parseUpdate(checked.text)
        assert _oxigraph_reads_as_query(checked.text), repr(text)
        assert checked.form in ("SELECT", "ASK")
    assert passed >= 40 and refused_updates >= 40  # both sides of the property were exercised


@pytest.mark.parametrize("eol", EOLS)
def test_the_issue_attack_is_refused_whatever_ends_the_comment(eol):
    with pytest.raises(UserError, match="got an update"):
        check_query(ATTACK.replace("\r", eol), QueryLimits())
    assert _oxigraph_reads_as_update(ATTACK)  # what Virtuoso would have run


@pytest.mark.parametrize("query, rows", [
    ("SELECT ?c WHERE { ?c <http://example.org/capital> ?x } # three\r\n", 3),
    ("# leading\rSELECT ?c WHERE { ?c <http://example.org/capital> ?x }", 3),
    ("# one\r# two\nSELECT ?c WHERE { ?c <http://example.org/capital> ?x }", 3),
    ("SELECT ?s WHERE { ?s ?p \"Côte d'Ivoire\" }", 1),
    ("SELECT ?s WHERE { ?s ?p 'Côte d\\'Ivoire' }", 1),
    ("SELECT ?s WHERE { ?s ?p '''Côte d'Ivoire''' }", 1),
    ('SELECT ?s WHERE { ?s ?p """Côte d\'Ivoire""" } # """ INSERT', 1),
    ('SELECT ?s WHERE { ?s ?p "\\u0053weden"@en }', 1),  # \u escape in a string
    ('SELECT ?s WHERE { ?s ?p "\\U00000053weden"@en }', 1),
    ("SELECT ?s WHERE { ?s <http://example.org/\\u0063apital> ?o }", 3),  # ... and in an IRI
    ('SELECT ?s WHERE { ?s ?p ?o FILTER(?o = "# not a comment" || ?o = \'INSERT DATA {\') }', 0),
    ("SELECT ?s WHERE { ?s ?p ?o FILTER(STR(?o) < \"B\" && STR(?o)>\"A\") }", 0),
    ("PREFIX ex: <http://example.org/>\r\nASK { ex:Sweden ex:capital ex:Stockholm }", None),
])
def test_ordinary_read_queries_still_pass(small_ttl, query, rows):
    from dialogqa.kg.memory import MemoryKG

    kg = MemoryKG.from_files([small_ttl])
    res = kg.query(query)
    if rows is None:
        assert res.boolean is True
    else:
        assert len(res.rows) == rows


def test_deep_nesting_is_a_user_error():
    with pytest.raises(UserError, match="SPARQL error"):
        check_query("ASK " + "{ " * 3000 + "}" * 3000, QueryLimits())


def test_canonical_text():
    assert canonical_query("SELECT * {} #\rLIMIT 5") == "SELECT * {} \nLIMIT 5"  # CR ends a comment
    assert canonical_query("ASK { ?s ?p '''a\r\nb''' }") == 'ASK { ?s ?p "a\\r\\nb" }'
    assert canonical_query('ASK { ?s ?p "x\\u0022 } INSERT" }') == 'ASK { ?s ?p "x\\" } INSERT" }'
    assert canonical_query('ASK { ?s ?p "\\\\u0041" }') == 'ASK { ?s ?p "\\\\\\U000000750041" }'
    assert canonical_query("ASK { <http://e/\\u00E9#x> ?p ?o }") == "ASK { <http://e/é#x> ?p ?o }"
    for bad, message in [("ASK { <http://e/\\u003E> ?p ?o }", "not an IRI"),
                         ("ASK { ?s ?p ?o } \\u000A INSERT DATA {}", "backslash at line 1"),
                         ("ASK { ?s ex:a\\#b ?o }", "backslash"),
                         ("ASK { ?s ?p 'x\ny' }", "unterminated string literal at line 1"),
                         ('ASK { ?s ?p "\\q" }', "unknown escape"),
                         ('ASK { ?s ?p "\\uD800" }', "not a character")]:
        with pytest.raises(UserError, match=message):
            canonical_query(bad)


# -- what an endpoint receives --------------------------------------------------------------

class _Recorder(BaseHTTPRequestHandler):
    """A fake SPARQL endpoint that records each query= and answers ASK true, SELECT with
    ``rows`` rows of one variable; ``silent`` makes it stop answering after the first ASK."""

    def do_POST(self):
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        query = form.get("query", [""])[0]
        server = self.server
        server.received.append(form)
        if server.silent and len(server.received) > 1:
            server.release.wait(30)  # the client's timeout ends it first
            return
        if query.lstrip().upper().startswith("ASK"):
            body = {"head": {}, "boolean": True}
        else:
            body = {"head": {"vars": ["x"]},
                    "results": {"bindings": [{"x": {"type": "literal", "value": str(i)}}
                                             for i in range(server.rows)]}}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_endpoint():
    def start(rows=3, silent=False):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        server.received, server.rows, server.silent = [], rows, silent
        server.release = threading.Event()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/sparql", server

    servers = []
    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


def test_endpoint_never_receives_an_update_or_service(fake_endpoint):
    from dialogqa.kg.endpoint import EndpointKG

    url, server = fake_endpoint()
    kg = EndpointKG(url)
    for query in (ATTACK, "INSERT DATA { <http://e/s> <http://e/p> <http://e/o> }",
                  "SELECT * { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }",
                  "SELECT * {} \\u000A INSERT DATA {}"):
        with pytest.raises(UserError):
            kg.query(query)
    assert [f["query"][0] for f in server.received] == ["ASK { ?s ?p ?o }"]  # only the opening check
    assert all("update" not in f for f in server.received)


def test_endpoint_receives_the_canonical_text_with_a_row_cap(fake_endpoint):
    from dialogqa.kg.endpoint import EndpointKG

    url, server = fake_endpoint(rows=6)
    kg = EndpointKG(url)
    res = kg.query("SELECT ?x WHERE { ?x ?p 'a#b' } # note\rLIMIT 9000", QueryLimits(rows=5))
    assert server.received[-1]["query"][0] == 'SELECT ?x WHERE { ?x ?p "a#b" } \nLIMIT 6'
    assert res.rows == [(Literal(str(i)),) for i in range(5)] and res.truncated
    assert kg.query("ASK { ?s ?p ?o }").boolean is True


def test_endpoint_that_stops_answering_times_out(fake_endpoint):
    from dialogqa.kg.endpoint import EndpointKG

    url, _ = fake_endpoint(silent=True)
    kg = EndpointKG(url)
    with pytest.raises(UserError, match="timed out"):
        kg.query("SELECT * { ?s ?p ?o }", QueryLimits(timeout=0.5))


# -- kg query: flags and messages -----------------------------------------------------------

def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _one_line_error(status, err, fragment):
    assert status == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dialogqa: error: ") and fragment in lines[0], err


def test_kg_query_limit_says_when_there_are_more(capsys, small_ttl):
    cross = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"
    status, out, err = _run(capsys, "kg", "query", cross, str(small_ttl), "--limit", "2")
    assert status == 0 and err.strip() == "(first 2 rows; --limit N for more)"
    status, out, err = _run(capsys, "kg", "query", cross, str(small_ttl), "--json")
    data = json.loads(out)
    assert len(data["rows"]) == 625 and data["truncated"] is False
    status, out, err = _run(capsys, "kg", "query", cross, str(small_ttl), "--json", "--limit", "1")
    assert len(json.loads(out)["rows"]) == 1 and json.loads(out)["truncated"] is True
    assert err.strip() == "(first 1 row; --limit N for more)"


def test_kg_query_bad_flags_and_refusals_are_one_line(capsys, small_ttl, silent_listener, tmp_path):
    url, accepted = silent_listener
    for argv, fragment in [
        (["--limit", "0"], "--limit must be at least 1, got 0"),
        (["--timeout", "0"], "--timeout must be more than 0 seconds"),
        (["--timeout", "inf"], "--timeout must be more than 0 seconds (and finite)"),
    ]:
        status, _, err = _run(capsys, "kg", "query", "ASK {}", str(small_ttl), *argv)
        _one_line_error(status, err, fragment)
    service = f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"
    status, _, err = _run(capsys, "kg", "query", service, str(small_ttl))
    _one_line_error(status, err, "--allow-service")
    status, _, err = _run(capsys, "kg", "query", service, str(small_ttl), "--allow-service", "--timeout", "0.5")
    _one_line_error(status, err, "SPARQL query stopped after 0.5 s")
    status, _, err = _run(capsys, "kg", "query", ATTACK, str(small_ttl))
    _one_line_error(status, err, "only SELECT and ASK")
    qfile = tmp_path / "crlf.rq"  # a query file written on Windows
    qfile.write_bytes(b"# count\r\nASK { <http://example.org/Oslo> ?p ?o }\r\n")
    status, out, _ = _run(capsys, "kg", "query", f"@{qfile}", str(small_ttl))
    assert (status, out.strip()) == (0, "yes")


def test_store_queries_run_in_a_child_and_agree_with_memory(small_ttl, tmp_path):
    from dialogqa.kg.memory import MemoryKG
    from dialogqa.kg.store import StoreKG

    store = StoreKG.load([small_ttl], tmp_path / "store")
    memory = MemoryKG.from_files([small_ttl])
    query = "SELECT ?s ?l WHERE { ?s ?p ?l FILTER(isLiteral(?l)) }"
    try:
        found = store.query(query).rows  # langs, datatypes, plain strings, through JSON
        assert len(found) == 15 and set(found) == set(memory.query(query).rows)
        assert store.count() == SMALL_TRIPLES
        pop = store.query(f"SELECT ?n WHERE {{ <{EX}Sweden> <{EX}population> ?n }}").rows
        assert pop == [(Literal("10400000", datatype=URIRef("http://www.w3.org/2001/XMLSchema#integer")),)]
        with pytest.raises(UserError, match="SPARQL error"):
            store.query("SELECT ?x WHERE { BIND(<http://e/f>(1) AS ?x) } GROUP BY ?y")
    finally:
        store.close()
