"""Loading files into the in-memory backend; the shared behaviour is in test_kg_contract.py."""

import gzip

import pytest
from rdflib import Graph, Literal, URIRef

from conftest import SMALL_TRIPLES
from dialogqa.errors import UserError
from dialogqa.kg.base import KnowledgeGraph, open_kg
from dialogqa.kg.memory import MemoryKG

EX = "http://example.org/"


@pytest.mark.parametrize("fmt, ext", [
    ("turtle", ".ttl"), ("nt", ".nt"), ("nquads", ".nq"), ("trig", ".trig"),
    ("xml", ".rdf"), ("json-ld", ".jsonld"), ("n3", ".n3"),
])
def test_every_rdflib_syntax_loads_by_extension(tmp_path, small_ttl, fmt, ext):
    path = tmp_path / f"graph{ext}"
    g = Graph().parse(small_ttl)
    if fmt in ("nquads", "trig"):
        from rdflib import Dataset
        ds = Dataset()
        named = ds.graph(URIRef("http://example.org/g"))
        for t in g:
            named.add(t)
        ds.serialize(path, format=fmt)
    else:
        g.serialize(path, format=fmt)
    kg = MemoryKG.from_files([path])
    assert isinstance(kg, KnowledgeGraph)
    assert kg.count() == SMALL_TRIPLES
    assert kg.label(URIRef(EX + "Sweden")) == "Sweden"


def test_gzip_several_files_and_format_override(tmp_path, small_ttl):
    gz = tmp_path / "a.ttl.gz"
    gz.write_bytes(gzip.compress(small_ttl.read_bytes()))
    odd = tmp_path / "b.data"
    odd.write_text(f"<{EX}Oslo> <{EX}twin> <{EX}Stockholm> .\n")
    kg = MemoryKG.from_files([gz])
    assert kg.count() == SMALL_TRIPLES
    with pytest.raises(UserError, match="cannot tell the RDF syntax"):
        kg.add_file(odd)
    assert kg.add_file(odd, fmt="ntriples") == 1
    assert kg.count() == SMALL_TRIPLES + 1
    extra = tmp_path / "c.nt"
    extra.write_text(odd.read_text())
    both = open_kg(files=[str(gz), str(extra)])
    assert both.count() == SMALL_TRIPLES + 1
    assert both.name == "memory: a.ttl.gz, c.nt"


def test_bad_turtle_names_file_and_line_and_keeps_the_graph(tmp_path, small_ttl):
    kg = MemoryKG.from_files([small_ttl])
    bad = tmp_path / "bad.ttl"
    bad.write_text(f'<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a> <{EX}b> "open .\n<{EX}d> <{EX}e> <{EX}f> .\n')
    with pytest.raises(UserError) as err:
        kg.add_file(bad)
    assert str(err.value).startswith(f"{bad}:2: ")
    assert "\n" not in str(err.value)
    assert kg.count() == SMALL_TRIPLES  # nothing half-loaded
    assert kg.search("Stockholm")[0].entity == URIRef(EX + "Stockholm")


@pytest.mark.parametrize("ext, text, line", [
    (".nt", f'<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a> <{EX}b> oops .\n', 2),
    (".nq", f'<{EX}a> <{EX}b> <{EX}c> <{EX}g> .\n\n<{EX}a> oops .\n', 3),
    (".rdf", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
             '<rdf:Description rdf:about="http://x/a">\n</rdf:RDF>\n', 4),
    (".jsonld", '{"@id": "http://x/a",\n "http://x/b": [1,\n }', 3),
])
def test_bad_rdf_in_other_syntaxes_names_the_line(tmp_path, ext, text, line):
    bad = tmp_path / f"bad{ext}"
    bad.write_text(text)
    with pytest.raises(UserError) as err:
        MemoryKG.from_files([bad])
    assert str(err.value).startswith(f"{bad}:{line}: "), str(err.value)


def test_missing_file_and_unknown_format(tmp_path, small_ttl):
    with pytest.raises(UserError, match="no such file"):
        MemoryKG.from_files([tmp_path / "nope.ttl"])
    with pytest.raises(UserError, match="unknown RDF format 'yaml'"):
        MemoryKG.from_files([small_ttl], fmt="yaml")
    with pytest.raises(UserError, match="is a directory"):
        MemoryKG.from_files([tmp_path])


def test_truncated_gzip_is_a_user_error(tmp_path, small_ttl):
    gz = tmp_path / "cut.ttl.gz"
    gz.write_bytes(gzip.compress(small_ttl.read_bytes())[:40])
    with pytest.raises(UserError, match="cut.ttl.gz"):
        MemoryKG.from_files([gz])


