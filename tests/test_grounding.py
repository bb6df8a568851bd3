"""Grounded decoding: candidate answers with priors, the token-trie guide, the models' decode
loops under a guide, and the session passing one only when the adapter is calibrated for it."""

import math
from dataclasses import replace

import pytest
import torch
from rdflib import Literal, URIRef

from dialogue_fixtures import EX, open_graph, write_graph
from dialogqa.dialogue.grounding import AnswerGuide, Grounding, answer_guide
from dialogqa.dialogue.render import ABSTAIN_TEXT
from dialogqa.dialogue.session import DialogueSession
from dialogqa.records import Fact
from scripted import ScriptedModel


def fact(s, p, o, score=1.0):
    obj = Literal(o) if o[0].isdigit() else URIRef(EX + o)
    return Fact(URIRef(EX + s), URIRef(EX + p), obj, s, p, o, score)


FACTS = [fact("Norway", "capital", "Oslo", 3.0), fact("Norway", "population", "5314336", 1.0),
         fact("Sweden", "borders", "Norway", 0.5)]


def test_candidates_follow_head_and_retrieval_and_skip_the_question_words():
    g = Grounding(head_weight=1.0, retrieval_weight=1.0, abstain_logit=-2.0, near_penalty=3.0)
    cands = dict(g.candidates("What is the capital of Norway?", [0.9, 0.1, 0.1], FACTS, ABSTAIN_TEXT))
    assert next(iter(cands)) == "Oslo"  # best prior first
    assert "Norway" not in cands  # named by the question: not its answer
    assert "Sweden" in cands and "5314336" in cands  # a literal object; a subject label
    assert cands["Sweden"] < cands["5314336"] < cands["Oslo"]
    # the priors are log probabilities of one softmax over the facts and abstaining
    z = [math.log(9) + 3.0, math.log(1 / 9) + 1.0, math.log(1 / 9) + 0.5, -2.0]
    norm = math.log(sum(math.exp(x) for x in z))
    assert cands["Oslo"] == pytest.approx(z[0] - norm, abs=1e-4)
    assert cands[ABSTAIN_TEXT] == pytest.approx(-2.0 - norm, abs=1e-4)
    assert cands["Sweden"] == pytest.approx(z[2] - norm - 3.0, abs=1e-4)  # subject label penalised
    # nothing relevant and a high abstention logit: abstaining leads
    low = Grounding(abstain_logit=4.0).candidates("Anthem?", [0.01] * 3, FACTS, ABSTAIN_TEXT)
    assert low[0][0] == ABSTAIN_TEXT
    assert Grounding.from_json(g.to_json() | {"unknown": 1}) == g


def test_a_list_weighs_as_much_as_its_values_together_against_abstaining():
    # two skills the retriever half-matched: each alone is below the abstention logit, the
    # two together are not; a single value elsewhere gains nothing
    skills = [fact("Ana", "skill", "Welding", 1.8), fact("Ana", "skill", "Python", 1.8),
              fact("Ana", "office", "Venul", 1.0)]
    old = Grounding(head_weight=0.0, retrieval_weight=4.0, abstain_logit=7.5, near_penalty=1.0)
    assert old.candidates("List Ana's skills.", [0.5] * 3, skills, ABSTAIN_TEXT)[0][0] == ABSTAIN_TEXT
    new = Grounding(head_weight=0.0, retrieval_weight=4.0, abstain_logit=7.5, near_penalty=1.0, group_mass=1.0)
    cands = dict(new.candidates("List Ana's skills.", [0.5] * 3, skills, ABSTAIN_TEXT))
    assert max(cands, key=cands.get) in ("Welding", "Python")
    assert cands["Welding"] - cands[ABSTAIN_TEXT] == pytest.approx(4.0 * 1.8 + math.log(2) - 7.5, abs=1e-4)
    assert cands["Venul"] - cands[ABSTAIN_TEXT] == pytest.approx(4.0 * 1.0 - 7.5, abs=1e-4)
    # answering with the subject, the group is the subjects sharing predicate and object
    fans = [fact("Ana", "skill", "Python", 1.8), fact("Bo", "skill", "Python", 1.8)]
    both = dict(new.candidates("Who knows Python?", [0.5] * 2, fans, ABSTAIN_TEXT))
    assert both["Ana"] - both[ABSTAIN_TEXT] == pytest.approx(4.0 * 1.8 - 1.0 + math.log(2) - 7.5, abs=1e-4)


