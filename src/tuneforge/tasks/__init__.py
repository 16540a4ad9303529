"""Tasks: each one encodes examples, builds its head, decodes predictions and scores them."""
