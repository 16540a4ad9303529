"""Sequence classification: the task and its options (multi-label, out-of-scope)."""
