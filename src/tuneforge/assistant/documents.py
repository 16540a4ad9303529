"""The assistant's document folder read as texts: plain text and Markdown as they are, HTML stripped to its text.

A document's name is its path under the folder (``guide/returns.md``); every character offset the assistant
cites is into the text read here (for HTML: the text without tags, scripts and styles, blocks on their own
lines, entities decoded). Files of other kinds are not documents; hidden files and folders are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from tuneforge.errors import ConfigError

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES

# Tags whose content is never shown text, and tags that start a new block (a line of their own).
_HIDDEN = {"script", "style", "head", "template", "noscript", "svg"}
_BLOCKS = {"address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt", "figcaption",
           "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
           "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul", "title"}
# <title> is in <head>, but it names the page: kept as the first line.
_SHOWN_IN_HEAD = {"title"}


@dataclass(frozen=True)
class Document:
    name: str  # the path under the folder, with forward slashes
    text: str


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # depth inside tags whose content is not text
        self.shown = 0  # depth inside <title> (shown although in <head>)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SHOWN_IN_HEAD:
            self.shown += 1
        elif tag in _HIDDEN:
            self.hidden += 1
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SHOWN_IN_HEAD:
            self.shown = max(0, self.shown - 1)
        elif tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.shown or not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_text(html: str) -> str:
    """The text a reader sees: tags dropped, script/style/head content dropped, blocks as paragraphs."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", "".join(parser.parts))]
    return "\n\n".join(p for p in paragraphs if p)


def read_document(path: Path, name: str) -> Document:
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the document as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the document ({exc.strerror})") from None
    text = html_text(raw) if path.suffix.lower() in HTML_SUFFIXES else raw
    if not text.strip():
        raise ConfigError(f"{path}: an empty document (no text{' outside tags' if text != raw else ''})")
    return Document(name, text)


def read_documents(folder: Path, where: str = "documents.folder") -> list[Document]:
    """Every document under ``folder`` (recursively), sorted by name; a missing or empty folder is refused."""
    if not folder.is_dir():
        raise ConfigError(f"{where}: {folder} is not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not files:
        raise ConfigError(f"{where}: {folder} holds no documents (files ending in {', '.join(SUFFIXES)})")
    return [read_document(p, p.relative_to(folder).as_posix()) for p in files]