def test_only_the_lists_of_an_entity_the_question_names_weigh_together():
    """"What skills does Mito have?" after an answer that named Statistics: Statistics' four
    holders (Mito among them) are a bigger group than Mito's two skills, but the question
    names Mito, so only Mito's group gains; asked about no one by name, every group does."""
    facts = [fact("Mito", "skill", "Statistics", 2.0), fact("Mito", "skill", "Marketing", 2.0)]
    facts += [replace(fact(who, "skill", "Statistics", 2.0), inverse=True) for who in ("Ana", "Bo", "Cy")]
    g = Grounding(head_weight=0.0, retrieval_weight=1.0, abstain_logit=0.0, near_penalty=1.0, group_mass=1.0)
    named = dict(g.candidates("What skills does Mito have?", [0.5] * 5, facts, ABSTAIN_TEXT))
    assert max(named, key=named.get) in ("Statistics", "Marketing")
    assert named["Marketing"] - named["Ana"] == pytest.approx(math.log(2), abs=1e-4)
    unnamed = dict(g.candidates("What skills are there?", [0.5] * 5, facts, ABSTAIN_TEXT))
    assert unnamed["Ana"] - unnamed["Marketing"] == pytest.approx(math.log(4) - math.log(2), abs=1e-4)


def test_guide_walks_the_trie_adding_the_prior_changes():
    stop = 0
    guide = AnswerGuide([((1, 2), -1.0), ((1, 3, 4), -0.5), ((5,), -2.0)], [stop], prior_weight=2.0)
    logits = torch.zeros(8)
    first = guide([], logits)
    assert torch.isfinite(first).nonzero().flatten().tolist() == [1, 5]
    assert first[1] == 0.0 and first[5] == pytest.approx(2.0 * (-2.0 + 0.5))
    second = guide([1], logits)  # both continue; the stop is not allowed mid-candidate
    assert torch.isfinite(second).nonzero().flatten().tolist() == [2, 3]
    assert second[2] == pytest.approx(2.0 * (-1.0 + 0.5)) and second[3] == 0.0
    assert torch.isfinite(guide([1, 2], logits)).nonzero().flatten().tolist() == [stop]
    # the model's own logits still count: a strong preference for 2 beats the prior
    assert int(torch.argmax(guide([1], torch.tensor([0, 0, 5.0, 0, 0, 0, 0, 0])))) == 2
    assert guide([7], logits) is logits  # off the trie: left alone
    assert not AnswerGuide([], [stop])


@pytest.fixture(scope="module")
def chat_models():
    fast = pytest.importorskip("dialogqa.model.fast")
    tiny = pytest.importorskip("tiny_llama")
    from dialogqa.model.hf import HFChatModel

    tok = tiny.tiny_tokenizer()
    net = tiny.tiny_llama(vocab_size=len(tok))
    return tok, fast.FastChatModel(net, tok, weights="f32"), HFChatModel(net, tok)


@pytest.mark.parametrize("which", ["fast", "hf"])
def test_guided_decoding_yields_one_candidate_then_stops(chat_models, which):
    tok, fast, hf = chat_models
    chat = fast if which == "fast" else hf
    ids = list(range(5, 40))
    chat.prefill(ids, [])
    free = list(chat.generate_ids(6))
    stops = sorted(chat.stop_ids)
    cands = [[free[0] + 1, 7, 8], [9, 10], [free[0] + 1, 11]]
    for weight in (0.0, 50.0):
        guide = AnswerGuide([(c, -float(i)) for i, c in enumerate(cands)], stops, weight)
        chat.prefill(ids, [])
        out = list(chat.generate_ids(6, guide=guide))
        assert out in cands  # one whole candidate, then end of turn
    assert out == cands[0]  # a heavy prior: the best candidate
    # the text interface takes the guide too
    chat.prefill(ids, [])
    guide = AnswerGuide([(cands[1], 0.0)], stops, 1.0)
    assert "".join(chat.decode(6, guide=guide)) == tok.decode(cands[1])


