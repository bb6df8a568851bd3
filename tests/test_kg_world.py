"""The shipped world graph: reproducible, labelled everywhere, and holding the facts it claims."""

from __future__ import annotations

import argparse
import gzip

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS, XSD

from dialogqa.errors import UserError
from dialogqa.datasets import world
from dialogqa.commands.kg import register_build_world
from dialogqa.datasets.world import PROP, WORLD, build_world, default_world_path


@pytest.fixture(scope="module")
def shipped() -> Graph:
    return Graph().parse(default_world_path(), format="turtle")


def test_rebuild_is_byte_identical_to_the_committed_file(tmp_path):
    with open(default_world_path(), encoding="utf-8") as f:
        built_with = [line for line in f if line.startswith("# Built with:")][0]
    if world.source_versions() not in built_with:
        pytest.skip(f"kb/world.ttl was {built_with[2:].strip()}; here: {world.source_versions()}")
    out, n = build_world(tmp_path / "world.ttl")
    assert out.read_bytes() == default_world_path().read_bytes(), (
        "kb/world.ttl is stale or the build is not deterministic: run `dialogqa kg build-world`")
    assert n > 20_000


def test_every_entity_and_predicate_has_a_label(shipped):
    terms = set(shipped.predicates()) | set(shipped.subjects())
    terms |= {o for o in shipped.objects() if isinstance(o, URIRef)}
    missing = sorted(t for t in terms if shipped.value(t, RDFS.label) is None)
    assert missing == []


def test_predicate_labels_are_natural(shipped):
    labels = {str(shipped.value(PROP[p], RDFS.label)) for p in world.PREDICATES}
    assert {"capital", "population", "area in km2", "continent", "currency", "language",
            "shares border with", "country"} <= labels


def test_norway_facts(shipped):
    norway = WORLD["country/norway"]
    oslo = shipped.value(norway, PROP.capital)
    assert str(shipped.value(oslo, RDFS.label)) == "Oslo"
    assert shipped.value(oslo, PROP.country) == norway
    assert shipped.value(norway, PROP.population) == Literal("5314336", datatype=XSD.integer)
    assert shipped.value(norway, PROP.areaKm2) == Literal("324220", datatype=XSD.integer)
    assert str(shipped.value(shipped.value(norway, PROP.continent), RDFS.label)) == "Europe"
    assert str(shipped.value(shipped.value(norway, PROP.currency), RDFS.label)) == "Norwegian Krone"
    neighbours = {str(shipped.value(n, RDFS.label)) for n in shipped.objects(norway, PROP.sharesBorderWith)}
    assert neighbours == {"Finland", "Russia", "Sweden"}
    languages = {str(shipped.value(x, RDFS.label)) for x in shipped.objects(norway, PROP.language)}
    assert {"Norwegian", "Norwegian Bokmål", "Northern Sami"} <= languages


def test_every_capital_is_a_city_of_its_country(shipped):
    capitals = list(shipped.subject_objects(PROP.capital))
    assert len(capitals) > 230
    for country, city in capitals:
        assert shipped.value(city, PROP.country) == country, (country, city)


def test_small_capitals_are_kept_below_the_threshold(tmp_path):
    out, n = build_world(tmp_path / "w.ttl.gz", min_city_population=5_000_000)
    g = Graph().parse(data=gzip.decompress(out.read_bytes()).decode(), format="turtle")
    cities = set(g.subjects(PROP.country, None))
    # Vaduz (about 5,000 people) is a capital, so it stays; Bergen is not, so it goes.
    assert any(str(g.value(c, RDFS.label)) == "Vaduz" for c in cities)
    assert not any(str(g.value(c, RDFS.label)) == "Bergen" for c in cities)
    assert len(g) == n and n < 5000


@pytest.mark.parametrize("code,name", [
    ("sv-SE", "Swedish"), ("se", "Northern Sami"), ("sma", "Southern Sami"),
    ("el", "Greek"), ("sw", "Swahili"), ("ber", "Berber languages"), ("", None), ("zzz", None),
])
def test_language_names(code, name):
    assert world.language_name(code) == name


def test_slug_is_ascii():
    assert world.slug("Norwegian Bokmål") == "norwegian-bokmal"
    assert world.slug("Bonaire, Saint Eustatius and Saba ") == "bonaire-saint-eustatius-and-saba"


def _parser():
    parser = argparse.ArgumentParser()
    register_build_world(parser.add_subparsers())
    return parser


def test_command_writes_the_file(tmp_path, capsys):
    from dialogqa.commands.cli import main

    assert main(["kg", "build-world", "--out", str(tmp_path / "w.ttl"),
                 "--min-city-population", "3000000"]) == 0
    assert "triples" in capsys.readouterr().out
    assert (tmp_path / "w.ttl").read_text().startswith("# dialogqa world graph")


def test_command_rejects_bad_input(tmp_path):
    args = _parser().parse_args(["build-world", "--out", str(tmp_path), "--min-city-population", "-1"])
    with pytest.raises(UserError, match="--min-city-population"):
        args.handler(args)
    blocker = tmp_path / "file"
    blocker.write_text("")
    args = _parser().parse_args(["build-world", "--out", str(blocker / "w.ttl"),
                                 "--min-city-population", "3000000"])
    with pytest.raises(UserError, match="cannot write"):
        args.handler(args)
