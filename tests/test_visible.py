"""dialogqa.visible: the one escaping of terminal-acting characters, and its users in the chat window."""

from rdflib import Literal, URIRef

from dialogqa.records import Fact, QueryResult
from dialogqa.tui.panel import facts_text
from dialogqa.tui.tables import graph_info, sparql_table
from dialogqa.tui.widgets import fact_text
from dialogqa.visible import visible


def test_controls_bidi_and_invisibles_become_escapes():
    assert visible("a\x1b]8;;http://x\x07b\x1b[0m") == "a\\x1b]8;;http://x\\x07b\\x1b[0m"
    assert visible("\x00\x7f\x85\x9b") == "\\x00\\x7f\\x85\\x9b"  # C0, DEL, C1 (NEL, CSI)
    assert visible("a\u202eb\u2066c\u2069d\u200fe\u061cf") == "a\\u202eb\\u2066c\\u2069d\\u200fe\\u061cf"
    assert visible("zero\u200bwidth\u2060\ufeff") == "zero\\u200bwidth\\u2060\\ufeff"
    assert visible("line\u2028para\u2029") == "line\\u2028para\\u2029"
    assert visible("lone \ud800") == "lone \\ud800"  # printing it raw would raise UnicodeEncodeError
    assert visible("a\tb\r\nc") == "a\\tb\\r\\nc"
    assert visible("a\tb\r\nc", newlines=True) == "a\tb\\r\nc"


def test_ordinary_text_is_unchanged():
    text = "Ørsted, São Tomé, 東京, \u05e2\u05d1\u05e8\u05d9\u05ea, 👨\u200d👩\u200d👧, C:\\path, [bold]x[/]"
    assert visible(text) == text  # ZWJ stays: emoji and scripts need it
    assert visible(visible("a\x1bb")) == visible("a\x1bb")  # escaping twice changes nothing


def test_chat_window_shows_graph_text_escaped():
    evil = "Oslo\x1b[2J\u202eolsO"
    fact = Fact(URIRef("http://x/Norway"), URIRef("http://x/capital"), URIRef("http://x/Oslo"),
                "Norway", "capital", evil)
    assert fact_text(fact).plain == "  Norway · capital · Oslo\\x1b[2J\\u202eolsO"
    assert facts_text([fact], iris=False, scores=False).plain == "Norway · capital · Oslo\\x1b[2J\\u202eolsO"
    table = sparql_table(QueryResult(variables=["l"], rows=[(Literal(evil),)]))
    assert [str(cell) for cell in table.columns[0].cells] == ["Oslo\\x1b[2J\\u202eolsO"]
    info = graph_info(type("KG", (), {"name": "g\x1b", "count": lambda self: 1, "langs": ("en",)})(), [])
    assert "g\\x1b" in [str(cell) for cell in info.columns[1].cells]


def test_panel_shows_a_dash_for_a_fact_the_model_did_not_score():
    """A comparison cites the other entity's fact, fetched from the graph without the model
    reading it: no relevance to show, rather than a misleading 0.00."""
    x = "http://x/"
    read = Fact(URIRef(x + "A"), URIRef(x + "mass"), Literal(5), "A", "mass", "5", score=0.87)
    fetched = Fact(URIRef(x + "B"), URIRef(x + "mass"), Literal(3), "B", "mass", "3")
    assert facts_text([read, fetched], iris=False).plain == "0.87 A · mass · 5\n  –  B · mass · 3"
