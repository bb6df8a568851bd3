"""Shared fixtures: one small graph that every knowledge-graph backend is tested on."""

from __future__ import annotations

from pathlib import Path

import pytest

# Small but covers what the backends must agree on: every label predicate, language tags,
# an accented label, multi-word labels nested in each other ("New York City" / "York"),
# entities with no label (local-name fallback), a predicate with a label, a literal object.
SMALL_TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <http://schema.org/> .
@prefix schemas: <https://schema.org/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex:Sweden rdfs:label "Sweden"@en, "Suède"@fr, "Sverige" ;
    ex:capital ex:Stockholm ;
    ex:population "10400000"^^xsd:integer ;
    ex:neighbour ex:Norway .
ex:Norway rdfs:label "Norway"@en, "Norvège"@fr ; ex:capital ex:Oslo .
ex:Stockholm rdfs:label "Stockholm"@en ; ex:country ex:Sweden .
ex:Oslo skos:prefLabel "Oslo" ; ex:country ex:Norway .
ex:NewYorkCity skos:prefLabel "New York City"@en ; skos:altLabel "NYC"@en ; ex:country ex:USA .
ex:York rdfs:label "York"@en ; ex:country ex:UK .
ex:USA schema:name "United States of America" .
ex:UK schemas:name "United Kingdom" .
ex:IvoryCoast foaf:name "Côte d'Ivoire" ; ex:capital ex:Yamoussoukro .
ex:capital rdfs:label "capital"@en .
ex:Yamoussoukro ex:country ex:IvoryCoast .
ex:French_Guiana ex:officialLanguage ex:frenchLanguage .
"""
SMALL_TRIPLES = 25


@pytest.fixture
def small_ttl(tmp_path: Path) -> Path:
    path = tmp_path / "small.ttl"
    path.write_text(SMALL_TTL, encoding="utf-8")
    return path


# -- the Virtuoso endpoint that .ci/virtuoso.sh starts -------------------------------------

def _virtuoso_dir() -> Path:
    import os
    import tempfile

    default = Path(os.environ.get("TMPDIR") or tempfile.gettempdir()) / "dialogqa-virtuoso"
    return Path(os.environ.get("DIALOGQA_VIRTUOSO_DIR") or default)


def _answers(url: str) -> bool:
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}).encode()
    request = urllib.request.Request(url, data=body, headers={"Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def virtuoso() -> tuple[str, int]:
    """(SPARQL URL, isql port) of the test Virtuoso; skipped when none answers, failed
    instead when DIALOGQA_REQUIRE_ENDPOINT=1 (CI, where .ci/run has started one)."""
    import os

    state = _virtuoso_dir()
    url = (state / "url").read_text().strip() if (state / "url").is_file() else "http://127.0.0.1:8890/sparql"
    port = int((state / "isql-port").read_text()) if (state / "isql-port").is_file() else 1111
    if not _answers(url):
        message = f"no SPARQL endpoint answers at {url} (start one with .ci/virtuoso.sh start)"
        if os.environ.get("DIALOGQA_REQUIRE_ENDPOINT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url, port


def _ascii_turtle(text: str) -> str:
    """Non-ASCII characters as Turtle \\u escapes: isql would otherwise mangle them."""
    return "".join(c if ord(c) < 128 else (f"\\u{ord(c):04X}" if ord(c) < 0x10000 else f"\\U{ord(c):08X}")
                   for c in text)


@pytest.fixture(scope="session")
def virtuoso_graph(virtuoso):
    """load(turtle_file) -> endpoint URL that reads only that file's triples: the file goes
    into its own named graph of the test server (through isql, as the database
    administrator: dialogqa itself never writes), and the URL names it as default graph."""
    import hashlib
    import subprocess
    import urllib.parse

    url, port = virtuoso
    loaded: dict[Path, str] = {}

    def load(path: Path) -> str:
        if path not in loaded:
            text = Path(path).read_text(encoding="utf-8")
            graph = "http://dialogqa.test/graph/" + hashlib.sha1(text.encode()).hexdigest()[:16]
            sql_text = _ascii_turtle(text).replace("\\", "\\\\").replace("'", "''")
            sql = f"SPARQL CLEAR GRAPH <{graph}>;\nDB.DBA.TTLP('{sql_text}', '', '{graph}', 0);\n"
            done = subprocess.run(["isql-vt", str(port), "dba", "dba", "VERBOSE=OFF", "BANNER=OFF",
                                   "PROMPT=OFF", "ECHO=OFF"], input=sql, capture_output=True,
                                  text=True, timeout=120)
            if done.returncode != 0 or "*** Error" in done.stdout + done.stderr:
                pytest.fail(f"loading {path} into Virtuoso failed: {done.stdout[-500:]} {done.stderr[-500:]}")
            loaded[path] = f"{url}?{urllib.parse.urlencode({'default-graph-uri': graph})}"
        return loaded[path]

    return load


# -- a listener that never answers ----------------------------------------------------------

@pytest.fixture
def silent_listener():
    """(url, accepted): an HTTP URL on 127.0.0.1 whose server accepts connections and never
    answers; ``accepted`` counts the connections. Closed, connections and all, at teardown
    (and after 60 s whatever happens)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:  # the 0.2 s poll, or the socket closed
                continue
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    timer = threading.Timer(60, done.set)
    timer.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/sparql", accepted
    done.set()
    timer.cancel()
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture(scope="module")
def tok():
    """The tiny BPE tokenizer of tests/tiny_llama.py (modules built on another tiny tokenizer,
    scripted.py's or train_fixtures.py's, define their own ``tok``)."""
    from tests.tiny_llama import tiny_tokenizer

    return tiny_tokenizer()


@pytest.fixture(scope="module")
def model(tok):
    """A 2-layer model built from a config, sized to ``tok`` (a test module may define its own)."""
    from tests.tiny_llama import tiny_llama

    return tiny_llama(len(tok))


# -- the retriever's sentence encoder ----------------------------------------------------

@pytest.fixture(autouse=True)
def _word_match_in_fast_tests(request, monkeypatch):
    """The fast tier retrieves by words only, so its results do not depend on whether the
    encoder's wheel is installed (tests/test_kg_semantic.py tests the encoder with a tiny
    model and a scripted one); the slow tier runs what the bot runs, the installed encoder."""
    from dialogqa.kg import semantic

    if not (request.node.get_closest_marker("slow") or request.node.get_closest_marker("integration")):
        monkeypatch.setattr(semantic, "_enabled", False)
