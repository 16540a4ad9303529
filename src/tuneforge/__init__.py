"""tuneforge: adapt pretrained transformers to real NLP work.

    import tuneforge
    run_dir = tuneforge.train("examples/demo-ner.yaml")
    print(tuneforge.evaluate(run_dir, "test.conll")["f1"])
    print(tuneforge.predict(run_dir, ["Paris Hilton visited Berlin"]))
"""

import importlib
import importlib.abc
import importlib.util
import sys

from tuneforge.util.quiet import quiet_load_reports

quiet_load_reports()  # before anything loads a model, whatever the entry point (CLI, API, a benchmark)

from tuneforge.api import evaluate, predict, train  # noqa: E402
from tuneforge.errors import TuneforgeError  # noqa: E402
from tuneforge.runs import load_run  # noqa: E402
from tuneforge.version import __version__  # noqa: E402

__all__ = ["TuneforgeError", "__version__", "evaluate", "load_run", "predict", "train"]

# Module paths from before the layout by layers (issue #32) that documentation and users' code name: each is
# the same module object as its new home, both as ``tuneforge.tune.tune(...)`` and ``import tuneforge.tune``.
MOVED = {
    "tuneforge.tune": "tuneforge.studies.tune",
    "tuneforge.multi_adapter": "tuneforge.prediction.shared_backbone",
    "tuneforge.compare": "tuneforge.studies.compare",
    "tuneforge.predict_stream": "tuneforge.prediction.stream",
    "tuneforge.atomic": "tuneforge.util.atomic",
    "tuneforge.text_words": "tuneforge.util.text_words",
    "tuneforge.prompting.fewshot": "tuneforge.studies.fewshot",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED and MOVED[fullname] != fullname:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module) -> None:
        pass


sys.meta_path.insert(0, _MovedModules())


def __getattr__(name: str):
    if f"tuneforge.{name}" in MOVED:
        return importlib.import_module(f"tuneforge.{name}")
    raise AttributeError(f"module 'tuneforge' has no attribute '{name}'")
