"""A tiny model directory, graph and dialogues for the training tests (not a test module).

The model is a 2-layer Llama built ``from_config``; the tokenizer a byte-level BPE trained in
memory on the prompt's own vocabulary (system text, labels, questions), so a rendered prompt
is ~150 tokens and a training step takes milliseconds. Nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Norway rdfs:label "Norway"@en ; ex:capital ex:Oslo ; ex:population 5550203 ; ex:currency ex:NOK .
ex:Sweden rdfs:label "Sweden"@en ; ex:capital ex:Stockholm ; ex:population 10500000 ; ex:currency ex:SEK .
ex:Finland rdfs:label "Finland"@en ; ex:capital ex:Helsinki ; ex:population 5600000 ; ex:currency ex:EUR .
ex:Oslo rdfs:label "Oslo"@en ; ex:population 709037 .
ex:Stockholm rdfs:label "Stockholm"@en ; ex:population 975904 .
ex:Helsinki rdfs:label "Helsinki"@en ; ex:population 658864 .
ex:NOK rdfs:label "Norwegian krone"@en . ex:SEK rdfs:label "Swedish krona"@en . ex:EUR rdfs:label "euro"@en .
ex:capital rdfs:label "capital" . ex:population rdfs:label "population" . ex:currency rdfs:label "currency" .
"""

EX = "http://example.org/"
CAPITALS = {"Norway": "Oslo", "Sweden": "Stockholm", "Finland": "Helsinki"}
POPULATION = {"Norway": "5550203", "Sweden": "10500000", "Finland": "5600000"}
CURRENCY = {"Norway": ("NOK", "Norwegian krone"), "Sweden": ("SEK", "Swedish krona"),
            "Finland": ("EUR", "euro")}


def _turn(user, answer, s, p, o, literal=False):
    return {"user": user, "expected": [answer],
            "expected_evidence": [[EX + s, EX + p, o if literal else EX + o]]}


def dialogues() -> list[dict]:
    out = []
    for i, country in enumerate(CAPITALS):
        cap = CAPITALS[country]
        code, cur = CURRENCY[country]
        out.append({"id": f"{country.lower()}-a", "kg": ["graph.ttl"], "turns": [
            _turn(f"What is the capital of {country}?", cap, country, "capital", cap),
            _turn("How many people live there?", POPULATION[country], country, "population",
                  POPULATION[country], literal=True),
            _turn("And its currency?", cur, country, "currency", code),
            {"user": "What is its national anthem?", "unanswerable": True},
        ]})
        out.append({"id": f"{country.lower()}-b", "kg": ["graph.ttl"], "turns": [
            _turn(f"Which currency does {country} use?", cur, country, "currency", code),
            _turn("What is its capital?", cap, country, "capital", cap),
        ]})
    return out


def write_data(folder: Path) -> tuple[Path, Path]:
    """(transcripts.jsonl, graph.ttl) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    graph = folder / "graph.ttl"
    graph.write_text(TTL, encoding="utf-8")
    transcripts = folder / "dialogues.jsonl"
    transcripts.write_text("".join(json.dumps(d) + "\n" for d in dialogues()), encoding="utf-8")
    return transcripts, graph


def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from dialogqa.dialogue.render import ABSTAIN_TEXT, SYSTEM_TEXT

    corpus = [SYSTEM_TEXT, ABSTAIN_TEXT, "Facts:", "(none)", TTL, "system user assistant"]
    corpus += [t["user"] + " " + " ".join(t.get("expected", [])) for d in dialogues() for t in d["turns"]]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, show_progress=False,
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus * 4, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                   bos_token="<|im_start|>", unk_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")


def tiny_model(vocab_size: int, layers: int = 2, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=96,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=1024, rms_norm_eps=1e-5, tie_word_embeddings=True,
                         initializer_range=0.15,  # logits far from uniform: the LoRA can move them
                         bos_token_id=1, eos_token_id=2, pad_token_id=0)
    return LlamaForCausalLM(config)


def write_model(folder: Path, layers: int = 2) -> Path:
    """A tiny model directory that ``--model DIR`` (load_base_for_training) loads."""
    tok = tiny_tokenizer()
    # a vocabulary rounded up to 64 rows, as real models do (the int4 chat backend packs by 16)
    model = tiny_model(-(-len(tok) // 64) * 64, layers=layers)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def tiny_config(tmp: Path, model_dir: Path, **overrides):
    from dialogqa.train.config import TrainConfig

    transcripts, _ = write_data(tmp / "data")
    settings = dict(
        sources=[{"transcripts": [str(transcripts)], "name": "tiny"}],
        model=str(model_dir), out=str(tmp / "run"), k=8, max_tokens=512, batch_tokens=1024,
        lora_rank=4, lora_alpha=8.0, lora_layers=1, epochs=1, warmup_steps=1, log_every=1,
        val_fraction=0.2, val_conversations=2, val_mode="teacher", progress=False, threads=1,
        precision="fp32", lr=1e-3,
    )
    settings.update(overrides)
    return TrainConfig(**settings)
