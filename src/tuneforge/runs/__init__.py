"""The run directory: create, finish and load (directory.py), its config, listing, comparison and model card.

``from tuneforge.runs import load_run, Run`` keeps working as before the package existed.
"""

from tuneforge.runs.directory import Run, load_run

__all__ = ["Run", "load_run"]
