"""The training loop, evaluation/prediction passes and checkpoints; knows no task or method."""
