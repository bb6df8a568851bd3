import pytest

from dialogqa.dialogue.render import ABSTAIN_TEXT, render
from scripted import ScriptedModel, tiny_tokenizer


def prompt(tok):
    from rdflib import URIRef

    from dialogqa.records import Fact

    e = "http://example.org/"
    facts = [Fact(URIRef(e + "a"), URIRef(e + "p"), URIRef(e + x), "A", "p", x) for x in ("X", "Y", "Z")]
    return render(tok, "q?", facts)


def test_queued_replies_stream_in_order_and_prefill_is_recorded():
    model = ScriptedModel().enqueue("first reply here").enqueue("second")
    r = prompt(model.tokenizer)
    assert model.prefill(r.input_ids, r.fact_ends) is None  # no relevance: like a model without a head
    assert list(model.decode()) == ["first", " reply", " here"]
    model.prefill(r.input_ids, r.fact_ends)
    assert list(model.decode(max_new_tokens=5)) == ["second"]
    assert model.calls[0].fact_lines == ["[1] A | p | X", "[2] A | p | Y", "[3] A | p | Z"]


def test_relevance_as_list_mapping_or_function():
    model = ScriptedModel(default_relevance=0.2)
    r = prompt(model.tokenizer)
    model.enqueue("a", relevance=[0.1, 0.9, 0.3]).enqueue("b", relevance={"| Z": 0.8})
    model.enqueue("c", relevance=lambda lines: [len(x) / 100 for x in lines])
    assert model.prefill(r.input_ids, r.fact_ends) == [0.1, 0.9, 0.3]
    assert model.prefill(r.input_ids, r.fact_ends) == [0.2, 0.2, 0.8]
    assert model.prefill(r.input_ids, r.fact_ends) == [0.13, 0.13, 0.13]
    model.enqueue("d", relevance=[1.0])
    with pytest.raises(ValueError, match="1 relevance scores for 3 fact lines"):
        model.prefill(r.input_ids, r.fact_ends)


def test_empty_queue_uses_fallback_and_decode_needs_prefill():
    model = ScriptedModel()
    r = prompt(model.tokenizer)
    model.prefill(r.input_ids, r.fact_ends)
    assert "".join(model.decode()) == ABSTAIN_TEXT
    with pytest.raises(RuntimeError, match="without a prefill"):
        list(model.decode())
    echo = ScriptedModel(fallback=lambda lines: lines[-1].split(" | ")[-1])
    echo.prefill(r.input_ids, r.fact_ends)
    assert "".join(echo.decode()) == "Z"


def test_tiny_tokenizer_is_lossless_and_speaks_chatml():
    tok = tiny_tokenizer()
    text = "Ünïcode ✓ 北京\n<tab>\t"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
    assert tok.convert_tokens_to_ids("<|im_end|>") == tok.eos_token_id
    assert len(tok("<|im_start|>", add_special_tokens=False)["input_ids"]) == 1
