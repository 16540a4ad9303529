"""report.html: written by every run from the run's files, self-contained; compare's matplotlib plot."""

from __future__ import annotations

import json
import re
import shutil
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import SENTENCES, make_config, write_conll
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.api import train
from tuneforge.report.html import marked, marked_tokens, write_report_html
from tuneforge.report.plots import methods_scatter, tick_labels
from tuneforge.tasks.classification.out_of_scope import decide

EVIL = "<script>alert(1)</script>"  # a label: must show as text, never run


@pytest.fixture(scope="module")
def cls_run(tmp_path_factory, tiny_model) -> Path:
    tmp = tmp_path_factory.mktemp("cls")
    rows = [(t, EVIL if label == "close_account" else label) for t, label in INTENTS]
    train_csv = write_csv(tmp / "train.csv", rows * 3)
    dev = write_csv(tmp / "dev.csv", rows)
    test = write_csv(tmp / "test.csv", [*rows, ("my <b>card</b> is late", "card_arrival")])
    return train(text_config(tmp, tiny_model, train=train_csv, dev=dev, test=test))


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory, tiny_model) -> Path:
    tmp = tmp_path_factory.mktemp("ner")
    data = {"train": write_conll(tmp / "train.conll", SENTENCES * 4),
            "dev": write_conll(tmp / "dev.conll", SENTENCES[:2]),
            "test": write_conll(tmp / "test.conll", SENTENCES[2:])}
    return train(make_config(tmp, tiny_model, data, epochs=1))


SAME = "<b>where</b> is my card"  # in test twice, with two labels: one of them is always a worst error


@pytest.fixture(scope="module")
def oos_run(tmp_path_factory, tiny_model) -> Path:
    tmp = tmp_path_factory.mktemp("oos")
    dev = [*INTENTS, ("what is the weather", "oos"), ("sing me a song", "oos"), ("book a flight", "oos")]
    test = [*dev, (SAME, "card_arrival"), (SAME, "top_up")]
    config = text_config(tmp, tiny_model, train=write_csv(tmp / "train.csv", INTENTS * 3),
                         dev=write_csv(tmp / "dev.csv", dev), test=write_csv(tmp / "test.csv", test))
    return train(config, ["task_options.out_of_scope_label=oos", "task_options.oos_threshold=auto"])


