"""Building and reopening the on-disk store; shared behaviour is in test_kg_contract.py."""

import gzip

import pytest
import rdflib
from rdflib import BNode, Literal, URIRef

import dialogqa.kg.store_load as store_load
from conftest import SMALL_TRIPLES
from dialogqa.errors import UserError
from dialogqa.kg.base import open_kg
from dialogqa.kg.store import StoreKG

EX = "http://example.org/"


@pytest.fixture(params=[1 << 20, 400], ids=["one-chunk", "many-chunks"])
def chunk(request, monkeypatch):
    """N-Triples files read in one chunk, or in many (a handful of lines each)."""
    monkeypatch.setattr(store_load, "_CHUNK", request.param)
    return request.param


def test_load_gzip_and_quads_then_reopen_by_open_kg(tmp_path, small_ttl):
    gz = tmp_path / "small.ttl.gz"
    gz.write_bytes(gzip.compress(small_ttl.read_bytes()))
    nq = tmp_path / "more.nq"
    nq.write_text(f"<{EX}Oslo> <{EX}twin> <{EX}Stockholm> <{EX}graph1> .\n"
                  f"<{EX}Oslo> <{EX}country> <{EX}Norway> <{EX}graph2> .\n")  # already in small.ttl
    StoreKG.load([gz, nq], tmp_path / "st").close()
    kg = open_kg(store=str(tmp_path / "st"))
    assert kg.count() == SMALL_TRIPLES + 1  # distinct triples, named graphs merged
    stats = kg.meta["stats"]
    assert stats["predicates"][EX + "country"] == 5  # stored once though given twice
    assert stats["entities"] == 13 and stats["labelled_subjects"] == 10
    assert kg.name == f"store: {tmp_path / 'st'}"
    assert (URIRef(EX + "Oslo"), URIRef(EX + "twin"), URIRef(EX + "Stockholm")) in set(kg.triples(URIRef(EX + "Oslo")))
    assert kg.search("Swedn")[0].entity == URIRef(EX + "Sweden")
    kg.close()


@pytest.mark.parametrize("line, where, why", [
    (f"<{EX}a> <{EX}b> oops .", 41, "object"),  # not a term: the writer's parse fails
    (f"<{EX}a> <{EX}b> <c> .", 41, "scheme"),  # relative IRI: caught by the checks on read IRIs
    (f"<{EX}a> <{EX}b c> <{EX}c> .", 41, "IRI"),  # space in an IRI
    (f"<{EX}a> <{EX}b> <{EX}%zz> .", 41, "IRI"),  # bad %-escape
    # what a lenient load would let through, caught by the checks on read terms
    (f"<{EX}a> <{EX}b> <http://host:port/c> .", 41, "character"),  # a port that is not one
    (f'<{EX}a> <{EX}b> "x"^^<integer> .', 41, "scheme"),
    (f'<{EX}a> <{EX}b> "x"@en-toolongsubtag1 .', 41, "subtag"),
    (f'<{EX}a> <{EX}b> "x" ', 42, "dot"),  # no final dot: seen on the next line
    (f"<{EX}a> <{EX}b> _:b1 _:b2 .", 41, "dot"),  # a blank node chunk: parsed here
])
def test_bad_ntriples_line_is_named_whichever_chunk_it_is_in(tmp_path, chunk, line, where, why):
    good = "".join(f'<{EX}e{i}> <{EX}p> "v{i}" .\n' for i in range(40))
    bad = tmp_path / "bad.nt"
    bad.write_text(good + line + "\n" + good)
    with pytest.raises(UserError) as err:
        StoreKG.load([bad], tmp_path / "st")
    assert str(err.value).startswith(f"{bad}:{where}: ") and why in str(err.value)
    assert not (tmp_path / "st").exists()


