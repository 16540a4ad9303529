"""The ``search:`` block of a tune config: which config keys to vary, and over what.

It sits at the top level of the config file beside the run's own keys, but is no part of ``RunConfig``: it is
read and removed here, and the rest is validated as a run config with each trial's values set on top::

    search:
      training.lr: {type: loguniform, low: 1e-5, high: 1e-3}
      training.batch_size: {type: categorical, choices: [16, 32]}
      lora.r: {type: int, low: 4, high: 32, step: 4}

Everything is checked before anything trains: a key that names no config key, a value the key does not take
(checked by validating the config with each end of the range, or each choice), low above high.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneforge.config.loading import (
    PATH_KEYS,
    _resolve_paths,
    _set_dotted,
    parse_overrides,
    read_yaml_file,
    resolve_path,
    validate,
)
from tuneforge.config.schema import RunConfig
from tuneforge.errors import ConfigError

# type -> the fields it takes (required, optional)
TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "uniform": (("low", "high"), ()),
    "loguniform": (("low", "high"), ()),
    "int": (("low", "high"), ("step", "log")),
    "categorical": (("choices",), ()),
}
EXAMPLE = "e.g. search: {training.lr: {type: loguniform, low: 1e-5, high: 1e-3}}"


@dataclass(frozen=True)
class Param:
    """One searched config key (``key``, dotted) and its range."""

    key: str
    type: str
    low: float | int | None = None
    high: float | int | None = None
    step: int = 1
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial) -> Any:
        """The value an Optuna trial picks for this key."""
        if self.type == "categorical":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.type == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=self.step, log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=self.type == "loguniform")

    def ends(self) -> list[Any]:
        """Values that must all be valid for the key: both ends of a range, every choice."""
        return list(self.choices) if self.type == "categorical" else [self.low, self.high]


@dataclass
class TuneConfig:
    """A tune config file: the run config (paths resolved, ``search`` removed) and the search space."""

    source: str
    data: dict[str, Any]
    params: list[Param]
    base: RunConfig

    def run_config(self, values: dict[str, Any], extra: dict[str, Any] | None = None) -> RunConfig:
        """The run config with ``values`` (dotted key -> value) and then ``extra`` set on top."""
        return with_values(self.data, {**values, **(extra or {})}, self.source)


def read_tune_config(path: str | Path, overrides: list[str] | None = None) -> TuneConfig:
    """Read a tune config file and check its search space against the run config; one-line errors.

    ``overrides`` (``--set KEY=VALUE``) change the run config every trial starts from, as ``train --set`` does;
    the searched keys are then set by each trial."""
    path = Path(path)
    source = str(path)
    data = read_yaml_file(path)
    if data is None:
        raise ConfigError(f"{path}: empty config file; tune needs a run config and a 'search:' block ({EXAMPLE})")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    if "search" not in data:
        raise ConfigError(f"{path}: no 'search:' block naming the config keys to tune ({EXAMPLE})")
    raw = data.pop("search")
    _resolve_paths(data, path.parent.resolve())
    for key, value in parse_overrides(overrides):
        if key == "search" or key.startswith("search."):
            raise ConfigError(f"--set {key}: the search space is the file's search: block; edit it there")
        if key in PATH_KEYS and isinstance(value, str):
            value = resolve_path(value, Path.cwd())
        _set_dotted(data, key, value, f"--set {key}")
    base = validate(copy.deepcopy(data), source)
    params = parse_search(raw, source)
    for param in params:
        for value in param.ends():
            try:
                with_values(data, {param.key: value}, source)
            except ConfigError as exc:
                reason = str(exc).removeprefix(f"{source}: ")
                raise ConfigError(f"{source}: search.{param.key}: {reason}") from None
    return TuneConfig(source, data, params, base)


def with_values(data: dict[str, Any], values: dict[str, Any], source: str) -> RunConfig:
    """Validate a copy of the run config ``data`` with each dotted key of ``values`` set."""
    data = copy.deepcopy(data)
    for key, value in values.items():
        if key in PATH_KEYS and isinstance(value, str):
            value = resolve_path(value, Path.cwd())
        _set_dotted(data, key, value, f"{source}: search.{key}")
    return validate(data, source)


# Keys every trial gets from the search itself (objective.py sets the first two on top of the searched values;
# the study scores every trial on one metric in one direction): searching them would be reported but do nothing.
TRIAL_OWNED = {
    "name": "each trial is named NAME-trial-N",
    "output_dir": "every trial is written under --output",
    "training.early_stopping.metric": "the study scores every trial on one dev metric",
    "training.early_stopping.mode": "the study optimises in one direction",
}


def parse_search(raw: Any, source: str) -> list[Param]:
    """The ``search:`` block as Params (their own shape only; values are checked against the config later)."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{source}: search: expected a mapping of config keys to ranges ({EXAMPLE}); "
                          f"got {'nothing' if not raw else type(raw).__name__}")
    for key in map(str, raw):
        owned = next((k for k in TRIAL_OWNED if key == k or key.startswith(f"{k}.")), None)
        if owned is not None:
            raise ConfigError(f"{source}: search.{key}: cannot be searched ({TRIAL_OWNED[owned]}); set it outside "
                              "search:, or remove it")
    return [_param(str(key), spec, source) for key, spec in raw.items()]


def _param(key: str, spec: Any, source: str) -> Param:
    where = f"{source}: search.{key}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping such as {{type: uniform, low: 0.0, high: 0.3}}, "
                          f"got {spec!r}")
    kind = spec.get("type")
    if kind not in TYPES:
        close = difflib.get_close_matches(str(kind), TYPES, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{where}.type: {'missing' if kind is None else repr(kind)} is not a search type{hint}; "
                          f"choose from {', '.join(TYPES)}")
    required, optional = TYPES[kind]
    allowed = ("type", *required, *optional)
    for name in spec:
        if name not in allowed:
            close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.5)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: unknown field '{name}' for type {kind}{hint}; valid: {', '.join(allowed)}")
    missing = [name for name in required if name not in spec]
    if missing:
        raise ConfigError(f"{where}: type {kind} needs {' and '.join(missing)}")
    if kind == "categorical":
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}.choices: expected a non-empty list, got {choices!r}")
        bad = next((c for c in choices if c is not None and not isinstance(c, bool | int | float | str)), None)
        if bad is not None:
            raise ConfigError(f"{where}.choices: each choice must be a number, string, true/false or null, "
                              f"not {bad!r}")
        return Param(key, kind, choices=tuple(choices))
    integer = kind == "int"
    low, high = (_number(spec[name], f"{where}.{name}", integer) for name in ("low", "high"))
    if low > high:
        raise ConfigError(f"{where}: low ({low}) is above high ({high})")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}.low: a loguniform range needs low > 0, got {low}")
    step = _number(spec.get("step", 1), f"{where}.step", True)
    log = spec.get("log", False)
    if step < 1:
        raise ConfigError(f"{where}.step: expected a whole number >= 1, got {step}")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log: expected true or false, got {log!r}")
    if log and (low < 1 or step != 1):
        raise ConfigError(f"{where}: log: true needs low >= 1 and no step")
    return Param(key, kind, low=low, high=high, step=step, log=log)


def _number(value: Any, where: str, integer: bool) -> int | float:
    """A number from YAML; a string such as '1e-5' (YAML 1.1 reads exponents without a dot as text) counts."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if integer:
        if value != int(value):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return int(value)
    return float(value)
