"""A 2-layer Llama and a small byte-level BPE tokenizer built in memory (not a test module).

Nothing is downloaded: the tokenizer is trained on a few sentences in milliseconds, the model
is built ``from_config`` with a fixed seed. Weights are initialised larger than usual so the
logits are far from uniform and greedy choices are not decided by rounding noise.
"""

from __future__ import annotations

import torch

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "The capital of Norway is Oslo.", "Norway | capital | Oslo", "Sweden | population | 10500000",
    "What is the capital of Sweden? Stockholm.", "Zürich, Genève, São Paulo, Tōkyō, Kraków",
    "You answer questions about a knowledge graph.", "I don't find that in the graph.",
]


def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 3, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                   bos_token="<|im_start|>", unk_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")


def tiny_llama(vocab_size: int = 320, seed: int = 0, **overrides):
    from transformers import LlamaConfig, LlamaForCausalLM

    settings = dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=96,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=True,
                    initializer_range=0.15, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    settings.update(overrides)
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(**settings)).eval()
