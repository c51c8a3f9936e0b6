"""The README and docs/*.md point only inside the repository: every Markdown link and image
names a file or folder a clone has (and a heading of that page, where it names one), and
every repository path they quote (`scripts/x.sh`, `examples/meeting.flac`, in text or in a
command) exists. Nothing starts with `../` out of the repository (issue 23: the README sent
readers to `../shared/`, which a clone does not have)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target); a target has no spaces (an optional "title" may follow).
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
# Where a word in a command or a code span is split to find the paths in it
# (--track Alice=examples/a.flac, recording=@examples/meeting.flac, "quoted", (grouped)).
WORD_SEPARATORS = re.compile(r"[\s=@\"'(),;:<>\[\]]+")


def _top_level() -> set[str]:
    """What a path quoted from the repository starts with: its top-level entries (not the
    set-up's own .venv and build, which a clone only has once set up)."""
    names = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")} | {".ci"}
    return {n for n in names if n != "build" and not n.endswith(".egg-info")}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in FENCE.sub("", page.read_text()).splitlines():
        if match := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line):
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text())
    text = CODE_SPAN.sub("", text)  # a link written inside code is an example, not a link
    return LINK.findall(text)


def quoted_paths(page: Path) -> list[str]:
    """Words of code spans and fenced blocks that name a repository path (they start with
    one of its top-level folders and go on with a slash)."""
    text = page.read_text()
    pieces = [m.group(0) for m in FENCE.finditer(text)]
    pieces += [m.group(2) for m in CODE_SPAN.finditer(FENCE.sub("", text))]
    top = _top_level()
    paths = []
    for piece in pieces:
        for word in WORD_SEPARATORS.split(piece):
            word = word.rstrip(".`")
            if word.startswith("../"):
                paths.append(word)  # always wrong: checked below
            elif "/" in word and word.split("/", 1)[0] in top and not re.search(r"[*{}$]", word):
                paths.append(word)
    return paths


def _inside(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_names_a_file_of_the_repository_and_a_heading_of_it(page: Path) -> None:
    wrong = []
    for target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        where, _, anchor = target.partition("#")
        if page.name == "README.md" and where.startswith("../"):
            wrong.append(f"{target}: outside the repository")
            continue
        path = (page.parent / where) if where else page
        if not _inside(path):
            wrong.append(f"{target}: outside the repository")
        elif not path.exists():
            wrong.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            wrong.append(f"{target}: {path.name} has no heading #{anchor}")
    assert wrong == [], f"{page.name}: {wrong}"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_it_quotes_exists(page: Path) -> None:
    wrong = [p for p in quoted_paths(page) if p.startswith("../") or not (ROOT / p).exists()]
    assert wrong == [], f"{page.name} quotes paths a clone does not have: {wrong}"


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\nDesign: `../shared/ARCHITECTURE.md`, see [it](../shared/x.md),\n"
        "[ok](#title), [bad](#nowhere), `scripts/setup.sh`, `scripts/no_such.sh`.\n\n"
        "```bash\nbash scripts/gone.sh --track A=examples/meeting.flac\n```\n"
    )
    assert links(page) == ["../shared/x.md", "#title", "#nowhere"]
    assert anchors(page) == {"title"}
    assert quoted_paths(page) == [
        "scripts/gone.sh", "examples/meeting.flac", "../shared/ARCHITECTURE.md",
        "scripts/setup.sh", "scripts/no_such.sh",
    ]  # fmt: skip
    assert slug("The service: HTTP API and web pages") == "the-service-http-api-and-web-pages"
    assert slug("Fine-tuning on an export") == "fine-tuning-on-an-export"
