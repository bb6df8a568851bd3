"""Build the small generated graphs of kb/domains/: four domains with schemas of their own.

    python kb/domains/build.py            (writes kb/domains/{company,films,library,clubs}.ttl)

Seeded and deterministic. Names are made from syllables, so no fact is world knowledge a base
model could recall: a question is answered from the graph or not at all. Each predicate has an
``rdfs:label`` (what the graph calls it) and ``skos:altLabel`` paraphrases (how people ask for
it); the typed-dialogue generator (dialogqa/datasets/typed.py) phrases questions from both.

Together with kb/world.ttl (geography) and the KGConv graph (Wikidata: countries, food) these
are the schemas the question head is trained on; ``company`` is kept out of training entirely
as the project's unseen-graph dev set (transcripts/domains/company-typed.jsonl).
"""

from __future__ import annotations

import random
from pathlib import Path

from rdflib import RDF, RDFS, SKOS, XSD, Graph, Literal, Namespace, URIRef

HERE = Path(__file__).resolve().parent
SYL = ["ka", "lo", "ri", "ven", "tor", "mi", "sa", "bel", "dor", "na", "lis", "quo", "ter", "zan", "ul",
       "pe", "ro", "gan", "fel", "is", "mar", "to", "ne", "vo", "sil", "da", "rek", "jo", "nu", "ha"]


def _word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(SYL) for _ in range(n)).capitalize()


class Builder:
    def __init__(self, name: str, seed: int):
        self.rng = random.Random(seed)
        self.ns = Namespace(f"https://dialogqa.dev/{name}/")
        self.g = Graph()
        self.g.bind(name, self.ns)
        self.g.bind("skos", SKOS)
        self.used: set[str] = set()

    def prop(self, key: str, label: str, *alts: str) -> URIRef:
        p = self.ns[f"prop/{key}"]
        self.g.add((p, RDFS.label, Literal(label, lang="en")))
        for a in alts:
            self.g.add((p, SKOS.altLabel, Literal(a, lang="en")))
        return p

    def cls(self, key: str, label: str) -> URIRef:
        c = self.ns[f"class/{key}"]
        self.g.add((c, RDFS.label, Literal(label, lang="en")))
        return c

    def name(self, parts: int = 2) -> str:
        while True:
            text = " ".join(_word(self.rng, self.rng.choice((2, 2, 3))) for _ in range(parts))
            if text not in self.used:
                self.used.add(text)
                return text

    def entity(self, kind: str, cls: URIRef, label: str) -> URIRef:
        e = self.ns[f"{kind}/{label.lower().replace(' ', '-')}"]
        self.g.add((e, RDF.type, cls))
        self.g.add((e, RDFS.label, Literal(label, lang="en")))
        return e

    def add(self, s, p, o) -> None:
        self.g.add((s, p, o))

    def date(self, y0: int, y1: int) -> Literal:
        y = self.rng.randint(y0, y1)
        return Literal(f"{y:04d}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}", datatype=XSD.date)

    def year(self, y0: int, y1: int) -> Literal:
        return Literal(self.rng.randint(y0, y1), datatype=XSD.integer)

    def number(self, lo: int, hi: int) -> Literal:
        return Literal(self.rng.randint(lo, hi), datatype=XSD.integer)

    def write(self, path: Path) -> None:
        self.g.serialize(path, format="turtle")


