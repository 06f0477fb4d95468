"""Write book/status.md and the README's wall-time table from one measurement file, book/_timings.json.

    python tools/write_status.py                         # regenerate both from the stored measurements
    python tools/write_status.py --record "make test" 241  # store a command's wall time, then regenerate

book/_timings.json holds each chapter's execution time (written by tools/run_notebooks.py after a full
`make notebooks`) and the wall times of `make book`, `make pdf` and `make test` (recorded by the
Makefile when the command succeeds), each with the date and the machine's load. A stored time is
replaced only when a new one differs from it by more than half, so that re-running with nothing
changed leaves git clean while a real change of cost shows up.

The status page lists, per chapter: its execution time; what checks it (the asserts inside the
chapter, the bad-parameter cases of its validation cell, the library modules it imports and the
test files that test them, with their test and check counts, all counted in the code); and its
known gaps (the chapter's last cell, tagged `known-gaps`, with glued numbers written out). The README
shows the same measurements between the markers `<!-- timings:start -->` and `<!-- timings:end -->`.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TIMINGS = ROOT / "book" / "_timings.json"
STATUS = ROOT / "book" / "status.md"
README = ROOT / "README.md"
TESTS = ROOT / "tests"
KEY_PACKAGES = ["numpy", "scipy", "sympy", "mpmath", "matplotlib", "papermill", "nbval", "pytest",
                "hypothesis", "jupyter-book", "myst-nb", "sphinx", "django-static-mathjax", "playwright", "pypdf"]
COMMANDS = ["make book", "make pdf", "make test"]
LABELS = {"make pdf": " (after `make book`)", "make test": " (book, PDF, pytest, nbval)"}
HYSTERESIS = 0.5
START, END = "<!-- timings:start -->", "<!-- timings:end -->"


# ---------------------------------------------------------------- measurements

def load_timings() -> dict:
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    data.setdefault("chapters", {})
    data.setdefault("commands", {})
    return data


def machine() -> str:
    return f"a {os.cpu_count()}-core {platform.machine()} machine with Python {platform.python_version()}"


def store(data: dict) -> None:
    TIMINGS.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def changed(old: float | None, new: float) -> bool:
    return old is None or abs(new - old) > HYSTERESIS * old


def record_command(name: str, seconds: float) -> bool:
    """Store a command's wall time if it differs from the stored one by more than half."""
    data = load_timings()
    old = data["commands"].get(name, {}).get("seconds")
    if not changed(old, seconds):
        return False
    data["commands"][name] = {"seconds": round(seconds), "date": datetime.date.today().isoformat(),
                              "load": round(os.getloadavg()[0], 1), "machine": machine()}
    store(data)
    return True


# ---------------------------------------------------------------- what checks each chapter

def toc_chapters() -> list[str]:
    """Notebook chapters in _toc.yml order (file stems)."""
    stems = re.findall(r"file:\s*book/(\S+)", (ROOT / "_toc.yml").read_text())
    return [s for s in stems if (ROOT / "book" / f"{s}.ipynb").exists()]


