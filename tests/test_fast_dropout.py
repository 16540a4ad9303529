from __future__ import annotations

import pytest
import torch
from torch import nn

from tuneforge.engine.fast_dropout import FastDropout, keep_mask, use_fast_dropout


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
    assert use_fast_dropout(model) == 2
    assert [type(m) for m in model.modules() if isinstance(m, nn.Dropout)] == [FastDropout, FastDropout, Custom]
    assert model[2][0].p == 0.2
