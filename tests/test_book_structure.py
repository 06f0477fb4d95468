"""The book's structure: every chapter in _toc.yml exists, every notebook is in _toc.yml, and every
chapter follows the conventions the pipeline relies on (parameters cell, then a validation cell,
stored outputs from a complete run)."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
TOC_ENTRIES = re.findall(r"(?:root|file):\s*(\S+)", (ROOT / "_toc.yml").read_text())
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


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
