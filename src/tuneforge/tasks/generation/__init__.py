"""Generation with a causal LM: the task, its options, chat rendering, packing, metrics, data splits and check."""
