"""Speculative greedy decoding: prompt lookup and a draft model give the plain greedy reply token for token,
in fewer passes of the target when the drafts are right."""

from __future__ import annotations

import pytest
import torch

from tuneforge.config.loading import validate
from tuneforge.config.schema import DecodingConfig
from tuneforge.engine.generate import generate_ids
from tuneforge.engine.speculative import DraftModel, PromptLookup, speculative_greedy
from tuneforge.engine.speculative_batch import speculative_greedy_batch
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


class Scripted:
    """Drafts from a known reply: right for ``right`` rows, always wrong otherwise (so rows accept different
    numbers of drafts in the same pass, and the rejected ones leave holes in the batch's cache)."""

    def __init__(self, prompt_length: int, reply: list[int], right: bool) -> None:
        self.prompt_length, self.reply, self.right = prompt_length, reply, right

    def reset(self, prompt):
        pass

    def propose(self, sequence, k):
        done = len(sequence) - self.prompt_length
        follow = self.reply[done:done + k]
        return follow if self.right else [(t + 1) % 100 for t in follow]

    def accepted(self, length):
        pass


class PartlyRight(Scripted):
    """Drafts whose first ``right`` tokens are the known reply's and the rest wrong."""

    def __init__(self, prompt_length: int, reply: list[int], right: int) -> None:
        super().__init__(prompt_length, reply, True)
        self.right_count = right

    def propose(self, sequence, k):
        follow = super().propose(sequence, k)
        return follow[: self.right_count] + [(t + 1) % 100 for t in follow[self.right_count:]]


def test_batched_speculation_keeps_greedy_while_rows_accept_different_drafts(target):
    model, tokenizer = target
    batch = prompts(tokenizer)
    plain = [generate_ids(model, tokenizer, [p], DecodingConfig(max_new_tokens=40))[0] for p in batch]
    drafters = iter([Scripted(len(p), reply, right=row % 2 == 0)
                     for row, (p, reply) in enumerate(zip(batch, plain, strict=True))])
    stats: dict[str, int] = {}
    got = speculative_greedy_batch(model, batch, tokenizer.pad_token_id or 0, 40, [], lambda: next(drafters),
                                   max_draft=8, stats=stats)
    assert got == plain
    # The wrong rows take a pass per token (40), the right ones far fewer: the batch's passes follow the slowest row,
    # and half the drafted tokens were accepted, not none and not all.
    assert stats["passes"] <= 41 and 0 < stats["accepted"] < stats["drafted"]
    # Rows of right drafts alone finish in a fraction of the passes.
    rights = iter([Scripted(len(p), reply, right=True) for p, reply in zip(batch, plain, strict=True)])
    fast: dict[str, int] = {}
    assert speculative_greedy_batch(model, batch, 0, 40, [], lambda: next(rights), max_draft=8, stats=fast) == plain
    assert fast["passes"] < 12 and fast["accepted"] == fast["drafted"]


def test_compact_keeps_each_rows_kept_keys_and_values_in_order(target):
    from transformers import DynamicCache

    from tuneforge.engine.speculative_batch import compact

    model, _ = target
    cache = DynamicCache(config=model.config)
    keys = torch.arange(3 * 1 * 6 * 2, dtype=torch.float32).reshape(3, 1, 6, 2)  # [rows, heads, columns, dim]
    for layer_index in range(len(cache.layers)):
        cache.update(keys.clone(), -keys.clone(), layer_index)
    mask = torch.tensor([[0, 1, 0, 1, 1, 0], [1, 1, 1, 0, 0, 1], [0, 0, 0, 0, 1, 0]])
    packed = compact(cache, mask)
    assert packed.tolist() == [[0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 1]]
    layer = cache.layers[0]
    for row in range(3):
        kept = keys[row, 0, mask[row].bool()]
        assert torch.equal(layer.keys[row, 0, packed[row].bool()], kept)
        assert torch.equal(layer.values[row, 0, packed[row].bool()], -kept)


def test_packing_rows_holes_together_keeps_greedy(target, monkeypatch):
    import tuneforge.engine.speculative_batch as batched

    model, tokenizer = target
    batch = prompts(tokenizer)
    plain = [generate_ids(model, tokenizer, [p], DecodingConfig(max_new_tokens=40))[0] for p in batch]
    packed = []
    original = batched.compact

    def counting(cache, mask):
        packed.append(mask.shape[1] - int(mask.sum(1).max()))
        out = original(cache, mask)
        assert out.sum(1).tolist() == mask.sum(1).tolist() and out.shape[1] == int(mask.sum(1).max())
        return out

    monkeypatch.setattr(batched, "COMPACT_AFTER", 2)
    monkeypatch.setattr(batched, "COMPACT_SHARE", 0.0)
    monkeypatch.setattr(batched, "compact", counting)
    # Row r drafts r + 1 right tokens and then wrong ones: every row rejects drafts, each at other columns, so
    # no column is a hole in all rows and only packing each row on its own removes them.
    drafters = iter([PartlyRight(len(p), reply, row + 1)
                     for row, (p, reply) in enumerate(zip(batch, plain, strict=True))])
    got = speculative_greedy_batch(model, batch, 0, 40, [], lambda: next(drafters), max_draft=8)
    assert got == plain and packed and max(packed) > 2


def test_generate_ids_batches_speculation_and_keeps_each_rows_end(target):
    model, tokenizer = target
    batch = prompts(tokenizer)
    plain = generate_ids(model, tokenizer, batch, DecodingConfig(max_new_tokens=25))
    eos = plain[1][4]  # a token greedy writes: rows that meet it end there, the others go on to 25
    decoding = DecodingConfig(max_new_tokens=25, speculation="prompt_lookup")
    expected = [generate_ids(model, tokenizer, [p], DecodingConfig(max_new_tokens=25))[0] for p in batch]
    got = speculative_greedy_batch(model, batch, 0, 25, [eos], PromptLookup)
    assert got == [r[: r.index(eos)] if eos in r else r for r in expected]
    assert len(got[1]) < 25 and any(len(r) == 25 for r in got)  # one batch, rows ending at different steps
    assert generate_ids(model, tokenizer, batch, decoding, batch_size=2) == plain


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
