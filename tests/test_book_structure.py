"""The book's structure: every chapter in _toc.yml exists, every notebook is in _toc.yml, and every
chapter follows the conventions the pipeline relies on (parameters cell, then a validation cell,
stored outputs from a complete run, a closing `known-gaps` cell), its figures are drawn one column
wide, its code writes no equation label into a figure, and the status page and the README's
wall-time table are the ones tools/write_status.py generates."""

import base64
import importlib.util
import io
import json
import re
import struct
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
TOC_ENTRIES = re.findall(r"(?:root|file):\s*(\S+)", (ROOT / "_toc.yml").read_text())
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
MAX_FIGURE_WIDTH = 640   # px: figures.column_figure draws 600 px; a tight bounding box may add a little
KNOWN_GAPS_HEADING = "## What this chapter does not show"


def test_every_toc_entry_exists():
    missing = [e for e in TOC_ENTRIES if not any((ROOT / f"{e}{ext}").exists() for ext in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_every_page_is_in_the_toc():
    pages = {f"book/{p.stem}" for p in list(BOOK.glob("*.ipynb")) + list(BOOK.glob("*.md"))}
    absent = sorted(pages - set(TOC_ENTRIES))
    assert not absent, f"pages in book/ that are not in _toc.yml: {absent}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_conventions(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a chapter without code"
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), "first code cell must be tagged 'parameters'"
    assert "ValueError" in "".join(code[1]["source"]), "second code cell must validate the parameters"
    assert "hide-input" in code[1].get("metadata", {}).get("tags", []), "tag the validation cell 'hide-input'"
    assert all(c.get("execution_count") for c in code), "code cells without stored outputs: run make notebooks"
    assert not any(o.get("output_type") == "error" for c in code for o in c.get("outputs", [])), "stored errors"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "papermill" not in nb["metadata"], "papermill metadata not normalised (use make notebooks)"
    first_md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"^# ", "".join(first_md["source"]), re.M), "the first markdown cell must hold the title"


def test_labels_and_glue_names_are_unique_across_the_book():
    labels, glues = {}, {}
    for path in NOTEBOOKS:
        text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        for label in re.findall(r"\$\$\s*\((\S+?)\)", text):
            assert label not in labels, f"equation label {label} in {path.name} and {labels[label]}"
            labels[label] = path.name
        for name in set(re.findall(r"glue\(\s*[\"']([^\"']+)", text)):
            assert name not in glues, f"glue name {name} in {path.name} and {glues[name]}"
            glues[name] = path.name


def _equation_labels() -> set[str]:
    labels = set()
    for path in NOTEBOOKS:
        text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        labels |= set(re.findall(r"\$\$\s*\((\S+?)\)", text))
    return labels


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_are_one_column_wide(path):
    """Every stored figure is at most one text column wide (figures.column_figure), so that the reader
    sees it at its natural size, with the font sizes it was drawn with."""
    wide = []
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                width, height = struct.unpack(">II", base64.b64decode(png)[16:24])
                if width > MAX_FIGURE_WIDTH:
                    wide.append(f"cell {index}: {width} x {height} px")
    assert not wide, (f"figures wider than {MAX_FIGURE_WIDTH} px (draw them with figures.column_figure, "
                      f"at most two panels per row): {wide}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_equation_label_in_code_strings(path):
    """A legend or title reads words, not an internal label such as "exact, eq. (zipf-scaling-loss)"."""
    labels = _equation_labels()
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(labels, key=len, reverse=True)))
                         + r")(?![\w-])")
    found = []
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                           for line in "".join(cell["source"]).splitlines())
        previous = []   # the last two significant tokens
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)):
                # a glue name may equal a label: only the first argument of glue(...) is exempt
                glue_name = ([t.string for t in previous[-2:]] in (["glue", "("], ["glue_number", "("])
                             and token.string.strip("\"'rbf") in labels)
                if pattern.search(token.string) and not glue_name:
                    found.append(f"cell {index}: {token.string[:80]}")
            if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                                  tokenize.DEDENT):
                previous = (previous + [token])[-2:]
    assert not found, f"strings naming an equation label (say it in words or with its number): {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_ends_with_its_known_gaps(path):
    last = json.loads(path.read_text())["cells"][-1]
    tagged = last["cell_type"] == "markdown" and "known-gaps" in last.get("metadata", {}).get("tags", [])
    assert tagged, f"the last cell must be a markdown cell tagged 'known-gaps' starting with {KNOWN_GAPS_HEADING!r}"
    assert "".join(last["source"]).lstrip().startswith(KNOWN_GAPS_HEADING), \
        f"the known-gaps cell must start with {KNOWN_GAPS_HEADING!r}"


def test_status_page_and_readme_table_are_generated():
    """book/status.md and the README's wall-time table are what tools/write_status.py writes from
    book/_timings.json and the sources (`make book` regenerates them)."""
    spec = importlib.util.spec_from_file_location("write_status", ROOT / "tools" / "write_status.py")
    write_status = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(write_status)
    assert (BOOK / "status.md").read_text() == write_status.render_status(), \
        "book/status.md is stale: run `python tools/write_status.py` (make book does)"
    readme = (ROOT / "README.md").read_text()
    assert write_status.update_readme(readme) == readme, \
        "the README's wall-time table is stale: run `python tools/write_status.py` (make book does)"
