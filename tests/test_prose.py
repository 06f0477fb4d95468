"""Numbers for prose, against Python's own formatting of the same values."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalinglaws import prose

_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def _parse(text: str) -> float:
    """Read back what prose.number wrote (an independent parser of its output format)."""
    text = text.replace("−", "-")
    if text in ("∞", "-∞"):
        return math.copysign(math.inf, -1 if text.startswith("-") else 1)
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("-")
    if "10" in text and ("×" in text or text.startswith("10") and any(c in text for c in "⁰¹²³⁴⁵⁶⁷⁸⁹")):
        mantissa, _, power = text.rpartition("10")
        mantissa = float(mantissa.replace("×", "").strip() or 1)
        return sign * float(f"{mantissa!r}e{int(power.translate(_DIGITS))}")
    return sign * float(text)


@pytest.mark.parametrize(("x", "text"), [
    (1e12, "10¹²"), (2.24e-3, "0.00224"), (2.24e-4, "2.24 × 10⁻⁴"), (0.5, "0.5"), (-0.25, "−0.25"),
    (123456, "1.23 × 10⁵"), (12345, "12345"), (0, "0"), (math.inf, "∞"), (9.9996e-4, "10⁻³"),
])
def test_examples(x, text):
    assert prose.number(x) == text


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
       st.integers(1, 6))
def test_round_trip_to_the_stated_digits(x, digits):
    back = _parse(prose.number(x, digits))
    assert back == pytest.approx(float(f"{x:.{digits}g}"), rel=1e-9, abs=0)


def test_no_internal_float_notation():
    for x in (1e-30, 3.3e12, 1e100, 5e-7):
        text = prose.number(x)
        assert "e" not in text and "+" not in text


def test_pair_and_errors():
    assert prose.pair((1.0, 1.0)) == "(1, 1)"
    with pytest.raises(ValueError, match="digits must be an integer in"):
        prose.number(1.0, digits=0)
    with pytest.raises(ValueError, match="x must be"):
        prose.number("1")


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"sci_below": 0}, "sci_below"), ({"sci_below": "0.001"}, "sci_below"), ({"sci_below": float("nan")}, "sci_below"),
    ({"sci_above": 1e-4}, "sci_above"), ({"sci_above": None}, "sci_above"), ({"sci_above": True}, "sci_above"),
])
def test_thresholds_are_validated(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        prose.number(0.5, **kwargs)
    assert prose.number(123456.0, sci_above=float("inf")) == "123456"
