"""The figure conventions: column width in pixels, at most two panels per row, opaque backgrounds."""

import matplotlib

matplotlib.use("Agg")
import io  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from scalinglaws import figures  # noqa: E402


def test_column_figure_is_600_pixels_wide_and_opaque():
    fig, axes = figures.column_figure(2, 2)
    axes[0, 0].plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    image = Image.open(io.BytesIO(buffer.getvalue()))
    assert image.size[0] == round(figures.COLUMN_WIDTH * figures.DPI) == 600
    rgba = image.convert("RGBA")
    assert rgba.getpixel((1, 1)) == (255, 255, 255, 255)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"ncols": 3}, "ncols must be 1 or 2"),
    ({"nrows": 0}, "nrows must be"),
    ({"row_height": -1}, "row_height must be"),
    ({"figsize": (10, 3)}, "figsize is set by column_figure"),
])
def test_column_figure_refuses(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        figures.column_figure(**kwargs)
