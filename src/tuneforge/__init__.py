"""tuneforge: adapt pretrained transformers to real NLP work.

    import tuneforge
    run_dir = tuneforge.train("examples/demo-ner.yaml")
    print(tuneforge.evaluate(run_dir, "test.conll")["f1"])
    print(tuneforge.predict(run_dir, ["Paris Hilton visited Berlin"]))
"""

__version__ = "0.1.0"

from tuneforge.api import evaluate, predict, train  # noqa: E402
from tuneforge.errors import TuneforgeError  # noqa: E402
from tuneforge.runs import load_run  # noqa: E402

__all__ = ["TuneforgeError", "__version__", "evaluate", "load_run", "predict", "train"]
