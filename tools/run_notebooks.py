"""Execute the book's chapters with papermill and normalise what papermill writes.

    python tools/run_notebooks.py                       # every chapter in book/, in place
    python tools/run_notebooks.py --chapter linear1d    # one chapter, in place
    python tools/run_notebooks.py --chapter linear1d --params "-p T 1000"
                                                        # a variant, under _build/variants/

A run with parameters never touches the stored book: its output goes to
_build/variants/<chapter>/<chapter>__<parameters>.ipynb.
"""

from __future__ import annotations

import argparse
import datetime
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import json
import os
import platform

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
VARIANTS = ROOT / "_build" / "variants"
KERNEL = "python3"


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stdout (or stderr) outputs: how the kernel splits a stream depends on timing."""
    merged = []
    for output in outputs:
        if (output.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == output.get("name")):
            merged[-1]["text"] = merged[-1]["text"] + output["text"]
        else:
            merged.append(output)
    return merged


def normalise(path: Path) -> None:
    """Drop run-specific metadata so that re-executing an unchanged chapter gives no diff."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    lang = nb.metadata.get("language_info", {})
    nb.metadata["language_info"] = {"name": lang.get("name", "python")}
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": KERNEL}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    nbformat.write(nb, path)


def chapter_path(name: str) -> Path:
    path = BOOK / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in BOOK.glob("*.ipynb")))
        raise SystemExit(f"no chapter {name!r} in book/; chapters are: {known}")
    return path


def variant_path(source: Path, params: str) -> Path:
    tag = re.sub(r"[^A-Za-z0-9.=_-]+", "_", "_".join(shlex.split(params)))
    tag = re.sub(r"(^|_)-[pry]_+", r"\1", tag).strip("_") or "default"
    return VARIANTS / source.stem / f"{source.stem}__{tag}.ipynb"


def execute(source: Path, target: Path, params: str) -> float:
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "papermill", str(source), str(target), "-k", KERNEL,
           "--cwd", str(source.parent), "--no-progress-bar", *shlex.split(params)]
    start = time.perf_counter()
    result = subprocess.run(cmd)
    elapsed = time.perf_counter() - start
    if target.exists():
        normalise(target)
    if result.returncode != 0:
        raise SystemExit(f"{source.name}: execution failed (see the traceback above); "
                         f"the partly executed notebook is {target}")
    return elapsed


TIMINGS = BOOK / "_timings.json"


def record_timings(measured: dict[str, float]) -> None:
    """Store execution times, replacing a stored one only when it is off by more than half."""
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {"machine": "", "chapters": {}}
    changed = False
    for stem, seconds in measured.items():
        old = data["chapters"].get(stem)
        if old is None or abs(seconds - old) > 0.5 * old:
            data["chapters"][stem] = round(seconds, 1)
            changed = True
    if changed:
        data["machine"] = f"a {os.cpu_count()}-core {platform.machine()} machine with Python {platform.python_version()}"
        data["measured"] = datetime.date.today().isoformat()
        TIMINGS.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    subprocess.run([sys.executable, str(ROOT / "tools" / "write_status.py")], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", help="chapter name (file stem in book/)")
    parser.add_argument("--params", default="", help="papermill parameters, e.g. '-p T 1000'")
    args = parser.parse_args()
    if args.params and not args.chapter:
        raise SystemExit("PARAMS needs CHAPTER: parameters differ from chapter to chapter")
    sources = [chapter_path(args.chapter)] if args.chapter else sorted(BOOK.glob("*.ipynb"))
    total = time.perf_counter()
    measured = {}
    for source in sources:
        target = variant_path(source, args.params) if args.params else source
        elapsed = execute(source, target, args.params)
        print(f"{source.stem}: {elapsed:.1f} s -> {target.relative_to(ROOT)}", flush=True)
        if args.params:
            print(f"render it as a page of the book with: make variant-html VARIANT={target.relative_to(ROOT)}")
        else:
            measured[source.stem] = elapsed
    if measured:
        record_timings(measured)
    print(f"make notebooks: wall time {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main()
