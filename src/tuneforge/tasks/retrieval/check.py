"""``check-data`` for retrieval: queries per split, the collection each is searched against, and every record
whose positive cannot be found (a passages file's duplicate ids and empty passages are named by line)."""

from __future__ import annotations

from typing import Any

from tuneforge.errors import DataError
from tuneforge.tasks.retrieval.records import read_passages, read_queries, split_collection


def check_retrieval(cfg, tokenizer=None) -> dict[str, Any]:
    o = cfg.task_options
    report: dict[str, Any] = {"kind": "queries", "task": cfg.task, "splits": {}, "problems": 0, "passages": None}
    collection = None
    if o.passages:
        collection = read_passages(o.passages, strict=True)
        report["passages"] = len(collection)
    for name in ("train", "dev", "test"):
        path = getattr(cfg.data, name)
        if not path:
            continue
        result = read_queries(path, o, strict=False)
        problems = list(result.problems)
        info: dict[str, Any] = {"queries": len(result.examples),
                                "with_negatives": sum(bool(e.negatives) for e in result.examples)}
        try:
            passages, _ = split_collection(result.examples, collection)
            info["collection"] = len(passages)
        except DataError as exc:
            problems.append(str(exc))
        if tokenizer is not None and result.examples:
            lengths = [len(x) for x in tokenizer([e.query for e in result.examples])["input_ids"]]
            info["query_tokens_max"] = max(lengths)
        info["malformed"] = problems
        report["problems"] += len(problems)
        report["splits"][name] = info
    return report


def format_query_report(report: dict[str, Any]) -> str:
    lines = [f"{report['passages']} passages in task_options.passages" if report["passages"] is not None
             else "no passages file: each split is searched against its own positives"]
    for name, info in report["splits"].items():
        line = f"== {name}: {info['queries']} queries, {info['with_negatives']} with given negatives"
        if "collection" in info:
            line += f"; searched against {info['collection']} passages"
        lines.append(line)
        lines += [f"   ERROR {problem}" for problem in info["malformed"][:20]]
        if len(info["malformed"]) > 20:
            lines.append(f"   ... and {len(info['malformed']) - 20} more")
    lines.append(f"{report['problems']} problem(s) found" if report["problems"] else "no problems found")
    return "\n".join(lines)
