"""Suite ``contractions``: "do not" <-> "don't", "I am" <-> "I'm", …"""

from __future__ import annotations

from random import Random

from tuneforge.robustness.sample import Perturbed, Sample, split_punct

# (expanded, contracted): the common English contractions, as CheckList's contraction test lists them.
PAIRS = [("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("is not", "isn't"),
         ("are not", "aren't"), ("was not", "wasn't"), ("were not", "weren't"), ("have not", "haven't"),
         ("has not", "hasn't"), ("had not", "hadn't"), ("will not", "won't"), ("would not", "wouldn't"),
         ("should not", "shouldn't"), ("could not", "couldn't"), ("cannot", "can't"), ("can not", "can't"),
         ("i am", "i'm"), ("i have", "i've"), ("i will", "i'll"), ("i would", "i'd"), ("you are", "you're"),
         ("we are", "we're"), ("they are", "they're"), ("it is", "it's"), ("that is", "that's"),
         ("what is", "what's"), ("where is", "where's"), ("there is", "there's"), ("let us", "let's")]
CONTRACT = {tuple(e.split()): c for e, c in PAIRS if " " in e}
EXPAND = {c: e for e, c in reversed(PAIRS)}  # the first pair listed wins: can't -> cannot


def contractions(sample: Sample, rng: Random) -> Perturbed | None:
    """Every expanded pair contracted, or where there is none every contraction expanded (words tagged O only);
    None when the input has neither."""
    out = _contract(sample)
    return out if out is not None else _expand(sample)


def _key(word: str) -> str:
    return split_punct(word)[1].replace("\u2019", "'").lower()


def _cased(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


def _free(sample: Sample, i: int) -> bool:
    return sample.tags is None or sample.tags[i] == "O"


def _contract(sample: Sample) -> Perturbed | None:
    words, tags, align, i, changed = [], [] if sample.tags is not None else None, [], 0, False
    while i < len(sample.words):
        pair = (_key(sample.words[i]), _key(sample.words[i + 1])) if i + 1 < len(sample.words) else None
        if (pair in CONTRACT and _free(sample, i) and _free(sample, i + 1)
                and not split_punct(sample.words[i])[2] and not split_punct(sample.words[i + 1])[0]):
            lead = split_punct(sample.words[i])[0]
            trail = split_punct(sample.words[i + 1])[2]
            align += [len(words), None]
            words.append(f"{lead}{_cased(CONTRACT[pair], split_punct(sample.words[i])[1])}{trail}")
            if tags is not None:
                tags.append("O")
            i, changed = i + 2, True
            continue
        align.append(len(words))
        words.append(sample.words[i])
        if tags is not None:
            tags.append(sample.tags[i])
        i += 1
    return Perturbed(words, tags, align) if changed else None


def _expand(sample: Sample) -> Perturbed | None:
    words, tags, align, changed = [], [] if sample.tags is not None else None, [], False
    for i, word in enumerate(sample.words):
        key = _key(word)
        if key in EXPAND and _free(sample, i):
            lead, core, trail = split_punct(word)
            first, second = EXPAND[key].split() if " " in EXPAND[key] else (EXPAND[key], None)
            align.append(len(words))
            if second is None:
                words.append(f"{lead}{_cased(first, core)}{trail}")
            else:
                words += [f"{lead}{_cased(first, core)}", f"{second}{trail}"]
            if tags is not None:
                tags += ["O"] * (1 if second is None else 2)
            changed = True
            continue
        align.append(len(words))
        words.append(word)
        if tags is not None:
            tags.append(sample.tags[i])
    return Perturbed(words, tags, align) if changed else None