def test_session_guides_decoding_only_when_calibrated(tmp_path):
    kg = open_graph(write_graph(tmp_path))
    model = ScriptedModel(fallback=lambda lines: "Oslo")
    model.stop_ids = {model.tokenizer.eos_token_id or 0}
    relevance = lambda lines: [0.9 if "capital" in line else 0.05 for line in lines]

    def ask(**kw):
        model.enqueue("Oslo", relevance=relevance)
        DialogueSession(kg, model, **kw).ask("What is the capital of Norway?")
        return model.guides[-1]

    assert ask() is None  # no weights saved with the head: free decoding
    guide = ask(grounding=Grounding())
    assert isinstance(guide, AnswerGuide)
    oslo = model.tokenizer("Oslo", add_special_tokens=False)["input_ids"]
    assert guide._done[tuple(oslo)] == max(guide._done.values())  # the relevant fact leads
    model.head = type("Head", (), {"threshold": 0.0, "abstain_bias": 0.0,
                                   "grounding": Grounding(abstain_logit=1.0).to_json()})()
    assert isinstance(ask(), AnswerGuide)  # the adapter's calibrated weights
    assert ask(grounding=False) is None  # --free-decoding
    assert ask(grounding=Grounding(), closed_book=True) is None


def test_answer_guide_tokenizes_candidates_as_answers():
    model = ScriptedModel()
    g = Grounding()
    guide = answer_guide(model.tokenizer, g, "capital?", [0.9, 0.1, 0.1], FACTS, ABSTAIN_TEXT, [0])
    words = {model.tokenizer.decode(list(ids)) for ids in guide._done}
    assert {"Oslo", "5314336", ABSTAIN_TEXT} <= words


def test_supporting_cites_the_facts_whose_label_the_answer_copied():
    g = Grounding(near_penalty=3.0)
    facts = FACTS + [fact("Oslo", "capitalOf", "Norway", 1.0), fact("Norway", "largestCity", "Oslo", 1.0)]
    cited = g.supporting("Oslo", [0.9, 0.1, 0.1, 0.5, 0.2], facts)
    # objects named Oslo best prior first; the subject label (Oslo capitalOf Norway) last
    assert [f.p_label for _, f in cited] == ["capital", "largestCity", "capitalOf"]
    assert cited[0][0] == 0.9  # each with its relevance
    assert g.supporting("Bergen", [0.9, 0.1, 0.1, 0.5, 0.2], facts) == []


def test_an_inverse_fact_answers_with_its_subject():
    """A fact the retriever reached from its object asks for its subject: "What is the lowest
    point?" about Norway reaches "Norwegian Sea . lowest point of . Norway" from Norway, so
    Norway, the near end, is the label penalised, both as a candidate and as evidence."""
    import dataclasses

    g = Grounding(head_weight=1.0, retrieval_weight=1.0, abstain_logit=-9.0, near_penalty=3.0)
    sea = dataclasses.replace(fact("NorwegianSea", "lowestPointOf", "Norway", 2.0), inverse=True)
    cands = dict(g.candidates("What is the lowest point?", [0.5], [sea], ABSTAIN_TEXT))
    assert next(iter(cands)) == "NorwegianSea"
    assert cands["Norway"] == pytest.approx(cands["NorwegianSea"] - 3.0)
    assert sea == fact("NorwegianSea", "lowestPointOf", "Norway", 2.0)  # direction is not identity
    forward = fact("Norway", "lowestPoint", "NorwegianSea", 2.0)
    cited = g.supporting("NorwegianSea", [0.5, 0.5], [forward, sea])
    assert [f.p_label for _, f in cited] == ["lowestPoint", "lowestPointOf"]  # equal priors: both far ends
    assert g.supporting("Norway", [0.5], [sea]) and Grounding.from_json({"subject_penalty": 2}).near_penalty == 2