def test_bad_file_names_line_and_leaves_the_old_store(tmp_path, small_ttl):
    StoreKG.load([small_ttl], tmp_path / "st").close()
    bad = tmp_path / "bad.nt"
    bad.write_text(f"<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a> <{EX}b> oops .\n")
    with pytest.raises(UserError) as err:
        StoreKG.load([bad], tmp_path / "st", force=True)
    assert str(err.value).startswith(f"{bad}:2: ")
    kg = StoreKG.open(tmp_path / "st")
    assert kg.count() == SMALL_TRIPLES
    kg.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nt", "small.ttl", "st"]  # no leftovers


def test_existing_store_needs_force_and_other_dirs_are_never_replaced(tmp_path, small_ttl):
    StoreKG.load([small_ttl], tmp_path / "st").close()
    with pytest.raises(UserError, match="--force"):
        StoreKG.load([small_ttl], tmp_path / "st")
    StoreKG.load([small_ttl], tmp_path / "st", force=True).close()
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"x")
    with pytest.raises(UserError, match="not a dialogqa store"):
        StoreKG.load([small_ttl], other, force=True)
    assert (other / "cat.jpg").exists()


def test_open_errors(tmp_path, small_ttl):
    with pytest.raises(UserError, match="does not exist.*kg load"):
        StoreKG.open(tmp_path / "nope")
    with pytest.raises(UserError, match="holds no dialogqa store"):
        StoreKG.open(tmp_path)
    with pytest.raises(UserError, match="no such file"):
        StoreKG.load([tmp_path / "missing.ttl"], tmp_path / "st")
    with pytest.raises(UserError, match="unknown RDF format"):
        StoreKG.load([small_ttl], tmp_path / "st", fmt="csv")
    assert not (tmp_path / "st").exists()


def test_store_load_progress(tmp_path, small_ttl, capsys, monkeypatch):
    import dialogqa.kg.loading as loading
    from dialogqa.progress import load_reporter

    monkeypatch.setattr(loading, "PROGRESS_MIN_BYTES", 0)
    StoreKG.load([small_ttl], tmp_path / "st", progress=load_reporter(True)).close()
    assert f"loaded {SMALL_TRIPLES} triples in" in capsys.readouterr().err


# -- N-Triples: read off the lines, must agree with parsing ----------------------------------

NT_GRAPH = """\
<http://example.org/Sweden> <http://www.w3.org/2000/01/rdf-schema#label> "Sweden"@EN .
<http://example.org/Sweden> <http://www.w3.org/2000/01/rdf-schema#label> "Su\\u00E8de"@fr .
# a comment line, then a blank one

<http://example.org/Sweden>\t<http://example.org/capital>   <http://example.org/Stockholm> .
<http://example.org/Stockholm> <http://www.w3.org/2004/02/skos/core#prefLabel> "Stockholm" .
<http://example.org/Stockholm> <http://example.org/country> <http://example.org/Sweden> . # trailing comment
<http://example.org/Sweden> <http://example.org/population> "10400000"^^<http://www.w3.org/2001/XMLSchema#integer> .
<http://example.org/Sweden> <http://example.org/capital> <http://example.org/Stockholm> .
<http://example.org/Malm\\u00F6> <http://example.org/country> <http://example.org/Sweden> .
<http://example.org/Oslo> <http://xmlns.com/foaf/0.1/name> "Oslo  \\"the\\ncity\\"" .
<http://example.org/Oslo> <http://example.org/twin> _:t1 .
_:t1 <http://www.w3.org/2000/01/rdf-schema#label> "a twin" .
_:t1 <http://example.org/country> <http://example.org/Sweden> .
<http://example.org/NewYorkCity> <http://example.org/mayor> <http://example.org/Adams> .
<http://example.org/Bergen> <http://schema.org/name> "Bergen" .
<http://example.org/Bergen> <http://example.org/note> "mentions <http://schema.org/name> in text" ."""


def _store_view(kg):
    rows = kg.index.db.execute("SELECT entity, label, lang, rank, norm, degree FROM labels").fetchall()
    vocab = kg.index.db.execute("SELECT * FROM vocab").fetchall()
    return kg.count(), kg.meta["stats"], kg.meta["labels"], sorted(rows), sorted(vocab), set(kg.triples())