class Tables(HTMLParser):
    """Rows of each <table id=...>, as lists of (cell text, data-value)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self.table: str | None = None
        self.cell: list[str] | None = None
        self.value: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.table = attrs.get("id") or ""
            self.tables[self.table] = []
        elif tag == "tr" and self.table is not None:
            self.tables[self.table].append([])
        elif tag in ("td", "th") and self.table is not None:
            self.cell, self.value = [], attrs.get("data-value")

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[self.table][-1].append(("".join(self.cell), self.value))
            self.cell = None
        elif tag == "table":
            self.table = None


def tables(html: str) -> dict[str, list[list[tuple[str, str | None]]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def check_per_label(run: Path, key: str) -> str:
    html = (run / "report.html").read_text(encoding="utf-8")
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    found = tables(html)
    for split in ("dev", "test"):
        rows = found[f"per-label-{split}"][1:]  # after the header
        expected = report[split][key]
        assert [r[0][0] for r in rows] == list(expected)
        assert [float(r[3][1]) for r in rows] == pytest.approx([v["f1"] for v in expected.values()], abs=1e-6)
        assert [int(r[4][0]) for r in rows] == [v["support"] for v in expected.values()]
    return html


def test_classification_report(cls_run):
    html = check_per_label(cls_run, "per_label")
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    assert re.search(r'<figure id="curves"><svg', html)
    assert re.search(r'<figure id="label-f1"><svg', html)
    assert re.search(r'<figure id="confusion"><svg', html)
    assert "gold vs predicted" in html
    assert "http://" not in re.sub(r'xmlns(:\w+)?="http://[^"]+"|"http://(purl|creativecommons|www\.w3)\.org[^"]*"',
                                   "", html)  # nothing to fetch: no links but XML namespaces
    assert "<script src" not in html and "<link" not in html
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # escaped in tables and plots
    assert html.count("<script>") == 1  # the page's own sorting script, nothing from the data
    assert "version: torch" in html and "tokens_per_s" in html


def test_report_shows_data_paths_from_the_config_and_no_absolute_path(cls_run, tmp_path):
    html = (cls_run / "report.html").read_text(encoding="utf-8")
    rows = {r[0][0]: r[1][0] for r in tables(html)["config"]}
    assert (rows["data.train"], rows["data.dev"], rows["data.test"]) == ("train.csv", "dev.csv", "test.csv")
    assert rows["config file"] == "config.yaml"
    assert str(cls_run.parent.parent) not in html and str(Path.cwd()) not in html and str(Path.home()) not in html
    moved = tmp_path / "moved"  # a project moved with its runs: the paths still read from the config's folder
    shutil.copytree(cls_run.parent.parent, moved)
    assert write_report_html(moved / "runs" / cls_run.name) is not None
    again = (moved / "runs" / cls_run.name / "report.html").read_text(encoding="utf-8")
    assert "<td>train.csv</td>" in again and str(moved) not in again


def test_autoescaping_keeps_a_label_named_script_as_text(cls_run):
    from jinja2 import Environment

    from tuneforge.report.html import _templates

    assert isinstance(_templates(), Environment) and _templates().autoescape is True
    html = (cls_run / "report.html").read_text(encoding="utf-8")
    rows = tables(html)["per-label-test"]
    assert EVIL in [r[0][0] for r in rows]  # the label, as text in its cell
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in html and html.count("<script>") == 1


def check_worst_errors(run: Path) -> tuple[str, list[dict]]:
    """The page's worst-errors table holds the test split's worst errors of report.json, in order."""
    html = (run / "report.html").read_text(encoding="utf-8")
    errors = json.loads((run / "report.json").read_text(encoding="utf-8"))["test"]["worst_errors"]
    if not errors:
        assert "no errors on test" in html
        return html, errors
    rows = tables(html)["worst-errors"][1:]
    if "tokens" in errors[0]:  # two rows a sentence: gold spans, then predicted (then why, where explained)
        why = [r for r in rows if r[-2][0].startswith("why: ")]
        assert len(why) == sum("explanation" in e for e in errors)
        rows = [r for r in rows if not r[-2][0].startswith("why: ")]
        assert [r[-2][0] for r in rows] == ["gold", "predicted"] * len(errors)
        wrong = [len({tuple(s) for s in e["gold"]} ^ {tuple(s) for s in e["predicted"]}) for e in errors]
        assert [int(r[0][0]) for r in rows[::2]] == wrong
    else:
        assert [(r[0][0], r[1][0], r[2][0]) for r in rows] == [(e["text"], e["gold"], e["predicted"]) for e in errors]
    return html, errors


def test_worst_errors_and_oos_tradeoff(oos_run):
    report = json.loads((oos_run / "report.json").read_text(encoding="utf-8"))
    dev, test = report["dev"], report["test"]
    run = tuneforge.load_run(oos_run)
    examples = run.task.read(run.config.data.test, run.config).examples
    probs = run.task.probabilities(run.model, examples, **run.config.eval_batching())
    predicted = decide(probs, run.labels, "oos", test["oos_threshold"])
    wrong = sorted((i for i, e in enumerate(examples) if e.label != predicted[i]), key=lambda i: -probs[i].max())
    listed = [{k: v for k, v in e.items() if k != "explanation"} for e in test["worst_errors"]]
    assert listed == [{"text": examples[i].text, "gold": examples[i].label, "predicted": predicted[i],
                       "probability": round(float(probs[i].max()), 4)} for i in wrong]
    # each error is explained, but an out-of-scope answer by threshold, which is no class of the head
    assert [("explanation" in e) for e in test["worst_errors"]] == [e["predicted"] in run.labels
                                                                    for e in test["worst_errors"]]
    assert SAME in [e["text"] for e in test["worst_errors"]]

    curve = dev["oos_curve"]  # the thresholds tried on dev; the chosen one gives dev's scores
    assert "oos_curve" not in test and curve[0]["threshold"] == 0.0 and len(curve) <= 51
    [at] = [p for p in curve if p["threshold"] == dev["oos_threshold"]]
    assert (at["in_scope_accuracy"], at["oos_recall"]) == (dev["in_scope_accuracy"], dev["oos_recall"])

    html, _ = check_worst_errors(oos_run)
    assert SAME not in html and escape(SAME) in html
    assert re.search(r'<figure id="oos-tradeoff"><svg', html)
    assert f"chosen threshold {dev['oos_threshold']:.3f}" in html and "out-of-scope recall" in html


def test_report_without_a_tuned_threshold_has_no_tradeoff(cls_run):
    html, _ = check_worst_errors(cls_run)
    assert 'id="oos-tradeoff"' not in html and "<b>card</b>" not in html


def test_ner_worst_errors_are_marked_and_escaped(tmp_path, ner_run):
    html, errors = check_worst_errors(ner_run)
    run = tmp_path / "run"  # a run whose report.json holds known errors
    shutil.copytree(ner_run, run)
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    report["test"]["worst_errors"] = [{"tokens": ["<i>Bob</i>", "met", "Ann", "&", "Co"],
                                       "gold": [["per", 0, 1], ["org", 2, 5]],
                                       "predicted": [["per", 0, 1], ["per", 2, 3]]}]
    (run / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert write_report_html(run) is not None
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "Worst errors: test" in html and "<i>Bob" not in html
    gold = ('<mark class="gold" title="per">&lt;i&gt;Bob&lt;/i&gt; <sub>per</sub></mark> met '
            '<mark class="gold err" title="org">Ann &amp; Co <sub>org</sub></mark>')
    predicted = ('<mark class="pred" title="per">&lt;i&gt;Bob&lt;/i&gt; <sub>per</sub></mark> met '
                 '<mark class="pred err" title="per">Ann <sub>per</sub></mark> &amp; Co')
    assert f"<td>gold</td><td>{gold}</td>" in html and f"<td>predicted</td><td>{predicted}</td>" in html
    assert tables(html)["worst-errors"][1][0][0] == "2"  # wrong entities: org missed, per invented


def test_marked_tokens_escape_types_too():
    assert marked_tokens(["a", "b"], [("<t>", 1, 2)], "pred", [("<t>", 1, 2)]) == \
        'a <mark class="pred" title="&lt;t&gt;">b <sub>&lt;t&gt;</sub></mark>'


def test_ner_report(ner_run):
    html = check_per_label(ner_run, "per_type")
    assert re.search(r'<figure id="curves"><svg', html) and re.search(r'<figure id="label-f1"><svg', html)
    assert 'id="confusion"' not in html  # report.json has no confusion matrix for NER


def test_marked_spans_are_escaped():
    text = "Bob <i>Smith</i> met Acme"
    html = marked(text, [{"start": 0, "end": 16, "type": "person"}, {"start": 21, "end": 25, "type": "<x>"}], "gold")
    assert html == ('<mark class=gold title="person">Bob &lt;i&gt;Smith&lt;/i&gt;</mark> met '
                    '<mark class=gold title="&lt;x&gt;">Acme</mark>')


def test_a_plotting_error_skips_the_report_not_the_run(tmp_path, tiny_model, monkeypatch, capsys):
    import tuneforge.report.plots

    def broken(*args, **kwargs):
        raise RuntimeError("no fonts\nsecond line")

    monkeypatch.setattr(tuneforge.report.plots, "curves", broken)
    run = train(text_config(tmp_path, tiny_model, train=write_csv(tmp_path / "train.csv", INTENTS)))
    err = capsys.readouterr().err
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    assert not (run / "report.html").exists()
    lines = [line for line in err.splitlines() if "report.html" in line]
    assert lines == ["tuneforge: report.html skipped (RuntimeError: no fonts)"]


def test_a_damaged_run_writes_no_report(tmp_path, capsys):
    (tmp_path / "report.json").write_text("{", encoding="utf-8")
    assert write_report_html(tmp_path) is None
    assert not (tmp_path / "report.html").exists()
    assert capsys.readouterr().err.count("\n") == 1


def test_compare_plot_names_every_method_and_repeats_no_tick():
    points = [("full", 100.0, 0.0155), ("freeze", 31.0, 0.0158), ("lora", 0.9, 0.0151), ("ia3", 0.02, 0.0162)]
    svg = methods_scatter(points, "trainable parameters (% of model, log scale)", "test f1", "t: methods compared")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for name, *_ in points:
        assert name in texts
    for axis in ("x", "y"):
        ticks = tick_labels(svg, axis)
        assert len(ticks) >= 2 and len(set(ticks)) == len(ticks), ticks
    assert tick_labels(svg, "x")[-1] == "100%"
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1))
    full = re.search(r'<text style="font-size: ([\d.]+)px[^>]*x="([\d.]+)"[^>]*>full</text>', svg)
    drawn = TextPath((0, 0), "full", size=float(full.group(1)), prop=FontProperties()).get_extents().x1
    assert float(full.group(2)) + drawn <= width  # the whole word fits inside the picture (it was cut to "fu")


# the page in a real browser: Debian's chromium, headless, as tests/test_assistant_browser.py drives it
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                    reason="needs Debian's chromium and chromium-driver (make setup installs them)")
def test_report_renders_in_a_browser(cls_run, tmp_path, monkeypatch):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not fetch drivers or browsers
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,4000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get((cls_run / "report.html").resolve().as_uri())
        for figure in ("curves", "label-f1", "confusion"):
            svg = driver.find_element(By.CSS_SELECTOR, f"#{figure} svg")
            assert svg.size["width"] > 50 and svg.size["height"] > 50, (figure, svg.size)
        table = driver.find_element(By.ID, "per-label-test")
        labels = [r.find_element(By.TAG_NAME, "td").text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        assert EVIL in labels  # shown as text
        table.find_elements(By.TAG_NAME, "th")[0].click()  # sort by label
        after = [r.find_element(By.TAG_NAME, "td").text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        assert after == sorted(labels)
        screenshot = tmp_path / "report.png"
        assert driver.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 0
        print(f"screenshot: {screenshot}")
    finally:
        driver.quit()
