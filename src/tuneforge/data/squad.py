"""Read SQuAD-format JSON (v1.1 and v2.0) into QAExamples, checking every answer against its context.

A wrong ``answer_start`` silently trains the model on the wrong span, so every answer is compared with
the context at its offset, and each problem names the file and the record (``data[i].paragraphs[j].qas[k]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneforge.data.examples import Answer, Problems, QAExample, ReadResult
from tuneforge.data.loading import load_splits
from tuneforge.data.text_file import read_json
from tuneforge.errors import ConfigError

if TYPE_CHECKING:
    from tuneforge.config.schema import DataConfig

VERSIONS = ("auto", "1.1", "2.0")
SNIPPET = 40  # characters of answer / context quoted in a message, so that it stays one readable line


def read_squad(path: str, version: str = "auto", strict: bool = True, labelled: bool = True) -> ReadResult:
    """QAExamples of one SQuAD file; strict mode raises a DataError on the first problem.

    ``version`` "auto" reads v2.0 (unanswerable questions allowed) when the file says so or any question
    has ``is_impossible``; "1.1" / "2.0" force it. Unlabelled files (``labelled=False``) need no answers.
    Non-strict mode collects the problems and skips the bad records (for ``check-data``).
    """
    if version not in VERSIONS:
        raise ConfigError(f"task_options.squad_version must be one of {', '.join(VERSIONS)}, not {version!r}")
    problems = Problems(path, strict)
    _, data = read_json(path)
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        problems.add(None, "expected a SQuAD JSON object with a 'data' list of articles")
        return ReadResult([], problems.items)
    v2 = version == "2.0" or (version == "auto" and _declares_v2(data, articles))
    examples: list[QAExample] = []
    first_seen: dict[str, str] = {}  # question id -> record, to report duplicates
    for i, article in enumerate(articles):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            problems.add(None, f"data[{i}]: expected an object with a 'paragraphs' list")
            continue
        title = article.get("title")
        if not isinstance(title, str):
            # Carved dev/test splits are cut by article, so the title must exist to keep articles apart.
            problems.add(None, f"data[{i}]: 'title' (the article's name) missing or not a string")
            continue
        for j, paragraph in enumerate(article["paragraphs"]):
            where = f"data[{i}].paragraphs[{j}]"
            error = _paragraph_error(paragraph)
            if error:
                problems.add(None, f"{where}: {error}")
                continue
            for k, qa in enumerate(paragraph["qas"]):
                record = f"{where}.qas[{k}]"
                named = f"{record}{_id_note(qa)}"
                example = _example(qa, paragraph["context"], title, named, path, v2, labelled)
                if isinstance(example, str):
                    problems.add(None, example)
                elif example.id in first_seen:
                    problems.add(None, f"{named}: duplicate question id (first at {first_seen[example.id]})")
                else:
                    first_seen[example.id] = record
                    examples.append(example)
    if not examples and not problems.items:
        problems.add(None, "no questions found")
    return ReadResult(examples, problems.items)


def load_qa_splits(data_cfg: DataConfig, version: str, strict: bool = True) -> dict[str, ReadResult]:
    """train/dev/test of SQuAD files; carved dev/test take whole articles, so no article is in two splits.

    Questions on one article share its facts and wording: splitting an article would leak answers into dev.
    """
    return load_splits(
        data_cfg, strict, lambda path, _cfg, s: read_squad(path, version, s), group_key=lambda e: e.title
    )


def _declares_v2(data: dict, articles: list) -> bool:
    declared = str(data.get("version", ""))
    if declared.startswith(("v2", "2")):
        return True
    return any(
        isinstance(qa, dict) and "is_impossible" in qa
        for article in articles if isinstance(article, dict) and isinstance(article.get("paragraphs"), list)
        for paragraph in article["paragraphs"] if isinstance(paragraph, dict) and isinstance(paragraph.get("qas"), list)
        for qa in paragraph["qas"]
    )


def _paragraph_error(paragraph: object) -> str | None:
    if not isinstance(paragraph, dict):
        return "expected an object with 'context' and 'qas'"
    context = paragraph.get("context")
    if not isinstance(context, str):
        return "'context' missing or not a string"
    if not context.strip():
        return "context is empty"
    if not isinstance(paragraph.get("qas"), list):
        return "'qas' missing or not a list"
    return None


def _id_note(qa: object) -> str:
    qid = qa.get("id") if isinstance(qa, dict) else None
    if not isinstance(qid, str | int) or isinstance(qid, bool):
        return ""
    qid = str(qid)
    return f" (id {qid if qid.isprintable() else repr(qid)})"  # repr keeps a newline in an id off the message


def _example(qa: object, context: str, title: str, record: str, path: str, v2: bool, labelled: bool) -> QAExample | str:
    """The example of one question, or ``"record: what is wrong"``."""
    if not isinstance(qa, dict):
        return f"{record}: expected an object with 'id', 'question' and 'answers'"
    qid = qa.get("id")
    if not isinstance(qid, str | int) or isinstance(qid, bool) or not str(qid).strip():
        return f"{record}: 'id' missing, empty or not a string"
    question = qa.get("question")
    if not isinstance(question, str):
        return f"{record}: 'question' missing or not a string"
    if not question.strip():
        return f"{record}: question is empty"
    example = QAExample(str(qid), question, context, [], f"{path}: {record}", title)
    if not labelled:
        return example
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        return f"{record}: 'is_impossible' must be true or false, not {impossible!r}"
    raw = qa.get("answers", [] if impossible else None)
    if not isinstance(raw, list):
        return f"{record}: 'answers' missing or not a list"
    if not v2:
        if not raw:
            return (f"{record}: question has no answers; set task_options.squad_version: \"2.0\" for "
                    f"unanswerable questions")
    elif impossible and raw:
        # SQuAD v2 keeps the spans an unanswerable question seems to have under 'plausible_answers'.
        return f"{record}: is_impossible is true but the question has {len(raw)} answer(s)"
    elif not impossible and not raw and "is_impossible" in qa:
        return f"{record}: is_impossible is false but the question has no answers"
    for n, answer in enumerate(raw):
        checked = _answer(answer, context)
        if isinstance(checked, str):
            return f"{record}: answers[{n}]: {checked}" if len(raw) > 1 else f"{record}: {checked}"
        example.answers.append(checked)
    example.is_impossible = v2 and not example.answers
    return example


def _answer(answer: object, context: str) -> Answer | str:
    if not isinstance(answer, dict):
        return "expected an answer object with 'text' and 'answer_start'"
    text, start = answer.get("text"), answer.get("answer_start")
    if not isinstance(text, str):
        return "answer 'text' missing or not a string"
    if not text.strip():
        return "answer text is empty"
    if not isinstance(start, int) or isinstance(start, bool):
        return f"answer_start must be an integer, not {start!r}"
    if start < 0 or start + len(text) > len(context):
        return (f"answer {_quote(text)} at offset {start} lies outside the context "
                f"({len(context)} characters){_found(text, context)}")
    there = context[start : start + len(text)]
    if there != text:
        return (f"answer {_quote(text)} does not match the context at offset {start} "
                f"(context there: {_quote(there)}){_found(text, context)}")
    return Answer(text, start)


def _quote(text: str) -> str:
    return repr(text if len(text) <= SNIPPET else text[:SNIPPET] + "...")


def _found(text: str, context: str) -> str:
    """Where the answer does occur: an off-by-some offset is the usual mistake, and this shows by how much."""
    at = context.find(text)
    return f"; the text occurs at offset {at}" if at >= 0 else ""
