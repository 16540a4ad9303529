"""``tuneforge continual PLAN``: every strategy of the plan over its stages, into ``output_dir/<name>/``.

Each strategy's folder is written whole or not at all (a temp folder renamed into place), and report.json
keeps the results of strategies run before with the same stages, so strategies can be run one at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

from tuneforge.continual.plan import load_plan
from tuneforge.continual.strategies import STRATEGIES
from tuneforge.util.atomic import atomic_dir, write_text


def run_continual(plan_path: str | Path, strategies: list[str] | None = None) -> Path:
    """Run the plan (or only ``strategies`` of it); returns the plan's output folder."""
    plan = load_plan(plan_path, strategies)
    from tuneforge.runs.directory import check_writable

    check_writable(plan.settings.output_dir)
    from tuneforge.continual.learner import prepare, say, train_one_model, untrained_scores
    from tuneforge.continual.outputs import continual_record, save_run
    from tuneforge.continual.report import write_report
    from tuneforge.continual.strategies.adapter_per_stage import save_members, train_per_stage

    setup = prepare(plan)
    out = plan.output
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "plan.yaml", Path(plan_path).read_text(encoding="utf-8"))
    names = [s.name for s in setup.stages]
    report = {"plan": plan.settings.name, "plan_file": str(plan.path.resolve()), "task": plan.base.task,
              "metric": setup.head.metric, "stages": names,
              "untrained": untrained_scores(setup), "strategies": {}}
    earlier = out / "report.json"
    if earlier.is_file():
        try:
            old = json.loads(earlier.read_text(encoding="utf-8"))
            if old.get("stages") == names and old.get("metric") == report["metric"]:
                report["strategies"] = old.get("strategies", {})
        except (OSError, json.JSONDecodeError):
            pass  # an unreadable report is rewritten from this run's results
    for name in plan.settings.strategies:
        spec = STRATEGIES[name]
        with atomic_dir(out / name) as folder:
            if spec.model_per_stage:
                result = train_per_stage(setup, spec, folder / "log")
                summary = result.summary(report["untrained"])
                save_members(result, folder)
                from tuneforge.util.atomic import write_json

                write_json(folder / "continual.json", continual_record(setup, name, summary))
            else:
                result = train_one_model(setup, spec, folder / "log")
                summary = result.summary(report["untrained"])
                save_run(folder, setup, result, summary)
        report["strategies"][name] = summary
        write_report(out, report)
        say(f"{name}: average {report['metric']} {summary['average']:.4f}, backward transfer "
            f"{summary['backward_transfer'] if summary['backward_transfer'] is not None else float('nan'):+.4f}")
    return out
