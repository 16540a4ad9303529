"""Personal data: found by patterns with check digits and by a tuneforge NER run (through Presidio's analyzer),
reported by check-data, masked by ``tuneforge redact``, kept out of the server's logs, and measured as what a
generation run has memorised. See docs/privacy.md."""
