"""Relation extraction between two marked entities: the task, its options, model and metrics."""
