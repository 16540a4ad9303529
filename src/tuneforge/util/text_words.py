"""Split raw text into words with character offsets, the way tagged NER corpora are tokenized."""

from __future__ import annotations

import re

# URLs, @mentions and #hashtags stay whole; words keep inner apostrophes and hyphens; "'s" and
# "n't"-style clitics split off as in Penn/CoNLL tokenization; any other symbol stands alone.
WORD = re.compile(
    r"https?://\S+|www\.\S+|[@#]\w+|\w+(?=n't\b)|n't\b|'\w+|\w+(?:[-.]\w+)*|[^\w\s]",
    re.UNICODE,
)


def split_words(text: str) -> list[tuple[str, int, int]]:
    """[(word, start, end)] with ``text[start:end] == word``."""
    return [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]
