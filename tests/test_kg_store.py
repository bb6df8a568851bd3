"""Building and reopening the on-disk store; shared behaviour is in test_kg_contract.py."""

import gzip

import pytest
from rdflib import URIRef

from conftest import SMALL_TRIPLES
from dialogqa.errors import UserError
from dialogqa.kg.base import open_kg
from dialogqa.kg.store import StoreKG

EX = "http://example.org/"


@pytest.fixture(params=["1", "2"], ids=["one-process", "label-helper"])
def load_workers(request, monkeypatch):
    """Both ways of building: one pass here, or a forked helper for the label index."""
    monkeypatch.setenv("DIALOGQA_LOAD_WORKERS", request.param)
    return request.param


def test_load_gzip_and_quads_then_reopen_by_open_kg(tmp_path, small_ttl, load_workers):
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


def test_bad_file_names_line_and_leaves_the_old_store(tmp_path, small_ttl, load_workers):
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

    monkeypatch.setattr(loading, "PROGRESS_MIN_BYTES", 0)
    StoreKG.load([small_ttl], tmp_path / "st", progress=True).close()
    assert f"loaded {SMALL_TRIPLES} triples in" in capsys.readouterr().err
