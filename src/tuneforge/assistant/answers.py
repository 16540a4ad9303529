"""Document answers: which messages are answered from documents, and the answer drawn from the reader's spans.

A message is answered from documents when the intent run finds it out of scope (or its intent is one of
``documents.intents``). The retriever's top passages are each read by the extractive reader; the most probable
span over them is the answer, cited by document and character offsets into that document, unless its
probability is under ``documents.min_score``: then the reply is ``DONT_KNOW``. (Probabilities are per passage,
softmax of start times end logits, as the reader's predict gives them; benchmarks/xquad_open_qa.py tunes the
threshold on questions asked with and without their document.)
"""

from __future__ import annotations

from typing import Any

DONT_KNOW = "I don't know: the documents do not say."


def answers_from_documents(intent: dict[str, Any], options: Any) -> bool:
    return bool(intent["out_of_scope"]) or intent["label"] in options.intents


def reader_inputs(question: str, passages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"question": question, "context": p["text"]} for p in passages]


def best_answer(passages: list[dict[str, Any]], readings: list[dict[str, Any]], min_score: float) -> dict[str, Any]:
    """{"answer", "score", "document", "start", "end", "passage"}: the most probable span over the passages
    (answer None, "I don't know", when there is none or it scores under ``min_score``). ``start``/``end`` are
    offsets into the document: the span's offsets in its passage plus the passage's start."""
    found = [(r["score"], p, r) for p, r in zip(passages, readings, strict=True) if r.get("start") is not None]
    none = {"answer": None, "score": None, "document": None, "start": None, "end": None, "passage": None}
    if not found:
        return none
    score, passage, reading = max(found, key=lambda x: x[0])
    if score < min_score:
        return none | {"score": score}
    return {"answer": passage["text"][reading["start"]:reading["end"]], "score": score,
            "document": passage["document"], "start": passage["start"] + reading["start"],
            "end": passage["start"] + reading["end"], "passage": passage["id"]}


def answer_reply(answer: dict[str, Any]) -> str:
    if answer["answer"] is None:
        return DONT_KNOW
    return f"{answer['answer']} (from {answer['document']}, characters {answer['start']}-{answer['end']})"
