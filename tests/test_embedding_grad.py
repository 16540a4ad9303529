import copy

import torch
from torch import nn

from tuneforge.engine.speed.embedding_grad import RowGradEmbedding, clip_grad_norm, use_row_grad_embedding


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, 8, padding_idx=0)
        self.out = nn.Linear(8, 3)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.emb

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.emb(ids))).square().sum()


def _pair() -> tuple[Tiny, Tiny]:
    torch.manual_seed(0)
    plain = Tiny()
    fast = copy.deepcopy(plain)
    assert isinstance(use_row_grad_embedding(fast), RowGradEmbedding)
    return plain, fast


def test_gradients_match_torch_across_steps_padding_and_accumulation():
    plain, fast = _pair()
    steps = [[torch.tensor([[1, 2, 2, 0], [3, 0, 0, 0]])],  # repeats and padding rows
             [torch.tensor([[4, 5, 6, 7]]), torch.tensor([[7, 8, 0, 0]])],  # two micro-batches
             [torch.tensor([[9, 1, 1, 10]])]]  # rows from two steps ago must be cleared
    for micro in steps:
        for model in (plain, fast):
            for ids in micro:
                model(ids).backward()
        assert torch.equal(plain.emb.weight.grad, fast.emb.weight.grad)
        assert fast.emb.weight.grad[0].abs().sum() == 0
        rows = set(torch.cat([m.flatten() for m in micro]).tolist()) - {0}
        assert set(fast.emb.grad_rows.tolist()) == rows
        for model in (plain, fast):
            model.zero_grad(set_to_none=True)


def test_clip_reads_only_used_rows_and_matches_torch():
    plain, fast = _pair()
    ids = torch.tensor([[1, 2, 3, 0]])
    for model in (plain, fast):
        (model(ids) * 100).backward()
    expected = torch.nn.utils.clip_grad_norm_(plain.parameters(), 0.5)
    total = clip_grad_norm(fast.parameters(), 0.5, fast.emb)
    torch.testing.assert_close(total, expected)
    for a, b in zip(plain.parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad)


def test_eval_frozen_and_non_embedding_models_are_left_alone():
    plain, fast = _pair()
    fast.eval()
    with torch.no_grad():
        assert torch.equal(fast.emb(torch.tensor([1, 2])), plain.emb(torch.tensor([1, 2])))
    frozen = Tiny()
    frozen.emb.weight.requires_grad_(False)
    assert use_row_grad_embedding(frozen) is None and type(frozen.emb) is nn.Embedding
    assert use_row_grad_embedding(nn.Linear(2, 2)) is None


def test_training_with_and_without_row_grad_ends_with_the_same_weights(tmp_path, tiny_model):
    from conftest import SENTENCES, make_config, write_conll
    from safetensors.torch import load_file

    import tuneforge

    data = {"train": write_conll(tmp_path / "train.conll", SENTENCES * 4),
            "dev": write_conll(tmp_path / "dev.conll", SENTENCES[:2])}
    config = make_config(tmp_path, tiny_model, data, epochs=2, batch_size=4, threads=1)
    runs = {flag: tuneforge.train(config, [f"name=rowgrad-{flag}", "model.dropout=0", "training.max_grad_norm=0.01",
                                           f"training.embedding_row_grad={flag}"])
            for flag in ("true", "false")}
    fast, plain = (load_file(runs[flag] / "model" / "model.safetensors") for flag in ("true", "false"))
    name = next(k for k in plain if k.endswith("word_embeddings.weight"))
    initial = load_file(f"{tiny_model}/model.safetensors")
    assert not torch.equal(plain[name], next(v for k, v in initial.items() if k.endswith("word_embeddings.weight")))
    for key in plain:
        torch.testing.assert_close(fast[key], plain[key], atol=1e-6, rtol=1e-5)


def test_clip_leaves_gradients_within_the_norm_untouched():
    _, fast = _pair()
    fast(torch.tensor([[4, 5, 0]])).backward()
    before = [p.grad.clone() for p in fast.parameters()]
    total = clip_grad_norm(fast.parameters(), 1e6, fast.emb)
    assert 0 < float(total) < 1e6
    assert all(torch.equal(a, p.grad) for a, p in zip(before, fast.parameters(), strict=True))


def test_a_gradient_put_there_by_hand_gets_added_to_and_the_buffer_stays_clean():
    plain, fast = _pair()
    for ids in (torch.tensor([[1, 2]]), torch.tensor([[3, 4]]), torch.tensor([[5, 6]])):
        by_hand = ids[0, 0].item() == 3  # the middle step starts from a user's own gradient tensor
        for model in (plain, fast):
            if by_hand:
                model.emb.weight.grad = torch.ones_like(model.emb.weight)
            model(ids).backward()
        assert torch.equal(plain.emb.weight.grad, fast.emb.weight.grad)
        for model in (plain, fast):
            model.zero_grad(set_to_none=True)
