"""Grounded replies on SGD dev: three ways to write the assistant's next turn, on the same 200 system turns.

- generated: SmolLM2-135M-Instruct writes the reply from the conversation alone (``--run``: a fine-tuned
  generation run instead of the instruct model as it ships);
- generated, grounded: the same model, its prompt also given the dialogue state and the service's rows;
- retrieved: the nearest training reply with the same dialogue acts (act and slot, not values), its values
  replaced from state + rows (``tuneforge.assistant.templates``).

The state is SGD's gold state after the user's turn (``--state`` could take a tracker's); the rows are the
service's latest results at that turn; the acts, for the retrieved mode, are the gold reply's (the dialogue
policy is given, as for T5-small generating from gold acts, BLEU 29.6). Scores: sacrebleu BLEU and chrF, and
slot-value recall: of the values the gold reply says (its acts' values found verbatim in its text), the share
the reply says too (case-insensitive).

    python benchmarks/grounded_replies.py --turns 200 [--modes generated,grounded,retrieved] [--run RUN]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tuneforge.assistant.formats import flat, state_text  # noqa: E402
from tuneforge.assistant.grounding import latest_results, offered_row, rows_text  # noqa: E402
from tuneforge.assistant.templates import TemplateBank, slot_values_for  # noqa: E402

SGD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sgd"
HISTORY = 6
INSTRUCTION = ("You are a customer service assistant. Write the assistant's next reply to the user, one or two "
               "short sentences.")


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def state_before(turns: list[dict], i: int) -> tuple[str, dict[str, dict[str, str]]]:
    """The intent and gold state (each slot's first value) of the user turn before system turn i."""
    user = turns[i - 1]
    state = {f["service"]: {k: v[0] for k, v in f.get("slot_values", {}).items() if v} for f in user["frames"]}
    intent = next((f.get("intent", "NONE") for f in user["frames"]), "NONE")
    return intent, state


def cases(dialogues: list[dict], n: int) -> list[dict]:
    """n system turns with acts spread over the dialogues, each with what every mode needs."""
    every = [(d, i) for d in dialogues for i, t in enumerate(d["turns"])
             if t["speaker"] == "system" and i > 0 and t["frames"] and t["frames"][0].get("acts")]
    step = len(every) / n
    out = []
    for k in range(n):
        d, i = every[int(k * step)]
        turns, frame = d["turns"], d["turns"][i]["frames"][0]
        service = frame["service"]
        rows, _ = latest_results(turns, i, service)
        offers = any(a["act"] == "OFFER" for a in frame["acts"])
        pointer = offered_row(turns, i, service, offers) if rows else 0
        intent, state = state_before(turns, i)
        gold = flat(turns[i]["text"])
        values = sorted({v for a in frame["acts"] for v in a.get("values", ()) if v and v.lower() in gold.lower()})
        out.append({"dialogue": d["id"], "turn": i, "service": service, "acts": frame["acts"], "gold": gold,
                    "values": values, "rows": rows, "row": pointer, "intent": intent, "state": state,
                    "history": [{"role": "user" if t["speaker"] == "user" else "assistant", "content": t["text"]}
                                for t in turns[max(0, i - HISTORY):i]]})
    return out


def prompt(case: dict, grounded: bool) -> str:
    lines = [INSTRUCTION, ""]
    lines += [f"{'User' if m['role'] == 'user' else 'Assistant'}: {flat(m['content'])}" for m in case["history"]]
    if grounded:
        lines.append(f"Intent: {case['intent']}")
        lines.append(state_text(case["state"]))
        lines.append(rows_text(case["rows"], case["row"]))
        lines.append("Use the state and the results above; say their values exactly as written.")
    lines.append("Assistant:")
    return "\n".join(lines)


def generate(model_name: str, prompts: list[str], batch_size: int = 8, max_new_tokens: int = 48) -> list[str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tuneforge.models import resolve

    path = resolve(model_name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                           add_generation_prompt=True) for p in prompts]
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                              add_special_tokens=False)
            ids = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
            out += [flat(tokenizer.decode(row[batch["input_ids"].shape[1]:], skip_special_tokens=True))
                    for row in ids]
            print(f"  {len(out)}/{len(texts)}", file=sys.stderr, flush=True)
    return out


