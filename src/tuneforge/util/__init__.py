"""Utilities every layer may import: atomic writes, console messages, quiet third-party warnings, the strict
options base, text words."""