def test_ntriples_read_off_lines_equals_the_same_graph_parsed(tmp_path, chunk):
    """The regular-expression reading of N-Triples (odd spacing, comments, escapes, a
    repeated triple, a label predicate inside a literal, blank nodes in some chunks, no
    final newline) gives the same store, counts and label index as Turtle parsed quad by
    quad."""
    nt = tmp_path / "g.nt"
    nt.write_text(NT_GRAPH, encoding="utf-8")
    ttl = tmp_path / "g.ttl"
    ttl.write_text(rdflib.Graph().parse(nt, format="nt").serialize(format="turtle"), encoding="utf-8")
    gz = tmp_path / "g.nt.gz"
    gz.write_bytes(gzip.compress(nt.read_bytes()))
    a = StoreKG.load([nt], tmp_path / "a")
    b = StoreKG.load([ttl], tmp_path / "b")
    view_a, view_b = _store_view(a), _store_view(b)
    c = StoreKG.load([gz], tmp_path / "c")
    assert _store_view(c) == view_a
    c.close()
    # blank node names: kept from the N-Triples file, made up by the Turtle parser
    twin = next(o for _, _, o in a.triples(URIRef(EX + "Oslo"), URIRef(EX + "twin")))
    assert isinstance(twin, BNode) and str(twin) == "t1"
    assert a.labels(twin) == [("a twin", "")]
    assert view_a[0] == 14 and view_a[0:3] == view_b[0:3]  # one triple given twice
    assert view_a[3:5] == _renamed(view_b[3:5], str(twin), b)
    stats = view_a[1]
    assert stats["predicates"][EX + "capital"] == 1 and stats["entities"] == 8
    assert a.labels(URIRef(EX + "Sweden")) == [("Sweden", "en"), ("Suède", "fr")]
    assert a.label(URIRef(EX + "Oslo")) == 'Oslo "the city"'
    assert a.search("Malmo")[0].entity == URIRef(EX + "Malmö")  # by its (escaped) local name
    assert (URIRef(EX + "Sweden"), URIRef(EX + "population"), Literal(10400000)) in view_a[5]
    a.close()
    b.close()


def _renamed(view, blank: str, kg):
    """Turtle's made-up blank node name replaced by the N-Triples one."""
    made_up = next(o for _, _, o in kg.triples(URIRef(EX + "Oslo"), URIRef(EX + "twin")))
    swap = {f"_:{made_up}": f"_:{blank}"}
    rows, vocab = view
    return sorted((swap.get(r[0], r[0]), *r[1:]) for r in rows), vocab


def test_large_ntriples_chunks_agree_with_turtle(tmp_path, monkeypatch):
    """Many chunks of a bigger generated graph, read off the lines (none parsed quad by
    quad), against the parse."""
    monkeypatch.setattr(store_load, "_CHUNK", 16384)
    parsed = []
    monkeypatch.setattr(store_load, "_parse_chunk", lambda data, *a: parsed.append(data) or [])
    lines = []
    for i in range(600):
        lines.append(f'<{EX}e{i}> <http://www.w3.org/2000/01/rdf-schema#label> "Entity {i % 97}"@en .')
        lines.append(f"<{EX}e{i}> <{EX}p{i % 7}> <{EX}e{(i * 13) % 600}> .")
        if i % 5 == 0:
            lines.append(f'<{EX}x/e{i}> <{EX}size> "{i}"^^<http://www.w3.org/2001/XMLSchema#integer> .')
    nt = tmp_path / "big.nt"
    nt.write_text("\n".join(lines) + "\n")
    ttl = tmp_path / "big.ttl"
    ttl.write_text(rdflib.Graph().parse(nt, format="nt").serialize(format="turtle"))
    a = StoreKG.load([nt], tmp_path / "a")
    assert parsed == []  # the fast reading held for every chunk
    b = StoreKG.load([ttl], tmp_path / "b")
    assert _store_view(a) == _store_view(b)
    assert a.count() == len(lines) and a.meta["stats"]["namespaces"] == {
        EX: 600 + 7 + 1, EX + "x/": 120, "http://www.w3.org/2000/01/rdf-schema#": 1}
    a.close()
    b.close()


