"""Words coloured by their attribution: red raised the explained probability, blue lowered it.

Used by report.html (its worst errors) and by ``tuneforge explain --html``; plain inline styles, so the markup
reads the same inside any page.
"""

from __future__ import annotations

from html import escape


def attribution_html(words: list[str], scores: list[float], scale: float | None = None) -> str:
    """The words as <span>s whose background's strength is |score| / ``scale`` (default: the largest |score|),
    each with its score in the title (shown on hover)."""
    top = scale if scale else max((abs(s) for s in scores), default=0.0) or 1.0
    out = []
    for word, score in zip(words, scores, strict=True):
        alpha = min(abs(score) / top, 1.0)
        rgb = "220,57,18" if score > 0 else "51,102,204"
        out.append(f'<span class=attr style="background:rgba({rgb},{alpha:.2f});padding:0 .15em;border-radius:3px" '
                   f'title="{score:+.4f}">{escape(str(word))}</span>')
    return " ".join(out)


LEGEND = ('<p class=note><span style="background:rgba(220,57,18,.6);padding:0 .3em">red</span> raised the '
          'probability explained, <span style="background:rgba(51,102,204,.6);padding:0 .3em">blue</span> lowered '
          "it; the stronger the colour, the larger the share (hover a word for its score).</p>")
