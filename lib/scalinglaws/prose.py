"""Numbers written for prose: what the book glues into its sentences.

``glue("name", prose.number(x))`` stores a string that ``{glue:text}`name``` pastes as it is, so the
rendered sentence reads ``2.24 × 10⁻³`` or ``10¹²`` rather than ``2.24e-03`` or ``1e+12``. The
string is plain Unicode: it reads the same in the HTML book, in the PDF and in a terminal.
"""

from __future__ import annotations

import math

from . import _validation as check

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def power_of_ten(exponent: int) -> str:
    """``10`` with a superscript exponent, e.g. ``power_of_ten(-3) == "10⁻³"``."""
    exponent = check.integer("exponent", exponent, low=None)
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def number(x, digits: int = 3, *, sci_below: float = 1e-3, sci_above: float = 1e5) -> str:
    """Format a real number for a sentence, to ``digits`` significant digits.

    Numbers whose magnitude is in [``sci_below``, ``sci_above``) are written positionally (``0.0123``,
    ``4567``; trailing zeros dropped); others as ``m × 10ᵏ`` (``2.24 × 10⁻³``), or ``10ᵏ`` when the
    mantissa rounds to 1. Integers below ``sci_above`` are written in full. Negative numbers use a
    minus sign (U+2212), as typeset text does.

    Parameters
    ----------
    x : real number
        Finite; ``inf`` is written ``∞``.
    digits : int, in [1, 17]
        Significant digits.
    sci_below, sci_above : float, 0 < sci_below < sci_above
        The magnitudes outside of which scientific notation is used; ``sci_above`` may be ``inf``.
    """
    x = check.real("x", x, allow_inf=True)
    digits = check.integer("digits", digits, low=1, high=17)
    sci_below = check.real("sci_below", sci_below, low=0, low_open=True)
    sci_above = check.real("sci_above", sci_above, low=sci_below, low_open=True, allow_inf=True,
                           domain=f"a real number > sci_below = {sci_below:g} (inf allowed)")
    if math.isinf(x):
        return ("−" if x < 0 else "") + "∞"
    sign = "−" if x < 0 else ""
    a = abs(x)
    if a == 0:
        return "0"
    if sci_below <= a < sci_above:
        if a == int(a) and a >= 10 ** (digits - 1):
            return sign + str(int(round(a)))
        text = f"{a:.{digits}g}"
        if "e" in text:  # rounding pushed it to the next decade
            text = f"{float(text):f}".rstrip("0").rstrip(".")
        return sign + text
    # Python's own rounding to `digits` significant digits (exact for subnormals too)
    mantissa_text, exponent_text = f"{a:.{digits - 1}e}".split("e")
    mantissa, exponent = float(mantissa_text), int(exponent_text)
    if mantissa == 1:
        return sign + power_of_ten(exponent)
    return sign + f"{mantissa:.{digits}g} × " + power_of_ten(exponent)


def pair(values, digits: int = 3) -> str:
    """A tuple written for prose: ``pair((1.0, 0.5)) == "(1, 0.5)"``."""
    items = check.real_array("values", values, ndim=1, min_size=1)
    return "(" + ", ".join(number(v, digits) for v in items) + ")"
