"""check-data's personal-data section: per split and field, the findings by kind, with example line numbers and
masked values (a report never shows the data it warns about)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuneforge.errors import DataError
from tuneforge.privacy.records import read_data_file
from tuneforge.privacy.spans import mask
from tuneforge.privacy.splits import analyzer_for, kinds_of, skipped_fields, split_files

if TYPE_CHECKING:
    from tuneforge.config.schema import RunConfig


def scan_config(cfg: RunConfig, analyzer: Any = None) -> dict[str, Any]:
    """{"kinds", "ner_run", "splits": {split: {"file", "records", "found", "fields": {field: {kind: {"count",
    "lines", "examples"}}}} or {"skipped": why}}}."""
    kinds = kinds_of(cfg)
    report: dict[str, Any] = {"kinds": kinds, "ner_run": cfg.privacy.ner_run, "splits": {}}
    files = split_files(cfg)
    if not files:
        return report
    analyzer = analyzer or analyzer_for(cfg)
    for split, path in files.items():
        try:
            data = read_data_file(path, skipped_fields(cfg), cfg.data.tokens_field, strict=False)
        except DataError as exc:
            report["splits"][split] = {"file": path, "skipped": str(exc)}
            continue
        fields = [(record.line, f) for record in data.records for f in record.fields]
        found = analyzer.analyze_many([f.text for _, f in fields])
        by_field: dict[str, dict[str, dict[str, Any]]] = {}
        for (line, f), spans in zip(fields, found, strict=True):
            for span in spans:
                entry = by_field.setdefault(f.name, {}).setdefault(span.kind, {"count": 0, "lines": [], "examples": []})
                entry["count"] += 1
                if len(entry["lines"]) < cfg.privacy.examples and line not in entry["lines"]:
                    entry["lines"].append(line)
                    entry["examples"].append(mask(span.text_of(f.text)))
        report["splits"][split] = {"file": path, "records": len(data.records),
                                   "found": sum(e["count"] for kinds_ in by_field.values() for e in kinds_.values()),
                                   "fields": by_field}
    return report


def format_pii(report: dict[str, Any]) -> str:
    ner = f"; names, places, organisations: NER run {report['ner_run']}" if report["ner_run"] else (
        "; names, places, organisations not looked for (set privacy.ner_run)")
    lines = [f"personal data ({', '.join(report['kinds'])}{ner}):"]
    for split, info in report["splits"].items():
        if "skipped" in info:
            lines.append(f"   {split}: not scanned: {info['skipped']}")
            continue
        if not info["found"]:
            lines.append(f"   {split}: none found in {info['records']} records")
            continue
        lines.append(f"   {split}: {info['found']} finding(s) in {info['records']} records")
        for field, kinds in info["fields"].items():
            for kind, entry in sorted(kinds.items(), key=lambda item: -item[1]["count"]):
                shown = ", ".join(f"line {n} {v!r}" for n, v in zip(entry["lines"], entry["examples"], strict=True))
                lines.append(f"     {field}: {kind} {entry['count']} (e.g. {shown})")
    return "\n".join(lines)
