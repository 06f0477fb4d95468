"""The PDF of the whole book (`make pdf`; `make test` builds it before running pytest).

Checks: it is newer than the built pages it prints; it has a title page, a table of contents and
every page of _toc.yml (page count at least one per page plus the front matter); every chapter's
title is in its extractable text (so the text is real text, not pictures); the pages are numbered;
the outline (bookmarks) lists every chapter; the math is typeset (no `$$`, `\\frac`... in the text
beyond what the code cells themselves print, e.g. matplotlib labels); the Chinese titles of the
source articles are in the text, drawn with an embedded CJK font; the front page links the PDF.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PDF = ROOT / "_build" / "pdf" / "scaling-laws.pdf"
SERVED = ROOT / "_build" / "html" / "scaling-laws.pdf"
TEX = [r"\$\$", r"\\frac", r"\\tfrac", r"\\begin\{", r"\\mathbb", r"\\left", r"\\sqrt", r"\\ell\b", r"\\sum"]


def squash(text: str) -> str:
    """Letters, digits and CJK characters only, NFKC-normalised: PDF text extraction gives ligatures
    (ﬁ), typographic quotes and, for some CJK glyphs, the Kangxi radical that shares the glyph (⼼ for 心)."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def toc_stems() -> list[str]:
    return re.findall(r"(?:root|file):\s*book/(\S+)", (ROOT / "_toc.yml").read_text())


def chapter_titles() -> dict[str, str]:
    titles = {}
    for stem in toc_stems():
        path = ROOT / "book" / f"{stem}.ipynb"
        if path.exists():
            for cell in json.loads(path.read_text())["cells"]:
                heading = re.search(r"^# (.+)$", "".join(cell["source"]), re.M)
                if cell["cell_type"] == "markdown" and heading:
                    titles[stem] = heading.group(1).strip()
                    break
    return titles


def code_text() -> str:
    """What the code cells print in the book (their source and text outputs): TeX may appear there."""
    parts = []
    for path in (ROOT / "book").glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                parts.append("".join(cell["source"]))
                for output in cell.get("outputs", []):
                    parts.append("".join(output.get("text", "")))
                    parts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def pdf():
    if not PDF.exists():
        if shutil.which("chromium") is None and os.environ.get("REQUIRE_BROWSER") != "1":
            pytest.skip("no PDF and no Chromium to build it: `make pdf` installs Debian's chromium")
        pytest.fail(f"{PDF.relative_to(ROOT)} is missing: run `make pdf` (`make test` does)")
    built = ROOT / "_build" / "html" / "book" / "intro.html"
    if built.exists() and built.stat().st_mtime > PDF.stat().st_mtime:
        pytest.fail("the PDF is older than the built book: run `make pdf` (`make test` does)")
    from pypdf import PdfReader

    reader = PdfReader(PDF)
    pages = [page.extract_text() or "" for page in reader.pages]
    return reader, pages


def test_pages_and_contents(pdf):
    reader, pages = pdf
    stems = toc_stems()
    assert len(pages) >= len(stems) + 2, f"only {len(pages)} pages for {len(stems)} book pages plus front matter"
    front = squash(" ".join(pages[:4]))
    assert "contents" in front, "no table of contents in the first pages"
    missing = [t for t in chapter_titles().values() if squash(t)[:40] not in front]
    assert not missing, f"chapters missing from the table of contents: {missing}"


def test_every_chapter_title_is_in_the_text(pdf):
    _, pages = pdf
    body = squash(" ".join(pages))
    missing = [f"{stem}: {title}" for stem, title in chapter_titles().items() if squash(title) not in body]
    assert not missing, f"chapter titles not in the PDF's text: {missing}"


def test_pages_are_numbered(pdf):
    """Every page but the title page ends (in reading order) with its own number, stamped at its foot."""
    _, pages = pdf
    unnumbered = [i + 1 for i, text in enumerate(pages)
                  if i > 0 and (text.strip().splitlines() or [""])[-1].strip() != str(i + 1)]
    assert not unnumbered, f"pages without their number at the foot: {unnumbered[:20]}"


def test_outline_lists_every_chapter(pdf):
    reader, _ = pdf

    def titles(items):
        for item in items:
            if isinstance(item, list):
                yield from titles(item)
            else:
                yield item.title

    outline = squash(" ".join(titles(reader.outline)))
    missing = [t for t in chapter_titles().values() if squash(t) not in outline]
    assert not missing, f"chapters missing from the PDF's bookmarks: {missing}"


def test_math_is_typeset(pdf):
    _, pages = pdf
    code = code_text()
    problems = []
    for pattern in TEX:
        where = [i + 1 for i, text in enumerate(pages) for _ in re.finditer(pattern, text)]
        allowed = len(re.findall(pattern, code))
        if len(where) > allowed:
            problems.append(f"{pattern!r} {len(where)} times (the code cells account for {allowed}), "
                            f"on pages {sorted(set(where))[:15]}")
    assert not problems, "raw TeX in the PDF's text:\n" + "\n".join(problems)


def test_chinese_titles_are_in_the_text(pdf):
    """Without a CJK font Chromium draws "missing glyph" boxes, which carry no text."""
    _, pages = pdf
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    titles = re.findall(r"@\w+\{src-[^,]+,.*?title\s*=\s*\{([\u4e00-\u9fff][^\[]*?)\s*\[", bib, re.S)
    assert titles, "no Chinese titles in references.bib"
    hits = [i for i, text in enumerate(pages) if squash(titles[0])[:8] in squash(text)]
    assert hits, f"the Chinese title {titles[0]!r} is not in the PDF's text (no CJK font? install fonts-noto-cjk)"
    missing = [t for t in titles if not any(squash(t)[:8] in squash(pages[i]) for i in range(len(pages)))]
    assert not missing, f"Chinese titles not in the PDF's text: {missing}"


def test_front_page_links_the_pdf():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    assert "scaling-laws.pdf" in intro, "book/intro.md does not link the PDF"
    assert SERVED.exists(), f"{SERVED.relative_to(ROOT)} is missing: `make pdf` copies the PDF next to the pages"
