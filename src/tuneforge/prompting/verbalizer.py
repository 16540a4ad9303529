"""Classification by prompting a causal LM, constrained to the label set by a verbalizer.

Each label is given words the model should answer with (``card_arrival`` -> ``card arrival``); a text's label
is the one whose words the model finds most likely after the prompt (instruction listing the answers,
optional in-context demonstrations, then the text). Scoring log-likelihoods rather than parsing generated
text means every prediction is a valid label, nothing depends on decoding settings, and candidates can be
restricted per text. It is meant to run on a CPU: the shared prefix (instruction + demonstrations) is run once
and its KV cache reused for every text; each text and all its labels' continuations are then scored in a single
one-row forward on top of it (a custom attention mask keeps the labels from seeing each other), after which the
cache is cropped back to the prefix: it is never copied or expanded.

Scores are calibrated by default (Zhao et al., 2021, "Calibrate before use"): a small LM prefers some answers
whatever the text (the longest label's later tokens are easy, so under "mean" it wins nearly every text), so each
label's score is taken relative to its probability after content-free texts ("N/A", "", "[MASK]").
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np
import torch
from transformers import DynamicCache

from tuneforge.prompting.label_specs import readable

_SENTINEL = "\x00TUNEFORGE_QUERY\x00"
CONTENT_FREE = ("N/A", "", "[MASK]")


class PromptClassifier:
    def __init__(self, model, tokenizer, labels: list[str], instruction: str,
                 label_words: dict[str, str] | None = None,
                 examples: Sequence[tuple[str, str]] = (), chat_template: bool = True,
                 normalize: str = "mean", calibrate: bool = True,
                 content_free: Sequence[str] = CONTENT_FREE) -> None:
        if calibrate and not content_free:
            raise ValueError("calibrate needs at least one content-free text")
        if normalize not in ("mean", "sum"):
            raise ValueError(f"normalize must be 'mean' or 'sum', not {normalize!r}")
        if not labels or len(set(labels)) != len(labels):
            raise ValueError("labels must be a non-empty list of distinct names")
        label_words = dict(label_words or {})
        unknown = set(label_words) - set(labels)
        if unknown:
            raise ValueError(f"label_words for labels not in the label set: {sorted(unknown)}")
        self.labels = list(labels)
        self.words = [(label_words.get(lb) or readable(lb)).strip() for lb in self.labels]
        # Two labels with the same words would always tie: the model cannot tell them apart.
        if len(set(self.words)) != len(self.words) or not all(self.words):
            raise ValueError(f"each label needs distinct, non-empty words; got {self.words}")
        word_of = dict(zip(self.labels, self.words, strict=True))
        for _, label in examples:
            if label not in word_of:
                raise ValueError(f"example label {label!r} is not in the label set")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.normalize = normalize
        self.content_free = list(content_free) if calibrate else []
        self._baseline: np.ndarray | None = None
        self.index = {lb: i for i, lb in enumerate(self.labels)}
        self.device = next(model.parameters()).device
        # Only the last position's logits are needed for prompt forwards; skip the [seq, vocab] rest where supported.
        params = inspect.signature(model.forward).parameters
        self._keep_last = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        self._pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

        full_instruction = instruction.strip() + "\nAnswers: " + ", ".join(self.words)
        demos = [(text.strip(), word_of[label]) for text, label in examples]
        self.chat = bool(chat_template and getattr(tokenizer, "chat_template", None))
        # Tokenization boundary: the prefix, each text's query part and each label's continuation are tokenized
        # separately and their ids concatenated, so the prompt ids are identical for every label (and the prefix
        # ids identical for every text, which is what makes its cache reusable). The cuts fall where byte-level
        # BPE splits anyway (around special tokens, before a word's leading space, after a lone newline).
        if self.chat:
            prefix, self._query_tail = self._chat_prompt(full_instruction, demos)
            end = self._end_of_turn()
            conts = [self._ids(w) + end for w in self.words]
            self._prefix_ids = self._ids(prefix)  # the template writes BOS itself where the model needs one
        else:
            # One newline between lines: a cut inside a run of whitespace ("\n\n" | "Text") would tokenize
            # differently from the whole prompt (BPE keeps "\n\n" whole, but gives "\n" "\nText" uncut).
            prefix = full_instruction + "\n" + "".join(f"Text: {t}\nAnswer: {w}\n" for t, w in demos)
            # The answer's leading space belongs to its first word (as BPE tokenizes "Answer: card"), and the
            # newline closes it, so "card" cannot win as a prefix of "card arrival".
            conts = [self._ids(" " + w + "\n") for w in self.words]
            self._prefix_ids = tokenizer(prefix, add_special_tokens=True)["input_ids"]
        self._conts = conts
        self._prefix_cache: DynamicCache | None = None

    # ----------------------------------------------------------------------------------------------- prompt

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _render(self, messages: list[dict], **kwargs) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, **kwargs)

    def _chat_prompt(self, instruction: str, demos: list[tuple[str, str]]) -> tuple[str, str]:
        """(prefix, tail): a text's prompt is ``prefix + text + tail``, the conversation rendered by the template.

        The conversation is rendered once with a sentinel as the query, and cut around it: whatever the template
        writes before the query (system turn, demonstrations, the user header) is the shared prefix.
        """
        turns = [m for t, w in demos for m in ({"role": "user", "content": t}, {"role": "assistant", "content": w})]
        query = {"role": "user", "content": _SENTINEL}
        try:
            rendered = self._render([{"role": "system", "content": instruction}, *turns, query],
                                    add_generation_prompt=True)
        except Exception:  # templates without a system role: the instruction opens the first user turn
            first, *rest = [*turns, query]
            first = {"role": "user", "content": instruction + "\n\n" + first["content"]}
            rendered = self._render([first, *rest], add_generation_prompt=True)
        if rendered.count(_SENTINEL) != 1:
            raise ValueError("the chat template does not write the user's message verbatim")
        prefix, tail = rendered.split(_SENTINEL)
        return prefix, tail

    def _end_of_turn(self) -> list[int]:
        """The token the template closes an assistant turn with (``<|im_end|>``, ``<|eot_id|>``, ...).

        Scoring it makes each label a complete answer: without it "card" would score at least as high as
        "card arrival" under "sum" (a prefix's likelihood is never lower). It is read off the template itself,
        rendering an assistant turn and keeping what follows the content up to its first special token, since
        ``eos_token`` is not always the end-of-turn token (Llama 3: ``<|end_of_text|>`` vs ``<|eot_id|>``).
        """
        rendered = self._render([{"role": "user", "content": "x"}, {"role": "assistant", "content": _SENTINEL}])
        tail = self._ids(rendered.split(_SENTINEL, 1)[1]) if _SENTINEL in rendered else []
        special = set(self.tokenizer.all_special_ids)
        for i, tok in enumerate(tail):
            if tok in special:
                return tail[: i + 1]
        if self.tokenizer.eos_token_id is not None:
            return [self.tokenizer.eos_token_id]
        return tail[:1] or self._ids("<|im_end|>")

    def _query_ids(self, text: str) -> list[int]:
        # Stripped like the demonstrations (and like templates that trim content, e.g. Llama 3's).
        text = text.strip()
        return self._ids(text + self._query_tail) if self.chat else self._ids(f"Text: {text}\nAnswer:")

    # ---------------------------------------------------------------------------------------------- scoring

    def _prefix(self) -> DynamicCache:
        if self._prefix_cache is None:
            cache = DynamicCache(config=self.model.config)
            ids = torch.tensor([self._prefix_ids], device=self.device)
            self.model(input_ids=ids, attention_mask=torch.ones_like(ids), past_key_values=cache, use_cache=True,
                       **self._keep_last)
            self._prefix_cache = cache
        return self._prefix_cache

    def _score_text(self, text: str, which: list[int]) -> np.ndarray:
        """Scores of the labels ``which`` after ``text``'s prompt, on top of the prefix cache.

        One forward of one row: the text's query tokens, then the labels' continuations as a prefix tree (a token
        sequence shared by several labels, e.g. the first word of "card arrival" and "card linking", is input
        once). Each continuation token is placed right after the query (position ids restart there) and attends
        to the prefix, the whole query and its own label's earlier tokens only, through a 4D mask. A label's last
        token is never an input: it is only read off the logits of the token before it.
        """
        cache = self._prefix()
        past = cache.get_seq_length()
        query = self._query_ids(text)
        n = len(query)
        # Every new token: its id, its parent (the token it follows; -1: only the prefix) and its position.
        ids, parent, pos = list(query), list(range(-1, n - 1)), list(range(past, past + n))
        node: dict[tuple[int, ...], int] = {(): n - 1}  # a continuation's token prefix -> the row that ends it
        src, tgt, seg = [], [], []  # for each scored token: the row whose logits predict it, its id, its label
        for r, j in enumerate(which):
            cont = self._conts[j]
            for k, tok in enumerate(cont):
                src.append(node[tuple(cont[:k])])
                tgt.append(tok)
                seg.append(r)
                if k + 1 < len(cont) and tuple(cont[: k + 1]) not in node:
                    node[tuple(cont[: k + 1])] = len(ids)
                    parent.append(node[tuple(cont[:k])])
                    ids.append(tok)
                    pos.append(past + n + k)
        new = len(ids)
        # Row i sees what its parent sees, and itself: the query causally, a continuation its own ancestors.
        sees = np.zeros((new, new), dtype=bool)
        for i, p in enumerate(parent):
            if p >= 0:
                sees[i] = sees[p]
            sees[i, i] = True
        allowed = torch.cat([torch.ones(new, past, dtype=torch.bool), torch.from_numpy(sees)], dim=1)
        dtype = next(self.model.parameters()).dtype
        # Additive float mask: read as-is by both the sdpa and the eager attention ([1, 1, new, past + new]).
        mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(~allowed, torch.finfo(dtype).min)
        # Logits are read only at the query's last row and at continuation rows: exactly the last new - n + 1.
        keep = new - n + 1
        try:
            out = self.model(input_ids=torch.tensor([ids], device=self.device), past_key_values=cache,
                             use_cache=True, position_ids=torch.tensor([pos], device=self.device),
                             attention_mask=mask[None, None].to(self.device),
                             **({"logits_to_keep": keep} if self._keep_last else {}))
        except BaseException:
            self._prefix_cache = None  # some layers may have been appended to: rebuild the prefix next time
            raise
        cache.crop(-new)  # the forward appended the new tokens in place: back to the prefix alone
        logits = out.logits[0, -keep:].float()
        src_rows = torch.tensor(src, device=self.device) - (n - 1)
        tgt_ids = torch.tensor(tgt, device=self.device)
        # log_softmax at the targets only: logit - logsumexp, without a second [rows, vocab] tensor.
        logp = logits[src_rows, tgt_ids] - logits.logsumexp(-1)[src_rows]
        total = torch.zeros(len(which), dtype=logp.dtype, device=self.device)
        total.index_add_(0, torch.tensor(seg, device=self.device), logp)
        if self.normalize == "mean":
            total = total / torch.tensor([len(self._conts[j]) for j in which], device=self.device)
        return total.cpu().double().numpy()

    def baseline(self) -> np.ndarray:
        """log of each label's probability after the content-free texts (their label distributions averaged)."""
        if self._baseline is None:
            every = list(range(len(self.labels)))
            with torch.inference_mode():
                raw = np.stack([self._score_text(text, every) for text in self.content_free])
            probs = np.exp(raw - raw.max(1, keepdims=True))
            self._baseline = np.log((probs / probs.sum(1, keepdims=True)).mean(0))
        return self._baseline

    def log_likelihoods(self, texts: list[str], candidates: list[list[str]] | None = None) -> np.ndarray:
        """[len(texts), len(labels)] score of each label's words after the prompt of each text; -inf outside
        a text's candidates (when given). normalize="mean": mean log-prob per label token; "sum": total.
        Calibrated (the default): minus ``baseline()``, the label's log-probability after content-free texts."""
        if candidates is not None and len(candidates) != len(texts):
            raise ValueError(f"{len(candidates)} candidate lists for {len(texts)} texts")
        scores = np.full((len(texts), len(self.labels)), -np.inf)
        with torch.inference_mode():
            for i, text in enumerate(texts):
                if candidates is None:
                    which = list(range(len(self.labels)))
                else:
                    missing = [c for c in candidates[i] if c not in self.index]
                    if missing or not candidates[i]:
                        raise ValueError(f"text {i}: candidates must be a non-empty subset of the labels; "
                                         f"unknown: {missing}")
                    which = sorted({self.index[c] for c in candidates[i]})
                scores[i, which] = self._score_text(text, which)
        return scores - self.baseline() if self.content_free else scores

    def predict(self, texts: list[str], candidates: list[list[str]] | None = None) -> list[str]:
        """The most likely label of each text (among its candidates, when given)."""
        scores = self.log_likelihoods(texts, candidates)
        return [self.labels[j] for j in scores.argmax(axis=1)]
