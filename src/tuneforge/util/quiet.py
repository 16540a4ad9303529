"""Keep other libraries' warnings out of a command's normal output.

transformers, peft, torch and accelerate warn about their own deprecations and internals (FutureWarning,
UserWarning, DeprecationWarning) on every run; a user can do nothing about them, and they bury what tuneforge
says. Only warnings raised inside those packages are dropped: tuneforge's own messages (``say``, errors)
are not warnings, and a warning a third-party package attributes to the caller's code still shows. Running
Python with ``-W`` or ``PYTHONWARNINGS`` set brings them all back.

transformers also logs a "LOAD REPORT" table on every load whose checkpoint lacks the new task head (MISSING) or
holds a head the task drops (UNEXPECTED, e.g. a pooler): expected, not news. ``quiet_load_reports`` drops only
those tables, wherever tuneforge is used from (the CLI, the Python API, benchmarks); every other transformers
warning stays, and so does a report that explains a failed load (size MISMATCH, CONVERSION errors).
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

NOISY_MODULES = (r"(transformers|peft|torch|torchvision|accelerate|datasets|huggingface_hub|tokenizers|safetensors)"
                 r"(\.|$)")
NOISY_CATEGORIES = (FutureWarning, UserWarning, DeprecationWarning)


@contextmanager
def third_party_quiet() -> Iterator[None]:
    """Inside: the noisy categories of warnings raised by the known third-party packages are dropped."""
    if sys.warnoptions:  # the user asked for warnings explicitly: leave them as asked
        yield
        return
    with warnings.catch_warnings():
        for category in NOISY_CATEGORIES:
            warnings.filterwarnings("ignore", category=category, module=NOISY_MODULES)
        yield


LOAD_REPORT_LOGGER = "transformers.modeling_utils"
KEPT_REPORTS = ("MISMATCH", "CONVERSION")  # a report that explains why the load then fails


class _ExpectedLoadReport(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "LOAD REPORT" not in message or any(kind in message for kind in KEPT_REPORTS)


def quiet_load_reports() -> None:
    """Drop transformers' load-report tables of expected MISSING / UNEXPECTED keys (idempotent)."""
    logger = logging.getLogger(LOAD_REPORT_LOGGER)  # transformers' logging.get_logger is the stdlib logger
    if not any(isinstance(f, _ExpectedLoadReport) for f in logger.filters):
        logger.addFilter(_ExpectedLoadReport())


@contextmanager
def peft_wrapping_quiet() -> Iterator[None]:
    """Inside: peft's own read of transformers' deprecated ``is_gradient_checkpointing`` (every PeftModel it
    builds) warns nothing; only that warning is dropped, in any entry point (export --merge, serve, the API)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield
