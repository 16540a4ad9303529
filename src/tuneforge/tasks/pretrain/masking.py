"""BERT's masked-language-model corruption of a batch of token ids, by token or by whole word.

Each maskable unit (a token, or with ``whole_word`` every piece of one word together) is chosen with
probability ``rate``; special tokens ([CLS], [SEP], padding) are never chosen. Of the chosen tokens 80%
become the mask token, 10% a random token and 10% stay as they are (Devlin et al., 2019); the loss is
on the chosen tokens only. A word's pieces are told apart by the vocabulary: WordPiece marks a
continuation with "##", SentencePiece and byte-level BPE mark a word's *first* piece ("▁", "Ġ"); a
tokenizer with neither is masked by token.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


def continuation_table(tokenizer) -> torch.Tensor:
    """For each id: True when the token continues the word before it (a "##" piece, or a piece without "▁"/"Ġ")."""
    vocab = tokenizer.get_vocab()
    size = max(len(tokenizer), max(vocab.values()) + 1)
    table = torch.zeros(size, dtype=torch.bool)
    pieces = list(vocab)
    if any(p.startswith("##") for p in pieces):
        rule = lambda p: p.startswith("##")  # noqa: E731
    elif (starts := next((m for m in ("▁", "Ġ") if sum(p.startswith(m) for p in pieces) > len(pieces) // 4), None)):
        rule = lambda p: not p.startswith(starts)  # noqa: E731
    else:
        return table
    special = set(tokenizer.all_special_ids)
    for piece, index in vocab.items():
        table[index] = rule(piece) and index not in special
    return table


def mask_tokens(ids: torch.Tensor, special: torch.Tensor, mask_id: int, vocab_size: int, rate: float,
                continues: torch.Tensor | None = None, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """(corrupted input ids, targets: the original id where chosen, else -100).

    ``special``: the ids never masked; ``continues``: ``continuation_table`` for whole-word masking (None: by token).
    """
    is_special = torch.isin(ids, special)
    if continues is not None:
        starts = ~continues[ids] | is_special
        starts[:, 0] = True
        unit = torch.cumsum(starts.long(), dim=1) - 1  # each token's word, numbered from 0 in its row
    else:
        unit = torch.arange(ids.shape[1]).expand_as(ids)
    draws = torch.rand(ids.shape, generator=generator)
    chosen = (draws.gather(1, unit) < rate) & ~is_special  # one draw per word: its pieces go together
    targets = torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))
    kind = torch.rand(ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (kind < 0.8)] = mask_id
    randomized = chosen & (kind >= 0.8) & (kind < 0.9)
    inputs[randomized] = torch.randint(vocab_size, ids.shape, generator=generator)[randomized]
    return inputs, targets
