"""``check-data`` for dialogue state tracking: dialogues, user turns and frames per split, which services are
unseen in train, and every malformed dialogue or state that names what the schema lacks."""

from __future__ import annotations

from typing import Any

from tuneforge.tasks.dialogue_state.dialogues import read_dialogues
from tuneforge.tasks.dialogue_state.schema import read_schemas


def check_dialogues(cfg, tokenizer=None) -> dict[str, Any]:
    schemas = read_schemas(*cfg.task_options.schema_files)
    report: dict[str, Any] = {"kind": "dialogues", "task": cfg.task, "splits": {}, "problems": 0,
                              "services": len(schemas)}
    seen: set[str] = set()
    for name in ("train", "dev", "test"):
        path = getattr(cfg.data, name)
        if not path:
            continue
        problems: list[str] = []
        dialogues = read_dialogues(path, schemas, True, problems)
        services = sorted({s for d in dialogues for s in d.services})
        if name == "train":
            seen = set(services)
        user = [t for d in dialogues for t in d.turns if t.speaker == "user"]
        info: dict[str, Any] = {"dialogues": len(dialogues), "user_turns": len(user),
                                "frames": sum(len(t.frames) for t in user), "services": services,
                                "malformed": problems}
        if name != "train":
            info["unseen_services"] = [s for s in services if s not in seen]
        report["problems"] += len(problems)
        report["splits"][name] = info
    return report


def format_dialogue_report(report: dict[str, Any]) -> str:
    lines = [f"{report['services']} services in the schema files"]
    for name, info in report["splits"].items():
        lines.append(f"== {name}: {info['dialogues']} dialogues, {info['user_turns']} user turns, {info['frames']} "
                     f"frames; services: {', '.join(info['services'])}")
        if info.get("unseen_services"):
            lines.append(f"   services unseen in train: {', '.join(info['unseen_services'])}")
        lines += [f"   ERROR {problem}" for problem in info["malformed"][:20]]
        if len(info["malformed"]) > 20:
            lines.append(f"   ... and {len(info['malformed']) - 20} more malformed dialogues")
    lines.append(f"{report['problems']} problem(s) found" if report["problems"] else "no problems found")
    return "\n".join(lines)
