"""Continued pre-training (masked or causal LM) on unlabelled text: the task, its options, masking, rows."""
