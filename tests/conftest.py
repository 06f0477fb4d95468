"""Hypothesis settings profiles for the whole test suite.

Property tests (``@given``) are the suite's slowest part on a 2-core machine, so how many examples
they draw is set in one place, by a profile chosen with the environment variable
``SCALINGLAWS_HYPOTHESIS`` (or hypothesis' own ``--hypothesis-profile NAME`` option of pytest):

==========  ====================================================================================
profile     what it does
==========  ====================================================================================
default     (a developer's ``pytest``) 30 examples per test unless the test asks for its own number,
            and at most 100 even if it asks for more; no deadline (timings on a loaded machine mean
            nothing); the too-slow health check off.
ci          the default profile, derandomized (the same examples every run, so a CI failure
            reproduces) and without the example database. Chosen automatically when ``CI`` is set.
thorough    1000 examples per test, or ten times the number a test asks for (no cap): for a
            search before a release or after changing a module's numerics, e.g.
            ``SCALINGLAWS_HYPOTHESIS=thorough .venv/bin/python -m pytest tests/test_zipf.py``.
==========  ====================================================================================

A test that needs a specific number writes ``@settings(max_examples=n)`` with the number it needs in
the default profile (and no ``deadline``: the profile already removes it); the cap and the
``thorough`` multiplier are applied to that number when the suite is collected. A failing example is
printed with ``@reproduce_failure`` data, so a derandomized CI failure can be rerun locally.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

DEFAULT_EXAMPLES = 30
DEFAULT_CAP = 100
THOROUGH_EXAMPLES = 1000
THOROUGH_FACTOR = 10

settings.register_profile("default", max_examples=DEFAULT_EXAMPLES, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True, database=None)
settings.register_profile("thorough", max_examples=THOROUGH_EXAMPLES, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])

PROFILE = os.environ.get("SCALINGLAWS_HYPOTHESIS") or ("ci" if os.environ.get("CI") else "default")
if PROFILE not in ("default", "ci", "thorough"):
    raise ValueError(f"SCALINGLAWS_HYPOTHESIS must be one of 'default', 'ci', 'thorough', got {PROFILE!r}")
settings.load_profile(PROFILE)


def _scaled(n: int, profile: str) -> int:
    if profile == "thorough":
        return n if n == THOROUGH_EXAMPLES else n * THOROUGH_FACTOR
    return min(n, DEFAULT_CAP)


def pytest_collection_modifyitems(config, items):
    """Apply the profile's cap (or multiplier) to tests that set their own ``max_examples``."""
    profile = config.getoption("hypothesis_profile", None) or PROFILE
    if profile not in ("default", "ci", "thorough"):
        return
    done = set()
    for item in items:
        test = getattr(item, "obj", None)
        test = getattr(test, "__func__", test)
        if not getattr(test, "is_hypothesis_test", False) or id(test) in done:
            continue
        done.add(id(test))
        current = getattr(test, "_hypothesis_internal_use_settings", None)
        if current is None:
            continue
        wanted = _scaled(current.max_examples, profile)
        if wanted != current.max_examples:
            test._hypothesis_internal_use_settings = settings(current, max_examples=wanted)
