"""SemEval-2010 Task 8 reader: blocks of ``id<TAB>"sentence"``, the label, a ``Comment:`` line, a blank line.

Only the outer quotes of the sentence are stripped (some sentences contain inner quotes). The
sentence keeps its ``<e1>…</e1>`` and ``<e2>…</e2>`` markers; the relation task checks them.
"""

from __future__ import annotations

import re

from tuneforge.data.examples import Problems, TextExample
from tuneforge.data.text_file import read_lines

FIRST_LINE = re.compile(r'^(\d+)\t"(.*)"\s*$')


def read_semeval(path: str, problems: Problems, labelled: bool = True) -> list[TextExample]:
    lines = read_lines(path)
    examples = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        start = i + 1
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        match = FIRST_LINE.match(block[0])
        if not match:
            problems.add(start, 'expected id<TAB>"sentence"')
            continue
        label = None
        if labelled:
            if len(block) < 2 or not block[1].strip() or block[1].startswith("Comment:"):
                problems.add(start + 1, "relation label missing after the sentence line")
                continue
            label = block[1].strip()
        examples.append(TextExample(match.group(2), label, f"{path}:{start}"))
    return examples
