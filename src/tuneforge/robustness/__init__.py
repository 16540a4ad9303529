"""``tuneforge robustness``: invariance suites in the manner of CheckList, run on a run's test split.

Each suite (``suites.py``) perturbs an input in a way that should not change the answer — person names swapped
across gender and origin lists, cities and countries swapped, typos, casing, punctuation, contractions, an
irrelevant clause added — and ``checked.py`` counts how often the run's answer flips and what that costs in
accuracy. The name and place lists are data files from Faker (``data/``), not lists written in code.
"""
