"""`dialogqa kg info|query|search|validate|load`, driven through dialogqa.commands.cli.main."""

from __future__ import annotations

import json

import pytest

from conftest import SMALL_TRIPLES
from dialogqa.commands.cli import main

EX = "http://example.org/"


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, err, *fragments):
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dialogqa: error: "), err
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in err


def test_info_table_and_json(capsys, small_ttl):
    status, out, _ = run(capsys, "kg", "info", str(small_ttl))
    assert status == 0
    assert f"triples     {SMALL_TRIPLES}" in out
    assert f"{EX}country" in out and "http://example.org/ " in out.replace("│", " ")
    status, out, _ = run(capsys, "kg", "info", "--kg", str(small_ttl), "--json")
    info = json.loads(out)
    assert (info["triples"], info["predicates"]) == (SMALL_TRIPLES, 11)
    assert info["entities"] == 13
    assert info["top_predicates"][:2] == [
        {"iri": "http://www.w3.org/2000/01/rdf-schema#label", "label": "label", "triples": 8},
        {"iri": f"{EX}country", "label": "country", "triples": 5}]
    assert info["namespaces"][0] == {"namespace": EX, "terms": 17}


def test_info_store_matches_memory(capsys, small_ttl, tmp_path):
    store = tmp_path / "st"
    status, out, _ = run(capsys, "kg", "load", str(small_ttl), "--store", str(store))
    assert status == 0 and f"stored {SMALL_TRIPLES} triples" in out
    _, mem, _ = run(capsys, "kg", "info", str(small_ttl), "--json")
    status, disk, _ = run(capsys, "kg", "info", "--store", str(store), "--json")
    assert status == 0
    mem, disk = json.loads(mem), json.loads(disk)
    for key in ("triples", "entities", "predicates", "namespaces"):
        assert mem[key] == disk[key], key
    assert sorted(map(str, mem["top_predicates"])) == sorted(map(str, disk["top_predicates"]))
    _, mem, _ = run(capsys, "kg", "validate", str(small_ttl), "--json")
    _, disk, _ = run(capsys, "kg", "validate", "--store", str(store), "--json")
    mem, disk = json.loads(mem), json.loads(disk)
    assert {k: v for k, v in mem.items() if k != "name"} == {k: v for k, v in disk.items() if k != "name"}


def test_info_counts_stored_triples_when_files_repeat_them(capsys, small_ttl, tmp_path):
    store = tmp_path / "st"
    assert run(capsys, "kg", "load", str(small_ttl), str(small_ttl), "--store", str(store))[0] == 0
    _, mem, _ = run(capsys, "kg", "info", str(small_ttl), "--json")
    _, disk, _ = run(capsys, "kg", "info", "--store", str(store), "--json")
    mem, disk = json.loads(mem), json.loads(disk)
    assert disk["triples"] == SMALL_TRIPLES
    assert mem["top_predicates"] == disk["top_predicates"]


@pytest.mark.endpoint
def test_info_and_search_over_an_endpoint(capsys, small_ttl, virtuoso_graph):
    url = virtuoso_graph(small_ttl)
    status, out, _ = run(capsys, "kg", "info", "--endpoint", url, "--json")
    assert status == 0 and json.loads(out)["triples"] == SMALL_TRIPLES
    status, out, _ = run(capsys, "kg", "search", "capital of Swedn", "--endpoint", url, "--json")
    assert [m["entity"] for m in json.loads(out)] == [f"{EX}Sweden"]


def test_query_select_ask_json_and_file(capsys, small_ttl, tmp_path):
    q = f"SELECT ?c ?x WHERE {{ ?c <{EX}capital> ?x }} ORDER BY ?c"
    status, out, err = run(capsys, "kg", "query", q, str(small_ttl))
    assert status == 0 and f"{EX}Yamoussoukro" in out and "3 rows" in err
    status, out, _ = run(capsys, "kg", "query", q, str(small_ttl), "--json")
    data = json.loads(out)
    assert data["variables"] == ["c", "x"]
    assert data["rows"][1] == {"c": f"{EX}Norway", "x": f"{EX}Oslo"}
    status, out, _ = run(capsys, "kg", "query", f"ASK {{ <{EX}Oslo> ?p ?o }}", str(small_ttl))
    assert (status, out.strip()) == (0, "yes")
    qfile = tmp_path / "q.rq"
    qfile.write_text(f"ASK {{ <{EX}Atlantis> ?p ?o }}")
    status, out, _ = run(capsys, "kg", "query", f"@{qfile}", str(small_ttl), "--json")
    assert json.loads(out) == {"boolean": False}


