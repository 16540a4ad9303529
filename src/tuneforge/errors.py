"""User-facing errors: one line, exit status 2, never a traceback."""

from __future__ import annotations


class TuneforgeError(Exception):
    """A problem with the user's input (config, data, run directory, model name).

    The CLI prints ``error: <message>`` on one line and exits with status 2.
    """

    exit_code = 2


class ConfigError(TuneforgeError):
    """The config file or a ``--set`` override is invalid."""


class DataError(TuneforgeError):
    """A data file is malformed; the message names the file and line."""


class ModelError(TuneforgeError):
    """A model name cannot be resolved or loaded."""


class RunError(TuneforgeError):
    """A run directory is missing, incomplete or cannot be resumed."""
