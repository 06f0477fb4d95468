"""A chapter refuses, at its validation cell, every parameter value it cannot honour.

The cases live in ``tests/chapter_parameters/<chapter>.yml``, one file per chapter: out-of-domain
values, wrong types, values that would make an assert vacuous (a tolerance of inf), sizes that would
take far more than ten minutes or more memory than the machine has. Each case gives the overrides
and fragments of the message; the message must also name the parameter (``name``, or the case's only
key) and say what was given (``got``).

Every case is checked in-process, quickly: the chapter's parameters cell, then the overrides, then its
validation cell, which must raise ValueError (within a few seconds: validation must not compute).
The first case of each chapter is also run through papermill, as a reader would run it
(`make notebooks CHAPTER=... PARAMS=...`), and must stop at the validation cell.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import papermill
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CASES_DIR = Path(__file__).resolve().parent / "chapter_parameters"
CHAPTERS = sorted(p.stem for p in BOOK.glob("*.ipynb"))


def load_cases(chapter: str) -> list[dict]:
    path = CASES_DIR / f"{chapter}.yml"
    if not path.exists():
        return []
    cases = yaml.safe_load(path.read_text()) or []
    for case in cases:
        assert set(case) <= {"params", "message", "name"}, f"{path.name}: unknown keys in {case}"
        if "name" not in case:
            assert len(case["params"]) == 1, f"{path.name}: give 'name' for a case with several overrides"
            case["name"] = next(iter(case["params"]))
    return cases


ALL_CASES = [(chapter, i, case) for chapter in CHAPTERS for i, case in enumerate(load_cases(chapter))]


def _cell_sources(chapter: str) -> tuple[str, str]:
    nb = json.loads((BOOK / f"{chapter}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    return "".join(code[0]["source"]), "".join(code[1]["source"])


def test_every_chapter_has_bad_parameter_cases():
    missing = [c for c in CHAPTERS if not load_cases(c)]
    assert not missing, f"add tests/chapter_parameters/<chapter>.yml with at least one case for: {missing}"


@pytest.mark.parametrize(("chapter", "index", "case"), ALL_CASES,
                         ids=[f"{c}-{i}-{'-'.join(map(str, case['params']))}" for c, i, case in ALL_CASES])
def test_validation_cell_refuses(chapter, index, case):
    parameters, validation = _cell_sources(chapter)
    namespace: dict = {}
    exec(compile(parameters, f"{chapter}:parameters", "exec"), namespace)
    namespace.update(case["params"])
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:  # noqa: PT011 (the message is checked below)
        exec(compile(validation, f"{chapter}:validation", "exec"), namespace)
    elapsed = time.perf_counter() - start
    message = str(info.value)
    for fragment in [case["name"], "got", *case.get("message", [])]:
        assert fragment in message, f"{fragment!r} not in the message: {message}"
    assert elapsed < 5, f"the validation cell took {elapsed:.1f} s: it must check, not compute"


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if load_cases(c)])
def test_bad_parameter_stops_papermill_at_validation(chapter, tmp_path):
    case = load_cases(chapter)[0]
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(str(BOOK / f"{chapter}.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters=case["params"], kernel_name="python3", cwd=str(BOOK),
                                   progress_bar=False, log_output=False)
    error = info.value
    assert error.ename == "ValueError"
    for fragment in [case["name"], "got", *case.get("message", [])]:
        assert fragment in error.evalue, error.evalue
    # cell 1: parameters, cell 2: papermill's injected parameters, cell 3: the validation cell
    assert error.exec_count == 3, f"stopped at cell {error.exec_count}, not at the validation cell"
