"""Render a rerun of a chapter (a variant notebook) exactly as the book renders the chapter.

    python tools/render_variant.py _build/variants/tuned_rate/tuned_rate__log10_T_max=8.ipynb

`make notebooks CHAPTER=x PARAMS=...` writes an executed variant under _build/variants/. This script
builds it with the book's own Jupyter Book machinery, offline: a temporary project in
_build/variant-book/<variant>/ holds the book's _config.yml and _toc.yml, references.bib, the book's
pages (linked, not copied) and, in place of the chapter, the variant. So the glued numbers in the
prose are the variant's, equations are numbered as in the book, citations and links to the other
chapters resolve, and math is typeset by the local MathJax. A note under the chapter's title names
the parameters of the rerun.

The page is written to _build/variant-book/<variant>/_build/html/book/<chapter>.html (printed at the
end). Warnings are errors, as for the book: a glue name that the variant did not produce, say, stops
the build with a message naming it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
WORK = ROOT / "_build" / "variant-book"


def chapter_of(variant: Path) -> str:
    """The chapter a variant reruns: `<chapter>__<parameters>.ipynb` (tools/run_notebooks.py names it)."""
    stem = variant.stem.split("__", 1)[0]
    if not (BOOK / f"{stem}.ipynb").exists():
        known = ", ".join(sorted(p.stem for p in BOOK.glob("*.ipynb")))
        raise SystemExit(f"{variant.name}: no chapter {stem!r} in book/ (a variant is named "
                         f"<chapter>__<parameters>.ipynb; chapters are: {known})")
    return stem


def injected_parameters(nb) -> list[str]:
    """The assignments papermill injected (the cell it tags `injected-parameters`)."""
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            return [line.strip() for line in cell.source.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    return []


def annotate(nb) -> None:
    """Say under the title that this page is a rerun, and with which parameters."""
    params = injected_parameters(nb)
    shown = ", ".join(f"`{p}`" for p in params) if params else "the default parameters"
    note = nbformat.v4.new_markdown_cell(
        ":::{note}\n"
        f"This page is a rerun of the chapter with {shown}. Every number in its prose was computed by "
        "this run; the book's own page uses the chapter's default parameters.\n"
        ":::")
    note.metadata["tags"] = ["variant-note"]
    first_markdown = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
    nb.cells.insert(first_markdown + 1, note)


def write_project(variant: Path, chapter: str, project: Path) -> None:
    if project.exists():
        shutil.rmtree(project)
    (project / "book").mkdir(parents=True)
    for entry in BOOK.iterdir():
        if entry.name != f"{chapter}.ipynb" and not entry.name.startswith("."):
            (project / "book" / entry.name).symlink_to(entry)
    nb = nbformat.read(variant, as_version=4)
    annotate(nb)
    nbformat.write(nb, project / "book" / f"{chapter}.ipynb")
    for name in ("_toc.yml", "references.bib"):
        (project / name).symlink_to(ROOT / name)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    params = ", ".join(injected_parameters(nb)) or "defaults"
    config["title"] = f"{config['title']} (rerun of one chapter: {params})"
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {name: str((ROOT / path).resolve())
                                  for name, path in sphinx.get("local_extensions", {}).items()}
    sphinx["config"]["html_static_path"] = [str((ROOT / p).resolve()) for p in sphinx["config"]["html_static_path"]]
    (project / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", type=Path, help="an executed notebook under _build/variants/")
    args = parser.parse_args()
    variant = args.variant.resolve()
    if not variant.is_file():
        raise SystemExit(f"{args.variant}: no such notebook (make notebooks CHAPTER=x PARAMS=... writes one "
                         f"under _build/variants/)")
    start = time.perf_counter()
    chapter = chapter_of(variant)
    project = WORK / re.sub(r"[^A-Za-z0-9._=-]+", "_", variant.stem)
    subprocess.run([sys.executable, str(ROOT / "tools" / "stage_mathjax.py")], check=True)
    write_project(variant, chapter, project)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(project), "--builder", "html", "-W", "-n",
                             "--keep-going", "--quiet"], env={**os.environ, "PYTHONWARNINGS": "ignore"})
    page = project / "_build" / "html" / "book" / f"{chapter}.html"
    if result.returncode != 0 or not page.exists():
        raise SystemExit(f"rendering {args.variant} failed (the warnings above say why); "
                         f"the temporary project is {project.relative_to(ROOT)}")
    print(f"rendered in {time.perf_counter() - start:.0f} s: {page.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
