"""``tuneforge redact CONFIG --out DIR``: every data file of a config, redacted, in a new folder with a config
that trains on them. Everything is read, checked and redacted before the folder appears in one rename, so a bad
file or an interrupted run leaves nothing behind, and the originals are never touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneforge.config.loading import dump_config, load_config, resolve_path
from tuneforge.errors import ConfigError
from tuneforge.privacy.records import read_data_file
from tuneforge.privacy.redaction import redact_records
from tuneforge.privacy.splits import analyzer_for, kinds_of, skipped_fields, split_files
from tuneforge.util.atomic import atomic_dir, write_json, write_text


def redact_config(config: str | Path, out: str | Path, overrides: list[str] | None = None,
                  ner_run: Any = None) -> dict[str, Any]:
    """The summary written to ``out/redaction.json``: kinds, and per split the source file, records and counts."""
    cfg = load_config(config, overrides)
    kinds = kinds_of(cfg)  # an unknown or NER-less kind fails before anything is read or written
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out}: already exists; redact writes a new folder (the originals are never "
                          "rewritten)")
    files = split_files(cfg)
    if not files:
        raise ConfigError(f"{config}: no data files to redact (data.train, data.dev, data.test)")
    # one file read once, however many splits name it
    data = {path: read_data_file(path, skipped_fields(cfg), cfg.data.tokens_field) for path in dict.fromkeys(
        files.values())}
    analyzer = analyzer_for(cfg, ner_run)
    summary: dict[str, Any] = {"config": str(config), "kinds": kinds, "ner_run": cfg.privacy.ner_run, "splits": {}}
    names: dict[str, str] = {}
    for split, path in files.items():
        if path not in names:
            names[path] = f"{split}{Path(path).suffix}"
            counts = redact_records(data[path].records, analyzer)
            summary["splits"][split] = {"source": path, "file": names[path], "records": len(data[path].records),
                                        "redacted": dict(sorted(counts.items()))}
    base = Path(config).parent.resolve() if isinstance(config, (str, Path)) else Path.cwd()
    redacted = cfg.model_copy(update={"data": cfg.data.model_copy(update={s: names[p] for s, p in files.items()}),
                                      "output_dir": resolve_path(cfg.output_dir, base)})  # runs land where they did
    with atomic_dir(out) as tmp:
        for path, name in names.items():
            write_text(tmp / name, data[path].render())
        write_text(tmp / "config.yaml", dump_config(redacted))
        write_json(tmp / "redaction.json", summary)
    return summary
