"""The loop's model patches are undone on every exit, and tied word embeddings get dense gradients."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForTokenClassification, LlamaConfig, LlamaForCausalLM

from tuneforge.config.schema import TrainingConfig
from tuneforge.engine.optim import build_optimizer
from tuneforge.engine.speed.attention_dropout import NAME
from tuneforge.engine.speed.embedding_grad import RowGradEmbedding, is_tied, use_row_grad_embedding
from tuneforge.engine.speed.fast_dropout import FastDropout
from tuneforge.engine.train import epoch_steps, summed_model_loss, train_loop

TIED_LOG = "tuneforge: word embeddings are tied to an output layer; using dense embedding gradients"
FEATURES = [[5, 9, 13, 2], [7, 3], [11, 4, 8], [6, 6, 1, 12, 10], [2, 14], [9, 8, 7]]


def _pad(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    return ids, mask


def _token_batch(rows: list[list[int]]) -> dict[str, torch.Tensor]:
    ids, mask = _pad(rows)
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.where(mask.bool(), ids % 3, -100)}


class Stop(Exception):
    """Raised at a chosen compute_loss call; not a RuntimeError, so nothing else can be mistaken for it."""


def _bert() -> BertForTokenClassification:
    config = BertConfig(vocab_size=20, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=3, hidden_dropout_prob=0.1,
                        attention_probs_dropout_prob=0.1, attn_implementation="sdpa")
    torch.manual_seed(0)
    return BertForTokenClassification(config)


def _snapshot(model: nn.Module) -> dict:
    """What the patches may touch: module classes and forwards, attention implementations, parameters."""
    return {
        "classes": [(name, type(m)) for name, m in model.named_modules()],
        "own_forwards": [name for name, m in model.named_modules() if "forward" in vars(m)],
        "instance_state": [(name, sorted(k for k in vars(m) if k in ("_grad_buffer", "grad_rows")))
                           for name, m in model.named_modules()],
        "attention": [(name, m.config._attn_implementation) for name, m in model.named_modules()
                      if hasattr(m, "config")],
        "parameters": [(name, id(p), p.shape, p.requires_grad) for name, p in model.named_parameters()],
    }


@pytest.mark.parametrize("error", [Stop, KeyboardInterrupt, None])
def test_the_model_leaves_training_as_it_came_however_training_ends(tmp_path, error):
    model = _bert()
    before = _snapshot(model)
    seen, calls = [], 0

    def loss(m, batch):
        nonlocal calls
        calls += 1
        seen.append((type(m.bert.embeddings.dropout), type(m.get_input_embeddings()), m.config._attn_implementation))
        # The second micro-batch of step 2: the first one's gradient sits in the row-gradient buffer.
        if error is not None and calls == 4:
            raise error("boom")
        return summed_model_loss(m, batch)

    cfg = TrainingConfig(epochs=2, batch_size=1, grad_accum=2, lr=1e-3, seed=0, progress=False, max_grad_norm=1.0)
    if error is None:
        train_loop(model, FEATURES, _token_batch, None, cfg, tmp_path, compute_loss=loss)
    else:
        with pytest.raises(error):
            train_loop(model, FEATURES, _token_batch, None, cfg, tmp_path, compute_loss=loss)
    # Every patch was in place while training ran, so restoring them is what the assertions below check.
    assert seen and set(seen) == {(FastDropout, RowGradEmbedding, NAME)}
    assert _snapshot(model) == before
    assert not any(isinstance(m, FastDropout | RowGradEmbedding) for m in model.modules())
    assert model.config._attn_implementation == "sdpa"

    # The embedding computes torch's dense gradient again, into a fresh tensor each time.
    embedding = model.get_input_embeddings()
    model.zero_grad(set_to_none=True)
    ids = torch.tensor([[1, 2, 2]])
    embedding(ids).sum().backward()
    expected = torch.zeros_like(embedding.weight)
    expected[1], expected[2] = 1, 2
    assert embedding.weight.grad is not None and torch.equal(embedding.weight.grad, expected)


def _llama(tied: bool) -> LlamaForCausalLM:
    config = LlamaConfig(vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32,
                         tie_word_embeddings=tied, attention_dropout=0.0, attn_implementation="sdpa")
    torch.manual_seed(0)
    return LlamaForCausalLM(config)


def _lm_batch(rows: list[list[int]]) -> dict[str, torch.Tensor]:
    ids, mask = _pad([[t * 17 % 300 for t in r] for r in rows])  # spread over the vocabulary
    return {"input_ids": ids, "attention_mask": mask}  # no labels: the loop counts items with count_items


def _next_token_loss(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    targets = batch["input_ids"][:, 1:].masked_fill(batch["attention_mask"][:, 1:] == 0, -100)
    loss = nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), targets.flatten(), reduction="sum")
    return loss, _next_tokens(batch)


def _next_tokens(batch: dict[str, torch.Tensor]) -> int:
    return int(batch["attention_mask"][:, 1:].sum())


def _plain_torch_training(model: nn.Module, cfg: TrainingConfig, steps: int) -> None:
    """What train_loop computes, in plain PyTorch: the same step batches, optimizer and clipping."""
    lengths = [len(f) for f in FEATURES]
    optimizer = build_optimizer(model, cfg)
    schedule = [step for epoch in range(2) for step in epoch_steps(lengths, cfg, epoch, 1, 0)][:steps]
    model.train()
    for micro in schedule:
        batches = [_lm_batch([FEATURES[i] for i in ids]) for ids in micro]
        items = sum(_next_tokens(b) for b in batches)
        for batch in batches:
            loss, _ = _next_token_loss(model, batch)
            (loss / items).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def test_tied_embeddings_train_with_the_gradients_plain_pytorch_gives(tmp_path, capsys):
    model = _llama(tied=True)
    assert model.lm_head.weight is model.get_input_embeddings().weight
    reference = copy.deepcopy(model)
    initial = model.get_input_embeddings().weight.detach().clone()
    # A tiny clipping norm clips every step, so both the gradient and its norm must be right.
    cfg = TrainingConfig(epochs=2, max_steps=4, batch_size=1, grad_accum=2, lr=1e-2, seed=0, progress=False,
                         scheduler="constant", warmup_ratio=0.0, max_grad_norm=0.01, embedding_row_grad=True,
                         fast_dropout=False)
    train_loop(model, FEATURES, _lm_batch, None, cfg, tmp_path, compute_loss=_next_token_loss,
               count_items=_next_tokens)
    assert TIED_LOG in capsys.readouterr().err
    _plain_torch_training(reference, cfg, steps=4)

    assert model.lm_head.weight is model.get_input_embeddings().weight  # still tied
    assert type(model.get_input_embeddings()) is nn.Embedding
    assert not torch.equal(model.get_input_embeddings().weight, initial)  # it did train
    trained, expected = dict(model.named_parameters()), dict(reference.named_parameters())
    assert trained.keys() == expected.keys()
    for name, param in trained.items():
        torch.testing.assert_close(param, expected[name], rtol=1e-5, atol=1e-7, msg=lambda m, name=name: f"{name}: {m}")


def test_tie_detection_finds_ties_by_name_by_hand_and_by_shared_storage(capsys):
    tied = _llama(tied=True)
    assert is_tied(tied, tied.get_input_embeddings())
    untied = _llama(tied=False)
    assert not is_tied(untied, untied.get_input_embeddings())
    assert not is_tied(_bert(), _bert().get_input_embeddings())

    class ByHand(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb, self.proj = nn.Embedding(10, 4), nn.Linear(4, 10, bias=False)

        def get_input_embeddings(self) -> nn.Embedding:
            return self.emb

    by_hand = ByHand()
    by_hand.proj.weight = by_hand.emb.weight  # the same Parameter, no get_output_embeddings
    assert is_tied(by_hand, by_hand.emb)
    shared = ByHand()
    shared.proj.weight = nn.Parameter(shared.emb.weight.data)  # another Parameter on the same memory
    assert is_tied(shared, shared.emb)

    assert use_row_grad_embedding(tied) is None and type(tied.get_input_embeddings()) is nn.Embedding
    assert TIED_LOG in capsys.readouterr().err
    assert isinstance(use_row_grad_embedding(untied), RowGradEmbedding)
    assert TIED_LOG not in capsys.readouterr().err
