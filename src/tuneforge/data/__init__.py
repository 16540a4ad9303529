"""Readers turn files into plain examples; every error names the file and line."""

from tuneforge.data.examples import ReadResult, TaggedSentence
from tuneforge.data.loading import load_splits, read_tagged

__all__ = ["ReadResult", "TaggedSentence", "load_splits", "read_tagged"]