# -- what both loaders refuse, and where ------------------------------------------------------

_RDF = ('<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns:ex="http://example.org/">\n')


@pytest.mark.parametrize("body, line, why", [
    ('<rdf:Description rdf:about="http://x/a">\n</rdf:RDF>\n', 4, ""),  # not well-formed XML
    ('\n<rdf:Description rdf:about="http://x/a">\n<ex:p rdf:resource="http://x/a b"/>\n'
     '</rdf:Description>\n</rdf:RDF>\n', 5, "Invalid IRI code point ' '"),
    ('<rdf:Description rdf:about="http://x/a" rdf:nodeID="n1">\n<ex:p>x</ex:p>\n'
     '</rdf:Description>\n</rdf:RDF>\n', 3, ""),
    ('<rdf:Description rdf:about="http://x/a">\n<ex:p xml:lang="e n">x</ex:p>\n'
     '</rdf:Description>\n</rdf:RDF>\n', 4, "language tag"),
], ids=["unclosed", "iri-with-space", "about-and-nodeid", "bad-language-tag"])
def test_bad_rdfxml_names_the_line_in_both_loaders(tmp_path, body, line, why):
    from dialogqa.kg.memory import MemoryKG

    bad = tmp_path / "bad.rdf"
    bad.write_text(_RDF + body)
    for load in (lambda: StoreKG.load([bad], tmp_path / "st"), lambda: MemoryKG.from_files([bad])):
        with pytest.raises(UserError) as err:
            load()
        assert str(err.value).startswith(f"{bad}:{line}: ") and why in str(err.value), str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.rdf"]


_IRIS = {  # IRI -> valid?
    "http://example.org/ok": True, "urn:isbn:0451450523": True, "http://example.org/Ĉapo_é": True,
    "mailto:someone@example.org": True, "http://example.org/a%20b": True,
    "http://example.org/a b": False, "http://example.org/{x}": False, "http://example.org/a%zz": False,
    "http://example.org/a|b": False, "http://[::1/x": False,
}


@pytest.mark.parametrize("iri, valid", _IRIS.items(), ids=list(_IRIS))
@pytest.mark.parametrize("ext", [".ttl", ".nt", ".rdf"])
def test_kg_load_and_the_in_memory_load_agree_on_what_is_an_iri(tmp_path, iri, valid, ext):
    from dialogqa.kg.iri import iri_problem
    from dialogqa.kg.memory import MemoryKG

    path = tmp_path / f"g{ext}"
    if ext == ".rdf":
        path.write_text(_RDF + f'<rdf:Description rdf:about="{EX}a">\n<ex:p rdf:resource="{iri}"/>\n'
                               "</rdf:Description>\n</rdf:RDF>\n")
    else:
        path.write_text(f"<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a> <{EX}p> <{iri}> .\n")
    outcomes = []
    for load in (lambda: StoreKG.load([path], tmp_path / "st"), lambda: MemoryKG.from_files([path])):
        try:
            kg = load()
        except UserError as exc:
            assert str(exc).startswith(f"{path}:{4 if ext == '.rdf' else 2}: "), str(exc)
            outcomes.append(False)
        else:
            assert (URIRef(EX + "a"), URIRef(EX + "p"), URIRef(iri)) in set(kg.triples(URIRef(EX + "a")))
            kg.close()
            outcomes.append(True)
    assert outcomes == [valid, valid]
    assert (iri_problem(iri) is None) == valid


