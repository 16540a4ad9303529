from __future__ import annotations

import pytest
import torch
from torch import nn

from tuneforge.engine.speed.fast_dropout import FastDropout, keep_mask, restore_dropout, use_fast_dropout


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_each_of_the_four_lanes_drops_with_probability_p(p):
    torch.manual_seed(0)
    keep, scale = keep_mask(torch.Size([4_000_000]), p, torch.device("cpu"))
    dropped = (~keep).view(-1, 4).float().mean(0)  # lane k of every 64-bit draw
    assert torch.allclose(dropped, torch.full((4,), p), atol=0.002), dropped
    assert scale == pytest.approx(1 / (1 - p), rel=1e-4)


def test_forward_and_backward_apply_the_same_mask_and_scale():
    torch.manual_seed(1)
    x = torch.rand(64, 30, 384) + 0.5  # no zeros, so the kept elements show in the output
    x.requires_grad_(True)
    drop = FastDropout(0.1).train()
    out = drop(x)
    kept = out != 0
    assert 0.09 < 1 - kept.float().mean().item() < 0.11
    assert torch.allclose(out[kept], x[kept] * 65536 / (65536 - 6554))
    out.sum().backward()
    assert torch.equal(x.grad != 0, kept) and torch.allclose(x.grad[kept], out[kept] / x[kept])


def test_seeded_eval_and_zero_p_behave_like_torch():
    x = torch.randn(8, 16)
    drop = FastDropout(0.3).train()
    torch.manual_seed(5)
    first = drop(x)
    torch.manual_seed(5)
    assert torch.equal(drop(x), first)  # the seed fixes the mask
    assert torch.equal(drop.eval()(x), x) and torch.equal(FastDropout(0.0).train()(x), x)


def test_use_fast_dropout_switches_plain_dropouts_only():
    class Custom(nn.Dropout):
        pass

    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1), nn.Sequential(nn.Dropout(0.2)), Custom(0.1))
    switched = use_fast_dropout(model)
    assert switched == [model[1], model[2][0]]
    assert [type(m) for m in model.modules() if isinstance(m, nn.Dropout)] == [FastDropout, FastDropout, Custom]
    assert model[2][0].p == 0.2
    restore_dropout(switched)
    assert [type(m) for m in model.modules() if isinstance(m, nn.Dropout)] == [nn.Dropout, nn.Dropout, Custom]


def test_training_uses_fast_dropout_and_hands_back_torch_dropout(tmp_path):
    from tuneforge.config.schema import TrainingConfig
    from tuneforge.engine.train import train_loop

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear, self.drop, self.types = nn.Linear(1, 2), nn.Dropout(0.5), []

        def forward(self, x):
            self.types.append(type(self.drop))
            return self.drop(self.linear(x.float().unsqueeze(-1)))

    def collate(rows):
        return {"x": torch.tensor(rows), "attention_mask": torch.ones(len(rows), 2), "labels": torch.ones(len(rows), 2)}

    def loss(model, batch):
        out = model(batch["x"])
        return nn.functional.cross_entropy(out.flatten(0, 1), batch["labels"].long().flatten(), reduction="sum"), 1

    model = Net()
    train_loop(model, [[1, 2], [2, 1], [1, 1]], collate, None, TrainingConfig(epochs=1, batch_size=2, lr=1e-3,
               progress=False), tmp_path, compute_loss=loss)
    assert model.types and set(model.types) == {FastDropout}
    assert type(model.drop) is nn.Dropout