def cells(stem: str) -> list[dict]:
    return json.loads((ROOT / "book" / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]


def chapter_title(stem: str) -> str:
    for cell in cells(stem):
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return stem


def python_of(cell: dict) -> str:
    """A code cell's source without IPython magics, so that it parses as Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in "".join(cell["source"]).splitlines())


def count_checks(tree: ast.AST) -> int:
    """assert statements, numpy.testing assert_* calls and pytest.raises / warns blocks."""
    n = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            n += 1
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name.startswith("assert_") or name in ("raises", "warns"):
                n += 1
    return n


def chapter_checks(stem: str) -> tuple[int, set[str]]:
    """The asserts in a chapter's code cells and the scalinglaws modules it imports."""
    asserts, modules = 0, set()
    for cell in cells(stem):
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse(python_of(cell))
        except SyntaxError:
            continue
        asserts += count_checks(tree)
        modules |= imported_modules(tree)
    return asserts, modules


def imported_modules(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "scalinglaws":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scalinglaws."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("scalinglaws.")}
    return {m for m in found if (ROOT / "lib" / "scalinglaws" / f"{m}.py").exists() and not m.startswith("_")
            and m not in ("figures", "prose")}


def test_files() -> dict[str, dict]:
    """Per test file: the scalinglaws modules it imports, its test functions and its checks."""
    files = {}
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name.startswith("test_")]
        files[path.name] = {"modules": imported_modules(tree), "tests": len(tests), "checks": count_checks(tree)}
    return files


def parameter_cases(stem: str) -> int:
    path = TESTS / "chapter_parameters" / f"{stem}.yml"
    return len(yaml.safe_load(path.read_text()) or []) if path.exists() else 0


# ---------------------------------------------------------------- known gaps

def glued_values(notebook_cells) -> dict[str, object]:
    """Every value the cells glued: myst_nb.glue stores its text/plain repr under the glue's name
    (a Python literal where it parses as one, else the text)."""
    values = {}
    for cell in notebook_cells:
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


def glued(stem: str) -> dict[str, object]:
    return glued_values(cells(stem))


def known_gaps(stem: str) -> str | None:
    """The chapter's `known-gaps` cell, made to stand on the status page (glue written out, headings demoted)."""
    cell = next((c for c in cells(stem) if c["cell_type"] == "markdown"
                 and "known-gaps" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return None
    values = glued(stem)

    def paste(match: re.Match) -> str:
        name, spec = match.group(1), match.group(2)
        if name not in values:
            return f"`{name}`"
        return format(values[name], spec) if spec else str(values[name])

    text = "".join(cell["source"])
    text = re.sub(r"\{glue(?::text|:any)?\}`([^`:]+)(?::([^`]*))?`", paste, text)
    lines = []
    for line in text.splitlines():
        if re.match(r"^##\s", line) or re.match(r"^\(\S+\)=\s*$", line):
            continue  # the cell's own heading and labels stay in the chapter
        lines.append("#" + line if re.match(r"^#{3,}\s", line) else line)  # one level under the chapter
    return "\n".join(lines).strip()


# ---------------------------------------------------------------- pages

def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def seconds(value: float | None) -> str:
    if value is None:
        return "not yet measured"
    return f"{value:.0f} s" if value < 120 else f"{value:.0f} s ({value / 60:.1f} min)"


def measured_note(entry: dict) -> str:
    return f"{entry['date']}, load average {entry['load']}" if entry.get("date") else ""


def render_status() -> str:
    timings = load_timings()
    chapters = toc_chapters()
    tests = test_files()
    total = sum(timings["chapters"].get(s) or 0.0 for s in chapters)
    lines = [
        "# Status of the book", "",
        "Generated by `tools/write_status.py` from the measurements in `book/_timings.json` (the README's",
        "wall-time table comes from the same file) and from the code of the chapters and tests.", "",
        "## Execution time of each chapter", "",
        f"With its default parameters, as measured by `make notebooks` on {timings.get('machine') or machine()}"
        + (f" on {timings['measured']}" if timings.get("measured") else "") + ". A stored time is replaced when",
        "a run measures one that differs from it by more than half, so small fluctuations do not rewrite",
        "this page; times measured on a loaded machine are longer.", "",
        "| chapter | execution time |", "|---|---|",
    ]
    for stem in chapters:
        lines.append(f"| {{doc}}`{stem}` | {seconds(timings['chapters'].get(stem))} |")
    lines += [f"| **all chapters** (`make notebooks`) | **{seconds(total)}** |", ""]
    commands = [c for c in COMMANDS if c in timings["commands"]]
    if commands:
        lines += ["| command | wall time | measured |", "|---|---|---|"]
        lines += [f"| `{c}`{LABELS.get(c, '')} | {seconds(timings['commands'][c]['seconds'])} | "
                  f"{measured_note(timings['commands'][c])} |" for c in commands]
        lines.append("")
    lines += [
        "## What checks each chapter", "",
        "`make test` re-executes every chapter (nbval) and compares every output with the stored one,",
        "figures byte for byte. Beyond that, each chapter is checked by the asserts it runs itself, by the",
        "bad parameter values its validation cell must refuse (`tests/chapter_parameters/`), and by the",
        "tests of the library modules it imports. Checks are `assert` statements, `numpy.testing`",
        "`assert_*` calls and `pytest.raises` blocks, counted in the code.", "",
        "| chapter | asserts in the chapter | refused parameter cases | modules | their tests (tests, checks) |",
        "|---|---|---|---|---|",
    ]
    for stem in chapters:
        asserts, modules = chapter_checks(stem)
        covering = [f"`{name}` ({info['tests']}, {info['checks']})" for name, info in tests.items()
                    if info["modules"] & modules]
        lines.append(f"| {{doc}}`{stem}` | {asserts} | {parameter_cases(stem)} | "
                     f"{', '.join(f'`{m}`' for m in sorted(modules)) or 'none'} | "
                     f"{', '.join(covering) or 'none'} |")
    lines += ["", "## Known gaps", "",
              "What each chapter does not show, or where its numbers show less than the published claims:",
              "the last cell of each chapter (tagged `known-gaps`), repeated here.", ""]
    for stem in chapters:
        lines.append(f"### {chapter_title(stem)}")
        lines.append("")
        gaps = known_gaps(stem)
        lines.append(gaps if gaps else f"*The chapter has no `known-gaps` cell yet* ({{doc}}`{stem}`).")
        lines.append("")
    lines += ["## Environment", "",
              "Python 3.11, with the versions pinned in `requirements.txt`; the main ones:", "",
              "| package | version |", "|---|---|"]
    pins = pinned_versions()
    lines += [f"| {name} | {pins[name]} |" for name in KEY_PACKAGES if name in pins]
    lines += ["", "Math is typeset by the copy of MathJax in the django-static-mathjax package; the book",
              "requests nothing from the network. The PDF is printed by Debian's Chromium, with Debian's",
              "fonts-noto-cjk for the Chinese titles of the source articles.", ""]
    return "\n".join(lines)


def render_readme_table() -> str:
    timings = load_timings()
    chapters = toc_chapters()
    total = sum(timings["chapters"].get(s) or 0.0 for s in chapters)
    rows = ["| command | wall time | measured |", "|---|---|---|",
            f"| `make notebooks` (all {len(chapters)} chapters; each one's time on the status page) | "
            f"{seconds(total)} | {timings.get('measured', 'undated')} |"]
    for name in COMMANDS:
        entry = timings["commands"].get(name)
        if entry:
            rows.append(f"| `{name}`{LABELS.get(name, '')} | {seconds(entry['seconds'])} | {measured_note(entry)} |")
    machine_text = timings.get("machine") or machine()
    return "\n".join([START, f"Measured on {machine_text} (from `book/_timings.json`, as the status page):", "",
                      *rows, END])


def update_readme(text: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"README.md lacks the markers {START} ... {END} around the wall-time table")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + render_readme_table() + tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", nargs=2, metavar=("COMMAND", "SECONDS"),
                        help='store a wall time, e.g. --record "make test" 241')
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if book/status.md or the README's table is stale")
    args = parser.parse_args()
    if args.check:
        stale = [str(path.relative_to(ROOT)) for path, fresh in
                 [(STATUS, render_status()), (README, update_readme(README.read_text()))]
                 if not path.exists() or path.read_text() != fresh]
        if stale:
            raise SystemExit(f"stale: {', '.join(stale)}; run `python tools/write_status.py` (make book does) "
                             f"and commit the result")
        return
    if args.record:
        record_command(args.record[0], float(args.record[1]))
    text = render_status()
    if not STATUS.exists() or STATUS.read_text() != text:
        STATUS.write_text(text)
    readme = README.read_text()
    new = update_readme(readme)
    if new != readme:
        README.write_text(new)


if __name__ == "__main__":
    main()
