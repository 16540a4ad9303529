"""Speculative greedy decoding: prompt lookup and a draft model give the plain greedy reply token for token,
in fewer passes of the target when the drafts are right."""

from __future__ import annotations

import pytest
import torch

from tuneforge.config.loading import validate
from tuneforge.config.schema import DecodingConfig
from tuneforge.engine.generate import generate_ids
from tuneforge.engine.speculative import DraftModel, PromptLookup, speculative_greedy
from tuneforge.errors import ConfigError
from tuneforge.methods.layers import keep_layers


@pytest.fixture(scope="module")
def target(tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_llama).eval(), AutoTokenizer.from_pretrained(tiny_llama)


def prompts(tokenizer) -> list[list[int]]:
    texts = ["The report says the fire started in the kitchen of the old hotel on Main Street.",
             "Summarise: the committee met, the committee voted, the committee left the old hotel.",
             "Hello", "a b c d e f g a b c d e f g a b c"]
    return [tokenizer(t)["input_ids"] for t in texts]


def test_prompt_lookup_copies_what_followed_the_latest_match():
    lookup = PromptLookup()
    assert lookup.propose([5, 6, 7, 8, 1, 5, 6, 7], 3) == [8, 1, 5]
    assert lookup.propose([1, 2, 3, 9, 2, 3, 4, 2, 3], 2) == [4, 2]  # the latest earlier "2 3"
    assert lookup.propose([1, 2, 3], 4) == []


@pytest.mark.parametrize("kind", ["prompt_lookup", "draft_model"])
def test_speculation_keeps_greedy_token_for_token(target, kind, tmp_path):
    model, tokenizer = target
    draft = None
    if kind == "draft_model":

        import copy

        small = copy.deepcopy(model)
        keep_layers(small, [1])
        small.save_pretrained(tmp_path / "draft")
        draft = str(tmp_path / "draft")
    plain = generate_ids(model, tokenizer, prompts(tokenizer), DecodingConfig(max_new_tokens=40))
    fast = generate_ids(model, tokenizer, prompts(tokenizer),
                        DecodingConfig(max_new_tokens=40, speculation=kind, draft_model=draft, max_draft_tokens=5))
    assert fast == plain
    assert sum(map(len, plain)) > 40  # the replies are not trivially empty


def test_drafts_that_are_right_save_target_passes(target):
    model, tokenizer = target
    prompt = prompts(tokenizer)[0]
    stats: dict[str, int] = {}
    # The target drafting for itself: every draft is its own greedy choice, so all are accepted.
    reply = speculative_greedy(model, prompt, 40, [], DraftModel(model), max_draft=8, stats=stats)
    plain = generate_ids(model, tokenizer, [prompt], DecodingConfig(max_new_tokens=40))[0]
    assert reply == plain and len(reply) == 40
    assert stats["accepted"] == stats["drafted"] and stats["passes"] < 12


def test_stop_strings_and_end_tokens_cut_as_greedy_does(target):
    model, tokenizer = target
    plain = generate_ids(model, tokenizer, prompts(tokenizer), DecodingConfig(max_new_tokens=30))
    stop = tokenizer.decode(plain[0][3:5])
    decoding = {"max_new_tokens": 30, "stop": [stop]}
    expected = generate_ids(model, tokenizer, prompts(tokenizer), DecodingConfig(**decoding))
    got = generate_ids(model, tokenizer, prompts(tokenizer), DecodingConfig(**decoding, speculation="prompt_lookup"))
    assert got == expected
    eos = plain[1][4]  # a token greedy writes: as an end token the reply stops before it
    reply = speculative_greedy(model, prompts(tokenizer)[1], 30, [eos], PromptLookup())
    assert reply == plain[1][: plain[1].index(eos)]
    with torch.no_grad():
        assert len(reply) < 30


def test_speculation_options_are_checked():
    with pytest.raises(ConfigError, match="draft_model needs"):
        validate({"task": "generation", "data": {"train": "x.jsonl"},
                  "inference": {"decoding": {"speculation": "draft_model"}}})
    with pytest.raises(ConfigError, match="repetition_penalty"):
        validate({"task": "generation", "data": {"train": "x.jsonl"},
                  "inference": {"decoding": {"speculation": "prompt_lookup", "repetition_penalty": 1.2}}})
