"""The target of a text classifier: the probability of the predicted label (or of a chosen one)."""

from __future__ import annotations

from typing import Any

from tuneforge.errors import DataError
from tuneforge.explain.target import Target
from tuneforge.util.text_words import split_words


def label_target(run: Any, text: str, label: str | None = None, entity: str | None = None) -> Target:
    """The label ``label`` of ``text`` (default: the label the run predicts). A text longer than the model's
    window is explained on its first window (noted)."""
    import torch

    if entity is not None:
        raise DataError("--entity: this run classifies whole texts; --entity explains an entity of a tagging run "
                        "(give --label to explain another label)")
    task, tokenizer, model = run.task, run.tokenizer, run.model
    if not text.strip():
        raise DataError("the text is empty; there is nothing to explain")
    if getattr(run.config.data, "text_pair_field", None) is not None:
        raise DataError("this run classifies text pairs; explain takes runs on single texts")
    labels = list(task.labels)
    multi = bool(getattr(task, "multi", False))
    limit = run.config.model.max_length
    encoded = tokenizer(text, truncation=True, max_length=limit, return_offsets_mapping=True,
                        return_special_tokens_mask=True)
    ids, offsets, special = encoded["input_ids"], encoded["offset_mapping"], encoded["special_tokens_mask"]
    words = split_words(text)
    word_of_token = [None if s else _word_at(words, start, end) for (start, end), s in zip(offsets, special,
                                                                                         strict=True)]
    notes = []
    if len(tokenizer(text)["input_ids"]) > limit:
        notes.append(f"the text is longer than model.max_length={limit} sub-words: its first window is explained")
    shown = sorted({w for w in word_of_token if w is not None})
    remap = {w: i for i, w in enumerate(shown)}  # words past the window are not shown
    word_of_token = [None if w is None else remap[w] for w in word_of_token]

    def score(model, input_ids, attention_mask, index: int = 0):
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
        probs = torch.sigmoid(logits) if multi else torch.softmax(logits, dim=-1)
        return probs[:, index]

    with torch.inference_mode():
        batch = torch.tensor([ids])
        logits = model(input_ids=batch, attention_mask=torch.ones_like(batch)).logits.float()[0]
        probs = torch.sigmoid(logits) if multi else torch.softmax(logits, dim=-1)
    if label is None:
        index = int(probs.argmax())
    elif label in labels:
        index = labels.index(label)
    else:
        raise DataError(f"--label: '{label}' is not a label of this run ({_some(labels)})")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return Target(ids, word_of_token, [words[w][0] for w in shown], labels[index], float(probs[index]),
                  lambda m, i, a: score(m, i, a, index), pad, notes,
                  {"top": [(labels[int(j)], round(float(probs[j]), 4)) for j in probs.argsort(descending=True)[:3]]})


def _word_at(words: list[tuple[str, int, int]], start: int, end: int) -> int | None:
    """The word holding a token's characters (a token of no word — whitespace — belongs to the next one)."""
    for i, (_, s, e) in enumerate(words):
        if start < e and end > s or start >= s and end <= e:
            return i
        if s >= end:
            return i
    return len(words) - 1 if words else None


def _some(labels: list[str]) -> str:
    return ", ".join(labels[:8]) + (f", … {len(labels)} in all" if len(labels) > 8 else "")
