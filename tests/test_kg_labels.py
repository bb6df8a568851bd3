from rdflib import Literal, URIRef

from dialogqa.kg.labels import fallback_label, lang_rank, local_name, sort_labels


def test_local_name_splits_camel_case_and_underscores():
    assert local_name("http://example.org/NewYorkCity") == "New York City"
    assert local_name("http://example.org/French_Guiana") == "French Guiana"
    assert local_name("http://example.org/onto#capitalCity") == "capital city"
    assert local_name("http://example.org/USA") == "USA"
    assert local_name("http://example.org/HTTPServer") == "HTTP Server"
    assert local_name("http://example.org/S%C3%A3o_Paulo") == "São Paulo"
    assert local_name("http://example.org/things/") == "things"


def test_language_preference_then_untagged_then_others():
    langs = ("en", "")
    assert lang_rank("en", langs) == 0
    assert lang_rank("en-GB", langs) == 0
    assert lang_rank("", langs) == 1
    assert lang_rank("fr", langs) == 2
    rows = [("Suède", "fr", 0), ("Sverige", "", 0), ("Sweden", "en", 0)]
    assert sort_labels(rows, langs)[0] == ("Sweden", "en")
    assert sort_labels(rows, ("fr", ""))[0] == ("Suède", "fr")
    assert [x for x, _ in sort_labels(rows, ("de", ""))] == ["Sverige", "Suède", "Sweden"] or \
        sort_labels(rows, ("de", ""))[0] == ("Sverige", "")


def test_predicate_rank_breaks_ties_within_a_language():
    rows = [("NYC", "en", 5), ("New York City", "en", 1)]
    assert sort_labels(rows, ("en", ""))[0][0] == "New York City"


def test_fallback_label_of_literals_and_iris():
    assert fallback_label(Literal("42")) == "42"
    assert fallback_label(URIRef("http://x.org/a/officialLanguage")) == "official language"
