"""An explanation for the terminal: the words coloured (on a terminal that shows colour) and a table."""

from __future__ import annotations

from tuneforge.explain.explanation import Explanation

RED, BLUE, RESET = "\033[41;97m", "\033[44;97m", "\033[0m"
FAINT_RED, FAINT_BLUE = "\033[31m", "\033[34m"


def coloured(words: list[str], scores: list[float]) -> str:
    """Words with a red (raised) or blue (lowered) background where |score| is over half the largest, coloured
    text where over a sixth, plain otherwise: three steps read on any terminal."""
    top = max((abs(s) for s in scores), default=0.0) or 1.0
    out = []
    for word, score in zip(words, scores, strict=True):
        share = abs(score) / top
        if share > 0.5:
            out.append(f"{RED if score > 0 else BLUE}{word}{RESET}")
        elif share > 1 / 6:
            out.append(f"{FAINT_RED if score > 0 else FAINT_BLUE}{word}{RESET}")
        else:
            out.append(word)
    return " ".join(out)


def render(explanation: Explanation, colour: bool) -> str:
    e = explanation
    lines = [f"explained: {e.answer} (probability {e.probability:.4f})"]
    for key, value in e.details.items():
        if key == "top":
            lines.append("top labels: " + ", ".join(f"{label} {p:.4f}" for label, p in value))
        elif key == "entities":
            lines.append("entities found: " + "; ".join(value))
    lines += [f"note: {n}" for n in e.notes]
    if colour:
        lines += ["", "integrated gradients: " + coloured(e.words, e.integrated_gradients),
                  "occlusion:            " + coloured(e.words, e.occlusion)]
    width = max([len(w) for w in e.words] + [4])
    lines += ["", f"{'word':<{width}}  integrated-gradients  occlusion"]
    lines += [f"{w:<{width}}  {ig:>+20.4f}  {occ:>+9.4f}" for w, ig, occ in zip(e.words, e.integrated_gradients,
                                                                            e.occlusion, strict=True)]
    agreement = "n/a (under 3 words or a constant side)" if e.agreement is None else f"{e.agreement:.2f}"
    lines += ["", f"agreement of the two methods (Spearman): {agreement}",
              f"integrated gradients: {e.steps} steps, completeness gap {e.completeness_gap:.4f}; "
              f"time {1000 * e.seconds['integrated_gradients']:.0f} ms (occlusion "
              f"{1000 * e.seconds['occlusion']:.0f} ms)"]
    return "\n".join(lines)
