import pytest
import torch

from tuneforge.config.schema import TrainingConfig
from tuneforge.engine.inference import predict_probs
from tuneforge.engine.speed.attention_backends import no_cudnn_attention
from tuneforge.engine.train import train_loop


def _cudnn() -> bool:
    return torch.backends.cuda.cudnn_sdp_enabled()


def test_off_inside_and_back_as_it_was_after_errors_and_nesting():
    assert _cudnn()
    with no_cudnn_attention():
        assert not _cudnn()
        with no_cudnn_attention():
            assert not _cudnn()
        assert not _cudnn()  # the inner block restores what it found: still off
    assert _cudnn()
    with pytest.raises(RuntimeError), no_cudnn_attention():
        raise RuntimeError("boom")
    assert _cudnn()


class _Seen(torch.nn.Module):
    """Records whether cuDNN attention was enabled at each forward."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 2)
        self.seen: list[bool] = []

    def forward(self, x, attention_mask=None, labels=None):
        self.seen.append(_cudnn())
        return type("Out", (), {"logits": self.linear(x.float().unsqueeze(-1))})()


def _collate(rows):
    width = max(len(r) for r in rows)
    x = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    return {"x": x, "attention_mask": (x > 0).long(), "labels": x.clamp(max=1)}


def test_training_steps_and_prediction_run_with_cudnn_attention_off(tmp_path):
    model, features = _Seen(), [[1, 2, 3], [1, 1], [2, 3, 1, 1]]

    def loss(m, batch):
        logits = m(batch["x"]).logits
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), reduction="sum"), 1

    cfg = TrainingConfig(epochs=1, batch_size=2, lr=1e-3, seed=0, progress=False)
    train_loop(model, features, _collate, None, cfg, tmp_path, compute_loss=loss)
    predict_probs(model, features, _collate, batch_size=2)
    assert len(model.seen) >= 3 and not any(model.seen)
    assert _cudnn()  # and back on afterwards


def test_overlapping_blocks_on_two_threads_restore_the_setting():
    """The server predicts on several threads: A enters, B enters, A leaves, B leaves → back on."""
    import threading

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with no_cudnn_attention():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with no_cudnn_attention():
            b_in.set()
            a_out.wait(5)
            assert not _cudnn()  # still off while B runs, though A has left

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert _cudnn()
