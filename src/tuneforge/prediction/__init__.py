"""Prediction beyond one call: streamed and sharded predict --input, many adapters on one shared backbone."""
