import torch
from transformers import BertConfig, BertForTokenClassification
from transformers.integrations.sdpa_attention import sdpa_attention_forward

import tuneforge.engine.speed.attention_dropout as attention_dropout
from tuneforge.engine.speed.attention_dropout import NAME, fast_dropout_sdpa, restore_sdpa, use_fast_attention_dropout


class _Keep(torch.autograd.Function):  # the fast mask with nothing dropped, to compare the math
    @staticmethod
    def forward(ctx, x, p):
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _qkv_mask():
    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 2, 7, 8) for _ in range(3))
    mask = (torch.arange(7) < torch.tensor([7, 5, 2])[:, None])[:, None, None, :].expand(3, 1, 7, 7)
    return q, k, v, mask


def test_without_dropout_it_computes_what_sdpa_computes(monkeypatch):
    q, k, v, mask = _qkv_mask()
    module = torch.nn.Module()
    module.is_causal = False
    expected, _ = sdpa_attention_forward(module, q, k, v, mask, dropout=0.0, scaling=0.3)
    monkeypatch.setattr(attention_dropout, "_MaskedScale", _Keep)
    got, _ = fast_dropout_sdpa(module, q, k, v, mask, dropout=0.1, scaling=0.3)  # takes the fast path
    torch.testing.assert_close(got, expected)


def test_attention_probabilities_are_dropped_at_rate_p_and_rescaled():
    torch.manual_seed(0)
    length = 64
    q, k = torch.randn(8, 4, length, length), torch.randn(8, 4, length, length)
    eye = torch.eye(length).expand(8, 4, length, length)  # value = identity: the output is the dropped probs
    module = torch.nn.Module()
    module.is_causal = False
    probs, _ = fast_dropout_sdpa(module, q, k, eye, None, dropout=0.25)
    assert abs(float((probs == 0).float().mean()) - 0.25) < 0.01
    assert abs(float(probs.sum(-1).mean()) - 1.0) < 0.01  # kept probabilities scaled by 1 / (1 - p)


def test_switch_and_restore_leave_eval_outputs_and_saved_config_unchanged(tmp_path):
    config = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=3, attn_implementation="sdpa")
    torch.manual_seed(0)
    model = BertForTokenClassification(config).eval()
    ids = torch.randint(0, 100, (2, 6))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    before = model(input_ids=ids, attention_mask=mask).logits
    assert use_fast_attention_dropout(model) is model and model.config._attn_implementation == NAME
    assert torch.equal(model(input_ids=ids, attention_mask=mask).logits, before)
    model.train()
    model(input_ids=ids, attention_mask=mask).logits.sum().backward()  # trains through the fast path
    assert model.bert.encoder.layer[0].attention.self.query.weight.grad is not None
    restore_sdpa(model)
    assert model.config._attn_implementation == "sdpa"
    model.save_pretrained(tmp_path)
    assert NAME not in (tmp_path / "config.json").read_text()
    eager = BertForTokenClassification(BertConfig(**{**config.to_dict(), "attn_implementation": "eager"}))
    assert use_fast_attention_dropout(eager) is None  # only SDPA models are switched
