"""The CPU speed patches of training, each behind a switch, installed and undone in one place (patches.py)."""
