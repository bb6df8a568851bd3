"""The model side of the recipe: where losses are read, what backward touches, FGM, layer-wise."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from dialogqa.model.relevance import RelevanceHead  # noqa: E402
from dialogqa.train.batching import collate, make_batches  # noqa: E402
from dialogqa.train.examples import Example  # noqa: E402
from dialogqa.train.multitask import (LayerSchedule, MultiTask, add_lora, eval_counts,  # noqa: E402
                                      lora_layer_indices, train_step)
from train_fixtures import tiny_config, tiny_model  # noqa: E402

VOCAB = 97


def examples() -> list[Example]:
    g = torch.Generator().manual_seed(1)
    out = []
    for length, n_answer, ends, labels in ((30, 4, [5, 9, 14], [0, 1, 0]), (22, 3, [4, 8], [0, 0]),
                                           (40, 5, [6, 12, 20, 25], [0, 0, 1, 0])):
        ids = torch.randint(3, VOCAB, (length,), generator=g).tolist()
        mask = [0] * (length - n_answer) + [1] * n_answer
        out.append(Example(ids, mask, ends, [float(x) for x in labels]))
    return out


def build(tmp_path, layers=2, **overrides):
    cfg = tiny_config(tmp_path, tmp_path / "unused", lora_dropout=0.0, **overrides)
    model = tiny_model(VOCAB, layers=layers)
    torch.manual_seed(0)
    peft_model = add_lora(model, cfg)
    head = RelevanceHead(model.config.hidden_size)
    return cfg, MultiTask(peft_model, head, cfg), peft_model


def batch():
    return collate(examples(), pad_id=0)


def test_losses_match_a_full_sequence_reference(tmp_path):
    cfg, mt, peft_model = build(tmp_path, lora_layers=0)
    b = batch()
    losses = mt(b)
    # naive reference: logits over every position, then keep the answer targets
    ids = b["input_ids"]
    logits = peft_model(input_ids=ids).logits
    ce_terms, bce_logits, bce_labels = [], [], []
    hidden = peft_model.get_base_model().model(input_ids=ids).last_hidden_state
    for row, ex in enumerate(examples()):
        for t, m in enumerate(ex.loss_mask):
            if m:
                ce_terms.append(F.cross_entropy(logits[row, t - 1][None], ids[row, t][None]))
        for end, label in zip(ex.fact_ends, ex.fact_labels):
            # the head reads the fact line and the last prompt token (here: the last token)
            bce_logits.append(mt.head.pair_logits(hidden[row, end][None], hidden[row, len(ex) - 1][None])[0])
            bce_labels.append(label)
    ce = torch.stack(ce_terms).mean()
    bce = F.binary_cross_entropy_with_logits(torch.stack(bce_logits), torch.tensor(bce_labels),
                                             pos_weight=torch.tensor([cfg.relevance_pos_weight]))
    assert losses.answer == pytest.approx(ce.item(), rel=1e-5)
    assert losses.relevance == pytest.approx(bce.item(), rel=1e-5)
    assert losses.answer_tokens == 12 and losses.fact_lines == 9
    assert losses.total.item() == pytest.approx((ce + cfg.relevance_weight * bce).item(), rel=1e-5)


def test_lm_head_sees_only_answer_positions(tmp_path):
    _, mt, _ = build(tmp_path)
    rows = []
    mt.lm_head.register_forward_hook(lambda m, inp, out: rows.append(inp[0].shape))
    mt(batch())
    assert rows == [torch.Size([12, 64])]  # 12 answer tokens, not 3 x 40 positions


def test_frozen_lower_layers_have_no_backward(tmp_path):
    _, mt, peft_model = build(tmp_path, lora_layers=1)
    layers = peft_model.get_base_model().model.layers
    seen = {}
    layers[0].register_forward_hook(lambda m, i, o: seen.setdefault("l0", o[0] if isinstance(o, tuple) else o))
    layers[1].register_forward_hook(lambda m, i, o: seen.setdefault("l1", o[0] if isinstance(o, tuple) else o))
    backward_calls = []
    layers[0].register_full_backward_hook(lambda *a: backward_calls.append(0))
    train_step(mt, batch(), fgm_epsilon=0.0)
    assert not seen["l0"].requires_grad  # autograd recorded nothing below the LoRA layers
    assert seen["l1"].requires_grad
    assert backward_calls == []
    grads = {n: p.grad for n, p in peft_model.named_parameters() if "lora_" in n}
    assert grads and all(".layers.1." in n for n in grads)
    assert all(g is not None and g.abs().sum() > 0 for n, g in grads.items() if "lora_B" in n)


def test_lora_on_all_layers_backpropagates_through_all(tmp_path):
    _, mt, peft_model = build(tmp_path, lora_layers=0)
    layers = peft_model.get_base_model().model.layers
    calls = []
    layers[0].register_full_backward_hook(lambda *a: calls.append(0))
    train_step(mt, batch(), fgm_epsilon=0.0)
    assert calls == [0]


def test_layer_indices():
    assert lora_layer_indices(30, 8) == list(range(22, 30))
    assert lora_layer_indices(4, 0) == [0, 1, 2, 3]
    assert lora_layer_indices(4, 9) == [0, 1, 2, 3]


def test_layerwise_schedule_unfreezes_downward(tmp_path):
    cfg, mt, peft_model = build(tmp_path, layers=3, lora_layers=3, layerwise=True,
                                layerwise_start=1, layerwise_every=2)
    schedule = LayerSchedule(peft_model, 3, cfg)
    assert [schedule.trainable(s) for s in (0, 1, 2, 3, 4, 9)] == [[2], [2], [1, 2], [1, 2], [0, 1, 2], [0, 1, 2]]
    assert schedule.apply(0) is True and schedule.apply(1) is False
    by_layer = {}
    for n, p in peft_model.named_parameters():
        if "lora_" in n:
            by_layer.setdefault(int(n.split(".layers.")[1].split(".")[0]), []).append(p)
    assert all(p.requires_grad for p in by_layer[2])
    assert not any(p.requires_grad for p in by_layer[0] + by_layer[1])
    # one optimizer step: only the top layer's LoRA weights move
    before = {k: [p.detach().clone() for p in v] for k, v in by_layer.items()}
    opt = torch.optim.SGD([p for v in by_layer.values() for p in v], lr=0.5)
    train_step(mt, batch(), fgm_epsilon=0.0)
    opt.step()
    moved = {k: any(not torch.equal(a, b) for a, b in zip(before[k], v)) for k, v in by_layer.items()}
    assert moved == {0: False, 1: False, 2: True}
    schedule.apply(4)
    assert all(p.requires_grad for v in by_layer.values() for p in v)


def test_layerwise_off_trains_every_lora_layer(tmp_path):
    cfg, _, peft_model = build(tmp_path, layers=3, lora_layers=2, layerwise=False)
    schedule = LayerSchedule(peft_model, 3, cfg)
    assert schedule.trainable(0) == [1, 2]


def test_fgm_adds_an_adversarial_pass(tmp_path):
    _, mt, peft_model = build(tmp_path, lora_layers=1)
    calls = []
    mt.decoder.register_forward_hook(lambda m, i, o: calls.append(1))
    train_step(mt, batch(), fgm_epsilon=0.0)
    plain = {n: p.grad.clone() for n, p in peft_model.named_parameters() if p.grad is not None}
    assert len(calls) == 1
    mt.zero_grad(set_to_none=True)
    calls.clear()
    train_step(mt, batch(), fgm_epsilon=0.5)
    assert len(calls) == 2  # clean pass + perturbed pass
    fgm = {n: p.grad for n, p in peft_model.named_parameters() if p.grad is not None}
    assert fgm.keys() == plain.keys()
    # gradients = clean + adversarial: different from (and not just twice) the clean ones
    assert any(not torch.allclose(fgm[n], 2 * plain[n], atol=1e-6) for n in plain)


def test_fgm_perturbation_has_norm_epsilon(tmp_path):
    _, mt, _ = build(tmp_path)
    seen = []

    def hook(module, args, kwargs):
        seen.append(kwargs.get("inputs_embeds"))
    mt.decoder.register_forward_pre_hook(hook, with_kwargs=True)
    b = batch()
    train_step(mt, b, fgm_epsilon=0.25)
    clean, perturbed = seen
    assert float((perturbed - clean).norm()) == pytest.approx(0.25, rel=1e-4)


def test_task_weights(tmp_path):
    _, mt, peft_model = build(tmp_path, relevance_weight=0.0)
    train_step(mt, batch(), fgm_epsilon=0.0)
    assert all(p.grad is None or not p.grad.any() for p in mt.head.parameters())
    _, mt2, peft2 = build(tmp_path, answer_weight=0.0, relevance_weight=2.0)
    losses = train_step(mt2, batch(), fgm_epsilon=0.0)
    assert float(losses.total) == pytest.approx(2.0 * losses.relevance, rel=1e-6)
    assert all(p.grad is not None and p.grad.any() for p in mt2.head.parameters())


def test_eval_counts(tmp_path):
    _, mt, _ = build(tmp_path)
    c = eval_counts(mt, batch())
    assert c["examples"] == 3 and c["answer_tokens"] == 12 and c["fact_lines"] == 9
    assert c["relevance_answerable"] == 2 and c["unanswerable"] == 1
    assert 0 <= c["answers_exact"] <= 3 and 0 <= c["relevance_top1"] <= 2


def test_collate_indices_point_at_answer_and_fact_tokens():
    exs = examples()
    b = collate(exs, pad_id=0)
    width = b["input_ids"].shape[1]
    assert width == 40
    first = exs[0]
    answer_rows = b["answer_index"][b["answer_owner"] == 0].tolist()
    assert answer_rows == [t - 1 for t, m in enumerate(first.loss_mask) if m]
    assert b["answer_targets"][b["answer_owner"] == 0].tolist() == first.input_ids[-4:]
    assert b["fact_index"][b["fact_owner"] == 2].tolist() == [2 * width + e for e in exs[2].fact_ends]
    assert b["input_ids"][1, 22:].eq(0).all()  # right padding


def test_bucketing_reduces_padding():
    import random

    from dialogqa.train.batching import padded_tokens

    rng = random.Random(0)
    exs = [Example([1] * n, [0] * n, [], []) for n in [rng.randint(50, 500) for _ in range(200)]]
    bucketed = make_batches(exs, 2048, random.Random(1))
    naive = make_batches(exs, 2048, random.Random(1), bucket=False)
    assert all(max(len(e) for e in b) * len(b) <= 2048 for b in bucketed)
    assert sorted(id(e) for b in bucketed for e in b) == sorted(id(e) for e in exs)
    real, padded = padded_tokens(bucketed)
    real_n, padded_n = padded_tokens(naive)
    assert padded / real < 1.05 < padded_n / real_n


class PairHead(torch.nn.Module):
    """A question-aware head: reads each fact line's state and its example's last prompt token."""

    def __init__(self, hidden):
        super().__init__()
        self.fact = torch.nn.Linear(hidden, 8)
        self.query = torch.nn.Linear(hidden, 8)
        self.calls = []

    def pair_logits(self, facts, query):
        self.calls.append((facts.detach().clone(), query.detach().clone()))
        return (self.fact(facts) * self.query(query)).sum(-1)


def test_question_aware_head_reads_the_last_prompt_token(tmp_path):
    cfg, _, peft_model = build(tmp_path)
    head = PairHead(64)
    mt = MultiTask(peft_model, head, cfg)
    exs = examples()
    exs[0].query_pos = 25  # the prompt ends at 25, the answer follows
    b = collate(exs, pad_id=0)
    train_step(mt, b, fgm_epsilon=0.0)
    facts, query = head.calls[0]
    flat = mt.hidden(b["input_ids"]).detach()
    width = b["input_ids"].shape[1]
    assert torch.allclose(query[:3], flat[25].expand(3, -1), atol=1e-5)  # example 0's 3 fact lines
    assert torch.allclose(query[3:5], flat[width + 21].expand(2, -1), atol=1e-5)  # default: last token
    assert torch.allclose(facts[0], flat[5], atol=1e-5)
    assert head.fact.weight.grad is not None and head.query.weight.grad.abs().sum() > 0


def test_listwise_term_is_the_gold_lines_softmax_loss(tmp_path):
    from dialogqa.train.multitask import listwise_loss

    logits = torch.tensor([2.0, 0.0, -1.0, 0.5, 0.5, 3.0, 1.0])
    labels = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    owner = torch.tensor([0, 0, 0, 1, 1, 2, 2])  # prompt 1 has no gold line: it adds nothing
    labels[5] = 1.0
    expected = (-torch.log_softmax(logits[:3], 0)[0] - torch.log_softmax(logits[5:], 0)[0]) / 2
    assert listwise_loss(logits, labels, owner).item() == pytest.approx(expected.item(), rel=1e-6)

    cfg, mt, _ = build(tmp_path, relevance_listwise=0.5)
    b = batch()
    with_term = mt(b)
    mt.listwise_weight = 0.0
    without = mt(b)
    rel = mt.fact_logits(mt.hidden(b["input_ids"]), b).float()
    extra = 0.5 * listwise_loss(rel, b["fact_labels"], b["fact_owner"]).item()
    assert extra > 0
    assert with_term.relevance == pytest.approx(without.relevance + extra, rel=1e-5)
