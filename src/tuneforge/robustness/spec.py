"""Which suites to run on which field: the defaults, or a suites file (YAML) checked against the run's data.

A suites file::

    suites:
      - suite: names          # one of SUITES
        field: text           # the data field it perturbs (default: the run's text field, or its tokens)
      - suite: typos
        field: question       # a text-pair run: its second text (data.text_pair_field)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from tuneforge.errors import ConfigError, DataError
from tuneforge.robustness.suites import SUITES
from tuneforge.util.strict import Strict

SuiteName = Literal[tuple(SUITES)]  # type: ignore[valid-type]


class SuiteSpec(Strict):
    suite: SuiteName = Field(description="The perturbation (names, places, typos, casing, punctuation, "
                             "contractions, clause).")
    field: str | None = Field(None, description="The data field perturbed; default: the run's text (or tokens).")


class SuitesFile(Strict):
    suites: list[SuiteSpec] = Field(min_length=1)


def read_suites(path: str | Path) -> list[SuiteSpec]:
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the suites file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
    try:
        return SuitesFile.model_validate(raw).suites
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "the file"
        raise ConfigError(f"{path}: {where}: {err['msg']}") from None


def default_suites(only: list[str] | None = None) -> list[SuiteSpec]:
    names = only or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        raise ConfigError(f"--only: unknown suite '{unknown[0]}' (choose from {', '.join(SUITES)})")
    return [SuiteSpec(suite=n) for n in names]


def resolve_fields(specs: list[SuiteSpec], fields: dict[str, str], source: str) -> list[tuple[SuiteSpec, str]]:
    """Each suite with the example attribute it perturbs. ``fields`` maps the data's field names (as the run's
    config names them) to example attributes; a suite naming another field fails here, before anything runs."""
    default = next(iter(fields))
    out = []
    for n, spec in enumerate(specs, start=1):
        field = spec.field or default
        if field not in fields:
            raise DataError(f"{source}: suite {n} ({spec.suite}) names field '{field}', which the run's data lacks "
                            f"(its fields: {', '.join(fields)})")
        out.append((spec, fields[field]))
    return out


def suite_label(spec: SuiteSpec, field: str, default_field: str) -> str:
    return spec.suite if field == default_field else f"{spec.suite}:{field}"

