"""The book's figure conventions: figures drawn for the width at which the reader sees them.

The rendered book's text column is about 617 CSS pixels wide in a 1280-pixel window. A figure made
with :func:`column_figure` is :data:`COLUMN_WIDTH` inches wide at :data:`DPI` dots per inch, i.e.
600 pixels: it is displayed at its natural size, so the font sizes set by :func:`use_book_style`
are the sizes the reader sees (tick labels about 12 px, axis labels about 14 px). At most two
panels share a row; a figure with more panels stacks them in rows. On narrow screens the page
shrinks the figure, and a click opens it at full size.

Backgrounds are opaque white, so figures stay legible in the theme's dark mode.

Example
-------
>>> from scalinglaws import figures
>>> figures.use_book_style()
>>> fig, axes = figures.column_figure(nrows=2, ncols=2)
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

from . import _validation as check

COLUMN_WIDTH = 6.0
"""Figure width in inches: 600 pixels at :data:`DPI`, the width of the book's text column."""

DPI = 100
"""Dots per inch of the stored PNG figures (one figure pixel per CSS pixel)."""

STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.facecolor": "white",
    "figure.figsize": (COLUMN_WIDTH, 3.6),
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.85,
    "lines.linewidth": 1.6,
    "axes.grid": False,
}
"""The rcParams of every figure in the book (sizes in points; 1 pt = 1.39 px at 100 dpi)."""

ROW_HEIGHT = {1: 3.6, 2: 2.7}
"""Default height in inches of one row of panels, by the number of panels per row."""


def use_book_style() -> None:
    """Apply :data:`STYLE` to matplotlib (call once, after importing pyplot, in every chapter)."""
    mpl.rcParams.update(STYLE)


def column_figure(nrows: int = 1, ncols: int = 1, *, row_height: float | None = None, **subplots_kw):
    """A figure one text column wide with ``nrows`` x ``ncols`` panels (``ncols`` is 1 or 2).

    Parameters
    ----------
    nrows : int, in [1, 6]
        Rows of panels; the height grows with them.
    ncols : int, 1 or 2
        Panels per row: wider rows make tick labels and legends too small to read.
    row_height : float, optional
        Height of one row in inches, in (0, 6] (default :data:`ROW_HEIGHT` for ``ncols``).
    **subplots_kw
        Passed to :func:`matplotlib.pyplot.subplots` (``sharex``, ``sharey``, ``squeeze``...).

    Returns
    -------
    fig, axes
        As :func:`matplotlib.pyplot.subplots`.
    """
    nrows = check.integer("nrows", nrows, low=1, high=6)
    ncols = check.integer("ncols", ncols, low=1, high=2,
                          domain="1 or 2 (a wider row makes its labels unreadable; stack panels in rows)")
    if row_height is None:
        row_height = ROW_HEIGHT[ncols]
    row_height = check.real("row_height", row_height, low=0, high=6, low_open=True)
    if "figsize" in subplots_kw:
        raise ValueError("figsize is set by column_figure (the column width); pass row_height instead")
    use_book_style()
    return plt.subplots(nrows, ncols, figsize=(COLUMN_WIDTH, row_height * nrows), **subplots_kw)
