"""The model side of training: LoRA on the top layers, the two losses, FGM, the layer schedule.

CPU efficiency, by construction rather than by flags:

- **Logits only where the loss is taken.** The decoder returns hidden states; the answer
  positions are gathered first and only those rows go through the 49,152-word LM head
  (a full-sequence LM head costs about as much as the rest of the forward pass here, and
  its softmax more). The relevance head reads only the fact-line ends.
- **Frozen lower layers have no backward pass.** LoRA sits on the top ``lora_layers`` decoder
  layers only; nothing below them requires grad (the embeddings are frozen too), so autograd
  records nothing there: their activations are not kept and backward stops at the lowest
  trainable layer. The layer-wise schedule freezes LoRA layers from the bottom up the same way.
  (FGM is the exception: it needs the gradient at the input embeddings, so it pays for a full
  backward pass, plus a second forward.)
- **No attention mask.** Batches are right-padded and attention is causal, so a real token
  never sees a pad; leaving the mask out keeps PyTorch's fused causal attention path.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dialogqa.model.relevance import RelevanceHead

_LAYER = re.compile(r"\.layers\.(\d+)\.")


def lora_layer_indices(n_layers: int, lora_layers: int) -> list[int]:
    """The decoder layers that get LoRA: the top ``lora_layers`` (0 or too many: all)."""
    if lora_layers <= 0 or lora_layers >= n_layers:
        return list(range(n_layers))
    return list(range(n_layers - lora_layers, n_layers))


def add_lora(hf_model, cfg):
    """Wrap ``hf_model`` in a peft LoRA model as the config says (a standard peft adapter)."""
    from peft import LoraConfig, get_peft_model

    n_layers = hf_model.config.num_hidden_layers
    layers = lora_layer_indices(n_layers, cfg.lora_layers)
    present = {name.rsplit(".", 1)[-1] for name, _ in hf_model.named_modules()}
    missing = [t for t in cfg.lora_targets if t not in present]
    if missing:
        from dialogqa.errors import UserError

        raise UserError(f"--lora-targets: the model has no module named {', '.join(missing)}")
    lora = LoraConfig(
        r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.lora_targets), task_type="CAUSAL_LM", bias="none",
        layers_to_transform=None if len(layers) == n_layers else layers,
    )
    return get_peft_model(hf_model, lora)


def param_layer(name: str) -> int | None:
    m = _LAYER.search(name)
    return int(m.group(1)) if m else None


class LayerSchedule:
    """Layer-wise fine-tuning: start with the top ``start`` LoRA layers trainable and unfreeze
    one more layer below every ``every`` steps, until all LoRA layers train. Off: all train."""

    def __init__(self, model: nn.Module, n_layers: int, cfg):
        self.layers = lora_layer_indices(n_layers, cfg.lora_layers)
        self.enabled = bool(cfg.layerwise)
        self.start, self.every = cfg.layerwise_start, cfg.layerwise_every
        self.params: dict[int, list[nn.Parameter]] = {}
        for name, p in model.named_parameters():
            layer = param_layer(name)
            if "lora_" in name and layer is not None:
                self.params.setdefault(layer, []).append(p)
        self.current: list[int] | None = None

    def trainable(self, step: int) -> list[int]:
        if not self.enabled:
            return list(self.layers)
        n = min(len(self.layers), self.start + step // self.every)
        return self.layers[len(self.layers) - n:]

    def apply(self, step: int) -> bool:
        """Set requires_grad for ``step``; True when the trainable set changed."""
        layers = self.trainable(step)
        if layers == self.current:
            return False
        on = set(layers)
        for layer, params in self.params.items():
            for p in params:
                p.requires_grad_(layer in on)
                if layer not in on:
                    p.grad = None
        self.current = layers
        return True


@dataclass
class Losses:
    total: torch.Tensor
    answer: float
    relevance: float
    answer_tokens: int
    fact_lines: int


class MultiTask(nn.Module):
    """A peft causal LM plus the relevance head, computing both losses on one forward pass."""

    def __init__(self, peft_model: nn.Module, head: RelevanceHead, cfg):
        super().__init__()
        self.peft = peft_model
        self.head = head
        base = peft_model.get_base_model()
        self.decoder = base.get_decoder()
        self.lm_head = base.get_output_embeddings()
        self.embed = base.get_input_embeddings()
        self.answer_weight = cfg.answer_weight
        self.relevance_weight = cfg.relevance_weight
        self.listwise_weight = cfg.relevance_listwise
        self.register_buffer("pos_weight", torch.tensor([cfg.relevance_pos_weight]), persistent=False)

    def hidden(self, input_ids: torch.Tensor, inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """Final (normed) hidden states, flattened to (batch * seq, hidden)."""
        if inputs_embeds is not None:
            out = self.decoder(inputs_embeds=inputs_embeds, use_cache=False)
        else:
            out = self.decoder(input_ids=input_ids, use_cache=False)
        h = out.last_hidden_state
        return h.reshape(-1, h.shape[-1])

    def fact_logits(self, flat: torch.Tensor, batch: dict) -> torch.Tensor:
        """One relevance logit per fact line. Fact lines come before the question in the
        prompt, so under causal attention their states cannot see it; a head with
        ``pair_logits(fact_states, query_states)`` also reads the last prompt token, which has
        seen the facts and the question. A plain head reads the fact lines alone."""
        facts = flat.index_select(0, batch["fact_index"])
        if hasattr(self.head, "pair_logits"):
            query = flat.index_select(0, batch["fact_query_index"])
            return self.head.pair_logits(facts, query).float()
        return self.head(facts).float()

    def forward(self, batch: dict, inputs_embeds: torch.Tensor | None = None) -> Losses:
        flat = self.hidden(batch["input_ids"], inputs_embeds)
        zero = flat.sum() * 0.0  # keeps the graph connected when a task has no rows here
        answer = relevance = zero
        n_answer = int(batch["answer_index"].numel())
        n_facts = int(batch["fact_index"].numel())
        if n_answer and self.answer_weight:
            logits = self.lm_head(flat.index_select(0, batch["answer_index"]))
            answer = F.cross_entropy(logits.float(), batch["answer_targets"])
        if n_facts and self.relevance_weight:
            rel_logits = self.fact_logits(flat, batch)
            relevance = F.binary_cross_entropy_with_logits(
                rel_logits, batch["fact_labels"], pos_weight=self.pos_weight)
            if self.listwise_weight:
                relevance = relevance + self.listwise_weight * listwise_loss(
                    rel_logits, batch["fact_labels"], batch["fact_owner"])
        total = self.answer_weight * answer + self.relevance_weight * relevance
        return Losses(total, float(answer.detach()), float(relevance.detach()), n_answer, n_facts)


def listwise_loss(logits: torch.Tensor, labels: torch.Tensor, owner: torch.Tensor) -> torch.Tensor:
    """Listwise ranking loss: for each prompt with a gold line, ``-log`` of the softmax mass
    its fact lines put on the gold lines (Cao et al. 2007, ListNet's top-one form). With one
    gold line in 30, BCE alone mostly learns "everything is irrelevant"; this term pays only
    for the gold line's rank among its own candidates. Prompts without gold lines add nothing.
    """
    terms = []
    for i in owner.unique():
        mine = owner == i
        scores, gold = logits[mine], labels[mine] > 0
        if gold.any():
            terms.append(torch.logsumexp(scores, 0) - torch.logsumexp(scores[gold], 0))
    return torch.stack(terms).mean() if terms else logits.sum() * 0.0


def train_step(mt: MultiTask, batch: dict, fgm_epsilon: float, scale: float = 1.0,
               autocast=nullcontext) -> Losses:
    """Forward + backward of one micro-batch (gradients accumulate in .grad).

    FGM (Miyato et al. 2017, the "fast gradient method" of adversarial training): after the
    clean backward, perturb the input embeddings by ``epsilon * g / ||g||`` (g: the loss
    gradient at the embeddings), run forward + backward again on the perturbed input and keep
    both gradients, so the model learns to answer the same under a worst-case nudge.
    """
    if fgm_epsilon <= 0:
        with autocast():
            losses = mt(batch)
        (losses.total * scale).backward()
        return losses
    with torch.no_grad():
        embeds = mt.embed(batch["input_ids"])
    embeds.requires_grad_(True)
    with autocast():
        losses = mt(batch, inputs_embeds=embeds)
    (losses.total * scale).backward()
    grad = embeds.grad.detach().float()
    norm = grad.norm()
    if torch.isfinite(norm) and norm > 0:
        delta = (fgm_epsilon * grad / norm).to(embeds.dtype)
        with autocast():
            adversarial = mt(batch, inputs_embeds=embeds.detach() + delta)
        (adversarial.total * scale).backward()
    return losses


@torch.no_grad()
def eval_counts(mt: MultiTask, batch: dict, autocast=nullcontext) -> dict[str, float]:
    """Teacher-forced counts for a batch: answers whose every token is the argmax, token
    accuracy, gold fact ranked first, unanswerable turns with every fact below 0.5."""
    with autocast():
        flat = mt.hidden(batch["input_ids"])
        out = {"loss_answer": 0.0, "loss_relevance": 0.0}
        right = torch.zeros(0, dtype=torch.bool)
        if batch["answer_index"].numel():
            logits = mt.lm_head(flat.index_select(0, batch["answer_index"])).float()
            out["loss_answer"] = float(F.cross_entropy(logits, batch["answer_targets"], reduction="sum"))
            right = logits.argmax(-1) == batch["answer_targets"]
        rel = torch.zeros(0)
        if batch["fact_index"].numel():
            rel = mt.fact_logits(flat, batch)
            out["loss_relevance"] = float(F.binary_cross_entropy_with_logits(
                rel, batch["fact_labels"], reduction="sum"))
    counts = dict(out, examples=0, answers_exact=0, answer_tokens=int(right.numel()),
                  answer_tokens_right=int(right.sum()), fact_lines=int(rel.numel()),
                  relevance_answerable=0, relevance_top1=0, unanswerable=0, abstain_right=0)
    a_owner, f_owner, labels = batch["answer_owner"], batch["fact_owner"], batch["fact_labels"]
    for i in range(batch["input_ids"].shape[0]):
        counts["examples"] += 1
        mine = right[a_owner == i]
        counts["answers_exact"] += bool(mine.numel()) and bool(mine.all())
        scores, gold = rel[f_owner == i], labels[f_owner == i]
        if not scores.numel():
            continue
        if gold.max() > 0:
            counts["relevance_answerable"] += 1
            counts["relevance_top1"] += bool(gold[scores.argmax()] > 0)
        else:
            counts["unanswerable"] += 1
            counts["abstain_right"] += bool(torch.sigmoid(scores).max() < 0.5)
    return counts
