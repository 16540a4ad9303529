"""Documents tokenized chunk by chunk, concatenated and cut into full rows of the window: no padding.

Each document becomes its tokenizer's ids with special tokens ([CLS] … [SEP] for BERT), followed by the
end-of-sequence token when the tokenizer adds none at the end (causal LMs), so documents are separated in the
stream. The stream is cut into rows of exactly ``width`` tokens; a document longer than a row simply runs on
into the next one. The last partial row is dropped — unless the split has no full row at all (a tiny dev
file), when it is kept as the one, shorter, row. Ids are stored as one int32 array (4 bytes a token); the
text itself is read one line at a time and never held.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

import numpy as np

CHUNK_DOCUMENTS = 1000  # documents tokenized per call


class Rows(Sequence):
    """The packed rows of one split; ``rows[i]`` is an int32 array (``len()`` is its token count)."""

    def __init__(self, ids: np.ndarray, documents: int, tokens: int) -> None:
        self.ids = ids  # (rows, width) int32
        self.documents = documents
        self.tokens = tokens  # tokens in the stream, the dropped tail included

    def __len__(self) -> int:
        return self.ids.shape[0]

    def __getitem__(self, i):
        return self.ids[i]


def separator(tokenizer) -> int | None:
    """The id put after a document that does not end with a special token (EOS, else SEP)."""
    return tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id


def pack_documents(texts: Iterable[str], tokenizer, width: int, chunk: int = CHUNK_DOCUMENTS) -> Rows:
    stream = array("i")
    special = set(tokenizer.all_special_ids)
    end = separator(tokenizer)
    documents = 0
    batch: list[str] = []

    def flush() -> None:
        for ids in tokenizer(batch, add_special_tokens=True, verbose=False)["input_ids"]:
            stream.extend(ids)
            if end is not None and (not ids or ids[-1] not in special):
                stream.append(end)
        batch.clear()

    for text in texts:
        batch.append(text)
        documents += 1
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    flat = np.frombuffer(stream, dtype=np.int32) if len(stream) else np.zeros(0, dtype=np.int32)
    full = len(flat) // width
    rows = flat[: full * width].reshape(full, width) if full else flat[None, :]
    return Rows(rows, documents, len(flat))  # a view: the stream is not copied
