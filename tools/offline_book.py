"""A small Sphinx extension that keeps the rendered book self-contained and its console clean.

- Thebe (live code via Binder) is unused here and sphinx-thebe injects its configuration script
  twice, which raises "Identifier 'THEBE_JS_URL' has already been declared" in every page and names a
  CDN; we drop those scripts.
- pydata-sphinx-theme logs "Got invalid theme mode" when the page context has no default mode
  (sphinx-book-theme leaves it empty); we set it to light.
- tools/static/book.css and book.js fit the pages to the text column: figures shrink to the column and
  open at full size on a click, long outputs scroll inside a bounded box, display math that is too wide
  for a narrow screen scrolls sideways in its own box, and the Chinese titles of the bibliography get a
  CJK font.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    kept = []
    for script in scripts:
        body = script.attributes.get("body", "") if hasattr(script, "attributes") else ""
        name = str(script)
        if "THEBE_JS_URL" in body or "sphinx-thebe" in name or "thebe" in name.lower():
            continue
        kept.append(script)
    scripts[:] = kept


def _default_mode(app, pagename, templatename, context, doctree):
    # the layout reads `default_mode` from the page context; sphinx-book-theme leaves it empty
    if not context.get("default_mode"):
        context["default_mode"] = "light"


def _add_static(app, config):
    # an absolute path, so that a temporary project (tools/render_variant.py) finds it too
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app):
    app.connect("config-inited", _add_static)
    app.add_css_file("book.css")
    app.add_js_file("book.js", loading_method="defer")
    app.connect("html-page-context", _default_mode)
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
