"""tuneforge's version, importable from anywhere without loading the API."""

__version__ = "0.1.0"
