"""Fine-tuning the retriever's sentence encoder (train/encoder.py, ``dialogqa encoder fit``):
rows from recorded conversations' candidates, the loss that keeps the cosines' level, a fit on
a tiny 2-layer BERT, and the saved LoRA merged back in by kg/semantic.py."""

import json

import pytest
import torch

from dialogqa.errors import UserError
from dialogqa.kg.semantic import SentenceEncoder
from dialogqa.train import encoder as E
from test_kg_semantic import _tiny_wheel_zip

EX = "http://example.org/"
TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Norway rdfs:label "Norway"@en ; ex:capital ex:Oslo ; ex:currency ex:NOK ; ex:borders ex:Sweden .
ex:Sweden rdfs:label "Sweden"@en ; ex:capital ex:Stockholm ; ex:currency ex:SEK .
ex:Oslo rdfs:label "Oslo"@en .
ex:Stockholm rdfs:label "Stockholm"@en .
ex:NOK rdfs:label "Norwegian krone"@en .
ex:SEK rdfs:label "Swedish krona"@en .
ex:capital rdfs:label "capital"@en .
ex:currency rdfs:label "currency"@en .
ex:borders rdfs:label "shares border with"@en .
"""


def t(s, p, o):
    return [EX + s, EX + p, EX + o]


CONVERSATIONS = [
    {"id": "norway", "kg": ["small.ttl"], "turns": [
        {"user": "Where is the government of Norway seated?", "expected": ["Oslo"],
         "expected_evidence": [t("Norway", "capital", "Oslo")]},
        {"user": "What do people pay with there?", "expected": ["Norwegian krone"],
         "expected_evidence": [t("Norway", "currency", "NOK")]},
        {"user": "Who is the king of Norway?", "expected": [], "unanswerable": True},
        {"user": "And Sweden?", "expected": ["Swedish krona"],
         "expected_evidence": [t("Sweden", "currency", "SEK")]},
    ]},
]


@pytest.fixture
def encoder(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALOGQA_CACHE", str(tmp_path / "cache"))
    _tiny_wheel_zip(tmp_path / "model.zip")
    return SentenceEncoder.from_zip(tmp_path / "model.zip")


@pytest.fixture
def transcript(tmp_path):
    (tmp_path / "small.ttl").write_text(TTL)
    path = tmp_path / "convs.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS))
    return path


def test_rows_hold_the_gold_predicate_against_the_other_candidates(transcript, encoder):
    rows = E.candidate_rows([transcript], encoder)
    by_text = {r["text"]: r for r in rows}
    # the linked name is said "it"; "And Sweden?" names no relation and gives no row
    assert set(by_text) == {"Where is the government of it seated?", "What do people pay with there?",
                            "Who is the king of it?"}
    first = by_text["Where is the government of it seated?"]
    assert first["gold"] == [["capital", "capital: Oslo, Stockholm"]] and not first["unanswerable"]
    assert ["currency", "currency: Norwegian krone, Swedish krona"] in first["other"]
    assert ["shares border with", "shares border with: Sweden"] in first["other"]
    assert all(g not in first["other"] for g in first["gold"])
    # the gold history makes "there" Norway: its currency is among the candidates, and gold
    assert by_text["What do people pay with there?"]["gold"][0][0] == "currency"
    king = by_text["Who is the king of it?"]
    assert king["unanswerable"] and king["gold"] == [] and king["other"]
    assert {r["id"] for r in rows} == {"norway"} and {r["source"] for r in rows} == {"convs.jsonl"}


def test_held_out_conversations_are_stable_and_about_the_share():
    ids = [f"conv-{i}" for i in range(2000)]
    held = [i for i in ids if E.held_out(i, 0.15)]
    assert held == [i for i in ids if E.held_out(i, 0.15)]
    assert 0.1 < len(held) / len(ids) < 0.2
    assert not any(E.held_out(i, 0.0) for i in ids)


def test_loss_holds_the_other_candidates_at_their_pretrained_level():
    row = {"unanswerable": False, "base_other": [0.3], "base_gold": [0.5]}
    gold, other = torch.tensor([0.6]), torch.tensor([0.3])
    at_level = E.loss_of([row], [(gold, other)], keep=5.0)
    lifted = E.loss_of([row], [(gold + 0.2, other + 0.2)], keep=5.0)  # same order, both higher
    lowered = E.loss_of([row], [(gold, other - 0.2)], keep=5.0)
    sunk = E.loss_of([row], [(gold - 0.2, other - 0.4)], keep=5.0)  # gold under its own level
    # the ranking part is the same for a lifted pair; only the level terms tell them apart
    assert lifted > at_level > lowered
    assert sunk > lowered
    unanswerable = {"unanswerable": True, "base_other": [0.3], "base_gold": [0.4]}
    assert E.loss_of([unanswerable], [(torch.tensor([0.4]), torch.tensor([0.3]))], keep=5.0) == 0
    assert E.loss_of([unanswerable], [(torch.tensor([0.6]), torch.tensor([0.3]))], keep=5.0) > 0


def test_fit_trains_a_lora_that_the_encoder_merges_back(tmp_path, encoder):
    base = SentenceEncoder.from_zip(tmp_path / "model.zip")
    rows = [{"source": "a", "id": f"c{i}", "text": "where is it ?", "unanswerable": False,
             "gold": [["capital"]], "other": [["country"], ["is it"]]} for i in range(8)]
    lines = []
    model, report = E.fit(encoder, rows, evaluate=rows[:2], epochs=6, lr=2e-2, batch_size=4, rank=2,
                          held_share=0.0, info=lines.append)
    assert report["before"].keys() == report["after"].keys() == {"evaluate"}
    assert report["training_rows"] == 8 and report["held_out_rows"] == 0
    assert len(lines) == 8  # before, six epochs, after
    E.save(model, tmp_path / "lora", report, ["convs.jsonl"])
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()
    assert json.loads((tmp_path / "lora" / "fit.json").read_text())["trained_on"] == ["convs.jsonl"]
    assert not (tmp_path / "lora" / "README.md").exists()  # peft's blank model card is not kept
    before = base.similarity("where is it ?", ["capital", "country"])
    assert not base.fitted
    base.apply_lora(tmp_path / "lora")
    assert base.fitted  # a retriever with it reads the whole question (Retriever.whole_question)
    after = base.similarity("where is it ?", ["capital", "country"])
    assert after[0] - after[1] > before[0] - before[1]  # the gold label moved ahead of the other
    assert report["before"]["evaluate"] == "0/2" and report["after"]["evaluate"] == "2/2"
    # merged: a plain BERT again, no peft wrapper left in the way of reading a question
    assert type(base.model).__name__ == "BertModel"


def test_nothing_to_learn_from_is_a_clear_error(encoder):
    rows = [{"source": "a", "id": "c", "text": "who is it ?", "unanswerable": True,
             "gold": [], "other": [["capital"]]}]
    with pytest.raises(UserError, match="no turn to learn from"):
        E.fit(encoder, rows, held_share=0.0, info=lambda line: None)


def test_command_names_the_bad_file(tmp_path, capsys):
    from dialogqa.commands.cli import main

    assert main(["encoder", "fit", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.jsonl" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out").exists()


def test_a_fitted_encoder_reads_the_answer_type_word_too(tmp_path, encoder):
    from dialogqa.kg.memory import MemoryKG
    from dialogqa.kg.retriever import Question, Retriever

    # the pretrained encoder reads "Which countries border it?" near "continent" without its
    # type word; the fitted one learned with it, and "located in which city" needs it
    assert Question.parse("Pitakia is located in which city?", [(0, 7)]).semantic_text == "it is located in which ?"
    assert Question.parse("Pitakia is located in which city?", [(0, 7)], whole=True).semantic_text \
        == "it is located in which city?"
    (tmp_path / "small.ttl").write_text(TTL)
    kg = MemoryKG.from_files([tmp_path / "small.ttl"])

    class Fitted:
        fitted = True

    assert Retriever(kg, encoder=Fitted()).whole_question
    assert not Retriever(kg).whole_question
    assert not Retriever(kg, encoder=Fitted(), whole_question=False).whole_question
    # what the fit is trained on is what such a retriever reads
    conv = {"id": "c", "kg": ["small.ttl"], "turns": [
        {"user": "Which city is the capital of Norway?", "expected": ["Oslo"],
         "expected_evidence": [t("Norway", "capital", "Oslo")]}]}
    (tmp_path / "c.jsonl").write_text(json.dumps(conv) + "\n")
    assert [r["text"] for r in E.candidate_rows([tmp_path / "c.jsonl"], encoder)] == ["Which city is the capital of it?"]
    assert [r["text"] for r in E.candidate_rows([tmp_path / "c.jsonl"], encoder, whole_question=False)] \
        == ["Which is the capital of it?"]


def test_a_bad_rows_file_names_its_line(tmp_path, transcript, capsys, monkeypatch):
    from dialogqa.commands.cli import main

    monkeypatch.setenv("DIALOGQA_CACHE", str(tmp_path / "cache"))
    _tiny_wheel_zip(tmp_path / "model.zip")
    monkeypatch.setattr("dialogqa.kg.semantic.load_base_encoder",
                        lambda: SentenceEncoder.from_zip(tmp_path / "model.zip"))
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "c", "text": "x", "gold": [], "other": [], "unanswerable": true}\n{"id": 1}\n')
    assert main(["encoder", "fit", str(transcript), "--rows", str(rows), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rows.jsonl:2" in err[0] and "Traceback" not in err[0]
