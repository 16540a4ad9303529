"""Extractive question answering: the task, its options, span decoding, SQuAD metrics and data check."""
