"""Quiet loading: transformers' LOAD REPORT of expected MISSING / UNEXPECTED keys never prints, whatever the entry
point (CLI, Python API, a benchmark's import of tuneforge); a report that explains a failed load, and other
warnings, still do."""

from __future__ import annotations

import subprocess
import sys

LOAD = """
import sys{imports}
from transformers import AutoModelForTokenClassification
AutoModelForTokenClassification.from_pretrained(sys.argv[1], num_labels=3)  # no classifier in it: MISSING
import logging
logging.getLogger("transformers.modeling_utils").warning("a real warning")
"""


def _stderr(folder: str, imports: str) -> str:
    done = subprocess.run([sys.executable, "-c", LOAD.format(imports=imports), folder], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_importing_tuneforge_drops_the_expected_load_report_and_keeps_real_warnings(tiny_model):
    assert "LOAD REPORT" in _stderr(tiny_model, "")  # transformers prints it on its own
    for entry in ("import tuneforge", "from tuneforge.models import load_pretrained", "import tuneforge.api"):
        err = _stderr(tiny_model, "\n" + entry)
        assert "LOAD REPORT" not in err and "MISSING" not in err, (entry, err)
        assert "a real warning" in err


def test_a_report_that_explains_a_mismatch_still_shows(tiny_model, tmp_path, caplog):
    from transformers import AutoModelForTokenClassification

    import tuneforge  # noqa: F401 - installs the filter
    from tuneforge.util.quiet import quiet_load_reports

    quiet_load_reports()  # a second install adds no second filter
    import logging

    assert len(logging.getLogger("transformers.modeling_utils").filters) == 1
    caplog.set_level(logging.WARNING)
    AutoModelForTokenClassification.from_pretrained(tiny_model, num_labels=3).save_pretrained(tmp_path / "three")
    assert not [r for r in caplog.records if "LOAD REPORT" in r.getMessage()]  # MISSING only: dropped
    AutoModelForTokenClassification.from_pretrained(tmp_path / "three", num_labels=5, ignore_mismatched_sizes=True)
    reports = [r.getMessage() for r in caplog.records if "LOAD REPORT" in r.getMessage()]
    assert len(reports) == 1 and "MISMATCH" in reports[0]


def test_a_cli_train_prints_no_load_report(tmp_path, tiny_model, small_data):
    from conftest import make_config

    config = make_config(tmp_path, tiny_model, small_data, max_steps=1)
    done = subprocess.run([sys.executable, "-m", "tuneforge", "train", str(config)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "LOAD REPORT" not in done.stderr + done.stdout and "MISSING" not in done.stderr
