"""Keep other libraries' warnings out of a command's normal output.

transformers, peft, torch and accelerate warn about their own deprecations and internals (FutureWarning,
UserWarning, DeprecationWarning) on every run; a user can do nothing about them, and they bury what tuneforge
says. Only warnings raised inside those packages are dropped: tuneforge's own messages (``say``, errors)
are not warnings, and a warning a third-party package attributes to the caller's code still shows. Running
Python with ``-W`` or ``PYTHONWARNINGS`` set brings them all back.
"""

from __future__ import annotations

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
