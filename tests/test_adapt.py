"""`dialogqa adapt` end to end on a tiny graph with a 2-layer model: data, before, train,
question head, calibration, after; the adapter it writes loads; a second run continues."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from dialogqa.commands.cli import main  # noqa: E402
from dialogqa.train.adapt import STAGES, before_after_table  # noqa: E402
from dialogqa.train.recipe import train  # noqa: E402
from train_fixtures import tiny_config, write_model  # noqa: E402

MORE = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Denmark rdfs:label "Denmark"@en ; ex:capital ex:Copenhagen ; ex:population 5900000 ; ex:currency ex:DKK ;
    ex:borders ex:Sweden .
ex:Norway ex:borders ex:Sweden , ex:Finland . ex:Sweden ex:borders ex:Norway , ex:Finland .
ex:Copenhagen rdfs:label "Copenhagen"@en ; ex:population 660000 .
ex:DKK rdfs:label "Danish krone"@en . ex:borders rdfs:label "borders" .
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(model dir, starting adapter, graph file)"""
    root = tmp_path_factory.mktemp("adapt")
    model_dir = write_model(root / "model")
    train(tiny_config(root, model_dir, val_fraction=0.0))
    graph = root / "data" / "graph.ttl"
    graph.write_text(graph.read_text() + MORE, encoding="utf-8")
    return model_dir, root / "run" / "last", graph


def adapt(tiny, out, *more):
    model_dir, base, graph = tiny
    return main(["adapt", "--kg", str(graph), "--out", str(out), "--adapter", str(base),
                 "--model", str(model_dir), "--minutes", "10", "--conversations", "12",
                 "--typed-conversations", "10", "--heldout", "3", "--calibration", "2",
                 "--no-progress", *more])


@pytest.fixture(scope="module")
def adapted(tiny, tmp_path_factory):
    """One finished run: (folder, what it printed on stdout)."""
    out = tmp_path_factory.mktemp("adapted") / "mine"
    import contextlib
    import io

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert adapt(tiny, out) == 0
    return out, stdout.getvalue()


def test_the_whole_journey_writes_an_adapter_with_its_table(tiny, adapted, capsys):
    out, printed = adapted
    state = json.loads((out / "adapt.json").read_text())
    assert state["status"] == "done" and list(state["stages"]) == list(STAGES)
    # which graph and settings made it
    assert state["settings"]["graph"] == str(tiny[2].resolve())
    assert state["settings"]["base_adapter"] == str(tiny[1].resolve())
    assert state["stages"]["train"]["trained"] and state["stages"]["train"]["steps"] > 0
    assert state["stages"]["intent"]["questions"] > 0
    # before and after replayed the same held-out dialogues
    before, after = state["report"]["before"], state["report"]["after"]
    assert before["turns"] == after["turns"] == state["stages"]["data"]["files"]["heldout.jsonl"]["turns"]
    table = (out / "adapt_report.md").read_text()
    assert "| **all** |" in table and table.count("\n| ") >= 3
    assert "| **all** |" in printed
    # the adapter folder is complete: trained LoRA, relevance head calibrated, question head
    for name in ("adapter_config.json", "adapter_model.safetensors", "relevance_head.json",
                 "intent_head.safetensors"):
        assert (out / name).is_file(), name
    head = json.loads((out / "relevance_head.json").read_text())
    calibrate = state["stages"]["calibrate"]
    assert head["abstain_bias"] == calibrate["abstain_bias"]
    assert head.get("grounding") == calibrate["grounding"]
    # the prior was fitted on recorded turns, and the starting calibration was among those tried
    assert 0.0 <= calibrate["prior_fit"]["fitted"] <= 1.0
    assert any(k.startswith("start bias ") for k in calibrate["tried"])
    assert (out / "work" / "calibration-free.replayed.jsonl").is_file()
    from safetensors.torch import load_file

    trained = load_file(str(out / "adapter_model.safetensors"))
    start = load_file(str(tiny[1] / "adapter_model.safetensors"))
    assert trained.keys() == start.keys() and any(not torch.equal(trained[k], start[k]) for k in trained)
    # and the commands load it
    from dialogqa.model.loading import load_chat_model

    model = load_chat_model(tiny[0], adapter_dir=out)
    assert model.intent is not None

    # a second run has nothing left to do: same table, no stage run again
    seconds = {s: state["stages"][s]["seconds"] for s in STAGES}
    assert adapt(tiny, out) == 0
    again = json.loads((out / "adapt.json").read_text())
    assert {s: again["stages"][s]["seconds"] for s in STAGES} == seconds
    assert "already done" in capsys.readouterr().err


def test_an_interrupted_run_continues_where_it_stopped(tiny, adapted, tmp_path, capsys):
    import shutil

    out = tmp_path / "mine"
    shutil.copytree(adapted[0], out)
    state = json.loads((out / "adapt.json").read_text())
    kept = {s: state["stages"][s]["seconds"] for s in ("data", "before", "train")}
    # as if stopped during the question head: later stages not done yet
    for stage in ("intent", "calibrate", "after"):
        state["stages"].pop(stage)
    state["status"] = "running"
    (out / "adapt.json").write_text(json.dumps(state))
    capsys.readouterr()
    assert adapt(tiny, out) == 0
    err = capsys.readouterr().err
    assert "data, before, train already done" in err and "[4/6] intent" in err and "[3/6]" not in err
    again = json.loads((out / "adapt.json").read_text())
    assert {s: again["stages"][s]["seconds"] for s in kept} == kept
    assert again["status"] == "done"


def test_other_settings_in_the_same_folder_are_refused(tiny, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "adapt.json").write_text(json.dumps({"settings": {"graph": "else"}, "stages": {}}))
    assert adapt(tiny, out) == 2
    assert "other settings or another graph" in capsys.readouterr().err
    (out / "adapt.json").unlink()
    (out / "notes.txt").write_text("mine")
    assert adapt(tiny, out) == 2
    assert "not an adaptation in progress" in capsys.readouterr().err


def test_a_graph_is_required(capsys):
    assert main(["adapt", "--out", "x"]) == 2
    assert "give the graph" in capsys.readouterr().err


def test_the_table_lists_each_type_and_the_change():
    before = {"turns": 4, "turn_accuracy": 0.5,
              "by_type": {"count": {"accuracy": 0.0, "turns": 2}, "single": {"accuracy": 1.0, "turns": 2}}}
    after = {"turns": 4, "turn_accuracy": 0.75,
             "by_type": {"count": {"accuracy": 0.5, "turns": 2}, "single": {"accuracy": 1.0, "turns": 2}}}
    table = before_after_table(before, after)
    assert "| count | 2 | 0.000 | 0.500 | +0.500 |" in table
    assert "| single | 2 | 1.000 | 1.000 | +0.000 |" in table
    assert "| **all** | 4 | 0.500 | 0.750 | +0.250 |" in table


def test_the_chat_header_label_names_an_adapted_folder(adapted, tiny):
    import argparse

    from dialogqa.commands.options import adapter_label

    def label(adapter, baseline=None):
        return adapter_label(argparse.Namespace(adapter=adapter, baseline=baseline))

    assert label(str(adapted[0])) == "mine (adapted to graph.ttl)"
    assert label(str(tiny[1])) == "last"  # a plain `dialogqa train` checkpoint
    assert label(None, baseline="zero-shot") == "none (base model)"


def test_calibrate_fits_and_writes_an_adapters_calibration(tiny, adapted, tmp_path, capsys):
    """`dialogqa calibrate`: the same step as adapt's, on any dialogue files."""
    import shutil

    adapter = tmp_path / "adapter"
    shutil.copytree(adapted[0], adapter, ignore=shutil.ignore_patterns("work"))
    dialogues = adapted[0] / "work" / "calibration.jsonl"
    head = adapter / "relevance_head.json"
    head.write_text(json.dumps({**json.loads(head.read_text()), "abstain_bias": 3.0}))
    capsys.readouterr()
    assert main(["calibrate", str(adapter), str(dialogues), "--model", str(tiny[0]), "--steps", "-3",
                 "--out", str(tmp_path / "replays"), "--no-progress", "--write"]) == 0
    out = capsys.readouterr().out
    assert "prior fit (answer = best prior)" in out and "start bias 3:" in out
    chosen = out.split("best: ")[1].split(",")[0]
    # the bias written is the one of the option it chose among those it printed
    assert chosen in out.split("best: ")[0]
    assert json.loads(head.read_text())["abstain_bias"] == float(chosen.rsplit(" ", 1)[1])
    assert (tmp_path / "replays" / "calibration-free.replayed.jsonl").is_file()


def test_calibrate_refuses_bad_input_in_one_line(adapted, tmp_path, capsys):
    assert main(["calibrate", str(tmp_path), "x.jsonl"]) == 2
    assert "no relevance head" in capsys.readouterr().err
    assert main(["calibrate", str(adapted[0]), str(tmp_path / "none.jsonl")]) == 2
    assert "none.jsonl: no such file" in capsys.readouterr().err
    lost = tmp_path / "lost.jsonl"
    lost.write_text(json.dumps({"id": "c1", "kg": ["gone.ttl"], "turns": [{"user": "Hi?"}]}) + "\n")
    assert main(["calibrate", str(adapted[0]), str(lost)]) == 2
    err = capsys.readouterr().err
    assert "lost.jsonl:1: graph file" in err and "gone.ttl does not exist" in err and "Traceback" not in err
    assert main(["calibrate", str(adapted[0]), str(lost), "--steps", "a"]) == 2
    assert "--steps 'a'" in capsys.readouterr().err


def test_intent_fit_reads_questions_again_for_another_lora(tiny, adapted, tmp_path, monkeypatch, capsys):
    """`dialogqa intent fit --cache`: features cached for one LoRA are not reused for another."""
    import shutil

    import dialogqa.train.intent as intent

    read: list[int] = []
    real = intent.featurise

    def counting(model, questions, *rest):
        read.append(len(questions))
        return real(model, questions, *rest)

    monkeypatch.setattr(intent, "featurise", counting)
    adapter = tmp_path / "adapter"
    shutil.copytree(adapted[0], adapter, ignore=shutil.ignore_patterns("work"))
    typed = adapted[0] / "work" / "typed.jsonl"
    fit = ["intent", "fit", "--adapter", str(adapter), "--model", str(tiny[0]), "--data", str(typed),
           "--cache", str(tmp_path / "features.pt")]
    assert main(fit) == 0 and main(fit) == 0
    assert read[0] > 0 and read[1] == 0  # the same LoRA: every question from the cache
    weights = adapter / "adapter_model.safetensors"
    from safetensors.torch import load_file, save_file

    state = load_file(str(weights))
    save_file({k: v + 0.01 for k, v in state.items()}, str(weights))
    assert main(fit) == 0
    assert read[2] == read[0]  # another LoRA: all read again
    assert (adapter / "intent_head.safetensors").is_file()
