"""Generation with a causal LM: summaries, dialogue replies, translation.

Examples are conversations (a plain prompt is one user message) with reference replies. Training
renders each through the model's chat template (chat_format.py) and puts the loss on the reply tokens
only. Rows are packed (packing.py): several examples per row, each with its own position ids, which
transformers turns into a block-diagonal causal mask, so no example sees another. The loss computes
logits only where a reply token is predicted: on summarization most positions are prompt, and the
vocabulary projection is a fifth of the model's work. Evaluation decodes replies (engine/generate.py)
and scores them (generation_metrics.py) plus the held-out perplexity of the references; every
evaluation keeps its (input, reference, output) triples for ``predictions.jsonl``.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from tuneforge.data.examples import ROLES, GenerationExample, ReadResult
from tuneforge.engine.eval_mode import evaluating
from tuneforge.engine.generate import TextStream, cut_at_stop, generate_ids, pad_id
from tuneforge.engine.progress import bar
from tuneforge.errors import DataError, RunError
from tuneforge.tasks.base import TaskBase
from tuneforge.tasks.common.dropout import set_dropout
from tuneforge.tasks.common.model_files import STATE_FILE, read_model_json
from tuneforge.tasks.common.scored_logits import scored_logits
from tuneforge.tasks.generation.chat_format import ChatFormat
from tuneforge.tasks.generation.metrics import METRICS, text_scores
from tuneforge.tasks.generation.packing import pack_rows
from tuneforge.tasks.generation.splits import load_generation_splits, read_generation
from tuneforge.util.atomic import write_json

IGNORE_INDEX = -100
SAMPLE_SEED = 0  # eval_examples picks the same examples in every evaluation and every run


@dataclass
class LMFeature:
    """One example's ids and, for each position, the id it must predict next (-100: not scored)."""

    input_ids: list[int]
    targets: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


