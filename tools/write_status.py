"""Write book/status.md: each chapter's execution time and the environment the book is built with.

Execution times come from book/_timings.json, which tools/run_notebooks.py updates when a full
`make notebooks` run measures a time that differs by more than half from the stored one (so that a
re-run with nothing changed leaves git clean, while a real change of cost shows up).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMINGS = ROOT / "book" / "_timings.json"
STATUS = ROOT / "book" / "status.md"
KEY_PACKAGES = ["numpy", "scipy", "sympy", "mpmath", "matplotlib", "papermill", "nbval", "pytest",
                "hypothesis", "jupyter-book", "myst-nb", "sphinx", "django-static-mathjax", "playwright"]


def toc_chapters() -> list[str]:
    """Notebook chapters in _toc.yml order (file stems)."""
    stems = re.findall(r"file:\s*book/(\S+)", (ROOT / "_toc.yml").read_text())
    return [s for s in stems if (ROOT / "book" / f"{s}.ipynb").exists()]


def chapter_title(stem: str) -> str:
    nb = json.loads((ROOT / "book" / f"{stem}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return stem


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def render() -> str:
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {"chapters": {}, "machine": ""}
    lines = [
        "# Status of the book",
        "",
        "Execution time of each chapter with its default parameters, as measured by `make notebooks`",
        f"on {timings.get('machine') or 'the development machine'}. A stored time is replaced when a run",
        "measures one that differs from it by more than half, so small fluctuations do not rewrite this page.",
        "`make test` re-executes every chapter (nbval) and compares every output, figures included.",
        "",
        "| chapter | notebook | execution time |",
        "|---|---|---|",
    ]
    total = 0.0
    for stem in toc_chapters():
        seconds = timings["chapters"].get(stem)
        total += seconds or 0.0
        shown = f"{seconds:.0f} s" if seconds is not None else "not yet measured"
        lines.append(f"| {chapter_title(stem)} | `book/{stem}.ipynb` | {shown} |")
    lines += [f"| **all chapters** | | **{total:.0f} s** |", "", "## Environment", "",
              "Python 3.11, with the versions pinned in `requirements.txt`; the main ones:", "",
              "| package | version |", "|---|---|"]
    pins = pinned_versions()
    lines += [f"| {name} | {pins[name]} |" for name in KEY_PACKAGES if name in pins]
    lines += ["", "Math is typeset by the copy of MathJax in the django-static-mathjax package; the book",
              "requests nothing from the network.", ""]
    return "\n".join(lines)


def main() -> None:
    text = render()
    if not STATUS.exists() or STATUS.read_text() != text:
        STATUS.write_text(text)


if __name__ == "__main__":
    main()
