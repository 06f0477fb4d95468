"""Fuzz every public function of ``scalinglaws`` and write the findings per module.

For every public function (each module's ``__all__``, functions only) the registry
(``tools/fuzz_registry.py``) gives one or more valid example calls and the domain of every argument.
The fuzz runs each example, then perturbs one argument at a time (NaN, inf, wrong types, values
outside the domain, extreme but valid sizes; see ``tools/fuzz_spec.py``) and classifies each call:

==========  ==================================================================================
ok          a finite result that passes the registry's cheap oracle (valid input)
named       a ValueError whose message names the perturbed argument (bad input)
refused     a valid but extreme input refused by a ValueError naming an argument, a work limit
            (``check_work``) or "not representable"
unnamed     a ValueError that does not name the argument
crash       any other exception (TypeError, OverflowError, ZeroDivisionError, ...), or the worker died
hang        no answer within the time limit (20 s)
memory      MemoryError (the worker is capped at 2.5 GiB of address space)
nan         NaN or inf in the output of a valid input
wrong       the oracle says the result is obviously wrong (a loss below its floor, ...)
accepted    bad input (NaN, inf, wrong type, out of domain) returned a result instead of an error
refused-ex  the registry's valid example itself raised (a stale registry entry or a regression)
stale       no registry entry for a public function, or the registry names a missing parameter
==========  ==================================================================================

Caps on requested work.  The library refuses a request estimated above about a minute (3e10
elementary operations) or 4 GiB (``scalinglaws.work_limits``); a call the cap admits may therefore
rightly take 40 s, which is no hang.  So that "hang" and "memory" mean *an estimate that is wrong*,
each worker runs every call under caps scaled to its own limits: ``FUZZ_OPERATIONS`` = 3e9 (about
6 s at the calibration; a factor of three below the 20 s limit, for the shared, loaded machine) and
``FUZZ_MEMORY`` = 1.5 GiB (below the 2.5 GiB address-space limit, which the interpreter and its
libraries share). A size refused under these caps is reported as *refused*, with the message, as any
other; whether a size the real caps admit finishes in about a minute is a matter for the module's
benchmarks and cost docstrings. The oracle of a call runs under its own alarm (``ORACLE_SECONDS``):
an oracle that cannot decide in time says nothing (noted in the message), and the time it took is
not counted against the function.

Every call runs in one of (at most) two long-lived worker processes, each limited by
``resource.setrlimit(RLIMIT_AS, 2.5 GiB)``; a call that does not answer within 20 s is a hang and its
worker is killed and replaced by an idle spare started in advance (so no import wait). The
perturbations of one argument run in order in one worker: once a size hangs, larger sizes of that
argument are reported as hangs without being run. A full ``--owners`` run takes about 10 minutes on
the shared 2-core machine.

Usage (from the fuzz worktree, with its venv)::

    .venv/bin/python tools/fuzz_public_api.py                       # this tree's lib, all modules
    .venv/bin/python tools/fuzz_public_api.py --tree /work/wt-part1 --modules linear1d,zipf,fitting
    .venv/bin/python tools/fuzz_public_api.py --owners              # each owner's worktree, its modules
    .venv/bin/python tools/fuzz_public_api.py --functions zipf.simulate --print
    .venv/bin/python tools/fuzz_public_api.py --owners --base         # only check the registry's examples

Findings go to ``--out`` (default /work/briefs/fuzz): ``<module>.md`` per module (overwritten each
run, with the history of earlier runs' counts) and ``<module>.json`` (the raw outcomes).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import inspect
import json
import math
import os
import queue
import re
import select
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TIME_LIMIT = 20.0
MEMORY_LIMIT = int(2.5 * 2**30)
FUZZ_OPERATIONS = 3e9                 # the library's work cap inside a worker (see the docstring)
FUZZ_MEMORY = 1.5 * 2**30
ORACLE_SECONDS = 8.0
OWNERS = {  # worktree -> the modules its owner is changing (the finished helpers' modules went to fixup)
    "fixup": ["noise_scale", "batch_schedule", "critical_batch", "surge", "surge_training", "schedules",
              "schedule_optimisation"],
    "mpl": ["mpl"],
    "ll": ["learning_law"],
}
LEAD_MODULES = ["figures", "prose", "linear1d", "zipf", "fitting"]   # fuzzed on main
PROBLEMS = ("unnamed", "crash", "hang", "memory", "nan", "wrong", "accepted", "refused-ex", "stale")
GOOD = ("ok", "named", "refused")
CLASSES = GOOD + PROBLEMS


# ---------------------------------------------------------------------------------------------
# In-process part (used by the workers and by tests/test_public_api.py)
# ---------------------------------------------------------------------------------------------

def public_functions(module_names=None) -> dict[str, object]:
    """``{"module.function": function}`` for every public function of every public module."""
    import importlib
    import pkgutil

    import scalinglaws
    out = {}
    names = sorted(m.name for m in pkgutil.iter_modules(scalinglaws.__path__) if not m.name.startswith("_"))
    for name in names:
        if module_names and name not in module_names:
            continue
        module = importlib.import_module(f"scalinglaws.{name}")
        public = getattr(module, "__all__", None)
        if public is None:
            public = [n for n in vars(module) if not n.startswith("_")]
        for attr in public:
            obj = getattr(module, attr, None)
            if inspect.isfunction(obj) and obj.__module__ == module.__name__:
                out[f"{name}.{attr}"] = obj
    return out


def registry_problems(qualname: str, func) -> list[str]:
    """What is missing or stale in the registry for ``func`` (empty when its entry is complete)."""
    from fuzz_registry import ENTRIES
    if qualname not in ENTRIES:
        return [f"{qualname} has no entry in tools/fuzz_registry.py: add a valid example call and the "
                f"domain of each argument"]
    params = [p for p in inspect.signature(func).parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    out = []
    for i, ex in enumerate(ENTRIES[qualname]):
        for p in params:
            if p.name not in ex.args:
                out.append(f"{qualname} example {i}: parameter {p.name!r} has no domain in the registry")
        for name in ex.args:
            if name not in [p.name for p in params]:
                out.append(f"{qualname} example {i}: the registry names {name!r}, which is not a parameter")
    return out


def nonfinite_leaves(obj, depth: int = 0) -> list[str]:
    """Paths of NaN/inf numbers inside a result (arrays, tuples, dicts, dataclasses, library objects)."""
    import dataclasses
    from collections.abc import Mapping

    import numpy as np
    bad: list[str] = []
    if depth > 5 or obj is None or isinstance(obj, (str, bytes, bool)):
        return bad
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc" and not np.all(np.isfinite(obj)):
            n = int(np.size(obj) - np.count_nonzero(np.isfinite(obj)))
            bad.append(f"{n} of {obj.size} entries non-finite")
        return bad
    if isinstance(obj, (float, complex, np.floating, np.complexfloating)):
        return [] if np.isfinite(obj) else [repr(obj)]
    if type(obj).__module__.startswith("mpmath"):
        import mpmath
        try:
            return [] if mpmath.isfinite(obj) else [str(obj)]
        except TypeError:
            return []
    if isinstance(obj, Mapping):
        for k, v in list(obj.items())[:200]:
            bad += [f"[{k!r}]: {b}" for b in nonfinite_leaves(v, depth + 1)]
        return bad
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(list(obj)[:10000]):
            bad += [f"[{i}]: {b}" for b in nonfinite_leaves(v, depth + 1)]
        return bad
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            bad += [f".{f.name}: {b}" for b in nonfinite_leaves(getattr(obj, f.name, None), depth + 1)]
        return bad
    if type(obj).__module__.startswith("scalinglaws") and hasattr(obj, "__dict__"):
        for k, v in vars(obj).items():
            if not k.startswith("__"):
                bad += [f".{k}: {b}" for b in nonfinite_leaves(v, depth + 1)]
    return bad


def mentions(message: str, name: str) -> bool:
    """Whether ``message`` names ``name`` as a word (``T`` in "T must be", not in "The")."""
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])", message) is not None


def plan(qualname: str):
    """The example calls of one function and the perturbations of each: [(ex, kwargs, [Perturbation])]."""
    from fuzz_registry import ENTRIES
    from fuzz_spec import perturbations
    out = []
    for i, ex in enumerate(ENTRIES.get(qualname, [])):
        kwargs = ex.kwargs()
        perts = []
        for name, arg in ex.args.items():
            perts += perturbations(name, arg, kwargs.get(name))
        out.append((i, ex, kwargs, perts))
    return out


def call_repr(qualname: str, kwargs: dict, arg: str | None = None, label: str | None = None) -> str:
    from fuzz_spec import show
    parts = []
    for k, v in kwargs.items():
        parts.append(f"{k}={label}" if k == arg else f"{k}={show(v)}")
    return f"{qualname}({', '.join(parts)})"


def execute(qualname: str, func, ex, kwargs: dict, pert=None) -> dict:
    """Run one call in this process and classify it (no time or memory limit here)."""
    import warnings

    import numpy as np
    kw = dict(kwargs)
    expect = "valid" if pert is None else pert.expect
    if pert is not None:
        kw[pert.arg] = pert.value
    names = () if pert is None else pert.names
    record = {"function": qualname, "arg": None if pert is None else pert.arg,
              "label": None if pert is None else pert.label, "expect": expect,
              "call": call_repr(qualname, kw, None if pert is None else pert.arg,
                                None if pert is None else pert.label)}
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
            warnings.simplefilter("always")
            result = func(**kw)
    except MemoryError as exc:
        record.update(outcome="memory", message=f"{type(exc).__name__}: {exc}")
    except ValueError as exc:
        msg = str(exc)
        record["message"] = f"ValueError: {msg}"
        limit = ("not representable" in msg) or ("work_limits" in msg) or ("limit" in msg and "above" in msg)
        if pert is None:
            record["outcome"] = "refused-ex"
        elif expect == "invalid":
            record["outcome"] = "named" if any(mentions(msg, n) for n in names) else "unnamed"
        else:
            named_any = any(mentions(msg, n) for n in list(kw) + list(names))
            record["outcome"] = "refused" if (limit or named_any) else "unnamed"
    except Exception as exc:  # noqa: BLE001 - every other exception is a finding
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        record.update(outcome="crash", message=f"{type(exc).__name__}: {exc}"[:300] + where)
    else:
        bad = nonfinite_leaves(result)
        warned = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        note = f" [warnings: {'; '.join(warned)[:150]}]" if warned else ""
        if expect == "invalid":
            from fuzz_spec import show
            record.update(outcome="accepted", message=f"returned {show(result)}" +
                          (f" (non-finite: {bad[0]})" if bad else "") + note)
        elif bad and not ex.nonfinite_ok:
            record.update(outcome="nan", message=f"non-finite output: {'; '.join(bad[:3])}" + note)
        else:
            verdict = None
            record["seconds"] = round(time.perf_counter() - start, 3)   # the function's own time
            if ex.check is not None:
                try:
                    with _oracle_alarm():
                        verdict = ex.check(result, kw)
                except OracleTimeout:
                    verdict = None
                    note += f" [oracle skipped: no verdict within {ORACLE_SECONDS:.0f} s]"
                except Exception as exc:  # noqa: BLE001 - an oracle that cannot run says nothing
                    verdict = None
                    note += f" [oracle skipped: {type(exc).__name__}: {str(exc)[:80]}]"
            if verdict:
                record.update(outcome="wrong", message=verdict + note)
            else:
                record.update(outcome="ok", message=note.strip())
    record.setdefault("seconds", round(time.perf_counter() - start, 3))
    return record


class OracleTimeout(BaseException):
    """Raised by the oracle's alarm (a BaseException, so that an oracle's own ``except`` cannot hide it)."""


@contextlib.contextmanager
def _oracle_alarm():
    """Interrupt an oracle after ORACLE_SECONDS, where an alarm is available and not already in use.

    ``tests/test_public_api.py`` runs each call under its own alarm: there the oracle shares it.
    """
    import signal
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def _raise(signum, frame):
        raise OracleTimeout

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, ORACLE_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------------------------------
# Worker process
# ---------------------------------------------------------------------------------------------

def worker_main() -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the library's prints must not reach the protocol channel
    sys.stdout = open(os.devnull, "w")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import scalinglaws
    # every call runs under caps the worker's time and memory limits can honour (module docstring)
    caps = contextlib.ExitStack()
    caps.enter_context(scalinglaws.work_limits(operations=FUZZ_OPERATIONS, memory_bytes=FUZZ_MEMORY))
    functions = public_functions()
    plans: dict[str, list] = {}

    def send(obj):
        channel.write(json.dumps(obj) + "\n")
        channel.flush()

    send({"ready": True, "lib": str(Path(scalinglaws.__file__).parent)})
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "discover":
            names = [q for q in functions if not cmd.get("modules") or q.split(".")[0] in cmd["modules"]]
            listing = []
            for q in names:
                problems = registry_problems(q, functions[q])
                tasks = []
                if any("which is not a parameter" in p for p in problems):
                    listing.append({"function": q, "problems": problems, "tasks": []})
                    continue  # the registry is ahead of (or behind) this tree: its calls would only crash
                try:
                    for i, ex, kwargs, perts in plan(q):
                        tasks.append({"function": q, "example": i, "label": None, "call": call_repr(q, kwargs)})
                        tasks += [{"function": q, "example": i, "arg": p.arg, "label": p.label,
                                   "call": call_repr(q, kwargs, p.arg, p.label)} for p in perts]
                except Exception as exc:  # noqa: BLE001
                    problems.append(f"{q}: the registry's example could not be built: {type(exc).__name__}: {exc}")
                listing.append({"function": q, "problems": problems, "tasks": tasks})
            send({"functions": listing})
        elif cmd["op"] == "run":
            q = cmd["function"]
            if q not in plans:
                plans[q] = plan(q)
            i, ex, _, perts = plans[q][cmd["example"]]
            kwargs = ex.kwargs()  # fresh arguments for every call (a function may mutate its inputs)
            pert = None
            if cmd.get("label") is not None:
                # rebuild the perturbation from fresh arguments too
                from fuzz_spec import perturbations
                pert = next(p for p in perturbations(cmd["arg"], ex.args[cmd["arg"]], kwargs.get(cmd["arg"]))
                            if p.label == cmd["label"])
            record = execute(q, functions[q], ex, kwargs, pert)
            record["example"] = i
            plt.close("all")
            send(record)


class Worker:
    """A worker subprocess bound to one library tree."""

    def __init__(self, lib: Path, wait: bool = True):
        self.lib = None
        env = dict(os.environ, PYTHONPATH=str(lib), PYTHONDONTWRITEBYTECODE="1",
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
        import tempfile
        self.errors = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                     env=env, text=True, bufsize=1)
        self.where = lib
        if wait:
            self.wait_ready()

    def wait_ready(self) -> Worker:
        if self.lib is None:
            hello = self.read(180.0)
            if hello is None or not hello.get("ready"):
                self.kill()
                self.errors.seek(0)
                tail = self.errors.read()[-1500:]
                raise RuntimeError(f"the library in {self.where} could not be imported:\n{tail}")
            self.lib = hello["lib"]
        return self

    def read(self, timeout: float):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"died": self.proc.poll()}

    def ask(self, obj, timeout: float):
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()
        return self.read(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run_tree(lib: Path, modules: list[str] | None, functions: list[str] | None, workers: int = 2,
             progress: bool = True, base_only: bool = False) -> tuple[list[dict], list[dict], str]:
    """Discover and run every task for one library tree; returns (records, listing, lib path seen)."""
    first = Worker(lib)
    listing = first.ask({"op": "discover", "modules": modules}, 600.0)["functions"]
    if functions:
        listing = [f for f in listing if f["function"] in functions]
    # the perturbations of one argument form a group, run in order by one worker: once a size hangs,
    # the larger sizes of the same argument are not run (they would hang too, 20 s each)
    tasks: queue.Queue = queue.Queue()
    total = 0
    for f in listing:
        groups: dict[tuple, list] = {}
        for t in f["tasks"]:
            if base_only and t.get("label") is not None:
                continue
            groups.setdefault((t["function"], t["example"], t.get("arg")), []).append(t)
            total += 1
        for g in groups.values():
            tasks.put(g)
    records: list[dict] = []
    lock = threading.Lock()
    started = time.time()
    hung: dict[tuple, float] = {}  # (function, example, arg) -> smallest size that hung

    def loop(worker: Worker | None):
        spare = Worker(lib, wait=False)  # replaces a killed worker without waiting for its imports
        while True:
            try:
                group = tasks.get_nowait()
            except queue.Empty:
                break
            for task in group:
                worker, spare = run_one(task, worker, spare)
        for w in (worker, spare):
            if w is not None:
                w.kill()

    def run_one(task, worker, spare):
        key = (task["function"], task["example"], task.get("arg"))
        size = _label_number(task.get("label"))
        with lock:
            smaller = hung.get(key)
        if size is not None and smaller is not None and size > smaller:
            # a smaller size of the same argument already hung: a larger one would too (saves 20 s)
            with lock:
                records.append({"function": task["function"], "example": task["example"], "arg": task.get("arg"),
                                "label": task.get("label"), "expect": "valid", "call": task["call"],
                                "outcome": "hang", "seconds": None,
                                "message": f"not run: the smaller value {smaller:g} already took over "
                                           f"{TIME_LIMIT:.0f} s"})
            return worker, spare
        if worker is None:
            worker, spare = spare.wait_ready(), Worker(lib, wait=False)
        answer = worker.ask({"op": "run", **task}, TIME_LIMIT)
        if answer is None or "died" in answer:
            died = answer is not None
            code = worker.proc.poll()
            worker.kill()
            worker = None
            answer = {"function": task["function"], "example": task["example"], "arg": task.get("arg"),
                      "label": task.get("label"), "expect": "?", "call": task["call"],
                      "outcome": "crash" if died else "hang",
                      "message": (f"worker died (exit status {code})" if died
                                  else f"no answer within {TIME_LIMIT:.0f} s, under a work cap of "
                                       f"{FUZZ_OPERATIONS:.0e} operations (about 6 s): is the estimate "
                                       "right, or is this a loop without one?"),
                      "seconds": None if died else TIME_LIMIT}
            if not died and size is not None:
                with lock:
                    hung[key] = min(size, hung.get(key, math.inf))
        with lock:
            records.append(answer)
            if progress and len(records) % 500 == 0:
                print(f"  {len(records)}/{total} calls, {time.time() - started:.0f} s", file=sys.stderr)
        return worker, spare

    threads = [threading.Thread(target=loop, args=(first if k == 0 else None,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return records, listing, first.lib


def _label_number(label):
    """The number a size label stands for ("10**9", "1e+12", "4096"), else None."""
    if not label:
        return None
    m = re.fullmatch(r"(\d+)\*\*(\d+)", label)
    if m:
        return float(int(m.group(1)) ** int(m.group(2)))
    try:
        x = float(label)
    except ValueError:
        return None
    return x if x >= 1e6 else None


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------

def _git(tree: Path, *args) -> str:
    try:
        return subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"


def _cell(text) -> str:
    text = "" if text is None else str(text)
    text = text.replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= 300 else text[:297] + "..."


def _changed(r: dict) -> str:
    """The function and the one argument the fuzz changed, e.g. `zipf.simulate`: `T=10**9`."""
    what = "the registry's valid example" if r.get("arg") is None else f"`{_cell(r['arg'])}={_cell(r['label'])}`"
    return f"`{r['function'].split('.', 1)[1]}`: {what}"


def write_reports(out_dir: Path, tree: Path, lib_seen: str, records: list[dict], listing: list[dict],
                  seconds: float) -> dict[str, dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    branch = _git(tree, "rev-parse", "--abbrev-ref", "HEAD")
    commit = _git(tree, "rev-parse", "--short", "HEAD")
    dirty = "with uncommitted changes" if _git(tree, "status", "--porcelain", "--", "lib") else "clean"
    when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    by_module: dict[str, list[dict]] = {}
    for r in records:
        by_module.setdefault(r["function"].split(".")[0], []).append(r)
    stale: dict[str, list[str]] = {}
    for f in listing:
        for p in f["problems"]:
            stale.setdefault(f["function"].split(".")[0], []).append(p)
    summary = {}
    for module in sorted(set(by_module) | set(stale)):
        recs = by_module.get(module, [])
        counts = {c: 0 for c in CLASSES}
        for r in recs:
            counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
        counts["stale"] = len(stale.get(module, []))
        problems = sum(counts[c] for c in PROBLEMS)
        summary[module] = counts
        history_file = out_dir / f".{module}.history.json"
        history = json.loads(history_file.read_text()) if history_file.exists() else []
        history.insert(0, {"when": when, "tree": f"{tree.name}@{commit} ({dirty})", "calls": len(recs),
                           "problems": problems, **{c: counts[c] for c in PROBLEMS}})
        history = history[:50]
        history_file.write_text(json.dumps(history, indent=1))
        lines = [f"# Fuzz findings: `scalinglaws.{module}`", "",
                 f"Run {when} on `{tree}` (branch `{branch}`, commit `{commit}`, lib {dirty}); library "
                 f"imported from `{lib_seen}`. {len(recs)} calls, whole run {seconds:.0f} s. Made by "
                 "`tools/fuzz_public_api.py` from the valid examples in `tools/fuzz_registry.py`; "
                 f"each call capped at 20 s and 2.5 GiB, under work caps of {FUZZ_OPERATIONS:.0e} operations and "
                 f"{FUZZ_MEMORY / 2**30:.1f} GiB. Reproduce one function with "
                 f"`.venv/bin/python tools/fuzz_public_api.py --tree {tree} --functions {module}.NAME --print` "
                 "from a worktree with its venv.", "",
                 f"**{problems} problem(s)**: " + ", ".join(f"{c} {counts[c]}" for c in PROBLEMS if counts[c]) +
                 ("" if problems else "none") + f". Fine: ok {counts['ok']}, named {counts['named']}, "
                 f"refused {counts['refused']}.", "",
                 "Outcome classes: *unnamed* = ValueError not naming the argument; *crash* = another exception; "
                 "*hang* = over 20 s; *memory* = MemoryError at 2.5 GiB; *nan* = NaN/inf output for a valid input; "
                 "*wrong* = a cheap oracle says the result is wrong; *accepted* = bad input (NaN, inf, wrong type, "
                 "out of domain) returned a result; *refused-ex* = the registry's valid example raised; "
                 "*stale* = registry entry missing. Domains are the registry's reading of your docstrings: if one "
                 "is wrong, tell the fuzz helper (or say so in your docstring).", ""]
        if stale.get(module):
            lines += ["## Registry gaps", ""] + [f"- {_cell(p)}" for p in stale[module]] + [""]
        lines += ["## Per function", "", "| function | calls | ok | named | refused | problems |", "|---|---|---|---|---|---|"]
        per_fn: dict[str, dict] = {}
        for r in recs:
            d = per_fn.setdefault(r["function"], {c: 0 for c in CLASSES})
            d[r["outcome"]] += 1
        for fn in sorted(per_fn):
            d = per_fn[fn]
            probs = ", ".join(f"{c} {d[c]}" for c in PROBLEMS if d[c]) or "-"
            lines.append(f"| `{fn}` | {sum(d.values())} | {d['ok']} | {d['named']} | {d['refused']} | {probs} |")
        bad = [r for r in recs if r["outcome"] in PROBLEMS]
        order = {c: i for i, c in enumerate(("hang", "memory", "crash", "nan", "wrong", "accepted", "refused-ex",
                                             "unnamed"))}
        bad.sort(key=lambda r: (r["function"], order.get(r["outcome"], 9), r.get("arg") or "", r.get("label") or ""))
        lines += ["", f"## Problems ({len(bad)})", "", "| changed | outcome | message | call |", "|---|---|---|---|"]
        for r in bad:
            lines.append(f"| {_changed(r)} | {r['outcome']} | {_cell(r.get('message'))} | `{_cell(r['call'])}` |")
        refused = [r for r in recs if r["outcome"] == "refused"]
        if refused:
            lines += ["", f"## Valid inputs refused ({len(refused)}): fine if the message is right", "",
                      "Extreme but valid values (by the registry's reading of the domain) that raised a ValueError "
                      "naming an argument, a work limit or 'not representable'. Check that each message tells the "
                      "truth.", "", "| changed | message | call |", "|---|---|---|"]
            for r in sorted(refused, key=lambda r: (r["function"], r.get("arg") or "")):
                lines.append(f"| {_changed(r)} | {_cell(r.get('message'))} | `{_cell(r['call'])}` |")
        lines += ["", "## History of runs (newest first)", "",
                  "| when | tree | calls | problems | " + " | ".join(PROBLEMS) + " |",
                  "|---|---|---|---|" + "---|" * len(PROBLEMS)]
        for h in history:
            lines.append(f"| {h['when']} | {h['tree']} | {h['calls']} | {h['problems']} | " +
                         " | ".join(str(h.get(c, 0)) for c in PROBLEMS) + " |")
        (out_dir / f"{module}.md").write_text("\n".join(lines) + "\n")
        (out_dir / f"{module}.json").write_text(json.dumps(
            {"when": when, "tree": str(tree), "commit": commit, "dirty": dirty, "records": recs,
             "registry_problems": stale.get(module, [])}, indent=0))
    return summary


def write_failure(out_dir: Path, tree: Path, modules: list[str], message: str) -> None:
    """Say in each module's findings that this run could not fuzz it (earlier findings are kept below)."""
    when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = _git(tree, "rev-parse", "--short", "HEAD")
    for module in modules:
        path = out_dir / f"{module}.md"
        previous = path.read_text() if path.exists() else ""
        note = (f"> **Run {when} on `{tree}` (commit `{commit}`) could not fuzz this module**: "
                + _cell(message) + "\n> The findings below are from the previous run.\n\n")
        previous = re.sub(r"^> \*\*Run .*?previous run\.\n\n", "", previous, flags=re.DOTALL)
        path.write_text(note + previous)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="worktree whose lib/ is fuzzed")
    parser.add_argument("--modules", default="", help="comma-separated module names (default: all)")
    parser.add_argument("--functions", default="", help="comma-separated module.function names")
    parser.add_argument("--owners", action="store_true",
                        help="fuzz each owner's worktree (/work/wt-<owner>) for its modules, main for the lead's")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/work/briefs/fuzz"))
    parser.add_argument("--print", action="store_true", help="print every problem (and no report files)")
    parser.add_argument("--all", action="store_true", help="with --print: print every call, not only problems")
    parser.add_argument("--base", action="store_true", help="run only the registry's valid examples (with --print)")
    args = parser.parse_args(argv)
    if args.worker:
        worker_main()
        return 0
    if args.base:
        args.print = True
    if args.owners:
        assigned = {m for mods in OWNERS.values() for m in mods} | set(LEAD_MODULES)
        jobs = []
        for owner, mods in OWNERS.items():
            tree = Path(f"/work/wt-{owner}")
            new = sorted(p.stem for p in (tree / "lib/scalinglaws").glob("*.py")
                         if p.stem not in assigned and not p.stem.startswith("_"))
            jobs.append((tree, mods + new))  # modules an owner added belong to that owner
        jobs.append((Path("/work/main"), LEAD_MODULES))
    else:
        mods = [m for m in args.modules.split(",") if m] or None
        if args.functions:
            mods = sorted({f.split(".")[0] for f in args.functions.split(",")})
        jobs = [(args.tree, mods)]
    functions = [f for f in args.functions.split(",") if f] or None
    grand: dict[str, dict] = {}
    for tree, mods in jobs:
        start = time.time()
        print(f"fuzzing {tree} ({', '.join(mods) if mods else 'all modules'})", file=sys.stderr)
        try:
            records, listing, lib_seen = run_tree(tree / "lib", mods, functions, workers=args.workers,
                                                  base_only=args.base)
        except RuntimeError as exc:
            print(f"  {exc}", file=sys.stderr)
            if not args.print:
                write_failure(args.out, tree, mods or [], str(exc))
            continue
        seconds = time.time() - start
        if args.print:
            for r in records:
                if r["outcome"] in PROBLEMS or args.all:
                    print(f"{r['outcome']:10s} {r['call']}\n           {r.get('message')}")
            for f in listing:
                for p in f["problems"]:
                    print(f"stale      {p}")
            continue
        grand.update(write_reports(args.out, tree, lib_seen, records, listing, seconds))
        print(f"  {len(records)} calls in {seconds:.0f} s", file=sys.stderr)
    if grand:
        print("module                 " + " ".join(f"{c[:8]:>8s}" for c in CLASSES))
        for m, c in sorted(grand.items()):
            print(f"{m:22s} " + " ".join(f"{c.get(k, 0):8d}" for k in CLASSES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