def test_calibration_grid_keeps_the_abstention_asked_for():
    """Where abstaining on an unanswerable turn costs two answerable ones, the best score
    answers everything; asked to abstain on every unanswerable turn, it gives them up."""
    from dialogqa.train.calibrate_grounding import fit_prior, prepare, prior_outcome

    def turn(q, p, right):
        facts = [fact("Norway", "capital", "Oslo", p)]
        return prepare((q, [0.5], facts, set(), ["Oslo"] if right else [], not right))

    # the unanswerable turn's candidate scores higher than two answerable turns' right ones
    files = [[turn("What is the capital?", 1.0, True), turn("And its capital city?", 1.0, True),
              turn("What is its anthem?", 2.0, False)]]
    free, score = fit_prior(files)
    assert score == 2 / 3 and prior_outcome(free, files)[1] == 0.0
    strict, strict_score = fit_prior(files, min_abstention=1.0)
    assert prior_outcome(strict, files) == (strict_score, 1.0) and strict_score == 1 / 3


def test_calibration_grid_finds_the_prior_that_answers_and_abstains():
    from dialogqa.train.calibrate_grounding import fit_prior, prepare, prior_score

    capital = [fact("Norway", "capital", "Oslo", 1.0), fact("Norway", "population", "5314336", 3.0)]
    # the retriever prefers the wrong fact; the head knows better
    answerable = ("What is the capital of Norway?", [0.95, 0.02], capital, set(), ["Oslo"], False)
    # weak on both: the graph lacks the answer
    anthem = ("What is its anthem?", [0.01, 0.01], [fact("Norway", "population", "5314336", 0.5)], set(), [], True)
    files = [[prepare(answerable)], [prepare(anthem)]]
    assert prior_score(Grounding(head_weight=0.0, retrieval_weight=1.0, abstain_logit=-5), files) == 0.0
    best, score = fit_prior(files)
    assert score == 1.0
    assert prior_score(best, files) == 1.0
    # the fast scorer agrees with Grounding.candidates
    for sample in (answerable, anthem):
        top = best.candidates(sample[0], sample[1], sample[2], ABSTAIN_TEXT)[0][0]
        assert (top == ABSTAIN_TEXT) == sample[5] and (sample[5] or top == "Oslo")


def test_a_grounded_answer_cites_the_fact_it_copied(tmp_path):
    kg = open_graph(write_graph(tmp_path))
    model = ScriptedModel()
    model.stop_ids = {0}
    model.enqueue("Oslo", relevance=lambda lines: [0.9 if "capital" in line else 0.3 for line in lines])
    turn = DialogueSession(kg, model, grounding=Grounding()).ask("What is the capital of Norway?")
    assert [f.key() for f in turn.evidence] == [(EX + "Norway", EX + "capital", EX + "Oslo")]
    assert turn.evidence[0].score == 0.9


def test_the_previous_turns_evidence_answers_nothing_now(tmp_path):
    """No two consecutive turns of the KGConv dev files or world.jsonl ask for the same fact:
    after "Oslo", the capital fact is no candidate, so "What is its national anthem?" cannot
    get "Oslo" again."""
    g = Grounding()
    assert "Oslo" not in dict(g.candidates("Anthem?", [0.9, 0.1, 0.1], FACTS, ABSTAIN_TEXT,
                                           cited={FACTS[0].key()}))
    kg = open_graph(write_graph(tmp_path))
    model = ScriptedModel()
    model.stop_ids = {0}
    relevance = lambda lines: [0.9 if "capital" in line else 0.3 for line in lines]  # noqa: E731
    model.enqueue("Oslo", relevance=relevance)
    model.enqueue(ABSTAIN_TEXT, relevance=relevance)
    session = DialogueSession(kg, model, grounding=Grounding())
    assert session.ask("What is the capital of Norway?").answer == "Oslo"
    session.ask("What is its national anthem?")
    offered = [{model.tokenizer.decode(list(ids)) for ids in guide._done} for guide in model.guides]
    assert "Oslo" in offered[0] and "Oslo" not in offered[1] and ABSTAIN_TEXT in offered[1]