def test_query_errors(capsys, small_ttl, tmp_path):
    status, _, err = run(capsys, "kg", "query", "SELECT ?s WHERE { ?s ?p", str(small_ttl))
    assert_one_line_error(status, err, "SPARQL error")
    status, _, err = run(capsys, "kg", "query", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", str(small_ttl))
    assert_one_line_error(status, err, "only SELECT and ASK")
    status, _, err = run(capsys, "kg", "query", f"@{tmp_path / 'none.rq'}", str(small_ttl))
    assert_one_line_error(status, err, "none.rq: cannot read the query file")


def test_search_table_json_and_nothing_found(capsys, small_ttl):
    status, out, _ = run(capsys, "kg", "search", "Is New York City bigger than Stokholm?", str(small_ttl))
    assert status == 0
    assert out.index("New York City") < out.index("Stockholm")
    status, out, _ = run(capsys, "kg", "search", "cote d'ivoire", str(small_ttl), "--json")
    [hit] = json.loads(out)
    assert hit == {"entity": f"{EX}IvoryCoast", "label": "Côte d'Ivoire", "score": 1.0,
                   "text": "cote d'ivoire", "start": 0, "end": 13}
    status, out, err = run(capsys, "kg", "search", "nothing here", str(small_ttl))
    assert status == 0 and out == "" and "no entity found" in err
    status, _, err = run(capsys, "kg", "search", "x", str(small_ttl), "--limit", "0")
    assert_one_line_error(status, err, "--limit must be at least 1")


def test_search_reads_a_long_text_up_to_the_question_cap(capsys, small_ttl):
    from dialogqa.kg.base import MAX_QUESTION_CHARS

    status, out, err = run(capsys, "kg", "search", "Stokholm " + "x" * 40_000 + " Oslo", str(small_ttl), "--json")
    assert status == 0
    assert [hit["label"] for hit in json.loads(out)] == ["Stockholm"]
    assert err == f"note: TEXT has 40,014 characters; searching the first {MAX_QUESTION_CHARS:,}, as a question is cut\n"


def test_validate_reports_label_coverage(capsys, small_ttl):
    status, out, _ = run(capsys, "kg", "validate", str(small_ttl))
    assert status == 0
    assert "syntax ok" in out
    assert "entities with a label: 10 of 12" in out
    assert "no label: http://example.org/French_Guiana" in out
    assert "no label: http://example.org/Yamoussoukro" in out
    status, out, _ = run(capsys, "kg", "validate", str(small_ttl), "--json")
    report = json.loads(out)
    assert (report["labelled"], report["entities"], report["syntax"]) == (10, 12, "ok")
    assert (report["labelled_predicates"], report["predicates"]) == (1, 11)


def test_bad_input_exits_2_with_one_line(capsys, small_ttl, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text(f"<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a> <{EX}b> .\n")
    status, _, err = run(capsys, "kg", "validate", str(small_ttl), str(bad))
    assert_one_line_error(status, err, f"{bad}:2: bad syntax")
    status, _, err = run(capsys, "kg", "info", str(tmp_path / "missing.nt"))
    assert_one_line_error(status, err, "missing.nt: no such file")
    status, _, err = run(capsys, "kg", "info", str(small_ttl), "--format", "yaml")
    assert_one_line_error(status, err, "unknown RDF format 'yaml'")
    status, _, err = run(capsys, "kg", "info")
    assert_one_line_error(status, err, "no graph given")
    status, _, err = run(capsys, "kg", "info", str(small_ttl), "--store", str(tmp_path))
    assert_one_line_error(status, err, "give only one of")
    status, _, err = run(capsys, "kg", "info", "--store", str(tmp_path / "nostore"))
    assert_one_line_error(status, err, "does not exist", "kg load")
    status, _, err = run(capsys, "kg", "info", "--endpoint", "http://127.0.0.1:9/sparql")
    assert_one_line_error(status, err, "cannot reach SPARQL endpoint")


def test_load_refuses_to_overwrite_and_keeps_the_store_on_bad_files(capsys, small_ttl, tmp_path):
    store = tmp_path / "st"
    assert run(capsys, "kg", "load", str(small_ttl), "--store", str(store))[0] == 0
    status, _, err = run(capsys, "kg", "load", str(small_ttl), "--store", str(store))
    assert_one_line_error(status, err, "already exists", "--force")
    bad = tmp_path / "bad.nt"
    bad.write_text("<http://x/a> <http://x/b> .\n")
    status, _, err = run(capsys, "kg", "load", str(bad), "--store", str(store), "--force")
    assert_one_line_error(status, err, f"{bad}:1:")
    status, out, _ = run(capsys, "kg", "info", "--store", str(store), "--json")
    assert json.loads(out)["triples"] == SMALL_TRIPLES


def test_validate_and_load_refuse_the_same_iri_and_load_clears_a_killed_load(capsys, tmp_path):
    import os
    import socket
    import subprocess
    import sys

    bad = tmp_path / "space.ttl"
    bad.write_text(f"<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a b> <{EX}b> <{EX}c> .\n")
    for argv in (["validate", str(bad)], ["load", str(bad), "--store", str(tmp_path / "st")]):
        status, _, err = run(capsys, "kg", *argv)
        assert_one_line_error(status, err, f"{bad}:2: ", "Invalid IRI code point ' '")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = tmp_path / f".st.loading-{gone.pid}@{socket.gethostname()}-x1"
    left.mkdir()
    bad.write_text(f"<{EX}a> <{EX}b> <{EX}c> .\n")
    status, out, err = run(capsys, "kg", "load", str(bad), "--store", str(tmp_path / "st"))
    assert status == 0 and "stored 1 triples" in out
    assert err == f"removed {left}, left by an interrupted load\n"
    assert sorted(os.listdir(tmp_path)) == ["space.ttl", "st"]


def test_kg_without_subcommand_prints_help(capsys):
    status, out, _ = run(capsys, "kg")
    assert status == 2 and "info" in out and "load" in out


EVIL = "Oslo\x1b]0;owned\x07\x1b[31m[bold]x[/bold]\u202eolsO\u2066"
EVIL_SHOWN = "Oslo\\x1b]0;owned\\x07\\x1b[31m[bold]x[/bold]\\u202eolsO\\u2066"


@pytest.fixture
def evil_ttl(tmp_path):
    path = tmp_path / "evil.ttl"
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in EVIL)
    path.write_text(f'<{EX}Oslo> <http://www.w3.org/2000/01/rdf-schema#label> "{escaped}" .\n'
                    f'<{EX}Norway> <{EX}capital> <{EX}Oslo> .\n', encoding="utf-8")
    return path


def test_tables_show_control_and_bidi_characters_escaped_json_keeps_them(capsys, evil_ttl):
    query = "SELECT ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    status, out, _ = run(capsys, "kg", "query", query, "--kg", str(evil_ttl))
    assert status == 0 and EVIL_SHOWN in out  # markup in a label is data too: shown as typed
    assert not any(ch in out for ch in "\x1b\x07\u202e\u2066")
    status, out, _ = run(capsys, "kg", "query", query, "--kg", str(evil_ttl), "--json")
    assert json.loads(out)["rows"] == [{"l": EVIL}]


def test_error_messages_escape_what_they_echo(capsys, tmp_path):
    status, _, err = run(capsys, "kg", "info", str(tmp_path / "a\x1b[2Jb\u202e.nt"))
    assert_one_line_error(status, err, "a\\x1b[2Jb\\u202e.nt: no such file")
    assert "\x1b" not in err and "\u202e" not in err
