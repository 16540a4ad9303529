"""The continual plan: a YAML file of stages on one task, typed and checked before any model loads.

    name: clinc-domains
    config: intent.yaml          # a run config (file or mapping): task, model, method, training, data options
    strategies: [naive, replay]  # one continual run per strategy
    replay: {buffer_fraction: 0.02}
    stages:
      - name: banking
        train: banking/train.jsonl
        test: banking/test.jsonl
        new_labels: [transfer, balance]   # optional: the labels this stage introduces (checked)

Every problem is one line naming the plan file and the stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from tuneforge.config.loading import load_config, read_yaml_file, resolve_path
from tuneforge.config.schema import RunConfig
from tuneforge.continual.strategies import STRATEGIES
from tuneforge.continual.strategies.options import AdapterPerStageOptions, EwcOptions, LwfOptions, ReplayOptions
from tuneforge.errors import ConfigError
from tuneforge.util.strict import Strict


class StageConfig(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", description="The stage's name (letters, digits, "
                      ". _ + -).")
    train: str = Field(description="The stage's training data (the task's format, as data.train of the config).")
    dev: str | None = Field(None, description="Dev data of the stage (used by update's gate when given).")
    test: str = Field(description="The stage's test data, scored after this and every later stage.")
    task: str | None = Field(None, description="Optional: the stage's task; it must be the config's task.")
    new_labels: list[str] | None = Field(None, description="The labels (entity types for NER) this stage introduces; "
                                         "default: those of its train data not seen before.")


class PlanConfig(Strict):
    name: str = Field("continual", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Output folder name.")
    config: str | dict[str, Any] = Field(description="The run config every stage trains with (file or mapping); "
                                         "its data: section gives the format and fields, not the files.")
    strategies: list[str] = Field(["naive"], min_length=1, description="Strategies to run, each on the whole plan.")
    replay: ReplayOptions = Field(default_factory=ReplayOptions)
    ewc: EwcOptions = Field(default_factory=EwcOptions)
    lwf: LwfOptions = Field(default_factory=LwfOptions)
    adapter_per_stage: AdapterPerStageOptions = Field(default_factory=AdapterPerStageOptions)
    unannotated_types: Literal["marginal", "o"] = Field(
        "marginal", description="Token classification: a word tagged O in a stage may be any entity type that stage "
        "does not annotate (marginal, see tag_heads.py), or is trained as O like any other (o: plain fine-tuning, "
        "for comparison).")
    output_dir: str = Field("runs", description="Where the plan's folder goes; relative to the plan file.")
    prepared_by: str | None = Field(None, description="The command (run from the checkout) that makes the stage "
                                    "files, named by the error when one is missing.")
    stages: list[StageConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_strategies(self) -> PlanConfig:
        for name in self.strategies:
            if name not in STRATEGIES:
                import difflib

                close = difflib.get_close_matches(name, STRATEGIES, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f" (choose from {', '.join(STRATEGIES)})"
                raise ValueError(f"strategies: unknown strategy '{name}'{hint}")
        names = [s.name for s in self.stages]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"stages: stage name '{dupes[0]}' is used twice")
        return self


class Plan:
    """A checked plan: its file, its settings and the run config of each stage (data files filled in)."""

    def __init__(self, path: Path, settings: PlanConfig, base: RunConfig, stage_configs: list[RunConfig]) -> None:
        self.path, self.settings, self.base, self.stage_configs = path, settings, base, stage_configs

    @property
    def stages(self) -> list[StageConfig]:
        return self.settings.stages

    def where(self, index: int) -> str:
        """How errors name a stage: the plan file and the stage's number and name."""
        return f"{self.path}: stage {index + 1} ({self.stages[index].name})"

    @property
    def output(self) -> Path:
        return Path(self.settings.output_dir) / self.settings.name


def load_plan(path: str | Path, strategies: list[str] | None = None) -> Plan:
    path = Path(path)
    data = read_yaml_file(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level (name, config, strategies, stages)")
    if strategies:
        data = {**data, "strategies": strategies}
    try:
        settings = PlanConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == "stages" and isinstance(loc[1], int):
            names = data.get("stages") or []
            stage = names[loc[1]] if loc[1] < len(names) and isinstance(names[loc[1]], dict) else {}
            where = f" stage {loc[1] + 1}" + (f" ({stage.get('name')})" if stage.get("name") else "")
            loc = loc[2:]
        key = ".".join(str(p) for p in loc)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        raise ConfigError(f"{path}:{where}: {key + ': ' if key else ''}{message}") from None
    base_dir = path.parent.resolve()
    settings.output_dir = resolve_path(settings.output_dir, base_dir)
    raw = settings.config
    config_data = raw if isinstance(raw, dict) else None
    config_file = None if config_data is not None else Path(resolve_path(raw, base_dir))
    stage_configs = []
    for i, stage in enumerate(settings.stages):
        where = f"{path}: stage {i + 1} ({stage.name})"
        for key in ("train", "dev", "test"):
            value = getattr(stage, key)
            if value is None:
                continue
            resolved = resolve_path(value, base_dir)
            setattr(stage, key, resolved)
            if not Path(resolved.split("#", 1)[0]).is_file():
                made = f"; make the stage files first: {settings.prepared_by}" if settings.prepared_by else ""
                raise ConfigError(f"{where}: {key}: data file not found: {resolved}{made}")
        # The stage's files replace the config's (a stage without dev has none, whatever the config names).
        files = [f"data.{k}={getattr(stage, k) or 'null'}" for k in ("train", "dev", "test")]
        try:
            if config_file is not None:
                cfg = load_config(config_file, files)
            else:
                cfg = load_config({**config_data, "data": {**config_data.get("data", {}),
                                                          **{k: getattr(stage, k) for k in ("train", "dev", "test")}}})
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None  # exc names the config (file, or "config")
        if stage.task is not None and stage.task != cfg.task:
            raise ConfigError(f"{where}: task '{stage.task}' differs from the plan's task '{cfg.task}' "
                              "(every stage of a plan trains one task)")
        stage_configs.append(cfg)
    from tuneforge.tasks import task_spec

    if task_spec(stage_configs[0].task).incremental_outputs is None:
        raise ConfigError(f"{path}: config: task '{stage_configs[0].task}' has no class-incremental head "
                          "(continual learning supports sequence-classification and token-classification)")
    return Plan(path, settings, stage_configs[0], stage_configs)
