"""Label-scarce classification on sentence embeddings: the task and its options."""
