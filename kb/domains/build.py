"""Build the small generated graphs of kb/domains/: eight domains with schemas of their own.

    python kb/domains/build.py   (writes kb/domains/{company,films,library,clubs,restaurants,
                                  software,art,zoo}.ttl)

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

from dialogqa.kg.labels import DQA, INVERSE_QUESTION, QUESTION

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
        self.g.bind("dqa", DQA)  # a fixed prefix, not ns1/ns2 by the order of first use
        self.used: set[str] = set()

    def prop(self, key: str, label: str, *alts: str, asks: tuple[str, ...] = (),
             inverse: tuple[str, ...] = ()) -> URIRef:
        """A predicate, its label, its paraphrases (skos:altLabel) and how people ask for it
        without them (dqa:question, "…" where the subject goes: "Who runs …?"; and, for its
        subjects, dqa:inverseQuestion, "…" where the object goes: "Which films is … in?")."""
        p = self.ns[f"prop/{key}"]
        self.g.add((p, RDFS.label, Literal(label, lang="en")))
        for a in alts:
            self.g.add((p, SKOS.altLabel, Literal(a, lang="en")))
        for q in asks:
            self.g.add((p, QUESTION, Literal(q, lang="en")))
        for q in inverse:
            self.g.add((p, INVERSE_QUESTION, Literal(q, lang="en")))
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
    director = b.prop("director", "directed by", "director", "filmmaker",
                      asks=("Who made …?", "Who was behind the camera for …?", "Who shot …?"),
                      inverse=("Which films did … make?", "What has … made?", "Which pictures were shot by …?"))
    cast = b.prop("cast", "cast member", "actor", "starring",
                  asks=("Who is in …?", "Who acts in …?", "Who appears in …?", "Which actors are in …?",
                        "Who plays in …?"),
                  inverse=("Which films is … in?", "What has … appeared in?", "Which films did … act in?",
                           "What did … play in?", "Which movies feature …?"))
    released = b.prop("released", "release year", "year of release", "premiere year",
                      asks=("When did … come out?", "When was … in cinemas?"))
    runtime = b.prop("runtime", "duration in minutes", "running time", "length",
                     asks=("How long is …?", "How long does … last?"))
    genres = b.prop("genre", "genre", "kind of film", "category",
                    asks=("What sort of film is …?", "What kind of movie is …?"),
                    inverse=("Which films are in the … category?",))
    origin = b.prop("origin", "country of origin", "made in", "produced in",
                    asks=("Where was … made?", "Which country does … come from?"),
                    inverse=("Which films were shot in …?", "Which movies come from …?"))
    gross = b.prop("gross", "box office", "takings", "gross earnings",
                   asks=("How much did … make?", "How much money did … bring in?"))
    born = b.prop("born", "date of birth", "birthday", "birth date",
                  asks=("When was … born?", "How old is …?"))
    nationality = b.prop("nationality", "citizenship", "nationality", "home country",
                         asks=("Where is … from?", "Which country is … from?"),
                         inverse=("Who comes from …?", "Which people are from …?"))
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
    wrote = b.prop("author", "written by", "author", "writer",
                   asks=("Who wrote …?", "Whose book is …?", "Who is behind …?"),
                   inverse=("What did … write?", "Which books did … write?", "Which books are by …?",
                            "What has … put on paper?"))
    pub = b.prop("publisher", "publisher", "published by", "imprint",
                 asks=("Who brought out …?", "Which house printed …?"),
                 inverse=("Which books did … bring out?", "What has … printed?"))
    year = b.prop("published", "publication year", "year published", "year of publication",
                  asks=("When did … come out?", "When was … first printed?"))
    pages = b.prop("pages", "number of pages", "page count", "length",
                   asks=("How long is …?", "How thick is …?"))
    subject = b.prop("subject", "main subject", "topic", "theme",
                     asks=("What is … about?", "What does … deal with?", "Which topics does … cover?"),
                     inverse=("Which books are about …?", "What can I read on …?"))
    birthplace = b.prop("birthplace", "place of birth", "birthplace", "hometown",
                        asks=("Where was … born?", "Where does … come from?"),
                        inverse=("Which authors were born in …?", "Who was born in …?"))
    birthdate = b.prop("birthdate", "date of birth", "birthday", "birth date",
                       asks=("When was … born?", "How old is …?"))
    founded = b.prop("founded", "founding year", "year of foundation", "year established",
                     asks=("When was … set up?", "How old is …?"))
    hq = b.prop("hq", "headquarters", "head office", "main office",
                asks=("Where is … based?",), inverse=("Which publishers are based in …?",))
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
    plays_for = b.prop("playsFor", "plays for", "team", "club",
                       asks=("Which side does … play for?", "Who does … turn out for?", "Where does … play?"),
                       inverse=("Who plays for …?", "Which players are at …?", "Who is in the … squad?",
                                "Which players does … have?"))
    position = b.prop("position", "playing position", "position", "role on the pitch",
                      asks=("Where does … play on the pitch?", "What does … play as?"))
    height = b.prop("height", "height in centimetres", "height", "stature",
                    asks=("How tall is …?",))
    born = b.prop("born", "date of birth", "birthday", "birth date",
                  asks=("When was … born?", "How old is …?"))
    founded = b.prop("founded", "year founded", "founding year", "year of foundation",
                     asks=("When was … formed?", "How old is …?"))
    home = b.prop("stadium", "home ground", "stadium", "home stadium",
                  asks=("Where does … play its home games?", "Where do … play at home?"),
                  inverse=("Who plays home games at …?", "Which club calls … home?"))
    capacity = b.prop("capacity", "seating capacity", "capacity", "number of seats",
                      asks=("How many fans fit in …?", "How many people can … hold?"))
    in_league = b.prop("league", "league", "competition", "division",
                       asks=("Which division is … in?", "What does … compete in?"),
                       inverse=("Which clubs play in …?", "Which teams are in …?"))
    coach = b.prop("coach", "head coach", "coach", "manager",
                   asks=("Who manages …?", "Who is in charge of …?", "Who trains …?"),
                   inverse=("Which club does … manage?", "Who does … coach?"))
    located = b.prop("city", "located in", "city", "home town",
                     asks=("Where is … from?", "Which town is … in?"),
                     inverse=("Which clubs are in …?", "Which clubs come from …?"))
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


# Four more training domains (session 25) whose predicates also carry dqa:question phrasings:
# questions said with a verb or an everyday word the labels do not hold ("Who runs …?" for
# "director", "What is … made of?" for "medium"), so a model trained on their dialogues learns
# to read a relation from how it is asked, not from a word it shares with the label.

def restaurants() -> Builder:
    b = Builder("restaurants", 15)
    restaurant, chef, district, cuisine, school = (
        b.cls("restaurant", "restaurant"), b.cls("chef", "chef"), b.cls("district", "district"),
        b.cls("cuisine", "cuisine"), b.cls("school", "cookery school"))
    head_chef = b.prop("headChef", "head chef", "chef de cuisine", "kitchen lead",
                       asks=("Who cooks at …?", "Who runs the kitchen at …?",
                             "Who is in charge of the kitchen at …?", "Whose cooking is served at …?"),
        inverse=("Where does … cook?", "Which restaurants does … cook at?", "Which kitchens does … run?"))
    serves = b.prop("cuisine", "cuisine", "style of cooking",
                    asks=("What kind of food does … serve?", "What sort of dishes does … make?",
                          "What can I eat at …?"),
        inverse=("Which restaurants serve … food?", "Where can I eat … food?"))
    opened = b.prop("opened", "opening year", "year opened",
                    asks=("When did … open?", "Since when has … been open?",
                          "How long has … been around?"))
    seats = b.prop("seats", "number of seats", "seating",
                   asks=("How many guests can … take?", "How many people fit in …?", "How big is …?"))
    district_of = b.prop("district", "located in district", "neighbourhood",
                         asks=("Where is …?", "Which part of town is … in?", "Where do I find …?"),
        inverse=("Which restaurants are in …?", "Where can I eat in …?"))
    owner = b.prop("owner", "owned by", "proprietor",
                   asks=("Who owns …?", "Whose place is …?", "Who bought …?"),
        inverse=("Which restaurants does … own?", "What does … own?"))
    price = b.prop("price", "average bill per person", "price per head",
                   asks=("How much does a meal at … cost?", "How expensive is …?",
                         "What will dinner at … set me back?"))
    trained = b.prop("trainedAt", "trained at", "alma mater",
                     asks=("Where did … learn to cook?", "Where did … study?", "Which school did … go to?"),
        inverse=("Which chefs trained at …?", "Who studied at …?"))
    born = b.prop("born", "date of birth", "birth date",
                  asks=("When was … born?", "What is …'s birthday?"))
    mentor = b.prop("mentor", "mentor", "trained under",
                    asks=("Who taught …?", "Who did … learn from?", "Who showed … the ropes?"),
        inverse=("Who did … train?", "Which chefs did … teach?", "Who learned from …?"))
    districts = [b.entity("district", district, b.name(1)) for _ in range(6)]
    cuisines = [b.entity("cuisine", cuisine, c) for c in ("Georgian", "Peruvian", "Vegan", "Seafood",
                                                          "Basque", "Sichuan")]
    schools = [b.entity("school", school, b.name(1) + " Culinary Institute") for _ in range(3)]
    chefs = []
    for _ in range(22):
        c = b.entity("chef", chef, b.name())
        b.add(c, trained, b.rng.choice(schools))
        b.add(c, born, b.date(1950, 1998))
        if chefs and b.rng.random() < 0.6:
            b.add(c, mentor, b.rng.choice(chefs))
        chefs.append(c)
    for _ in range(30):
        r = b.entity("restaurant", restaurant, b.name(1) + " " + b.rng.choice(["Kitchen", "Bistro", "Table", "Grill"]))
        b.add(r, head_chef, b.rng.choice(chefs))
        for c in b.rng.sample(cuisines, b.rng.randint(1, 2)):
            b.add(r, serves, c)
        b.add(r, opened, b.year(1960, 2024))
        b.add(r, seats, b.number(12, 240))
        b.add(r, district_of, b.rng.choice(districts))
        b.add(r, owner, b.rng.choice(chefs))
        b.add(r, price, b.number(9, 180))
    return b


def software() -> Builder:
    b = Builder("software", 16)
    project, person, org, language, licence = (
        b.cls("project", "software project"), b.cls("person", "developer"), b.cls("org", "company"),
        b.cls("language", "programming language"), b.cls("licence", "licence"))
    developer = b.prop("developer", "developer", "developed by",
                       asks=("Who makes …?", "Which company is behind …?", "Who builds …?"),
        inverse=("Which projects does … make?", "What does … build?"))
    written = b.prop("language", "programming language", "implementation language",
                     asks=("What is … written in?", "What is … coded in?", "Which language was … built with?"),
        inverse=("Which projects are written in …?", "What is built with …?"))
    licensed = b.prop("licence", "licence", "software license",
                      asks=("Under what terms is … released?", "Can I reuse …, under what terms?",
                            "What terms is … distributed under?"),
        inverse=("Which projects are released under …?",))
    released = b.prop("released", "first release date", "initial release",
                      asks=("When did … first come out?", "When was … first released?",
                            "When did … ship?"))
    maintainer = b.prop("maintainer", "maintainer", "lead maintainer",
                        asks=("Who looks after …?", "Who keeps … going?", "Who takes care of …?"),
        inverse=("Which projects does … look after?", "What does … maintain?"))
    depends = b.prop("dependsOn", "depends on", "dependency",
                     asks=("What does … need to run?", "What does … rely on?", "What does … build on?"),
        inverse=("Which projects rely on …?", "What needs … to run?", "What builds on …?"))
    stars = b.prop("stars", "star count", "stars",
                   asks=("How popular is …?", "How many people starred …?"))
    employer = b.prop("employer", "employer", "works for",
                      asks=("Who does … work for?", "Where is … employed?", "Who pays …?"),
        inverse=("Who works for …?", "Which developers does … employ?", "Who is on the staff of …?"))
    hq = b.prop("hq", "headquarters location", "head office",
                asks=("Where is … based?", "Where does … have its offices?"),
        inverse=("Which companies are based in …?",))
    founded = b.prop("founded", "year founded", "founding year",
                     asks=("When was … set up?", "When did … start out?", "How old is …?"))
    cities = [b.entity("city", b.cls("city", "city"), b.name(1)) for _ in range(6)]
    langs = [b.entity("language", language, l) for l in ("Rust", "Go", "OCaml", "Python", "Kotlin", "Zig")]
    licences = [b.entity("licence", licence, l) for l in ("MIT", "Apache-2.0", "GPL-3.0", "BSD-3-Clause")]
    orgs = []
    for _ in range(6):
        o = b.entity("org", org, b.name(1) + " " + b.rng.choice(["Labs", "Systems", "Software"]))
        b.add(o, hq, b.rng.choice(cities))
        b.add(o, founded, b.year(1975, 2020))
        orgs.append(o)
    people = []
    for _ in range(20):
        p = b.entity("person", person, b.name())
        b.add(p, employer, b.rng.choice(orgs))
        people.append(p)
    projects = []
    for _ in range(32):
        pr = b.entity("project", project, b.name(1).lower() + b.rng.choice(["db", "kit", "flow", "ctl", "js"]))
        b.add(pr, developer, b.rng.choice(orgs))
        b.add(pr, written, b.rng.choice(langs))
        b.add(pr, licensed, b.rng.choice(licences))
        b.add(pr, released, b.date(1995, 2024))
        b.add(pr, maintainer, b.rng.choice(people))
        b.add(pr, stars, b.number(10, 90_000))
        for d in b.rng.sample(projects, min(len(projects), b.rng.randint(0, 3))):
            b.add(pr, depends, d)
        projects.append(pr)
    return b


def art() -> Builder:
    b = Builder("art", 17)
    work, artist, museum, city, movement, medium = (
        b.cls("work", "artwork"), b.cls("artist", "artist"), b.cls("museum", "museum"),
        b.cls("city", "city"), b.cls("movement", "art movement"), b.cls("medium", "medium"))
    creator = b.prop("creator", "creator", "artist",
                     asks=("Who painted …?", "Who made …?", "Whose work is …?"),
        inverse=("Which works did … paint?", "What did … make?", "Which pieces are by …?"))
    made = b.prop("made", "year of creation", "date made",
                  asks=("When was … painted?", "When was … made?", "How old is …?"))
    held = b.prop("collection", "collection", "held by",
                  asks=("Where can I see …?", "Which museum has …?", "Where is … on display?",
                        "Where does … hang?"),
        inverse=("Which works does … have?", "What can I see at …?", "Which works hang in …?"))
    material = b.prop("medium", "medium", "material",
                      asks=("What is … made of?", "What was … painted with?", "What did … use?"),
        inverse=("Which works are made of …?",))
    height = b.prop("height", "height in centimetres", "height",
                    asks=("How tall is …?", "How high is …?"))
    style = b.prop("movement", "movement", "style",
                   asks=("What style is … in?", "Which school does … belong to?"),
        inverse=("Which artists belong to …?", "Who painted in the … style?"))
    birthplace = b.prop("birthplace", "place of birth", "birthplace",
                        asks=("Where does … come from?", "Where was … born?"))
    teacher = b.prop("teacher", "student of", "teacher",
                     asks=("Who taught …?", "Who did … learn from?", "Who trained …?"),
        inverse=("Who did … teach?", "Which artists did … train?", "Who learned from …?"))
    located = b.prop("city", "located in", "city",
                     asks=("Which city is … in?", "Where is …?"))
    director = b.prop("director", "director", "head of museum",
                      asks=("Who runs …?", "Who is in charge of …?", "Who leads …?"),
        inverse=("Which museum does … run?", "Where is … in charge?"))
    visitors = b.prop("visitors", "annual visitors", "visitor numbers",
                      asks=("How many people visit … each year?", "How busy is …?"))
    cities = [b.entity("city", city, b.name(1)) for _ in range(6)]
    movements = [b.entity("movement", movement, m) for m in ("Fauvism", "Futurism", "Tonalism", "Op art", "Suprematism")]
    media = [b.entity("medium", medium, m) for m in ("oil on canvas", "tempera", "bronze", "gouache", "marble")]
    people = [b.entity("person", b.cls("person", "person"), b.name()) for _ in range(6)]
    museums = []
    for i in range(6):
        m = b.entity("museum", museum, b.name(1) + " " + b.rng.choice(["Gallery", "Museum", "Kunsthalle"]))
        b.add(m, located, b.rng.choice(cities))
        b.add(m, director, people[i])
        b.add(m, visitors, b.number(20_000, 3_000_000))
        museums.append(m)
    artists = []
    for _ in range(18):
        a = b.entity("artist", artist, b.name())
        b.add(a, birthplace, b.rng.choice(cities))
        b.add(a, style, b.rng.choice(movements))
        if artists and b.rng.random() < 0.5:
            b.add(a, teacher, b.rng.choice(artists))
        artists.append(a)
    for _ in range(40):
        w = b.entity("work", work, b.rng.choice(["The ", ""]) + b.name(1) + " " + b.rng.choice(
            ["Garden", "Harbour", "Dancer", "Study", "Bridge", "Portrait"]))
        b.add(w, creator, b.rng.choice(artists))
        b.add(w, made, b.year(1820, 2015))
        b.add(w, held, b.rng.choice(museums))
        b.add(w, material, b.rng.choice(media))
        b.add(w, height, b.number(20, 400))
    return b


def zoo() -> Builder:
    b = Builder("zoo", 18)
    animal, species, keeper, enclosure, region, food = (
        b.cls("animal", "animal"), b.cls("species", "species"), b.cls("keeper", "keeper"),
        b.cls("enclosure", "enclosure"), b.cls("region", "region"), b.cls("food", "food"))
    kind = b.prop("species", "species", "kind of animal",
                  asks=("What kind of animal is …?", "What is …?", "What type of creature is …?"),
        inverse=("Which animals belong to the … species?",))
    cared = b.prop("keeper", "keeper", "caretaker",
                   asks=("Who looks after …?", "Who feeds …?", "Who takes care of …?"),
        inverse=("Which animals does … look after?", "Who does … take care of?", "Which animals does … feed?"))
    lives = b.prop("enclosure", "enclosure", "habitat",
                   asks=("Where does … live?", "Where can I find …?", "Where is … kept?"),
        inverse=("Which animals live in …?", "Who lives in …?", "What is kept in …?"))
    born = b.prop("born", "date of birth", "birth date",
                  asks=("When was … born?", "How old is …?"))
    weight = b.prop("weight", "weight in kilograms", "body mass",
                    asks=("How heavy is …?", "How much does … weigh?"))
    diet = b.prop("diet", "diet", "food",
                  asks=("What does … eat?", "What do … feed on?", "What is … fed?"),
        inverse=("Which species eat …?", "What feeds on …?"))
    mother = b.prop("mother", "mother", "dam",
                    asks=("Who is …'s mother?", "Who gave birth to …?"),
        inverse=("Which animals did … give birth to?", "Who is …'s offspring?"))
    native = b.prop("native", "native to", "region of origin",
                    asks=("Where does … come from in the wild?", "Where is … found in the wild?"),
        inverse=("Which species come from …?", "What lives wild in …?"))
    arrived = b.prop("arrived", "arrival date", "date of arrival",
                     asks=("When did … come to the zoo?", "When did … arrive?"))
    started = b.prop("started", "employment start", "start date",
                     asks=("When did … start working here?", "When did … join the zoo?"))
    regions = [b.entity("region", region, r) for r in ("Sahel", "Borneo", "Patagonia", "Tasmania", "Siberia")]
    foods = [b.entity("food", food, f) for f in ("fish", "fruit", "insects", "grass", "meat", "bamboo")]
    kinds = []
    for name in ("red panda", "snow leopard", "tapir", "fennec fox", "cassowary", "wombat", "okapi"):
        sp = b.entity("species", species, name)
        b.add(sp, diet, b.rng.choice(foods))
        b.add(sp, native, b.rng.choice(regions))
        kinds.append(sp)
    pens = [b.entity("enclosure", enclosure, b.name(1) + " " + b.rng.choice(["House", "Yard", "Trail"])) for _ in range(6)]
    keepers = []
    for _ in range(8):
        k = b.entity("keeper", keeper, b.name())
        b.add(k, started, b.date(1990, 2024))
        keepers.append(k)
    animals = []
    for _ in range(36):
        a = b.entity("animal", animal, b.name(1))
        b.add(a, kind, b.rng.choice(kinds))
        b.add(a, cared, b.rng.choice(keepers))
        b.add(a, lives, b.rng.choice(pens))
        b.add(a, born, b.date(2000, 2024))
        b.add(a, weight, b.number(2, 400))
        b.add(a, arrived, b.date(2005, 2025))
        if animals and b.rng.random() < 0.4:
            b.add(a, mother, b.rng.choice(animals))
        animals.append(a)
    return b


DOMAINS = (("company", company), ("films", films), ("library", library), ("clubs", clubs),
           ("restaurants", restaurants), ("software", software), ("art", art), ("zoo", zoo))


def main() -> None:
    for name, make in DOMAINS:
        b = make()
        b.write(HERE / f"{name}.ttl")
        print(f"{name}.ttl: {len(b.g)} triples")


if __name__ == "__main__":
    main()
