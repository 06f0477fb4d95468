"""Every public function of ``scalinglaws`` refuses bad input clearly and answers its valid example.

The functions are discovered from each module's ``__all__`` (a new public function without an entry in
``tools/fuzz_registry.py`` fails ``test_registry_covers``). For every numeric argument of every
registered example call, the fast core of the fuzz (``tools/fuzz_public_api.py``) substitutes NaN,
inf (unless the domain includes it), a string, None (unless the argument is optional), True and the
first value outside the argument's domain; each must raise ``ValueError`` with a message that names
the argument. Each valid example must return a finite result that passes the registry's oracle.

The whole fuzz (extreme sizes, memory and time caps, oracles on extreme values) is slower and runs
outside pytest: ``.venv/bin/python tools/fuzz_public_api.py``. Each call here is interrupted after
``CALL_SECONDS`` so that an unvalidated argument cannot stall the suite.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from fuzz_public_api import execute, plan, public_functions, registry_problems
from fuzz_registry import ENTRIES

CALL_SECONDS = 5.0
FUNCTIONS = public_functions()


class CallTimeout(BaseException):
    """Raised by the alarm; a BaseException so that the classifier does not take it for a crash."""


def _alarm(signum, frame):
    raise CallTimeout


def _run(qualname, ex, kwargs, pert=None) -> dict:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CALL_SECONDS)
    try:
        return execute(qualname, FUNCTIONS[qualname], ex, kwargs, pert)
    except CallTimeout:
        return {"call": "(see the perturbation)", "outcome": "hang",
                "message": f"no answer within {CALL_SECONDS:.0f} s"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        import matplotlib.pyplot as plt
        plt.close("all")


def _numeric_cases():
    cases = []
    for q in sorted(FUNCTIONS):
        for i, ex in enumerate(ENTRIES.get(q, [])):
            for name, arg in ex.args.items():
                if arg.numeric:
                    cases.append(pytest.param(q, i, name, id=f"{q}-{i}-{name}"))
    return cases


def test_every_registry_entry_names_a_public_function():
    # a function dropped from a module's __all__ (or renamed) would otherwise lose its fuzz silently
    assert FUNCTIONS, "no public functions found: is scalinglaws importable?"
    stale = sorted(set(ENTRIES) - set(FUNCTIONS))
    assert not stale, f"registry entries without a public function: {stale}"


@pytest.mark.parametrize("qualname", sorted(FUNCTIONS))
def test_registry_covers(qualname):
    problems = registry_problems(qualname, FUNCTIONS[qualname])
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.mark.parametrize("qualname", sorted(q for q in FUNCTIONS if q in ENTRIES))
def test_valid_example_returns_finite_output(qualname):
    failures = []
    for i, ex, kwargs, _ in plan(qualname):
        record = _run(qualname, ex, kwargs)
        if record["outcome"] != "ok" or "oracle skipped" in str(record.get("message") or ""):
            failures.append(f"example {i}: {record.get('call', qualname)}\n    -> {record['outcome']}: "
                            f"{record.get('message')}")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


@pytest.mark.parametrize("qualname, example, arg", _numeric_cases())
def test_bad_values_are_refused_naming_the_argument(qualname, example, arg):
    from fuzz_spec import perturbations
    _, ex, kwargs, _ = plan(qualname)[example]
    failures = []
    for pert in perturbations(arg, ex.args[arg], kwargs.get(arg)):
        if not pert.core:
            continue
        record = _run(qualname, ex, ex.kwargs(), pert)
        if record["outcome"] != "named":
            want = " or ".join(repr(n) for n in pert.names)
            failures.append(f"{qualname}(..., {arg}={pert.label}): expected a ValueError naming {want}, got "
                            f"{record['outcome']}: {record.get('message')}")
    if failures:
        pytest.fail(f"{len(failures)} bad value(s) of {arg!r} not refused clearly:\n" + "\n".join(failures),
                    pytrace=False)