def test_only_the_fact_answered_from_steps_aside_and_not_when_named_again(tmp_path):
    """The previous turn's other citations hold the same label under other facts, which the
    next question may ask ("In which time zone?" about the country after the city's); and a
    question that names the predicate asks for that fact again ("No: what is the capital?")."""
    from dialogqa.records import Turn

    kg = open_graph(write_graph(tmp_path))
    session = DialogueSession(kg, ScriptedModel(), grounding=Grounding())
    zone = lambda s: Fact(URIRef(EX + s), URIRef(EX + "timeZone"), URIRef(EX + "UTC4"),  # noqa: E731
                          s, "time zone", "UTC-04:00", 1.0)
    session.history = [Turn("What time zone is Caracas in?", "UTC-04:00",
                            evidence=[zone("Caracas"), zone("Venezuela")])]
    assert session.previously_cited("What is its population?") == {zone("Caracas").key()}
    assert session.previously_cited("In which time zone?") == set()
    assert session.previously_cited() == {zone("Caracas").key()}

    model = ScriptedModel()
    model.stop_ids = {0}
    relevance = lambda lines: [0.9 if "capital" in line else 0.3 for line in lines]  # noqa: E731
    model.enqueue("Oslo", relevance=relevance)
    model.enqueue("Oslo", relevance=relevance)
    session = DialogueSession(kg, model, grounding=Grounding())
    assert session.ask("What is the capital of Norway?").answer == "Oslo"
    again = session.ask("No, what is the capital?")
    offered = [{model.tokenizer.decode(list(ids)) for ids in guide._done} for guide in model.guides]
    assert "Oslo" in offered[1] and again.answer == "Oslo"
    assert [f.key() for f in again.evidence][:1] == [(EX + "Norway", EX + "capital", EX + "Oslo")]


def test_free_decoding_flag_turns_grounding_off():
    from dialogqa.commands.cli import build_parser
    from dialogqa.commands.options import grounding_from_args

    parser = build_parser()
    assert grounding_from_args(parser.parse_args(["ask", "What?", "--free-decoding"])) is False
    assert grounding_from_args(parser.parse_args(["replay", "t.jsonl"])) is None  # the adapter's weights
    assert grounding_from_args(parser.parse_args(["chat", "--free-decoding"])) is False


def test_calibration_replays_near_penalties_at_the_best_prior_weight():
    """The grid cannot tell near penalties apart (its best-prior answer already takes the far
    end of a tie); only replays with decoding can, so they are swept at the best prior weight."""
    from dialogqa.train.calibrate_grounding import sweep

    seen = []

    def replay_all(g):  # a model that copies the near end unless the penalty is at least 2
        seen.append((g.prior_weight, g.near_penalty))
        return [0.5 + 0.1 * (g.prior_weight == 10) + 0.2 * (g.near_penalty >= 2), 0.6]

    grid = Grounding(head_weight=0.0, retrieval_weight=4.0, abstain_logit=7.5, near_penalty=0.5)
    by_weight, by_penalty, best = sweep(grid, [3, 10], [0.5, 2, 4], replay_all)
    assert seen == [(3, 0.5), (10, 0.5), (10, 2), (10, 4)]  # the grid's penalty is not replayed twice
    assert [r[1].prior_weight for r in by_weight] == [3, 10]
    assert best[1] == Grounding(0.0, 4.0, 7.5, 2.0, 10.0)  # 2 and 4 tie: the first is kept
    assert best[0] == pytest.approx((0.8 + 0.6) / 2)
    _, none, only_weight = sweep(grid, [3, 10], [], replay_all)
    assert none == [] and only_weight[1].near_penalty == 0.5
