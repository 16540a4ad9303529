"""The docs: README stays a short front page, every relative link of README and docs/ resolves, and the MkDocs
site builds in strict mode, which fails on a broken link or anchor."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are code, not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """The ids MkDocs gives the page's headings (python-markdown's toc slugify)."""
    return {slugify(CODE_SPAN.sub(lambda m: m.group(0).strip("`"), h), "-") for h in HEADING.findall(
        FENCE.sub("", page.read_text(encoding="utf-8")))}


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text(encoding="utf-8")))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto: are not files


def broken_links(page: Path, root: Path = REPO) -> list[str]:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{page.relative_to(root)}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{page.relative_to(root)}: {target} (no heading with that anchor)")
    return broken


def test_readme_is_a_short_front_page():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200, f"README.md has {len(lines)} lines: move sections into docs/ and link them"


def test_readme_links_every_task_page_and_topic():
    links = {target.partition("#")[0] for target in relative_links(REPO / "README.md")}
    tasks = {f"docs/tasks/{p.name}" for p in (REPO / "docs" / "tasks").glob("*.md")}
    topics = {f"docs/{name}.md" for name in ("install", "usage", "config", "run-directory", "methods", "training",
                                             "serving", "assistant", "continual", "studies", "architecture",
                                             "benchmarks")}
    assert len(tasks) >= 8 and not (tasks | topics) - links


def test_every_relative_link_in_readme_and_docs_resolves():
    assert len(PAGES) > 15
    broken = [line for page in PAGES for line in broken_links(page)]
    assert not broken, "\n".join(broken)


def test_the_link_check_sees_a_broken_file_and_a_broken_anchor(tmp_path):
    (tmp_path / "there.md").write_text("# A page\n\n## Some section\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#some-section) `[code](gone.md)` [gone](gone.md) [bad](there.md#nope)\n\n"
                    "```\n[in a block](gone-too.md)\n```\n", encoding="utf-8")
    assert broken_links(page, tmp_path) == ["page.md: gone.md (no such file)",
                                            "page.md: there.md#nope (no heading with that anchor)"]


def test_no_install_line_names_tuneforge_as_if_it_were_on_an_index():
    # tuneforge is installed from its folder: an extra goes on '.', `pip install 'tuneforge[tracking]'` fails
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"pip install\s+['\"]?tuneforge\[", text), page


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], capture_output=True, text=True, timeout=300)


def test_mkdocs_site_builds_strict_with_no_warning(tmp_path):
    done = mkdocs_build(REPO / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    for page in ("index.html", "install/index.html", "tasks/generation/index.html", "benchmarks/index.html"):
        assert (tmp_path / "site" / page).is_file(), page


@pytest.mark.parametrize("bad_link, named", [("[gone](no-such-page.md)", "no-such-page.md"),
                                             ("[gone](install.md#no-such-section)", "#no-such-section")])
def test_mkdocs_build_fails_on_a_broken_link(tmp_path, bad_link, named):
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with (tmp_path / "docs" / "index.md").open("a", encoding="utf-8") as f:
        f.write(f"\n{bad_link}\n")
    done = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0 and named in done.stderr, done.stderr
