"""Fine-tuning the retriever's sentence encoder (train/encoder.py, ``dialogqa encoder fit``):
pairs from a template library, batches, a fit on a tiny 2-layer BERT, and the saved LoRA
merged back in by kg/semantic.py."""

import json
import random

import pytest
import torch

from dialogqa.errors import UserError
from dialogqa.kg.semantic import SentenceEncoder
from dialogqa.train import encoder as E
from test_kg_semantic import _tiny_wheel_zip

LIBRARY = [
    {"template_key": {"p": "P36"}, "templates": [{"left": "What is the capital of ", "right": " ?"},
                                                 {"left": "Where is the seat of government of ", "right": "?"}]},
    {"template_key": {"p": "-P1376"}, "templates": [{"left": "Which country is ", "right": " the capital of?"}]},
    {"template_key": {"p": "P999"}, "templates": [{"left": "Unlabelled ", "right": "?"}]},
]
LABELS = {"P36": "capital", "P1376": "capital of"}


@pytest.fixture
def files(tmp_path):
    lib, labels = tmp_path / "lib.json", tmp_path / "labels.json"
    lib.write_text(json.dumps(LIBRARY))
    labels.write_text(json.dumps(LABELS))
    return lib, labels


def test_pairs_say_the_subject_it_and_skip_unlabelled_properties(files):
    pairs = E.template_pairs(*files)
    assert pairs == [("what is the capital of it?", "capital"),
                     ("where is the seat of government of it?", "capital"),
                     ("which country is it the capital of?", "capital of")]


def test_a_file_that_is_not_a_library_is_a_clear_error(tmp_path, files):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"no": "keys"}]))
    with pytest.raises(UserError, match="not a KGConv template library"):
        E.template_pairs(bad, files[1])
    with pytest.raises(UserError, match="cannot read"):
        E.template_pairs(tmp_path / "missing.json", files[1])


def test_batches_hold_each_label_once_and_cap_its_questions():
    pairs = [(f"q{i}", "country") for i in range(30)] + [(f"r{i}", f"label {i}") for i in range(10)]
    batches = E.batches(pairs, size=4, cap=5, rng=random.Random(0))
    flat = [p for b in batches for p in b]
    assert sum(1 for _, label in flat if label == "country") == 5
    assert len(flat) == 15
    for b in batches:
        labels = [label for _, label in b]
        assert len(b) <= 4 and len(labels) == len(set(labels))


def test_held_out_labels_are_stable_and_about_the_share():
    labels = [f"relation {i}" for i in range(2000)]
    held = [label for label in labels if E.held_out(label, 0.15)]
    assert held == [label for label in labels if E.held_out(label, 0.15)]
    assert 0.1 < len(held) / len(labels) < 0.2
    assert not any(E.held_out(label, 0.0) for label in labels)


def test_fit_trains_a_lora_that_the_encoder_merges_back(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALOGQA_CACHE", str(tmp_path / "cache"))
    _tiny_wheel_zip(tmp_path / "model.zip")
    enc = SentenceEncoder.from_zip(tmp_path / "model.zip")
    base = SentenceEncoder.from_zip(tmp_path / "model.zip")
    pairs = [("where is it ?", "capital"), ("it is where ?", "capital"),
             ("country ?", "country"), ("it country ?", "country"), ("is it ?", "where")]
    lines = []
    model, report = E.fit(enc, pairs, epochs=3, lr=5e-3, batch_size=4, cap=5, rank=2,
                          held_share=0.0, info=lines.append)
    assert report["before"].keys() == report["after"].keys() == {"held_out_top1", "train_top1"}
    assert report["held_out_questions"] == 0 and report["labels"] == 3
    assert len(lines) == 5  # before, three epochs, after
    E.save(model, tmp_path / "lora", report, ["lib.json"])
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()
    assert json.loads((tmp_path / "lora" / "fit.json").read_text())["trained_on"] == ["lib.json"]
    before = base.embed(["where is it ?"])
    base.apply_lora(tmp_path / "lora")
    after = base.embed(["where is it ?"])
    assert not torch.allclose(before, after)
    assert torch.allclose(after.norm(dim=-1), torch.ones(1), atol=1e-5)
    # merged: a plain BERT again, no peft wrapper left in the way of reading a question
    assert type(base.model).__name__ == "BertModel"


def test_too_few_labels_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALOGQA_CACHE", str(tmp_path / "cache"))
    _tiny_wheel_zip(tmp_path / "model.zip")
    enc = SentenceEncoder.from_zip(tmp_path / "model.zip")
    with pytest.raises(UserError, match="too few relation labels"):
        E.fit(enc, [("where is it ?", "capital")], held_share=0.0, info=lambda line: None)


def test_command_names_the_bad_file(tmp_path, files, capsys):
    from dialogqa.commands.cli import main

    assert main(["encoder", "fit", "--templates", str(tmp_path / "missing.json"),
                 "--labels", str(files[1]), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.json" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out").exists()
