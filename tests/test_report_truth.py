"""Reports that tell the truth: the confusion matrix shows the labels with the most errors, `runs` and the
console give one training time, no Python reprs in report.html, and check-data says what the configured
long-text strategy does."""

from __future__ import annotations

import re

import pytest
from conftest import make_config
from test_text_data import INTENTS, text_config, write_csv


class Drawn:
    """Stands in for report.plots: keeps what the confusion heat map was given."""

    def confusion_heatmap(self, labels, matrix, title):
        self.labels, self.matrix = labels, matrix
        return "<svg/>"


def test_the_confusion_matrix_shows_the_labels_with_the_most_errors_either_way():
    from tuneforge.report.html import CONFUSION_TOP, _confusion

    n = 30
    labels = [f"label-{i:02d}" for i in range(n)]  # balanced: 10 test examples each
    matrix = [[10 if i == j else 0 for j in range(n)] for i in range(n)]
    sink = 29  # last alphabetically: takes 8 of every other label's examples in the first 15
    for i in range(15):
        matrix[i][i], matrix[i][sink] = 2, 8
    loser = 28  # loses its own examples to label 27: errors as gold
    matrix[loser][loser], matrix[loser][27] = 4, 6
    drawn = Drawn()
    shown = _confusion({"labels": labels, "matrix": matrix}, "test", drawn)
    assert len(drawn.labels) == CONFUSION_TOP and "label-29" in drawn.labels and "label-28" in drawn.labels
    assert "label-27" in drawn.labels  # it took label-28's examples: errors as predicted
    # the 18 labels with errors, then 2 without (ties: most examples, then first): not the alphabetical first 20
    assert drawn.labels == [labels[i] for i in [*range(17), 27, 28, 29]]
    assert drawn.matrix[drawn.labels.index("label-00")][drawn.labels.index("label-29")] == 8
    assert "most test errors, gold or predicted" in shown["note"]


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory, tiny_model):
    from conftest import SENTENCES, write_conll

    from tuneforge.cli import main

    tmp = tmp_path_factory.mktemp("truth")
    data = {"train": write_conll(tmp / "train.conll", SENTENCES * 4), "dev": write_conll(tmp / "dev.conll", SENTENCES)}
    config = make_config(tmp, tiny_model, data, max_steps=3)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["train", str(config)]) == 0
    return tmp / "runs" / "t", out.getvalue()


def test_runs_and_the_console_give_the_same_training_time(ner_run):
    from tuneforge.runs.listing import COLUMNS, rows, summarize

    run, printed = ner_run
    listed = dict(zip(COLUMNS, rows([summarize(run)])[0], strict=True))["train time"]
    [line] = [x for x in printed.splitlines() if x.startswith("time: ")]
    assert f"train time {listed}, " in line and line.endswith(" in all")


def test_report_html_has_no_python_reprs(ner_run):
    from test_report_html import tables

    run, _ = ner_run
    html = (run / "report.html").read_text(encoding="utf-8")
    cells = [c for t in tables(html).values() for r in t for c, _ in r]
    assert not [c for c in cells if re.search(r"\b(None|True|False)\b", c)], cells
    config = {r[0][0]: r[1][0] for r in tables(html)["config"]}
    assert config["training.early_stopping"] == "best checkpoint by f1 (higher is better); never stops early"
    facts = {r[0][0]: r[1][0] for r in tables(html)["facts"]}
    assert facts["stopped_early"] == "no"


@pytest.mark.parametrize(("task", "options", "said"), [
    ("sequence-classification", [], "long_texts: window: split into overlapping windows"),
    ("sequence-classification", ["task_options.long_texts=truncate"], "long_texts: truncate: only the first window"),
])
def test_check_data_says_what_the_configured_long_text_strategy_does(tmp_path, tiny_model, capsys, task, options,
                                                                     said):
    from tuneforge.cli import main

    long = " ".join(["word"] * 80)
    train = write_csv(tmp_path / "train.csv", [*INTENTS, (long, INTENTS[0][1])])
    config = text_config(tmp_path, tiny_model, task=task, train=train)
    args = ["check-data", str(config)] + [x for o in options for x in ("--set", o)]
    main(args)
    [line] = [x for x in capsys.readouterr().out.splitlines() if "over the 32-token window" in x]
    assert line.endswith(f"({said}" + line.split(said, 1)[1]) and "1 over" in line and "relation" not in line
