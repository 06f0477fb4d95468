"""Copy the MathJax 3 engine shipped by the django-static-mathjax wheel (from PyPI) next to the book.

The rendered book must work with no network, so math is typeset by this local copy, not by a CDN.
Sphinx's `mathjax_path` (in _config.yml) points at `mathjax/tex-chtml.js` under the static path
`_build/_mathjax`, which this script fills.
"""

import shutil
from pathlib import Path

import mathjax  # the django-static-mathjax distribution

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
TARGET = ROOT / "_build" / "_mathjax" / "mathjax"

if not (SOURCE / "tex-chtml.js").exists():
    raise SystemExit(f"MathJax not found at {SOURCE}; reinstall the environment (rm -rf .venv && make book)")
if not (TARGET / "tex-chtml.js").exists():
    shutil.copytree(SOURCE, TARGET, dirs_exist_ok=True)
print(f"MathJax staged in {TARGET.relative_to(ROOT)}")
