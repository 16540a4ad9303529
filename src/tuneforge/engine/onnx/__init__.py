"""ONNX inference: the checked graph (cached by weights) and the session that runs it without torch."""
