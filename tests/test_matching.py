import pytest

from dialogqa.dialogue.matching import answer_correct, matches, tokens


@pytest.mark.parametrize(
    "expected, answer",
    [
        ("Oslo", "The capital of Norway is Oslo."),
        ("oslo", "OSLO, of course"),
        ("Norwegian krone", "They pay with the norwegian Krone!"),
        ("5,550,203", "About 5550203 people live there."),
        ("5550203", "About 5,550,203 people live there."),
        ("5550203", "About 5\u202f550\u202f203 people."),  # narrow no-break space
        ("5550203", "About 5\u00a0550\u00a0203 people."),  # no-break space
        ("1,234.5", "The area is 1234.5 km²."),
        ("In", "The symbol of indium is In."),
        ("US", "It borders the US."),
        ("Saint-Denis", "Its capital is Saint-Denis."),
        ("Côte d'Ivoire", "That is côte d'ivoire."),
        ("1905", "Independent since 1905."),
        ("北京", "中国的首都是北京。"),
        ("Straße", "Die STRASSE"),  # casefold: ß == ss
        ("Ｏｓｌｏ", "Oslo"),  # NFKC: full-width letters
    ],
)
def test_matches(expected, answer):
    assert matches(expected, answer)


@pytest.mark.parametrize(
    "expected, answer",
    [
        ("Oslo", "Oslotown is not it."),
        ("Oslo", "I don't find that in the graph."),
        ("In", "It is in the north."),  # <= 2 chars: case-sensitive
        ("US", "Tell us more."),
        ("5", "It has 55 regions."),
        ("550", "About 5,550,203 people."),  # separators removed, then a whole token
        ("1905", "In 19050 BC."),
        ("New York", "New Yorker magazine"),
        ("York", "Yorkshire"),
        ("", "anything"),
        ("3500", "It weighs 3.500 kg."),  # a period is not a thousands separator
    ],
)
def test_does_not_match(expected, answer):
    assert not matches(expected, answer)


def test_answer_correct_any_of_expected_and_unscored_when_none():
    assert answer_correct(["Kristiania", "Oslo"], "Oslo it is.") is True
    assert answer_correct(["Kristiania"], "Oslo it is.") is False
    assert answer_correct([], "Oslo") is None
    assert answer_correct(["  "], "Oslo") is None


def test_tokens():
    assert tokens("Hello, World! 1,000") == ["hello", ",", "world", "!", "1000"]
    assert tokens("Ab", fold=False) == ["Ab"]
    assert tokens("首都是北京") == ["首", "都", "是", "北", "京"]
