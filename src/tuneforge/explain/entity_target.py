"""The target of a tagger: one predicted entity, scored by the mean probability of its words' tags."""

from __future__ import annotations

from typing import Any

from tuneforge.data.bio import spans
from tuneforge.data.examples import TaggedSentence
from tuneforge.errors import DataError
from tuneforge.explain.target import Target
from tuneforge.util.text_words import split_words


def entity_target(run: Any, text: str, label: str | None = None, entity: str | None = None) -> Target:
    """The entity ``entity`` of ``text``: its number in the list of predicted entities (1, 2, …) or its text;
    default the first. The explained probability is the mean, over the entity's words, of the probability of
    the tag each word got (B-type, I-type): what made the model tag these words as this entity."""
    words = [w for w, _, _ in split_words(text)]
    if not words:
        raise DataError("the text is empty; there is nothing to explain")
    return sentence_entity_target(run, words, entity, label)


def sentence_entity_target(run: Any, words: list[str], entity: str | None = None, label: str | None = None,
                           chosen: tuple[str, int, int] | None = None) -> Target:
    """As ``entity_target``, for a sentence given as words; ``chosen`` names the span (type, first word,
    last word + 1) directly (report.html's worst errors)."""
    import torch

    if label is not None:
        raise DataError("--label: this run tags entities; choose one with --entity (its number or text)")
    task, model = run.task, run.model
    sentence = TaggedSentence(list(words), [], "input:1")
    features = task.encode([sentence], with_labels=False)
    if len(features) > 1:
        raise DataError(f"the text is longer than model.max_length={run.config.model.max_length} sub-words; "
                        "explain takes a sentence that fits one window")
    window = features[0].window
    tags, _ = task.word_predictions(model, [sentence])[0]
    found = list(spans(tags))
    span = chosen if chosen is not None else _choose(found, words, entity)
    kind, first, last = span
    first_piece = dict(zip(window.owned_words, window.owned_first, strict=True))
    positions = [first_piece[w] for w in range(first, last)]
    tag_ids = [task.label2id[f"{'B' if w == first else 'I'}-{kind}"] for w in range(first, last)]

    def score(model, input_ids, attention_mask):
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
        probs = torch.softmax(logits, dim=-1)
        return torch.stack([probs[:, p, t] for p, t in zip(positions, tag_ids, strict=True)], dim=1).mean(dim=1)

    ids = list(window.input_ids)
    with torch.inference_mode():
        batch = torch.tensor([ids])
        probability = float(score(model, batch, torch.ones_like(batch))[0])
    pad = run.tokenizer.pad_token_id if run.tokenizer.pad_token_id is not None else 0
    listed = [f"{i}. {' '.join(words[a:b])} ({k})" for i, (k, a, b) in enumerate(found, start=1)]
    return Target(ids, list(window.word_ids), list(words), f"{' '.join(words[first:last])} ({kind})", probability,
                  score, pad, [], {"entity": [kind, first, last], "entities": listed})


def _choose(found: list[tuple[str, int, int]], words: list[str], entity: str | None) -> tuple[str, int, int]:
    if not found:
        raise DataError("the run finds no entity in this text; there is nothing to explain")
    if entity is None:
        return found[0]
    if entity.isdigit():
        n = int(entity)
        if not 1 <= n <= len(found):
            raise DataError(f"--entity: {n} is not an entity number (the run finds {len(found)}: 1-{len(found)})")
        return found[n - 1]
    matches = [s for s in found if " ".join(words[s[1]:s[2]]).lower() == entity.strip().lower()]
    if not matches:
        names = "; ".join(" ".join(words[a:b]) for _, a, b in found)
        raise DataError(f"--entity: '{entity}' is not an entity the run finds (it finds: {names})")
    return matches[0]