def company() -> Builder:
    b = Builder("company", 11)
    person, dept, city, skill = (b.cls("person", "employee"), b.cls("department", "department"),
                                 b.cls("city", "city"), b.cls("skill", "skill"))
    manager = b.prop("manager", "manager", "boss", "reports to", "line manager")
    title = b.prop("jobTitle", "job title", "role", "position")
    in_dept = b.prop("department", "department", "team", "works in")
    hired = b.prop("hireDate", "hire date", "start date", "date of joining")
    salary = b.prop("salary", "annual salary", "pay", "yearly pay")
    office = b.prop("office", "office location", "office", "workplace")
    skills = b.prop("skill", "skill", "expertise", "speciality")
    head = b.prop("head", "head of department", "leader", "department head")
    budget = b.prop("budget", "budget", "yearly budget", "funding")
    floor = b.prop("floor", "floor", "storey", "level")
    cities = [b.entity("city", city, b.name(1)) for _ in range(6)]
    skillset = [b.entity("skill", skill, s) for s in (
        "Accounting", "Negotiation", "Python", "Logistics", "Design", "Statistics", "Welding", "Marketing")]
    depts = [b.entity("department", dept, d) for d in ("Finance", "Research", "Sales", "Operations", "Legal")]
    titles = ["analyst", "engineer", "accountant", "designer", "sales lead", "counsel", "technician"]
    people = []
    for d in depts:
        lead = b.entity("person", person, b.name())
        b.add(d, head, lead)
        b.add(d, budget, b.number(200_000, 9_000_000))
        b.add(d, floor, b.number(1, 30))
        b.add(lead, in_dept, d)
        b.add(lead, title, Literal("director", lang="en"))
        people.append((lead, None, d))
        for _ in range(b.rng.randint(4, 9)):
            p = b.entity("person", person, b.name())
            b.add(p, manager, lead)
            b.add(p, in_dept, d)
            b.add(p, title, Literal(b.rng.choice(titles), lang="en"))
            people.append((p, lead, d))
    for p, _, _ in people:
        b.add(p, hired, b.date(1995, 2024))
        b.add(p, salary, b.number(38_000, 190_000))
        b.add(p, office, b.rng.choice(cities))
        for s in b.rng.sample(skillset, b.rng.randint(1, 3)):
            b.add(p, skills, s)
    return b


def films() -> Builder:
    b = Builder("films", 12)
    film, person, genre, country = (b.cls("film", "film"), b.cls("person", "person"),
                                    b.cls("genre", "genre"), b.cls("country", "country"))
    director = b.prop("director", "directed by", "director", "filmmaker")
    cast = b.prop("cast", "cast member", "actor", "starring")
    released = b.prop("released", "release year", "year of release", "premiere year")
    runtime = b.prop("runtime", "duration in minutes", "running time", "length")
    genres = b.prop("genre", "genre", "kind of film", "category")
    origin = b.prop("origin", "country of origin", "made in", "produced in")
    gross = b.prop("gross", "box office", "takings", "gross earnings")
    born = b.prop("born", "date of birth", "birthday", "birth date")
    nationality = b.prop("nationality", "citizenship", "nationality", "home country")
    countries = [b.entity("country", country, b.name(1)) for _ in range(6)]
    gs = [b.entity("genre", genre, g) for g in ("Drama", "Comedy", "Thriller", "Western", "Musical", "Documentary")]
    people = []
    for _ in range(45):
        p = b.entity("person", person, b.name())
        b.add(p, born, b.date(1930, 2000))
        b.add(p, nationality, b.rng.choice(countries))
        people.append(p)
    for _ in range(40):
        title = "The " + b.name(1) if b.rng.random() < 0.5 else b.name(2)
        f = b.entity("film", film, title)
        b.add(f, director, b.rng.choice(people[:12]))
        for a in b.rng.sample(people[12:], b.rng.randint(2, 5)):
            b.add(f, cast, a)
        b.add(f, released, b.year(1950, 2024))
        b.add(f, runtime, b.number(78, 201))
        for g in b.rng.sample(gs, b.rng.randint(1, 2)):
            b.add(f, genres, g)
        b.add(f, origin, b.rng.choice(countries))
        b.add(f, gross, b.number(100_000, 900_000_000))
    return b


