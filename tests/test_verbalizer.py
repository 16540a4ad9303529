from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tuneforge.prompting.verbalizer import PromptClassifier

LABELS = ["card_arrival", "Banks_2:TransferMoney", "balance", "exchange_rate_and_fees"]
WORDS = ["card arrival", "transfer money", "balance", "exchange rate and fees"]
INSTRUCTION = "Classify the banking question."
TEXTS = ["Where is my new card?", "Send 20 euros to Bob please", "hi"]
DEMOS = [("How much do I have left?", "balance"), ("My card has not come yet", "card_arrival")]
# Labels sharing leading tokens ("card", "card payment"), one whose words are a prefix of another's ("card"): a
# label attending to another's tokens in the shared row would change their scores.
SHARED = {"card_arrival": "card arrival", "card_linking": "card linking", "card": "card",
          "card_payment_fee_charged": "card payment fee charged",
          "card_payment_wrong_exchange_rate": "card payment wrong exchange rate", "balance": "balance"}


@pytest.fixture(scope="module")
def lm(tiny_llama):
    return AutoModelForCausalLM.from_pretrained(tiny_llama).eval(), AutoTokenizer.from_pretrained(tiny_llama)


def uncached(model, tok, text, demos, chat, labels=LABELS, words=WORDS):
    """Each label's (mean, sum) score from prompt + label run from scratch, the prompt built independently."""
    instruction = INSTRUCTION + "\nAnswers: " + ", ".join(words)
    word = dict(zip(labels, words, strict=True))
    if chat:
        msgs = [{"role": "system", "content": instruction}]
        for t, lb in demos:
            msgs += [{"role": "user", "content": t}, {"role": "assistant", "content": word[lb]}]
        prompt = tok.apply_chat_template([*msgs, {"role": "user", "content": text}], tokenize=False,
                                         add_generation_prompt=True)
        conts = [w + "<|im_end|>" for w in words]
    else:
        prompt = instruction + "\n" + "".join(f"Text: {t}\nAnswer: {word[lb]}\n" for t, lb in demos)
        prompt += f"Text: {text}\nAnswer:"
        conts = [" " + w + "\n" for w in words]
    prompt_ids = tok(prompt, add_special_tokens=not chat)["input_ids"]
    scores = []
    for cont in conts:
        cont_ids = tok(cont, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([prompt_ids + cont_ids])
        with torch.no_grad():
            logp = model(input_ids=ids).logits[0].float().log_softmax(-1)
        lp = [logp[len(prompt_ids) - 1 + k, t].item() for k, t in enumerate(cont_ids)]
        scores.append((np.mean(lp), np.sum(lp)))
    return np.array(scores).T


@pytest.mark.parametrize("chat", [True, False])
@pytest.mark.parametrize("demos", [(), DEMOS])
def test_cached_scores_equal_full_sequence_scores(lm, chat, demos):
    model, tok = lm
    want = np.stack([uncached(model, tok, t, demos, chat) for t in TEXTS], axis=1)  # [mode, text, label]
    for mode, normalize in enumerate(("mean", "sum")):
        clf = PromptClassifier(model, tok, LABELS, INSTRUCTION, examples=demos, chat_template=chat,
                               normalize=normalize, calibrate=False)
        assert len({len(c) for c in clf._conts}) > 1  # labels of different token lengths
        got = clf.log_likelihoods(TEXTS)
        np.testing.assert_allclose(got, want[mode], atol=1e-4, rtol=0)
        # the prefix cache is reused, not consumed: a second call gives the same scores
        np.testing.assert_allclose(clf.log_likelihoods(TEXTS[:1]), got[:1], atol=1e-5, rtol=0)


@pytest.mark.parametrize("chat", [True, False])
def test_labels_sharing_leading_tokens_do_not_see_each_other(lm, chat):
    model, tok = lm
    labels, words = list(SHARED), list(SHARED.values())
    demos = [("My card has not come yet", "card_arrival"), ("How much do I have left?", "balance")]
    want = np.stack([uncached(model, tok, t, demos, chat, labels, words) for t in TEXTS], axis=1)
    for mode, normalize in enumerate(("mean", "sum")):
        clf = PromptClassifier(model, tok, labels, INSTRUCTION, label_words=SHARED, examples=demos,
                               chat_template=chat, normalize=normalize, calibrate=False)
        firsts = [c[0] for c in clf._conts]
        assert len(set(firsts)) < len(firsts) - 2  # several labels do share their first token
        np.testing.assert_allclose(clf.log_likelihoods(TEXTS), want[mode], atol=1e-4, rtol=0)
        # scored among candidates only (a smaller tree), the same scores
        cands = [["card_arrival", "card_linking"], ["card", "card_payment_fee_charged"], labels[::-1]]
        got = clf.log_likelihoods(TEXTS, cands)
        for i, c in enumerate(cands):
            inside = [labels.index(lb) for lb in c]
            np.testing.assert_allclose(got[i, inside], want[mode][i, inside], atol=1e-4, rtol=0)


def test_labels_outside_candidates_get_minus_inf_and_are_never_predicted(lm):
    clf = PromptClassifier(*lm, LABELS, INSTRUCTION, examples=DEMOS)
    full = clf.log_likelihoods(TEXTS)
    cands = [[LABELS[full[i].argmin()]] for i in range(len(TEXTS))]  # each text's least likely label only
    cands[2] = [LABELS[j] for j in np.argsort(full[2])[:2]]
    got = clf.log_likelihoods(TEXTS, cands)
    for i, c in enumerate(cands):
        inside = [LABELS.index(lb) for lb in c]
        assert np.isneginf(np.delete(got[i], inside)).all()
        np.testing.assert_allclose(got[i, inside], full[i, inside], atol=1e-5)
    best = [c[int(np.argmax([full[i, LABELS.index(lb)] for lb in c]))] for i, c in enumerate(cands)]
    assert clf.predict(TEXTS, cands) == best
    assert all(p not in c for p, c in zip(clf.predict(TEXTS), cands, strict=True))  # the restriction mattered
    with pytest.raises(ValueError, match="unknown"):
        clf.log_likelihoods(TEXTS[:1], [["not_a_label"]])


def test_predict_is_the_argmax_label(lm):
    clf = PromptClassifier(*lm, LABELS, INSTRUCTION)
    scores = clf.log_likelihoods(TEXTS)
    assert clf.predict(TEXTS) == [LABELS[j] for j in scores.argmax(1)]
    assert set(clf.predict(TEXTS)) <= set(LABELS)


def test_label_whose_later_token_is_made_likely_wins(lm, tiny_llama):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    tok = lm[1]
    arrival = tok(" arrival", add_special_tokens=False)["input_ids"]
    assert len(arrival) == 1 and len(tok("card", add_special_tokens=False)["input_ids"]) == 1
    bias = torch.zeros(len(tok))
    bias[arrival[0]] = 100.0  # " arrival" certain everywhere: only card_arrival's 2nd token gains
    model.lm_head.register_forward_hook(lambda _m, _i, out: out + bias)
    clf = PromptClassifier(model, tok, LABELS, INSTRUCTION, examples=DEMOS, calibrate=False)
    assert clf.predict(TEXTS) == ["card_arrival"] * len(TEXTS)


@pytest.mark.parametrize("normalize", ["mean", "sum"])
def test_calibration_divides_out_the_labels_probability_after_content_free_texts(lm, normalize):
    raw = PromptClassifier(*lm, LABELS, INSTRUCTION, examples=DEMOS, normalize=normalize, calibrate=False)
    free = ["N/A", ""]
    clf = PromptClassifier(*lm, LABELS, INSTRUCTION, examples=DEMOS, normalize=normalize, content_free=free)
    cf = raw.log_likelihoods(free)
    probs = np.exp(cf) / np.exp(cf).sum(1, keepdims=True)  # each content-free text's distribution over labels
    baseline = np.log(probs.mean(0))
    got = clf.log_likelihoods(TEXTS)
    np.testing.assert_allclose(got, raw.log_likelihoods(TEXTS) - baseline, atol=1e-5)
    assert clf.predict(TEXTS) == [LABELS[j] for j in got.argmax(1)]
    # one content-free text: after calibration it favours no label (a uniform distribution)
    one = PromptClassifier(*lm, LABELS, INSTRUCTION, examples=DEMOS, normalize=normalize, content_free=["N/A"])
    scores = one.log_likelihoods(["N/A"])[0]
    np.testing.assert_allclose(scores - scores.max(), 0.0, atol=1e-5)
    # among candidates: the same calibrated scores, -inf elsewhere
    cands = [LABELS[:2], LABELS[1:], LABELS]
    sub = clf.log_likelihoods(TEXTS, cands)
    for i, c in enumerate(cands):
        inside = [LABELS.index(lb) for lb in c]
        np.testing.assert_allclose(sub[i, inside], got[i, inside], atol=1e-5)
    with pytest.raises(ValueError, match="content-free"):
        PromptClassifier(*lm, LABELS, INSTRUCTION, content_free=[])
