"""What a search leaves in its output folder, rewritten (atomically) after every trial:

  best.yaml     the base config with the best trial's values: ``tuneforge train best.yaml`` trains it
  trials.json   every trial of the study (all workers'): number, state, params, value, run dir, duration
  trials.md     the same as a table
  history.png / importances.png   Optuna's matplotlib plots, at the end
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from tuneforge.studies.tune.search_space import TuneConfig
from tuneforge.util.atomic import new_file_mode, write_json, write_text


def trial_rows(study) -> list[dict[str, Any]]:
    """Every trial of the study as plain JSON values, in trial-number order."""
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        rows.append({
            "number": t.number,
            "state": t.state.name,
            "params": dict(t.params),
            "value": t.value,
            "run_dir": t.user_attrs.get("run_dir"),
            "duration_s": round(t.duration.total_seconds(), 2) if t.duration is not None else None,
            "dev_by_evaluation": {str(k): v for k, v in sorted(t.intermediate_values.items())},
        })
    return rows


def best_trial(study):
    """The best complete trial, or None while there is none."""
    try:
        return study.best_trial
    except ValueError:
        return None


def write_tables(study, tune_cfg: TuneConfig, output: Path, metric: str, notes: list[str] | None = None) -> None:
    """best.yaml (once a trial has completed), trials.json and trials.md."""
    from tuneforge.runs.run_config import run_config_text

    rows = trial_rows(study)
    best = best_trial(study)
    if best is not None:
        cfg = tune_cfg.run_config(best.params)
        header = (f"# tuneforge tune: the best of {len(rows)} trial(s) of study '{study.study_name}': trial "
                  f"{best.number}, dev {metric} {best.value:.4f}\n# run: {best.user_attrs.get('run_dir')}\n"
                  f"# searched: {', '.join(best.params)}\n")
        write_text(output / "best.yaml", header + run_config_text(cfg, output, tune_cfg.source))
    write_json(output / "trials.json", {"study": study.study_name, "metric": metric,
                                        "direction": study.direction.name.lower(),
                                        "best_trial": best.number if best is not None else None, "trials": rows})
    write_text(output / "trials.md", trials_markdown(study.study_name, metric, rows, best, notes or []))


def trials_markdown(name: str, metric: str, rows: list[dict[str, Any]], best, notes: list[str]) -> str:
    keys = list(dict.fromkeys(k for row in rows for k in row["params"]))
    lines = [f"# Hyperparameter search: {name}", ""]
    if best is not None:
        values = ", ".join(f"{k}={_cell(v)}" for k, v in best.params.items())
        lines += [f"Best: trial {best.number}, dev {metric} {best.value:.4f} ({values}); its config: best.yaml.", ""]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    lines += [f"{len(rows)} trial(s): " + ", ".join(f"{n} {s.lower()}" for s, n in counts.items()), ""]
    lines += ["| trial | state | dev " + metric + " | " + " | ".join(keys) + " | duration | run |",
              "|---:|---|---:|" + "---:|" * len(keys) + "---:|---|"]
    for row in rows:
        value = f"{row['value']:.4f}" if isinstance(row["value"], float) else ""
        duration = f"{row['duration_s']:.0f} s" if row["duration_s"] is not None else ""
        params = " | ".join(_cell(row["params"].get(k, "")) for k in keys)
        lines.append(f"| {row['number']} | {row['state'].lower()} | {value} | {params} | {duration} | "
                     f"{row['run_dir'] or ''} |")
    lines += ["", *(f"Note: {note}" for note in notes)]
    return "\n".join(lines).rstrip() + "\n"


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_plots(study, output: Path, metric: str) -> list[str]:
    """The optimisation history and parameter importances; returns notes on what could not be drawn."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return ["no trial completed: no plots"]
    import matplotlib.pyplot as plt
    from optuna.exceptions import ExperimentalWarning
    from optuna.visualization.matplotlib import plot_optimization_history, plot_param_importances

    notes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # e.g. "importances will be equal" on a tiny study
        _save(plot_optimization_history(study, target_name=f"dev {metric}").figure, output / "history.png", plt)
        if len(complete) < 2:
            notes.append("parameter importances need at least 2 completed trials: skipped")
        else:
            try:
                figure = plot_param_importances(study, target_name=f"dev {metric}").figure
            except (ValueError, RuntimeError) as exc:  # e.g. every trial with the same values
                notes.append(f"parameter importances could not be computed ({exc}): skipped")
            else:
                _save(figure, output / "importances.png", plt)
    return notes


def _save(figure, path: Path, plt) -> None:
    """Save a figure through a temp file and a rename, then close it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        figure.savefig(tmp, dpi=120, bbox_inches="tight")
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(figure)
