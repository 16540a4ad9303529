"""Token classification (NER): the task, its options, windows, BIO decoding, entity metrics and data check."""
