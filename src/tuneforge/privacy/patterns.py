"""The pattern kinds: e-mail, phone, card number (Luhn), IBAN (check digits), IP address (v4 and v6), URL.

Each is a regular expression for candidates and a check that throws out look-alikes: check digits for cards
and IBANs, ``ipaddress`` for IPs, Google's libphonenumber (the ``phonenumbers`` package Presidio depends on)
for phone numbers, so an order number or an amount is not a phone.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable

import phonenumbers

from tuneforge.privacy.checks import IBAN_LENGTHS, iban_valid, luhn_valid
from tuneforge.privacy.spans import Span

# local parts and domains may hold any letters (gonçalo@…, RFC 6531)
EMAIL = re.compile(r"(?<![\w.+-])[^\W_][\w.%+-]*@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*"
                   r"\.[A-Za-z]{2,24}\b")
# A scheme or www., or a bare host under a common top-level domain followed by a path.
URL = re.compile(r"(?<![\w@/.])(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]+"
                 r"|(?<![\w@/.-])(?:[A-Za-z0-9-]+\.)+(?:com|org|net|io|co|uk|de|fr|eu|info|biz|app|dev|ly|me)"
                 r"(?:/[^\s<>\"'`]*)?(?![\w@-])", re.I)
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
IBAN = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(\d{2})((?: ?[A-Z0-9]){11,30})")
TRAILING = ".,;:!?)]}'\""  # sentence punctuation after a URL is not part of it
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "AU")  # national formats tried besides +international numbers


def _emails(text: str) -> Iterable[Span]:
    for m in EMAIL.finditer(text):
        yield Span(m.start(), m.end(), "EMAIL")


def _urls(text: str) -> Iterable[Span]:
    for m in URL.finditer(text):
        value = m.group().rstrip(TRAILING)
        if value.count("(") > value.count(")") and m.group()[len(value):].startswith(")"):
            value += ")"  # a bracket opened inside the URL closes it (Wikipedia's links)
        yield Span(m.start(), m.start() + len(value), "URL")


def _ips(text: str) -> Iterable[Span]:
    for pattern in (IPV4, IPV6):
        for m in pattern.finditer(text):
            try:
                ipaddress.ip_address(m.group())
            except ValueError:
                continue
            yield Span(m.start(), m.end(), "IP")


def _cards(text: str) -> Iterable[Span]:
    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if luhn_valid(digits) and len(set(digits)) > 1:  # 0000 0000 0000 0000 passes Luhn, is no card
            yield Span(m.start(), m.end(), "CARD")


def _ibans(text: str) -> Iterable[Span]:
    for m in IBAN.finditer(text):
        length = IBAN_LENGTHS.get(m.group(1))
        if length is None:
            continue
        # the candidate may run into the next upper-case word: cut it at the country's length
        count, end = 4, m.start(3)
        for i in range(m.start(3), m.end()):
            if text[i] != " ":
                count += 1
            if count == length:
                end = i + 1
                break
        if count == length and iban_valid(text[m.start():end]):
            yield Span(m.start(), end, "IBAN")


def _phones(text: str) -> Iterable[Span]:
    if sum(ch.isdigit() for ch in text) < 6:  # no plan's number is shorter; most texts end here, cheaply
        return
    seen: set[tuple[int, int]] = set()
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            key = (match.start, match.end)
            # E.164 numbers have at most 15 digits: a longer run is an order or card number, not a phone
            if key not in seen and sum(ch.isdigit() for ch in match.raw_string) <= 15:
                seen.add(key)
                yield Span(match.start, match.end, "PHONE", 0.9)


FINDERS: dict[str, Callable[[str], Iterable[Span]]] = {
    "EMAIL": _emails, "PHONE": _phones, "CARD": _cards, "IBAN": _ibans, "IP": _ips, "URL": _urls,
}


def find_patterns(text: str, kinds: Iterable[str]) -> list[Span]:
    """Every candidate of the given pattern kinds that passes its check (overlaps not yet resolved)."""
    return [span for kind in kinds for span in FINDERS[kind](text)]