def test_relative_iris_resolve_against_the_file_in_both_loaders(tmp_path):
    from dialogqa.kg.memory import MemoryKG

    ttl = tmp_path / "rel.ttl"
    ttl.write_text("<a> <b> <c> .\n")
    rdf = tmp_path / "rel.rdf"
    rdf.write_text(_RDF + '<rdf:Description rdf:about="#x"><ex:p>1</ex:p></rdf:Description></rdf:RDF>\n')
    base = tmp_path.resolve().as_uri()
    for path, triple in ((ttl, (f"{base}/a", f"{base}/b", URIRef(f"{base}/c"))),
                         (rdf, (f"{base}/rel.rdf#x", EX + "p", Literal("1")))):
        expected = {(URIRef(triple[0]), URIRef(triple[1]), triple[2])}
        store = StoreKG.load([path], tmp_path / f"st-{path.suffix[1:]}")
        assert set(store.triples()) == expected == set(MemoryKG.from_files([path]).triples())
        store.close()


def test_a_load_removes_folders_of_interrupted_loads_but_not_live_ones(tmp_path, small_ttl, monkeypatch):
    import os
    import socket
    import subprocess
    import sys
    import time

    import dialogqa.kg.store as store

    host = socket.gethostname()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process that no longer runs
    made = {}
    for key, name in {
        "dead": f".st.loading-{gone.pid}@{host}-ab12_c",
        "live": f".st.loading-{os.getpid()}@{host}-de34",  # this process: a load running now
        "elsewhere": f".st.loading-{gone.pid}@not-{host}-fg56",
        "old-style-new": ".st.loading-hi78",
        "old-style-old": ".st.loading-jk90",
        "other-store": f".other.loading-{gone.pid}@{host}-lm12",
    }.items():
        made[key] = tmp_path / name
        (made[key] / "oxigraph").mkdir(parents=True)
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(made["old-style-old"], (two_days_ago, two_days_ago))
    seen = []
    build = store.build_store
    monkeypatch.setattr(store, "build_store", lambda files, work, *a: seen.append(work.name) or build(files, work, *a))
    kg = StoreKG.load([small_ttl], tmp_path / "st")
    assert sorted(kg.stale_removed) == sorted([made["dead"], made["old-style-old"]])
    kg.close()
    assert {key for key, path in made.items() if path.exists()} == {"live", "elsewhere", "old-style-new", "other-store"}
    [work] = seen  # this load's own folder is named for this process, and is now the store
    assert work.startswith(f".st.loading-{os.getpid()}@{host}-") and not (tmp_path / work).exists()


def test_json_ld_drops_statements_with_a_bad_iri_in_both_loaders(tmp_path):
    import json

    from dialogqa.kg.memory import MemoryKG

    doc = {"@context": {"ex": EX}, "@graph": [
        {"@id": f"{EX}a", "ex:p": {"@id": f"{EX}{{b}}"}, "ex:q": "kept"},
        {"@id": f"{EX}c d", "ex:p": "gone"},
        {"@id": f"{EX}e", f"{EX}bad|p": "x", "ex:q": {"@id": "ex:f"}},
    ]}
    path = tmp_path / "g.jsonld"
    path.write_text(json.dumps(doc))
    store = StoreKG.load([path], tmp_path / "st")
    expected = {(URIRef(EX + "a"), URIRef(EX + "q"), Literal("kept")),
                (URIRef(EX + "e"), URIRef(EX + "q"), URIRef(EX + "f"))}
    assert set(store.triples()) == expected == set(MemoryKG.from_files([path]).triples())
    store.close()
    doc["@graph"].append({"@id": f"{EX}g", "ex:r": {"@value": "1", "@type": f"{EX}bad type"}})
    path.write_text(json.dumps(doc, indent=1))
    for load in (lambda: StoreKG.load([path], tmp_path / "st2"), lambda: MemoryKG.from_files([path])):
        with pytest.raises(UserError, match=r"g\.jsonld:\d+: .*Invalid IRI code point ' '"):
            load()
