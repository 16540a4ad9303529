from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
WNUT = DATASETS / "wnut17"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A 2-layer, 32-wide BERT with MiniLM's tokenizer: trains in milliseconds per step."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from tuneforge.models import resolve

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve("minilm"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def write_conll(path: Path, sentences: list[list[tuple[str, str]]], sep: str = "\t") -> Path:
    path.write_text("\n\n".join("\n".join(f"{w}{sep}{t}" for w, t in s) for s in sentences) + "\n",
                    encoding="utf-8")
    return path


SENTENCES = [
    [("Alice", "B-person"), ("lives", "O"), ("in", "O"), ("Paris", "B-location"), (".", "O")],
    [("Bob", "B-person"), ("Smith", "I-person"), ("works", "O"), ("at", "O"), ("Acme", "B-corporation")],
    [("New", "B-location"), ("York", "I-location"), ("is", "O"), ("big", "O")],
    [("Carol", "B-person"), ("met", "O"), ("Dave", "B-person"), ("at", "O"), ("Acme", "B-corporation")],
]


@pytest.fixture
def small_data(tmp_path) -> dict[str, Path]:
    return {
        "train": write_conll(tmp_path / "train.conll", SENTENCES * 4),
        "dev": write_conll(tmp_path / "dev.conll", SENTENCES[:2]),
        "test": write_conll(tmp_path / "test.conll", SENTENCES[2:]),
    }


def make_config(tmp_path: Path, model: str, data: dict[str, Path], **training) -> Path:
    cfg = {
        "name": "t",
        "model": {"name": model, "max_length": 32, "stride": 8},
        "data": {k: str(v) for k, v in data.items()},
        "training": {"epochs": 2, "batch_size": 4, "lr": 1e-3, "seed": 1, "progress": False, **training},
        "output_dir": str(tmp_path / "runs"),
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> str:
    """A 2-layer, 32-wide Llama with tied embeddings and SmolLM2's tokenizer and chat template."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from tuneforge.models import resolve

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(resolve("smollm2-135m"))
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=1, intermediate_size=64, max_position_embeddings=1024,
                         tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.bos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