def test_query_rejects_updates_and_bad_sparql(small_ttl):
    kg = MemoryKG.from_files([small_ttl])
    with pytest.raises(UserError, match="SPARQL"):
        kg.query("SELEC ?s WHERE { ?s ?p ?o }")
    with pytest.raises(UserError):
        kg.query(f"INSERT DATA {{ <{EX}a> <{EX}b> <{EX}c> }}")
    assert kg.count() == SMALL_TRIPLES
    with pytest.raises(UserError, match="only SELECT and ASK"):
        kg.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")


def test_progress_bar_reports_triples_on_big_loads(tmp_path, small_ttl, capsys, monkeypatch):
    import dialogqa.kg.loading as loading
    from dialogqa.progress import load_reporter

    monkeypatch.setattr(loading, "PROGRESS_MIN_BYTES", 0)  # the small file counts as big
    MemoryKG.from_files([small_ttl], progress=load_reporter(True))
    assert f"loaded {SMALL_TRIPLES} triples in" in capsys.readouterr().err
    monkeypatch.setattr(loading, "PROGRESS_MIN_BYTES", 1 << 30)
    MemoryKG.from_files([small_ttl], progress=load_reporter(True))
    assert capsys.readouterr().err == ""


# N-Triples and N-Quads are parsed by rdflib's parsers with a linear line reader
# (dialogqa/kg/ntriples.py): the same triples as rdflib's own, a long line in linear time.

_ODD_LINES = (
    f'<{EX}a> <{EX}label> "Ðà Lạt"@vi .\n'
    f'<{EX}a> <{EX}label> "Oslo"@EN-gb .\r\n'  # a language tag's case, CRLF
    f'<{EX}a> <{EX}name> "plain" .\r'  # a lone CR ends a line too
    f'<{EX}a> <{EX}name> "typed"^^<http://www.w3.org/2001/XMLSchema#string> .\n'
    f'<{EX}a> <{EX}pop> "0042"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
    f'<{EX}a> <{EX}note> "tab\\t quote\\" \\u00e9 \\U0001F600 line\\nbreak" .\n'
    f'<{EX}a> <{EX}sep> "a\u2028b\u0085c\x0cd" .\n'  # characters str.splitlines breaks at
    '# a comment\n\n'
    f'_:x <{EX}knows> _:y .\n_:y <{EX}knows> _:x .\n_:x <{EX}name> "x" .\n'
    f'<{EX}b>\t<{EX}p>   <{EX}c> . # trailing comment\n'
    f'<{EX}b> <{EX}p> <{EX}d> .'  # no line end on the last line
)


@pytest.mark.parametrize("ext, fmt", [(".nt", "nt"), (".nq", "nquads")])
def test_ntriples_and_nquads_give_the_triples_rdflib_gives(tmp_path, small_ttl, ext, fmt):
    from rdflib import Dataset
    from rdflib.compare import isomorphic

    world = Graph().parse("kb/world.ttl")
    text = world.serialize(format="nt", encoding="utf-8").decode() + _ODD_LINES
    if fmt == "nquads":  # the same statements, most in a named graph
        lines = text.splitlines(keepends=True)
        text = "".join(line.replace(" .", f" <{EX}g> .", 1) if i % 2 and line.startswith("<") else line
                       for i, line in enumerate(lines))
    path = tmp_path / f"sample{ext}"
    path.write_bytes(text.encode("utf-8"))
    ours = MemoryKG.from_files([path]).graph
    reference = Graph()
    if fmt == "nquads":
        ds = Dataset().parse(path, format="nquads")
        for s, p, o, _g in ds.quads((None, None, None, None)):
            reference.add((s, p, o))
    else:
        reference.parse(path, format="nt")
    assert len(ours) == len(world) + 12 == len(reference)
    assert isomorphic(ours, reference)  # same literals, datatypes, language tags; blank nodes up to renaming
    assert (URIRef(EX + "a"), URIRef(EX + "label"), Literal("Oslo", lang="EN-gb")) in ours


@pytest.mark.parametrize("ext", [".nt", ".nq"])
def test_a_one_megabyte_literal_loads_whole(tmp_path, ext):
    value = ("lorem ipsum \u2028dolor é " * 50_000)[:1_000_000]
    path = tmp_path / f"long{ext}"
    path.write_text(f'<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a> <{EX}text> "{value}"@en .\n<{EX}c> <{EX}b> <{EX}a> .\n',
                    encoding="utf-8")
    kg = MemoryKG.from_files([path])
    assert kg.count() == 3
    assert list(kg.graph.objects(URIRef(EX + "a"), URIRef(EX + "text"))) == [Literal(value, lang="en")]
