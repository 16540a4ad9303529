"""``tuneforge explain --html FILE``: one self-contained page with the words coloured by both methods."""

from __future__ import annotations

from html import escape

from tuneforge.explain.explanation import Explanation
from tuneforge.report.attribution_html import LEGEND, attribution_html


def render_page(run_dir: str, explanation: Explanation) -> str:
    e = explanation
    rows = "".join(f"<tr><td>{escape(w)}</td><td class=n>{ig:+.4f}</td><td class=n>{occ:+.4f}</td></tr>"
                   for w, ig, occ in zip(e.words, e.integrated_gradients, e.occlusion, strict=True))
    notes = "".join(f"<p class=note>{escape(n)}</p>" for n in e.notes)
    agreement = "n/a" if e.agreement is None else f"{e.agreement:.2f}"
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>explanation — tuneforge</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:900px;padding:0 1em;color:#222}"
        "p.words{font-size:1.2em;line-height:2}table{border-collapse:collapse}th,td{border:1px solid #ddd;"
        "padding:.2em .6em}td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#666}</style>"
        f"</head><body><h1>{escape(e.answer)}</h1><p class=note>{escape(run_dir)} · probability "
        f"{e.probability:.4f}</p>{notes}{LEGEND}"
        f"<h2>Integrated gradients</h2><p class=words id=integrated-gradients>"
        f"{attribution_html(e.words, e.integrated_gradients)}</p>"
        f"<h2>Occlusion</h2><p class=words id=occlusion>{attribution_html(e.words, e.occlusion)}</p>"
        f"<p class=note>agreement (Spearman) {agreement}; {e.steps} integrated-gradient steps, completeness gap "
        f"{e.completeness_gap:.4f}</p><table><tr><th>word</th><th>integrated gradients</th><th>occlusion</th></tr>"
        f"{rows}</table></body></html>\n")