def train_dialogues(held_out: bool) -> list[dict]:
    """Train dialogues: every 20th is held out to choose the retrieved mode's settings (never dev)."""
    with (SGD / "train.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for n, line in enumerate(f) if (n % 20 == 0) == held_out]


def template_bank(dialogues: list[dict], choose: str) -> TemplateBank:
    bank = TemplateBank(choose)
    for d in dialogues:
        turns = d["turns"]
        for i, t in enumerate(turns):
            if t["speaker"] == "system" and i > 0 and t["frames"]:
                frame = t["frames"][0]
                context = " ".join(flat(x["text"]) for x in reversed(turns[max(0, i - 2):i]))
                bank.add(frame["service"], flat(t["text"]), frame, context, canonical(turns, i, frame))
    return bank


def canonical(turns: list[dict], i: int, frame: dict) -> dict[str, str]:
    """The values a system turn's slots had in the row it talks about, else in the state before it."""
    service = frame["service"]
    rows, _ = latest_results(turns, i, service)
    offers = any(a["act"] == "OFFER" for a in frame["acts"])
    row = rows[offered_row(turns, i, service, offers)] if rows else {}
    _, state = state_before(turns, i)
    return {**state.get(service, {}), **{k: str(v) for k, v in (row or {}).items()}}


def retrieved(bank: TemplateBank, case: dict) -> str:
    state = case["state"].get(case["service"], {})
    row = case["rows"][case["row"]] if case["rows"] and case["row"] < len(case["rows"]) else None
    values = slot_values_for(case["acts"], state, row, case["rows"])
    context = " ".join(flat(m["content"]) for m in reversed(case["history"][-2:]))
    return bank.reply(case["acts"], case["service"], context, values)


def scores(cases_: list[dict], replies: list[str]) -> dict[str, float]:
    import sacrebleu

    refs = [[c["gold"] for c in cases_]]
    said = [v for c in cases_ for v in c["values"]]
    hits = sum(v.lower() in r.lower() for c, r in zip(cases_, replies, strict=True) for v in c["values"])
    return {"bleu": round(sacrebleu.corpus_bleu(replies, refs).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(replies, refs).score, 2),
            "slot_value_recall": round(hits / max(len(said), 1), 4), "values": len(said)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--modes", default="retrieved,generated,grounded")
    parser.add_argument("--model", default="smollm2-135m", help="the generating model (name or folder)")
    parser.add_argument("--choose", choices=("frequent", "context"), default="context",
                        help="retrieved: among templates of the acts, the most frequent wording or the nearest context")
    parser.add_argument("--tune", action="store_true", help="score held-out train dialogues (every 20th), not dev: "
                        "for choosing settings")
    parser.add_argument("--out", default="benchmarks/results/grounded_replies.json")
    parser.add_argument("--examples", type=int, default=5)
    args = parser.parse_args()
    dev = cases(train_dialogues(held_out=True) if args.tune else read(SGD / "dev.jsonl"), args.turns)
    results, examples = {}, {}
    for mode in args.modes.split(","):
        t = time.perf_counter()
        if mode == "retrieved":
            bank = template_bank(train_dialogues(held_out=False), args.choose)
            replies = [retrieved(bank, c) for c in dev]
            detail = {"templates": len(bank)}
        else:
            replies = generate(args.model, [prompt(c, mode == "grounded") for c in dev])
            detail = {"model": args.model}
        results[mode] = scores(dev, replies) | detail | {"seconds": round(time.perf_counter() - t, 1)}
        examples[mode] = [{"gold": c["gold"], "reply": r} for c, r in list(zip(dev, replies, strict=True))[
            :args.examples]]
        print(mode, results[mode], flush=True)
    Path(args.out).write_text(json.dumps({"turns": len(dev), "results": results, "examples": examples},
                                         indent=2) + "\n")


if __name__ == "__main__":
    main()
