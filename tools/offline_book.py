"""A small Sphinx extension that keeps the rendered book self-contained and its console clean.

- Thebe (live code via Binder) is unused here and sphinx-thebe injects its configuration script
  twice, which raises "Identifier 'THEBE_JS_URL' has already been declared" in every page and names a
  CDN; we drop those scripts.
- pydata-sphinx-theme logs "Got invalid theme mode" when the page context has no default mode
  (sphinx-book-theme leaves it empty); we set it to light.
"""


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


def setup(app):
    app.connect("html-page-context", _default_mode)
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
