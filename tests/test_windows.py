from __future__ import annotations

from tuneforge.data.examples import TaggedSentence
from tuneforge.models import load_tokenizer
from tuneforge.tasks.token_classification.task import IGNORE, TokenClassification
from tuneforge.tasks.token_classification.windows import make_windows, word_pieces


def long_sentence(n: int) -> TaggedSentence:
    words = [f"word{i}" for i in range(n)]
    tags = ["O"] * n
    tags[-2:] = ["B-person", "I-person"]  # the entity sits at the very end
    return TaggedSentence(words, tags, "x:1")


def test_each_word_owned_by_exactly_one_window():
    tokenizer = load_tokenizer("minilm")
    sentence = long_sentence(120)  # "wordN" is 2-3 pieces: far beyond a 32-token window
    pieces = word_pieces(tokenizer, [sentence.tokens], max_pieces=14)
    windows = make_windows(pieces, tokenizer, max_length=32, stride=8)
    assert len(windows) > 5
    owned = sorted(w for win in windows for w in win.owned_words)
    assert owned == list(range(120))
    for win in windows:
        assert len(win.input_ids) <= 32
        assert win.input_ids[0] == tokenizer.cls_token_id and win.input_ids[-1] == tokenizer.sep_token_id
        for position, word in zip(win.owned_first, win.owned_words, strict=True):
            assert win.word_ids[position] == word


def test_last_words_of_long_sentence_are_labelled_for_training():
    tokenizer = load_tokenizer("minilm")
    task = TokenClassification(tokenizer, ["O", "B-person", "I-person"], max_length=32, stride=8)
    features = task.encode([long_sentence(120)])
    labelled = [lab for f in features for lab in f.labels if lab != IGNORE]
    assert len(labelled) == 120  # one label per word, none dropped, none doubled
    assert labelled[-2:] == [1, 2]


def test_word_that_tokenizes_to_nothing_keeps_a_position():
    tokenizer = load_tokenizer("minilm")
    pieces = word_pieces(tokenizer, [["a", "\u200b", "b"]], max_pieces=8)
    assert pieces[0][1] == [tokenizer.unk_token_id]


def test_long_sentence_gets_predictions_for_its_last_words(tiny_model):
    """A model trained to tag 'zeta' finds it at the end of a sentence 4x longer than the window."""
    import torch

    tokenizer = load_tokenizer(tiny_model)
    task = TokenClassification(tokenizer, ["O", "B-x", "I-x"], max_length=24, stride=6)
    model = task.build_model(tiny_model, dropout=0.0)
    train = [
        TaggedSentence(["alpha", "beta", "zeta", "gamma"], ["O", "O", "B-x", "O"], "t:1"),
        TaggedSentence(["zeta", "alpha"], ["B-x", "O"], "t:2"),
        TaggedSentence(["gamma", "beta", "alpha", "zeta"], ["O", "O", "O", "B-x"], "t:3"),
        TaggedSentence(["beta", "zeta", "gamma"], ["O", "B-x", "O"], "t:4"),
    ] * 2
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    torch.manual_seed(0)
    for _ in range(60):
        loss = model(**task.collate(task.encode(train))).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    words = ["alpha", "beta", "gamma"] * 30 + ["zeta"]
    (tags, scores), = task.word_predictions(model, [TaggedSentence(words, [], "p:1")])
    assert len(tags) == len(words) == len(scores)
    assert tags[-1] == "B-x"
    assert tags[:-1].count("O") >= 80
