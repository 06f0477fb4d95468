"""A rerun of a chapter renders like the book: its prose shows the rerun's numbers, not role syntax.

The test reruns the tuned-rate chapter with log10_T_max = 8 (papermill, as `make notebooks CHAPTER=...
PARAMS=...` does), renders it with tools/render_variant.py (as `make variant-html` does) and reads the
page: every `{glue:text}` of the chapter shows the value that this run glued (formatted as the role
asks), at least one of them differs from the stored book's, no MyST role is left as text, the math is
typeset by the local MathJax, citations link to the bibliography and a note names the parameters.
"""

from __future__ import annotations

import ast
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER, PARAMS = "tuned_rate", "-p log10_T_max 8"
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
GLUE_ROLE = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]*))?`")


def glued_values(path: Path) -> dict[str, object]:
    """Every value a notebook glued (myst_nb.glue stores its text/plain repr under the glue's name)."""
    values = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            plain = next((v for k, v in output.get("data", {}).items() if k.endswith("text/plain")), None)
            if name and plain is not None:
                text = "".join(plain) if isinstance(plain, list) else plain
                try:
                    values[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    values[name] = text
    return values


def shown(value, spec: str | None) -> str:
    """What `{glue:text}` writes for a glued value, with an optional format spec (as myst_nb does)."""
    return format(value, spec) if spec else str(value)


def page_text(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


@pytest.fixture(scope="module")
def rendered():
    run = subprocess.run([sys.executable, "tools/run_notebooks.py", "--chapter", CHAPTER, "--params", PARAMS],
                         cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert run.returncode == 0, f"the rerun failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    variant = ROOT / re.search(r"-> (\S+\.ipynb)", run.stdout).group(1)
    render = subprocess.run([sys.executable, "tools/render_variant.py", str(variant)], cwd=ROOT, env=ENV,
                            capture_output=True, text=True)
    assert render.returncode == 0, f"rendering the rerun failed:\n{render.stdout[-3000:]}\n{render.stderr[-3000:]}"
    page = ROOT / re.search(r"rendered in \d+ s: (\S+)", render.stdout).group(1)
    return variant, page


def test_prose_shows_the_reruns_numbers(rendered):
    variant, page = rendered
    ours, book = glued_values(variant), glued_values(ROOT / "book" / f"{CHAPTER}.ipynb")
    markdown = "".join("".join(c["source"]) for c in json.loads(variant.read_text())["cells"]
                       if c["cell_type"] == "markdown")
    roles = set(GLUE_ROLE.findall(markdown))
    assert roles, f"{CHAPTER} glues no number into its prose: pick another chapter for this test"
    text = page_text(page)
    missing = [f"{name}{':' + spec if spec else ''} = {shown(ours[name], spec)!r}"
               for name, spec in sorted(roles) if shown(ours[name], spec) not in text]
    assert not missing, f"{page.name}: glued values of the rerun missing from its page: {missing}"
    changed = [name for name, spec in roles if shown(ours[name], spec) != shown(book[name], spec)]
    assert changed, "no glued number differs from the book's: the rerun's parameters did not reach the prose"


def test_no_role_left_as_text_and_math_and_citations_resolve(rendered):
    _, page = rendered
    source = page.read_text(encoding="utf-8")
    text = page_text(page)
    left = re.findall(r"\{(?:glue|eq|cite|ref|doc|numref)(?::[a-z]+)?\}`[^`]*`", text)
    assert not left, f"{page.name}: roles left as text: {left[:8]}"
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", source)
    assert any(s.split("?")[0].endswith("_static/mathjax/tex-chtml.js") for s in scripts), f"no local MathJax in {scripts}"
    assert not [s for s in scripts if re.match(r"(https?:)?//", s)], f"scripts from the network: {scripts}"
    assert 'class="math' in source, "no math on the page"
    if "{cite" in json.dumps(json.loads((ROOT / "book" / f"{CHAPTER}.ipynb").read_text())["cells"]):
        assert re.search(r'href="bibliography\.html#', source), "citations do not link to the bibliography"
    assert "rerun of the chapter with" in text and "log10_T_max = 8" in text, "no note naming the rerun's parameters"
