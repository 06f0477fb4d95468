"""The shared validation layer: the coercion rule, domains, messages and work caps."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scalinglaws
from scalinglaws import _validation as check

NOT_REALS = ["0.5", True, False, np.bool_(True), None, 1 + 2j, [0.5], object(), b"1"]


def _stable_id(value):
    # repr(object()) carries a memory address, which differs between xdist workers
    return "object()" if type(value) is object else repr(value)


@pytest.mark.parametrize("value", NOT_REALS, ids=_stable_id)
def test_real_refuses_non_numbers(value):
    with pytest.raises(ValueError, match=r"^eta must be .*got"):
        check.real("eta", value)


@pytest.mark.parametrize("value", [0.25, 1, np.float32(0.25), np.int64(1), np.array(0.5), Fraction(1, 3)])
def test_real_accepts_numbers(value):
    assert check.real("x", value) == float(value)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_real_refuses_nan_and_inf_unless_allowed(value):
    with pytest.raises(ValueError, match="x must be"):
        check.real("x", value)
    if not np.isnan(value):
        assert check.real("x", value, allow_inf=True) == value


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(-10, 10), st.floats(-10, 10),
       st.booleans(), st.booleans())
def test_real_interval_is_exact(x, a, b, low_open, high_open):
    low, high = min(a, b), max(a, b)
    inside = (x > low if low_open else x >= low) and (x < high if high_open else x <= high)
    if inside:
        assert check.real("x", x, low=low, high=high, low_open=low_open, high_open=high_open) == x
    else:
        with pytest.raises(ValueError, match="x must be a real number in"):
            check.real("x", x, low=low, high=high, low_open=low_open, high_open=high_open)


def test_huge_integer_is_refused_not_overflowed():
    with pytest.raises(ValueError, match="representable"):
        check.real("T", 10**400)


@given(st.integers(min_value=0, max_value=10**40))
def test_integer_keeps_python_ints_exact(n):
    assert check.integer("T", n) == n


@pytest.mark.parametrize("value", [2.5, -1, True, "3", np.inf, np.nan, None, 1e400])
def test_integer_refuses(value):
    with pytest.raises(ValueError, match="^T must be an integer"):
        check.integer("T", value)


def test_integer_accepts_integral_floats():
    assert check.integer("T", 1e12) == 10**12
    assert check.integer("T", np.float64(7.0)) == 7


def test_seed_range():
    assert check.seed("seed", 2**63 - 1) == 2**63 - 1
    for bad in (-1, 2**63, 0.5, "1"):
        with pytest.raises(ValueError, match="seed must be an integer seed"):
            check.seed("seed", bad)


def test_choice_and_flag():
    assert check.choice("method", "optimum", ("optimum", "authors")) == "optimum"
    with pytest.raises(ValueError, match="method must be one of 'optimum', 'authors', got 'adam'"):
        check.choice("method", "adam", ("optimum", "authors"))
    assert check.flag("integer", np.bool_(False)) is False
    with pytest.raises(ValueError, match="integer must be True or False, got 1"):
        check.flag("integer", 1)


@pytest.mark.parametrize(("value", "fragment"), [
    ([0.1, np.nan], r"etas\[1\] = nan"),
    ([[0.1, 0.2], [0.3, 0.9]], r"etas\[1, 1\] = 0.9"),
    ([True, False], "booleans"),
    (["a"], "strings"),
    ([[1], [2, 3]], "got"),
    ("abc", "got 'abc'"),
    ([1j], "complex"),
])
def test_real_array_messages_point_at_the_element(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        check.real_array("etas", value, low=0, high=0.5, low_open=True)


def test_real_array_shape_checks():
    assert check.real_array("v", [[1, 2]], shape=(None, 2)).shape == (1, 2)
    with pytest.raises(ValueError, match=r"v must have shape \(any, 3\), got shape \(1, 2\)"):
        check.real_array("v", [[1, 2]], shape=(None, 3))
    with pytest.raises(ValueError, match="1-dimensional"):
        check.real_array("v", [[1, 2]], ndim=1)
    with pytest.raises(ValueError, match="at least 2"):
        check.real_array("v", [1.0], min_size=2)


def test_integer_array_and_probability_vector():
    assert check.integer_array("steps", [1, 2.0]).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"steps\[1\] = 2.5"):
        check.integer_array("steps", [1, 2.5])
    with pytest.raises(ValueError, match="sum to 1"):
        check.probability_vector("p", [0.5, 0.6])


def test_work_caps_name_the_limit_and_how_to_lift_it():
    with pytest.raises(ValueError, match=r"f: the request \(T = 1e30\).*work_limits\(operations=1e30\)"):
        check.check_work("f", operations=10**30, sizes="T = 1e30")
    with pytest.raises(ValueError, match=r"7 PiB.*work_limits\(memory_bytes="):
        check.check_work("f", memory_bytes=7 * 2**50)
    with scalinglaws.work_limits(operations=float("inf")):
        check.check_work("f", operations=10**30)
        assert scalinglaws.current_limits().operations == float("inf")
    assert scalinglaws.current_limits() == check.WorkLimits()
    with pytest.raises(ValueError, match="operations must be"):
        with scalinglaws.work_limits(operations=-1):
            pass


def test_work_cap_of_a_cost_beyond_a_double():
    with pytest.raises(ValueError, match=r"inf elementary operations.*work_limits\(operations=float\('inf'\)\)"):
        check.check_work("f", operations=10**400)
    with scalinglaws.work_limits(operations=float("inf")):
        check.check_work("f", operations=10**400)
