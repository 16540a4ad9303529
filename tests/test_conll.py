from __future__ import annotations

import pytest

from tuneforge.config.schema import DataConfig
from tuneforge.data.loading import label_set, load_splits, read_tagged
from tuneforge.errors import DataError


def read(tmp_path, text: str | bytes, **cfg):
    path = tmp_path / "f.conll"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return read_tagged(str(path), DataConfig(train=str(path), **cfg))


def test_whitespace_only_line_ends_sentence_and_docstart_skipped(tmp_path):
    result = read(tmp_path, "-DOCSTART- O\n\nA\tO\nB\tB-x\n\t\nC O\n   \nD O\n")
    assert [s.tokens for s in result.examples] == [["A", "B"], ["C"], ["D"]]
    assert result.examples[0].tags == ["O", "B-x"]


def test_tag_is_last_column(tmp_path):
    result = read(tmp_path, "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n")
    assert result.examples[0].tags == ["B-ORG", "O"]


def test_tag_missing_names_line(tmp_path):
    with pytest.raises(DataError, match=r"f\.conll:3: tag missing"):
        read(tmp_path, "A O\nB O\nC\n")


def test_i_after_o_is_repaired_and_counted(tmp_path):
    result = read(tmp_path, "A O\nB I-x\nC I-x\nD I-y\n")
    assert result.examples[0].tags == ["O", "B-x", "I-x", "B-y"]
    assert result.bio_repairs == 2


def test_i_after_o_rejected_in_error_mode(tmp_path):
    with pytest.raises(DataError, match=r"f\.conll:2: 'I-x' does not continue an entity"):
        read(tmp_path, "A O\nB I-x\n", invalid_bio="error")


def test_iob1_is_converted_without_warning_count(tmp_path):
    result = read(tmp_path, "A I-x\nB I-x\nC B-x\nD O\n", scheme="iob1")
    assert result.examples[0].tags == ["B-x", "I-x", "B-x", "O"]
    assert result.bio_repairs == 0


def test_malformed_tag(tmp_path):
    with pytest.raises(DataError, match=r"f\.conll:2: tag 'PER' is not O, B-TYPE or I-TYPE"):
        read(tmp_path, "A O\nB PER\n")


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match=r"f\.conll: file is empty"):
        read(tmp_path, "\n \n")


def test_non_utf8_names_line(tmp_path):
    with pytest.raises(DataError, match=r"f\.conll:2: not valid UTF-8"):
        read(tmp_path, b"A O\nB\xff\xfe O\n")


def test_label_set_pairs_b_and_i():
    from tuneforge.data.examples import TaggedSentence

    labels = label_set([TaggedSentence(["a"], ["B-x"], "f:1")])
    assert labels == ["O", "B-x", "I-x"]


def test_wnut17_counts_match_readme():
    from conftest import WNUT

    cfg = DataConfig(train=str(WNUT / "wnut17train.conll"), dev=str(WNUT / "emerging.dev.conll"),
                     test=str(WNUT / "emerging.test.annotated"))
    splits = load_splits(cfg)
    assert [len(splits[s].examples) for s in ("train", "dev", "test")] == [3394, 1009, 1287]
    assert sum(len(s.tokens) for s in splits["train"].examples) == 62730
    assert sum(r.bio_repairs for r in splits.values()) == 0


def test_carved_splits_are_seeded_and_disjoint(tmp_path):
    lines = "\n\n".join(f"w{i} O" for i in range(100))
    path = tmp_path / "t.conll"
    path.write_text(lines, encoding="utf-8")
    cfg = DataConfig(train=str(path), split={"dev": 0.1, "test": 0.2, "seed": 3})
    a, b = load_splits(cfg), load_splits(cfg)
    sizes = [len(a[s].examples) for s in ("train", "dev", "test")]
    assert sizes == [72, 8, 20]
    words = [tuple(x.tokens) for s in ("train", "dev", "test") for x in a[s].examples]
    assert len(set(words)) == 100
    assert [x.tokens for x in a["test"].examples] == [x.tokens for x in b["test"].examples]
