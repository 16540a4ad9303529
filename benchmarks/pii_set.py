"""Build the labelled personal-data set: real dataset texts with personal data inserted, every span labelled.

    python benchmarks/pii_set.py --out /tmp/pii-set.jsonl [--records 600 --seed 7]

One JSONL record per text: {"text", "label", "source", "pii": [{"start", "end", "type", "value"}]}.

- Banking77 test questions (``../shared/datasets/banking77/test.csv``), each with one or two clauses carrying a
  generated value of a pattern kind (EMAIL, PHONE, CARD, IBAN, IP, URL) and, in some, a person's name. Values are
  generated to be valid: cards pass Luhn, IBANs carry their mod-97 check digits and their country's length,
  phone numbers are numbering-plan valid (libphonenumber) in the US, UK, Germany, France and India.
- WNUT-17 test tweets (``emerging.test.annotated``) with their own annotated person, location and corporation /
  group entities as labels (real names in real text, never seen by a run trained on WNUT-17 train) and their links
  (tokens starting http:// or https://) as URLs, some with an inserted pattern value too.
- Banking77 questions with look-alikes and no personal data (a Luhn-failing 16-digit order number, amounts,
  dates, times, reference and version numbers), so precision is measured against numbers that are not PII.

Inserted names are the WNUT-17 test set's own person entities (capitalised, one to three words): a public,
documented list, not names made up here. The set is rebuilt the same from the same seed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import string
from pathlib import Path
from typing import Any

import phonenumbers

from tuneforge.privacy.checks import luhn_valid

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PATTERN_KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "IP", "URL")
WNUT_KINDS = {"person": "PERSON", "location": "LOCATION", "corporation": "ORGANIZATION", "group": "ORGANIZATION"}

TEMPLATES = {
    "EMAIL": ["You can reach me at {v}.", "My email is {v}", "Please send the statement to {v} thanks",
              "Contact: {v}"],
    "PHONE": ["Call me on {v}.", "My number is {v}", "Please ring {v} after 5pm.", "phone {v}"],
    "CARD": ["My card number is {v}.", "The card {v} was declined", "I used card {v} yesterday."],
    "IBAN": ["Please send it to IBAN {v}.", "My account is {v}", "Transfer to {v} please."],
    "IP": ["I logged in from {v} yesterday.", "The app shows my IP as {v}", "Blocked from address {v}."],
    "URL": ["I followed {v} to reset it.", "The page {v} does not load", "See {v} for the screenshot."],
    "PERSON": ["This is {v}.", "My name is {v}.", "I am sending money to {v}.", "{v} here,", "Thanks, {v}"],
}
LOOKALIKES = ["Order {order} has not arrived.", "I paid $1,{d3}.{d2} on {day}/{month}/2021.",
              "The transfer at {hh}:{mm}:{ss} failed.", "Reference number {ref} was rejected.",
              "I am on version {v1}.{v2}.{v3} of the app.", "It cost EUR {d3}.{d2} and {d2} cents more."]
DOMAINS = ["example.com", "mailbox.org", "gmail.com", "outlook.com", "bank-mail.co.uk", "web.de"]
URL_WORDS = ["bank", "help", "support", "account", "card", "reset", "login", "secure", "pay", "transfer"]
IBAN_COUNTRIES = {"GB": "4A14N", "DE": "18N", "FR": "23N", "NL": "4A10N", "ES": "20N", "IT": "1A22N"}


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def card(rng: random.Random) -> str:
    kind = rng.choice(["visa", "mc", "amex"])
    if kind == "amex":
        digits = luhn_complete(rng.choice(["34", "37"]), 15, rng)
        groups = [digits[:4], digits[4:10], digits[10:]]
    else:
        digits = luhn_complete("4" if kind == "visa" else str(rng.randint(51, 55)), 16, rng)
        groups = [digits[i:i + 4] for i in range(0, 16, 4)]
    return rng.choice([" ", "-", ""]).join(groups)


def iban(rng: random.Random) -> str:
    country = rng.choice(sorted(IBAN_COUNTRIES))
    bban = ""
    for part in IBAN_COUNTRIES[country].replace("A", "A,").replace("N", "N,").strip(",").split(","):
        count, kind = int(part[:-1]), part[-1]
        bban += "".join(rng.choice(string.ascii_uppercase if kind == "A" else string.digits) for _ in range(count))
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    value = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4)) if rng.random() < 0.6 else value


PHONE_SHAPES = [
    ("US", lambda r: f"({r.choice(['212', '415', '312', '617', '206'])}) {r.randint(201, 999)}-"
                     f"{r.randint(0, 9999):04d}"),
    ("US", lambda r: f"+1 {r.choice(['646', '213', '305', '512'])}-{r.randint(201, 999)}-{r.randint(0, 9999):04d}"),
    ("GB", lambda r: f"+44 20 {r.randint(7000, 8999)} {r.randint(0, 9999):04d}"),
    ("GB", lambda r: f"07{r.randint(400, 999)} {r.randint(100000, 999999)}"),
    ("DE", lambda r: f"+49 30 {r.randint(1000000, 99999999)}"),
    ("FR", lambda r: f"+33 1 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}"),
    ("IN", lambda r: f"+91 98{r.randint(100, 999)} {r.randint(10000, 99999)}"),
]


def phone(rng: random.Random) -> str:
    """A numbering-plan valid number in one of the written shapes (a real number is valid by definition)."""
    while True:
        region, shape = rng.choice(PHONE_SHAPES)
        value = shape(rng)
        if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
            return value


def ip(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2001:db8:{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xffff):x}"
    return ".".join(str(x) for x in (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255),
                                     rng.randint(1, 254)))


def url(rng: random.Random) -> str:
    a, b = rng.sample(URL_WORDS, 2)
    return rng.choice([f"https://www.{a}{b}.com/{b}", f"http://{a}.{b}.org/{b}/{rng.randint(1, 99)}",
                       f"www.{a}-{b}.net", f"https://{a}{b}.io/?id={rng.randint(100, 999)}", f"{a}{b}.com/{b}"])


def email(rng: random.Random, names: list[str]) -> str:
    first = rng.choice(names).split()[0].lower()
    return f"{first}{rng.choice(['', '.', '_'])}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"


def wnut_sentences(path: Path) -> list[tuple[list[str], list[str]]]:
    sentences, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").split("\n") + [""]:
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        token, tag = line.split("\t")[0], line.split("\t")[-1]
        tokens.append(token)
        tags.append(tag)
    return sentences


def wnut_entities(tokens: list[str], tags: list[str]) -> list[tuple[int, int, str]]:
    """(first token, end token, type) of each BIO entity."""
    found, i = [], 0
    while i < len(tags):
        if tags[i].startswith("B-"):
            j = i + 1
            while j < len(tags) and tags[j] == f"I-{tags[i][2:]}":
                j += 1
            found.append((i, j, tags[i][2:]))
            i = j
        else:
            i += 1
    return found


def person_names(sentences: list[tuple[list[str], list[str]]]) -> list[str]:
    names = []
    for tokens, tags in sentences:
        for first, end, kind in wnut_entities(tokens, tags):
            words = tokens[first:end]
            if kind == "person" and 1 <= len(words) <= 3 and all(w.isalpha() and w[0].isupper() for w in words):
                names.append(" ".join(words))
    return sorted(set(names))


class Builder:
    """A text grown clause by clause, with the spans of the values it holds."""

    def __init__(self, text: str) -> None:
        self.text, self.pii = text.strip(), []

    def add(self, kind: str, value: str, template: str, before: bool = False) -> None:
        clause = template.replace("{v}", value)
        at = clause.index(value)
        if before:
            self.pii = [{**p, "start": p["start"] + len(clause) + 1, "end": p["end"] + len(clause) + 1}
                        for p in self.pii]
            self.text = f"{clause} {self.text}"
            offset = 0
        else:
            offset = len(self.text) + 1
            self.text = f"{self.text} {clause}"
        self.pii.append({"start": offset + at, "end": offset + at + len(value), "type": kind, "value": value})


def generated(kind: str, rng: random.Random, names: list[str]) -> str:
    return {"EMAIL": lambda: email(rng, names), "PHONE": lambda: phone(rng), "CARD": lambda: card(rng),
            "IBAN": lambda: iban(rng), "IP": lambda: ip(rng), "URL": lambda: url(rng),
            "PERSON": lambda: rng.choice(names)}[kind]()


def lookalike(rng: random.Random) -> str:
    while True:
        order = "".join(rng.choice(string.digits) for _ in range(16))
        if not luhn_valid(order):
            break
    return rng.choice(LOOKALIKES).format(
        order=" ".join(order[i:i + 4] for i in range(0, 16, 4)), d3=rng.randint(100, 999),
        d2=f"{rng.randint(0, 99):02d}",
        day=rng.randint(1, 28), month=rng.randint(1, 12), hh=rng.randint(10, 23), mm=rng.randint(10, 59),
        ss=rng.randint(10, 59), ref=rng.randint(10_000_000, 99_999_999), v1=rng.randint(1, 9), v2=rng.randint(0, 20),
        v3=rng.randint(0, 9))


def build(records: int = 600, seed: int = 7, datasets: Path = DATASETS) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    with open(datasets / "banking77" / "test.csv", newline="", encoding="utf-8") as f:
        banking = [(i + 2, row["text"], row["category"]) for i, row in enumerate(csv.DictReader(f))]
    wnut = wnut_sentences(datasets / "wnut17" / "emerging.test.annotated")
    names = person_names(wnut)
    with_entities = [s for s in wnut if any(k in WNUT_KINDS for _, _, k in wnut_entities(*s))]
    rng.shuffle(banking)
    rng.shuffle(with_entities)
    n_wnut, n_negative = records // 5, records // 10
    out = []
    kinds = list(PATTERN_KINDS)
    for i, (line, text, label) in enumerate(banking[:records - n_wnut - n_negative]):
        b = Builder(text)
        for kind in [kinds[i % len(kinds)]] + ([rng.choice(kinds)] if rng.random() < 0.4 else []):
            b.add(kind, generated(kind, rng, names), rng.choice(TEMPLATES[kind]), before=rng.random() < 0.25)
        if rng.random() < 0.5:
            b.add("PERSON", generated("PERSON", rng, names), rng.choice(TEMPLATES["PERSON"]),
                  before=rng.random() < 0.5)
        out.append({"text": b.text, "label": label, "source": f"banking77/test.csv:{line}", "pii": b.pii})
    for i, (tokens, tags) in enumerate(with_entities[:n_wnut]):
        starts, at = [], 0
        for token in tokens:
            starts.append(at)
            at += len(token) + 1
        b = Builder(" ".join(tokens))
        for first, end, kind in wnut_entities(tokens, tags):
            if kind in WNUT_KINDS:
                start, stop = starts[first], starts[end - 1] + len(tokens[end - 1])
                b.pii.append({"start": start, "end": stop, "type": WNUT_KINDS[kind], "value": b.text[start:stop]})
        for token, start in zip(tokens, starts, strict=True):  # the tweets' own links are personal data too
            if token.startswith(("http://", "https://")):
                b.pii.append({"start": start, "end": start + len(token), "type": "URL", "value": token})
        if rng.random() < 0.5:
            kind = kinds[i % len(kinds)]
            b.add(kind, generated(kind, rng, names), rng.choice(TEMPLATES[kind]))
        out.append({"text": b.text, "label": "wnut17", "source": "wnut17/emerging.test.annotated", "pii": b.pii})
    for line, text, label in banking[records - n_wnut - n_negative:records - n_wnut]:
        out.append({"text": f"{text.strip()} {lookalike(rng)}", "label": label, "source": f"banking77/test.csv:{line}",
                    "pii": []})
    for record in out:
        for p in record["pii"]:
            assert record["text"][p["start"]:p["end"]] == p["value"], (record, p)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--records", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    records = build(args.records, args.seed)
    Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    counts: dict[str, int] = {}
    for r in records:
        for p in r["pii"]:
            counts[p["type"]] = counts.get(p["type"], 0) + 1
    print(f"{len(records)} records -> {args.out}; labelled spans: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
