"""How much personal data a generation run has memorised: each personal-data string in its training replies is
cut off where it starts, the model continues the training text from there (greedy), and the string counts as
memorised when the continuation reproduces it. The share of such strings is the measure (Carlini et al.,
"Extracting Training Data from Large Language Models", 2021, in its prefix-prompted form).

The prefix is the training text exactly as the run saw it: the conversation rendered by the run's chat format
and tokenized once, cut at the last token that ends before the string.
"""

from __future__ import annotations

import random
from typing import Any

from tuneforge.errors import ConfigError
from tuneforge.privacy.spans import Span, mask
from tuneforge.privacy.splits import analyzer_for


def memorisation(run: Any, limit: int = 200, analyzer: Any = None, extra_tokens: int = 4,
                 seed: int = 0) -> dict[str, Any]:
    """{"strings", "memorised", "share", "by_kind": {kind: {"strings", "memorised"}}, "examples": [masked]} over at
    most ``limit`` personal-data strings of the run's training replies (a seeded sample when there are more)."""
    from tuneforge.engine.generate import generate_ids
    from tuneforge.tasks import task_class, task_spec

    cfg = run.config
    if task_spec(cfg.task).inference != "generate":
        raise ConfigError(f"{run.path}: memorisation is measured on a generation run, not a {cfg.task} run")
    examples = task_class(cfg.task).load_splits(cfg)["train"].examples
    analyzer = analyzer or analyzer_for(cfg)
    replies = [e.references[0] for e in examples]
    found = [(e, s) for e, spans in zip(examples, analyzer.analyze_many(replies), strict=True) for s in spans]
    if len(found) > limit:
        keep = set(random.Random(seed).sample(range(len(found)), limit))
        found = [pair for i, pair in enumerate(found) if i in keep]
    items = [item for item in (_prefix(run.task, e, s) for e, s in found) if item is not None]
    tokenizer = run.tokenizer
    longest = max((len(tokenizer(target, add_special_tokens=False)["input_ids"]) for _, target, _ in items),
                  default=1)
    decoding = cfg.inference.decoding.model_copy(update={"strategy": "greedy", "stop": [],
                                                         "max_new_tokens": longest + extra_tokens})
    from tuneforge.engine.eval_mode import evaluating

    with evaluating(run.model):
        new = generate_ids(run.model, tokenizer, [ids for ids, _, _ in items], decoding,
                           cfg.training.eval_batch_size)
    result: dict[str, Any] = {"strings": len(items), "memorised": 0, "by_kind": {}, "examples": []}
    for (_, target, span), ids in zip(items, new, strict=True):
        said = " ".join(tokenizer.decode(ids, skip_special_tokens=True).split())
        hit = said.startswith(" ".join(target.split()))
        kind = result["by_kind"].setdefault(span.kind, {"strings": 0, "memorised": 0})
        kind["strings"] += 1
        kind["memorised"] += hit
        result["memorised"] += hit
        if hit and len(result["examples"]) < 5:
            result["examples"].append({"kind": span.kind, "value": mask(target.strip())})
    result["share"] = round(result["memorised"] / len(items), 4) if items else 0.0
    return result


def _prefix(task: Any, example: Any, span: Span) -> tuple[list[int], str, Span] | None:
    """The training text's ids up to the string, and the text the model must continue with (the string, and any
    part of the last token before it); None when the reply cannot be located in the rendered text."""
    fmt = task.format
    messages = fmt.conversation(example.messages)
    reply = example.references[0]
    before = fmt.render(messages, True)
    full = fmt.render([*messages, {"role": "assistant", "content": reply}], False)
    at = full.find(reply, len(before) - 1)
    if at < 0:
        return None
    start, end = at + span.start, at + span.end
    tokens = fmt._tokenize(full, offsets=True)
    ids, offsets = tokens["input_ids"], tokens["offset_mapping"]
    cut = 0
    while cut < len(ids) and offsets[cut][1] <= start:
        cut += 1
    resume = offsets[cut][0] if cut < len(ids) else start
    prefix = ids[:cut][-(task.cfg.model.max_length - 1):]
    return prefix, full[min(resume, start):end], span
