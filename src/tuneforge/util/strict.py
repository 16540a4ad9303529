"""The base of every config section: unknown keys fail, assignments are validated, and numbers are finite
(``epochs: .inf`` would otherwise pass validation and fail only inside training)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