def library() -> Builder:
    b = Builder("library", 13)
    book, author, publisher, city, topic = (b.cls("book", "book"), b.cls("author", "author"),
                                            b.cls("publisher", "publisher"), b.cls("city", "city"),
                                            b.cls("topic", "topic"))
    wrote = b.prop("author", "written by", "author", "writer")
    pub = b.prop("publisher", "publisher", "published by", "imprint")
    year = b.prop("published", "publication year", "year published", "year of publication")
    pages = b.prop("pages", "number of pages", "page count", "length")
    subject = b.prop("subject", "main subject", "topic", "theme")
    birthplace = b.prop("birthplace", "place of birth", "birthplace", "hometown")
    birthdate = b.prop("birthdate", "date of birth", "birthday", "birth date")
    founded = b.prop("founded", "founding year", "year of foundation", "year established")
    hq = b.prop("hq", "headquarters", "head office", "main office")
    cities = [b.entity("city", city, b.name(1)) for _ in range(7)]
    topics = [b.entity("topic", topic, t) for t in ("History", "Astronomy", "Gardening", "Poetry", "Law", "Cooking")]
    pubs = []
    for _ in range(6):
        p = b.entity("publisher", publisher, b.name(1) + " Press")
        b.add(p, founded, b.year(1800, 2010))
        b.add(p, hq, b.rng.choice(cities))
        pubs.append(p)
    authors = []
    for _ in range(25):
        a = b.entity("author", author, b.name())
        b.add(a, birthplace, b.rng.choice(cities))
        b.add(a, birthdate, b.date(1900, 1995))
        authors.append(a)
    for _ in range(50):
        bk = b.entity("book", book, b.name(1) + " " + b.rng.choice(["Tales", "Letters", "Atlas", "Diaries", "Notes", "Songs"]))
        for a in b.rng.sample(authors, 1 if b.rng.random() < 0.8 else 2):
            b.add(bk, wrote, a)
        b.add(bk, pub, b.rng.choice(pubs))
        b.add(bk, year, b.year(1920, 2024))
        b.add(bk, pages, b.number(60, 900))
        for t in b.rng.sample(topics, b.rng.randint(1, 2)):
            b.add(bk, subject, t)
    return b


def clubs() -> Builder:
    b = Builder("clubs", 14)
    club, player, stadium, league, city = (b.cls("club", "club"), b.cls("player", "player"),
                                           b.cls("stadium", "stadium"), b.cls("league", "league"),
                                           b.cls("city", "city"))
    plays_for = b.prop("playsFor", "plays for", "team", "club")
    position = b.prop("position", "playing position", "position", "role on the pitch")
    height = b.prop("height", "height in centimetres", "height", "stature")
    born = b.prop("born", "date of birth", "birthday", "birth date")
    founded = b.prop("founded", "year founded", "founding year", "year of foundation")
    home = b.prop("stadium", "home ground", "stadium", "home stadium")
    capacity = b.prop("capacity", "seating capacity", "capacity", "number of seats")
    in_league = b.prop("league", "league", "competition", "division")
    coach = b.prop("coach", "head coach", "coach", "manager")
    located = b.prop("city", "located in", "city", "home town")
    cities = [b.entity("city", city, b.name(1)) for _ in range(8)]
    leagues = [b.entity("league", league, b.name(1) + " League") for _ in range(3)]
    for _ in range(14):
        c = b.entity("club", club, b.name(1) + " " + b.rng.choice(["United", "Rovers", "Athletic", "City", "Wanderers"]))
        s = b.entity("stadium", stadium, b.name(1) + " Park")
        b.add(c, home, s)
        b.add(s, capacity, b.number(4_000, 90_000))
        b.add(s, located, b.rng.choice(cities))
        b.add(c, located, b.rng.choice(cities))
        b.add(c, founded, b.year(1860, 1990))
        b.add(c, in_league, b.rng.choice(leagues))
        k = b.entity("player", player, b.name())  # a former player who coaches
        b.add(c, coach, k)
        b.add(k, born, b.date(1955, 1985))
        for _ in range(b.rng.randint(4, 7)):
            p = b.entity("player", player, b.name())
            b.add(p, plays_for, c)
            b.add(p, position, Literal(b.rng.choice(["goalkeeper", "defender", "midfielder", "forward"]), lang="en"))
            b.add(p, height, b.number(165, 201))
            b.add(p, born, b.date(1985, 2006))
    return b


def main() -> None:
    for name, make in (("company", company), ("films", films), ("library", library), ("clubs", clubs)):
        b = make()
        b.write(HERE / f"{name}.ttl")
        print(f"{name}.ttl: {len(b.g)} triples")


if __name__ == "__main__":
    main()
