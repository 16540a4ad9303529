"""Parts several tasks share: the TaskOptions base, padding, dropout, scored logits, check-report helpers."""