class Generation(TaskBase):
    name = "generation"

    # data -------------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str, cfg: Any, strict: bool = True, labelled: bool = True) -> ReadResult:
        return read_generation(path, cfg, strict, labelled)

    @classmethod
    def load_splits(cls, cfg: Any, strict: bool = True) -> dict[str, ReadResult]:
        return load_generation_splits(cfg, strict)

    @classmethod
    def main_metric(cls, cfg: Any) -> str:
        return cfg.task_options.main_metric()

    @classmethod
    def metric_names(cls, cfg: Any) -> tuple[str, ...]:
        keys = [k for m in cfg.task_options.metrics if m != "perplexity" for k in METRICS[m]]
        return (*keys, "perplexity")

    @classmethod
    def for_training(cls, tokenizer, cfg: Any, splits: dict[str, ReadResult]) -> Generation:
        task = cls(tokenizer, cfg)
        for name, result in splits.items():  # a prompt that cannot fit fails now, before a run directory exists
            examples = result.examples if name == "train" else task.sample(result.examples)
            encoded = task._encoded(examples)
            if name == "train":  # kept for the encode() that follows
                task._train = (examples, [LMFeature(e.input_ids, e.targets) for e in encoded])
            task.truncated[name] = sum(e.truncated for e in encoded)
            if task.truncated[name]:
                print(f"tuneforge: {task.truncated[name]} {name} example(s) longer than model.max_length "
                      f"({cfg.model.max_length}) had their prompt cut from the left (task_options.too_long)",
                      file=sys.stderr)
        return task

    @classmethod
    def load(cls, tokenizer, cfg: Any, folder: Path) -> Generation:
        state = read_model_json(Path(folder) / STATE_FILE, required=False) or {}
        if not isinstance(state, dict):
            raise RunError(f"{Path(folder) / STATE_FILE}: expected a JSON object; the run's model folder is damaged")
        return cls(tokenizer, cfg, state)

    def __init__(self, tokenizer, cfg: Any, state: dict[str, Any] | None = None) -> None:
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.options = cfg.task_options
        self.format = ChatFormat(tokenizer, self.options, cfg.model.max_length)
        self.pad_id = pad_id(tokenizer)
        self.truncated: dict[str, int] = dict((state or {}).get("truncated", {}))
        self._train: tuple[list, list[LMFeature]] | None = None

    def save(self, folder: Path) -> None:
        write_json(Path(folder) / STATE_FILE, self.summary())

    def recalibrated(self, cfg: Any) -> Generation:
        return type(self)(self.tokenizer, cfg)

    def summary(self) -> dict[str, Any]:
        return {"chat_template": self.format.chat, "truncated": self.truncated}

    # encode -----------------------------------------------------------------------------------
    def encode(self, examples: list[GenerationExample], with_labels: bool = True) -> list[LMFeature]:
        if self._train is not None and self._train[0] is examples:
            return self._train[1]
        return [LMFeature(e.input_ids, e.targets) for e in self._encoded(examples)]

    def _encoded(self, examples: list[GenerationExample]):
        all_turns = self.options.assistant_turns == "all"
        out = []
        for example in examples:
            encoded = self.format.training_ids(example.messages, example.references[0], all_turns, example.source)
            ids, labelled = encoded.input_ids, encoded.labelled
            targets = [ids[i + 1] if labelled[i + 1] else IGNORE_INDEX for i in range(len(ids) - 1)] + [IGNORE_INDEX]
            if all(t == IGNORE_INDEX for t in targets):
                raise DataError(f"{example.source}: the reply has no tokens left to learn")
            encoded.targets = targets
            out.append(encoded)
        return out

    def collate(self, features: list[LMFeature]) -> dict[str, torch.Tensor]:
        if self.options.packing:
            return pack_rows([f.input_ids for f in features], [f.targets for f in features],
                             self.cfg.model.max_length, self.pad_id)
        longest = max(len(f) for f in features)
        ids = torch.full((len(features), longest), self.pad_id, dtype=torch.long)
        targets = torch.full((len(features), longest), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(features), longest), dtype=torch.long)
        for row, f in enumerate(features):
            ids[row, : len(f)] = torch.as_tensor(f.input_ids)
            targets[row, : len(f)] = torch.as_tensor(f.targets)
            mask[row, : len(f)] = 1
        return {"input_ids": ids, "targets": targets, "attention_mask": mask}

    # model and loss ---------------------------------------------------------------------------
    def build_model(self, name: str, dropout: float | None):
        from transformers import AutoConfig, AutoModelForCausalLM

        from tuneforge.models import load_pretrained

        config = set_dropout(load_pretrained(name, AutoConfig), dropout)
        return load_pretrained(name, AutoModelForCausalLM, config=config, dtype=torch.float32)

    def load_model(self, folder: Path):
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)

    def compute_loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Summed cross-entropy over the reply tokens; logits are computed for those positions only."""
        targets = batch["targets"]
        scored = targets != IGNORE_INDEX
        loss = F.cross_entropy(self.reply_logits(model, batch).float(), targets[scored], reduction="sum")
        return loss, int(scored.sum())

    @staticmethod
    def reply_logits(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The next-token logits at the reply positions of a batch, [positions, vocabulary] (what the loss
        reads; a distilled student learns from the teacher's)."""
        inputs = {"input_ids": batch["input_ids"], "use_cache": False}
        if "position_ids" in batch:  # packed rows: no attention mask, so transformers reads the position ids
            inputs["position_ids"] = batch["position_ids"]
        else:
            inputs["attention_mask"] = batch["attention_mask"]
        return scored_logits(model, inputs, batch["targets"] != IGNORE_INDEX)

    def count_items(self, batch: dict[str, torch.Tensor]) -> int:
        return int((batch["targets"] != IGNORE_INDEX).sum())

    # decode -----------------------------------------------------------------------------------
    def prompt_ids(self, examples: list[GenerationExample]) -> list[list[int]]:
        return [self.format.prompt_ids(e.messages, e.source)[0] for e in examples]

    def replies(self, model, examples: list[GenerationExample], batch_size: int = 64,
                batch_tokens: int | None = None, streamer: Any = None) -> list[str]:
        decoding = self.cfg.inference.decoding
        with evaluating(model):  # a shared model in eval is never switched (another thread may be using it)
            new = generate_ids(model, self.tokenizer, self.prompt_ids(examples), decoding, batch_size,
                               batch_tokens, streamer)
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [cut_at_stop(t, decoding.stop).strip() for t in texts]

    @torch.inference_mode()
    def perplexity(self, model, examples: list[GenerationExample], batch_size: int = 64,
                   batch_tokens: int | None = None) -> float:
        """exp(mean cross-entropy of the first reference's tokens), teacher-forced."""
        from tuneforge.data.batching import eval_batches

        features = self.encode(examples)
        total, count = 0.0, 0
        with bar(len(features), "perplexity") as shown:
            for ids in eval_batches([len(f) for f in features], batch_size, batch_tokens):
                loss, n = self.compute_loss(model, self.collate([features[i] for i in ids]))
                total, count = total + float(loss), count + n
                shown.update(len(ids))
        return float(torch.exp(torch.tensor(total / max(count, 1))))

    def sample(self, examples: list[GenerationExample]) -> list[GenerationExample]:
        """At most ``eval_examples`` of them: a fixed, seeded choice, kept in file order."""
        limit = self.options.eval_examples
        if limit is None or len(examples) <= limit:
            return examples
        chosen = sorted(random.Random(SAMPLE_SEED).sample(range(len(examples)), limit))
        return [examples[i] for i in chosen]

    # metrics ----------------------------------------------------------------------------------
    def evaluate(self, model, examples: list[GenerationExample], tune: bool = False, **batching: Any) -> dict[str, Any]:
        examples = self.sample(examples)
        with evaluating(model):
            outputs = self.replies(model, examples, **batching)
            text_metrics = [m for m in self.options.metrics if m != "perplexity"]
            scores: dict[str, Any] = text_scores(outputs, [e.references for e in examples], text_metrics,
                                                 [e.values for e in examples])
            scores["perplexity"] = self.perplexity(model, examples, **batching)
        scores["examples"] = len(examples)
        scores["multi_reference"] = sum(len(e.references) > 1 for e in examples)
        scores["predictions"] = [
            {"source": e.source, "input": e.prompt, "reference": e.references if len(e.references) > 1
             else e.references[0], "output": o} for e, o in zip(examples, outputs, strict=True)]
        return scores

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        lines = [f"### {title}", "", f"{scores.get('examples', 0)} examples.", "", "| metric | value |", "|---|---:|"]
        lines += [f"| {k} | {scores[k]:.4f} |" for k in (*(k for m in METRICS.values() for k in m),)
                  if isinstance(scores.get(k), float)]
        if scores.get("multi_reference"):
            lines += ["", f"{scores['multi_reference']} examples have several references: each output is scored "
                      "against its best-matching one (per metric)."]
        return "\n".join(lines) + "\n"

    # use --------------------------------------------------------------------------------------
    @staticmethod
    def prediction_input(example: GenerationExample) -> dict[str, Any]:
        return {"messages": example.messages}

    def predict_texts(self, model, inputs: list[Any], **batching: Any) -> list[dict[str, Any]]:
        """For each prompt (a string, {"prompt"} or {"messages"}): the generated reply."""
        examples = [self._input_example(item, i) for i, item in enumerate(inputs)]
        outputs = self.replies(model, examples, **batching)
        return [{"prompt": e.prompt, "reply": o} for e, o in zip(examples, outputs, strict=True)]

    def stream(self, model, prompt: Any, write) -> str:
        """Generate one reply, writing its text as it is produced; returns the whole reply. Beam search chooses
        its reply only at the end (its beams are rewritten until then), so that reply is written whole."""
        example = self._input_example(prompt, 0)
        if self.cfg.inference.decoding.strategy == "beam":
            reply = self.replies(model, [example], batch_size=1)[0]
            if reply:
                write(reply)
            return reply
        stream = TextStream(self.tokenizer, write, self.cfg.inference.decoding.stop)
        return self.replies(model, [example], batch_size=1, streamer=stream)[0]

    def complete(self, model, requests: list[Any], **batching: Any) -> list[Any]:
        """Each ``engine.completion.CompletionRequest``'s ``Completion``, decoded as the request asks."""
        from tuneforge.tasks.generation.completion import complete

        return complete(self, model, requests, **batching)

    def stream_completion(self, model, request: Any, write) -> Any:
        """One request's ``Completion``, its text written piece by piece as it is produced."""
        from tuneforge.tasks.generation.completion import stream_completion

        return stream_completion(self, model, request, write)

    @staticmethod
    def _input_example(item: Any, i: int) -> GenerationExample:
        return input_example(item, f"input {i + 1}")


