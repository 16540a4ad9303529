"""The run config: the schema (schema.py), its printed reference (reference.py) and starter configs (starters.py).

``from tuneforge.config import load_config, RunConfig`` keeps working as before the package existed.
"""

from tuneforge.config.loading import dump_config, load_config, parse_overrides, validate
from tuneforge.config.schema import RunConfig

__all__ = ["RunConfig", "dump_config", "load_config", "parse_overrides", "validate"]
