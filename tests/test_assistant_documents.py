"""Questions answered from documents: a folder read (HTML stripped), cut into passages that keep their offsets,
indexed once by a retriever and reused, read by an extractive reader, cited or "I don't know"; bad folders
refused in one line before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_assistant import Recorder, assist, train_assistant_runs
from test_question_answering import qa_config, squad_file

import tuneforge
from tuneforge.assistant.answers import DONT_KNOW, best_answer
from tuneforge.assistant.documents import Document, html_text, read_documents
from tuneforge.assistant.passages import split_document
from tuneforge.cli import main
from tuneforge.errors import ConfigError
from tuneforge.serve.app import create_app
from tuneforge.serve.settings import ServeSettings

TestClient = pytest.importorskip("fastapi.testclient").TestClient

HTML = """<html><head><title>Card help</title><style>p { color: red }</style><script>var secret = 1;</script></head>
<body><h1>Lost cards</h1><p>A lost card is blocked &amp; replaced
   within <b>five</b> days.</p><ul><li>Call us</li><li>Or write</li></ul></body></html>"""
RETURNS = ("Returns policy.\n\nItems can be returned within thirty days of delivery. The refund is paid to the card "
           "that paid for the order.\n\nOpening hours are nine to five on weekdays.")


# reading and splitting ------------------------------------------------------------------------
def test_html_is_stripped_to_the_text_a_reader_sees():
    assert html_text(HTML) == ("Card help\n\nLost cards\n\nA lost card is blocked & replaced within five days.\n\n"
                               "Call us\n\nOr write")


def test_a_folder_is_read_recursively_skipping_hidden_and_other_files(tmp_path):
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "returns.md").write_text(RETURNS, encoding="utf-8")
    (tmp_path / "cards.html").write_text(HTML, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("Plain notes.", encoding="utf-8")
    (tmp_path / ".draft.txt").write_text("hidden", encoding="utf-8")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    docs = read_documents(tmp_path)
    assert [d.name for d in docs] == ["cards.html", "guide/returns.md", "notes.txt"]
    assert docs[0].text.startswith("Card help") and "<" not in docs[0].text and docs[1].text == RETURNS


def test_passages_keep_their_offsets_stay_under_the_limit_and_overlap_when_cut():
    words = " ".join(f"w{i}" for i in range(200))
    doc = Document("a.txt", f"Short one.\n\nShort two.\n\n{words}\n\nTail.")
    passages = split_document(doc, 120, 30)
    for p in passages:
        assert doc.text[p.meta["start"]:p.meta["end"]] == p.text and len(p.text) <= 120
        assert p.id == f"a.txt#{p.meta['start']}" and p.meta["document"] == "a.txt"
    assert passages[0].text == "Short one.\n\nShort two."  # paragraphs packed together
    cut = [p for p in passages if p.text.startswith("w")]
    assert len(cut) > 3 and all(a.meta["end"] > b.meta["start"] for a, b in zip(cut, cut[1:], strict=False))
    assert all(t.isalnum() for p in cut for t in p.text.split())  # cut at word boundaries
    covered = set().union(*(p.text.split() for p in passages))
    assert covered == set(doc.text.split())  # nothing is lost


def test_the_best_span_over_passages_is_cited_in_document_offsets():
    passages = [{"id": "a.md#0", "text": "Cats sleep.", "document": "a.md", "start": 0, "end": 11},
                {"id": "b.md#40", "text": "Refunds take five days.", "document": "b.md", "start": 40, "end": 63}]
    readings = [{"answer": "sleep", "start": 5, "end": 10, "score": 0.3},
                {"answer": "five days", "start": 13, "end": 22, "score": 0.6}]
    answer = best_answer(passages, readings, 0.5)
    assert answer == {"answer": "five days", "score": 0.6, "document": "b.md", "start": 53, "end": 62,
                      "passage": "b.md#40"}
    assert best_answer(passages, readings, 0.61)["answer"] is None
    assert best_answer(passages, [{"answer": None, "start": None, "end": None, "score": None}] * 2, 0)["answer"] is None


# the assistant --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model, tiny_llama) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("documents")
    runs = train_assistant_runs(tmp, tiny_model, tiny_llama)
    context = "Items can be returned within thirty days of delivery."
    rows = [(context, [{"id": f"q{i}", "question": "How long can items be returned?",
                        "answers": [{"text": "thirty days", "answer_start": context.index("thirty")}]}])
            for i in range(4)]
    data = {"train": squad_file(tmp / "qa.json", rows, "1.1")}
    runs["reader"] = tuneforge.train({**qa_config(tmp, tiny_model, data), "name": "reader"})
    retriever = tmp / "retriever.yaml"  # the tiny encoder as it is: nothing trains
    retriever.write_text(yaml.safe_dump({"name": "retriever", "task": "retrieval",
                                         "model": {"name": tiny_model, "max_length": 64},
                                         "task_options": {"fine_tune": False}}), encoding="utf-8")
    runs["retriever"] = retriever
    return runs


def document_folder(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "returns.md").write_text(RETURNS, encoding="utf-8")
    (folder / "cards.html").write_text(HTML, encoding="utf-8")
    return folder


def assistant_with_documents(tmp_path: Path, runs: dict[str, Path], **documents) -> Path:
    labels = json.loads((runs["intent"] / "model" / "labels.json").read_text())
    options = {"folder": str(tmp_path / "docs"), "cache": str(tmp_path / "cache"), "passage_chars": 100,
               "top_k": 3, "min_score": 0.0, "intents": labels, **documents}  # every intent: the documents answer
    path = tmp_path / "assistant.yaml"
    path.write_text(yaml.safe_dump({"runs": {k: str(v) for k, v in runs.items()}, "documents": options}),
                    encoding="utf-8")
    return path


def client(path: Path) -> TestClient:
    return TestClient(create_app(ServeSettings(assistant=path)), raise_server_exceptions=False)


def test_a_question_is_answered_from_the_documents_with_a_citation(runs, tmp_path):
    document_folder(tmp_path / "docs")
    with client(assistant_with_documents(tmp_path, runs)) as c:
        retriever, reader = Recorder(c.app, "assistant-retriever"), Recorder(c.app, "assistant-reader")
        replies = Recorder(c.app, "assistant-reply")
        question = "How long can items be returned?"
        body = assist(c, question).json()
        answer = body["document_answer"]
        assert retriever.items == [question] and replies.items == []  # the reply model is not asked
        assert len(reader.items) == 3 and all(item["question"] == question for item in reader.items)
        text = read_documents(tmp_path / "docs")
        document = {d.name: d.text for d in text}[answer["document"]]
        assert answer["answer"] and document[answer["start"]:answer["end"]] == answer["answer"]
        assert any(item["context"] in document and answer["answer"] in item["context"] for item in reader.items)
        assert body["reply"] == (f"{answer['answer']} (from {answer['document']}, characters "
                                 f"{answer['start']}-{answer['end']})")
        assert body["turns"] == 1 and "<" not in answer["answer"]


def test_under_the_threshold_the_answer_is_i_dont_know(runs, tmp_path):
    document_folder(tmp_path / "docs")
    with client(assistant_with_documents(tmp_path, runs, min_score=1.0)) as c:
        body = assist(c, "What colour is the sky?").json()
        assert body["reply"] == DONT_KNOW and body["document_answer"]["answer"] is None
        assert body["document_answer"]["document"] is None and 0 <= body["document_answer"]["score"] < 1.0


def test_an_intent_in_scope_gets_the_generated_reply(runs, tmp_path):
    document_folder(tmp_path / "docs")
    with client(assistant_with_documents(tmp_path, runs, intents=[])) as c:  # the tiny intent run has no OOS label
        reader, replies = Recorder(c.app, "assistant-reader"), Recorder(c.app, "assistant-reply")
        body = assist(c, "where is my card").json()
        assert body["document_answer"] is None and reader.items == [] and len(replies.items) == 1


def test_the_index_is_built_once_and_rebuilt_when_a_document_changes(runs, tmp_path):
    folder = document_folder(tmp_path / "docs")
    path = assistant_with_documents(tmp_path, runs)
    with client(path) as c:
        assert c.app.state.document_index["built"] and c.app.state.document_index["documents"] == 2
    info = json.loads((tmp_path / "cache" / "index.json").read_text())
    passages = (tmp_path / "cache" / "passages.jsonl").read_text().splitlines()
    assert info["passages"] == len(passages) == c.app.state.document_index["passages"]
    assert {"document", "start", "end"} <= set(json.loads(passages[0]))
    with client(path) as c:
        assert not c.app.state.document_index["built"]  # reused from disk
    (folder / "returns.md").write_text(RETURNS + "\n\nNew: gift cards are not refunded.", encoding="utf-8")
    with client(path) as c:
        assert c.app.state.document_index["built"]
        assert "gift cards" in (tmp_path / "cache" / "passages.jsonl").read_text()


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: None, "is not a folder"),
    (lambda d: d.mkdir(), "holds no documents (files ending in .txt, .md, .markdown, .html, .htm)"),
    (lambda d: (d.mkdir(), (d / "a.png").write_bytes(b"x")), "holds no documents"),
    (lambda d: (d.mkdir(), (d / "a.html").write_text("<script>x</script>")), "a.html: an empty document"),
    (lambda d: (d.mkdir(), (d / "a.txt").write_bytes(b"\xff\xfe")), "a.txt: not UTF-8 text"),
])
def test_a_bad_document_folder_is_one_line_exit_2_and_nothing_written(runs, tmp_path, capsys, make, message):
    make(tmp_path / "docs")
    path = assistant_with_documents(tmp_path, runs)
    assert main(["serve", "--assistant", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, err
    assert not (tmp_path / "cache").exists()


def test_documents_need_a_retriever_and_a_reader_of_the_right_kinds(runs, tmp_path):
    document_folder(tmp_path / "docs")
    without = {k: v for k, v in runs.items() if k != "reader"}
    with pytest.raises(ConfigError, match=r"assistant.yaml: documents are answered by .*add runs.reader"):
        create_app(ServeSettings(assistant=assistant_with_documents(tmp_path, without)))
    swapped = {**runs, "reader": runs["intent"]}
    with pytest.raises(ConfigError, match=r"runs.reader: .* the reader run must answer from a passage"):
        create_app(ServeSettings(assistant=assistant_with_documents(tmp_path, swapped)))
    assert not (tmp_path / "cache").exists()  # the roles are checked before anything is indexed