def read_prompts(path: str) -> list[dict[str, Any]]:
    """predict --input: one {"prompt": str} or {"messages": [...]} object per line, each checked here
    (a bad one is a one-line error naming the file and line)."""
    from tuneforge.data.examples import Problems
    from tuneforge.data.text_file import json_objects

    problems = Problems(path, strict=True)
    items = []
    for number, record in json_objects(path, problems):
        input_example(record, f"{path}:{number}")
        items.append({k: record[k] for k in ("prompt", "messages") if k in record})
    return items


INPUT_FIELDS = ("prompt", "messages")


def input_example(item: Any, where: str, exact: bool = False) -> GenerationExample:
    """A prompt to answer: a string, {"prompt": str} or {"messages": [{role, content}, ...]}, never both (one
    would silently win). ``exact`` (a served request): a field other than these is refused, as for every other
    task's items; a JSONL line of ``predict --input`` may carry others (an id)."""
    if isinstance(item, str):
        item = {"prompt": item}
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected a prompt string, or an object with 'prompt' or 'messages'")
    unknown = [k for k in item if k not in INPUT_FIELDS]
    if exact and unknown:
        raise DataError(f"{where}: unknown field {unknown[0]!r}; expected 'prompt' or 'messages'")
    if "prompt" in item and "messages" in item:
        raise DataError(f"{where}: give 'prompt' or 'messages', not both")
    if isinstance(item.get("prompt"), str):
        if not item["prompt"].strip():
            raise DataError(f"{where}: the prompt is empty")
        return GenerationExample([{"role": "user", "content": item["prompt"]}], [], where)
    messages = item.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: expected 'prompt' (a string) or 'messages' (a list of {{role, content}})")
    for n, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise DataError(f"{where}: messages[{n}] must be {{role: {'/'.join(ROLES)}, content: a string}}")
    if messages[-1]["role"] != "user":  # a system-only chat has nothing to answer
        raise DataError(f"{where}: the last message is the {messages[-1]['role']}'s; the prompt must end with a user "
                        "turn")
    return GenerationExample([{"role": m["role"], "content": m["content"]} for m in messages], [], where)
