"""Open every page of the rendered book in headless Chromium and check it as a reader would see it.

Every page in _toc.yml is opened twice, at 1280 and at 400 CSS pixels wide; what is seen is gathered
once (the `visits` fixture), and ``test_pages[kind]`` asserts one property on every page for each kind
below (the ``KINDS`` table), printing every page and element that fails:

- ``offline``: the math is typeset by the local MathJax (no raw TeX, no MathJax error),
  every image loaded, no console error, no request to any host but the local server.
- ``links``: every internal link and anchor resolves, equation references have numbers,
  no cross-reference is left unresolved, each chapter offers its .ipynb and the front page its PDF.
- ``equations``: at 1280 px no display equation is wider than its container and
  no equation number overlaps its formula.
- ``figures``: at 1280 px no figure is displayed at less than 1/1.3 of its natural width
  unless a click opens it at full size (checked by clicking); at 400 px every figure fits the column
  and opens at full size on a click.
- ``spills``: at both widths nothing (table, code output, paragraph) runs out of the text
  column unless it sits in a box that scrolls sideways on purpose.
- ``narrow``: at 400 px the page itself does not scroll sideways.
- ``prose``: the rendered prose contains no unresolved MyST role
  (``{glue:text}``...), no equation label, glue name or label-shaped token in parentheses, no
  Python number formatting (``1e+12``, ``( 1.0 , 1.0 )``).
- ``dark``: with the theme in dark mode, every figure keeps a light
  background with dark ink (contrast ratio at least 4.5, measured on its pixels).
- ``fonts``: the Chinese titles of the source articles on the bibliography
  page are drawn with a font that has their glyphs (not the "missing glyph" box).

Full-page screenshots of every page at both widths go to _build/screenshots/<page>-<width>.png.

Needs the built book (`make book`; `make test` builds it first) and Debian's Chromium
(`apt-get install chromium`). Without Chromium the tests skip, unless REQUIRE_BROWSER=1 (set by
.ci/run), where a missing browser is a failure.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import re
import shutil
import threading
from collections import defaultdict
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
PDF_NAME = "scaling-laws.pdf"
WIDE, NARROW = 1280, 400
SHRINK_LIMIT = 1.3       # a figure shown smaller than natural / 1.3 must open at full size on a click
MIN_CONTRAST = 4.5       # WCAG AA contrast between a dark-mode figure's ink and its background
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def book_pages() -> list[str]:
    stems = re.findall(r"(?:root|file):\s*book/(\S+)", (ROOT / "_toc.yml").read_text())
    return [f"book/{stem}.html" for stem in stems]


def notebook_pages() -> set[str]:
    return {f"book/{p.stem}.html" for p in (ROOT / "book").glob("*.ipynb")}


def internal_names() -> set[str]:
    """Equation labels, MyST targets and glue names of every chapter: none may appear in the prose."""
    names = set()
    for path in (ROOT / "book").glob("*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        text = "".join("".join(c["source"]) for c in cells)
        names |= set(re.findall(r"\$\$\s*\((\S+?)\)", text))
        names |= set(re.findall(r"^\((\S+)\)=", text, re.M))
        names |= set(re.findall(r"glue\(\s*[\"']([^\"']+)", text))
    # a name that is a plain word could be prose; internal names carry a '-' or '_'
    return {n for n in names if re.search(r"[-_]", n)}


NAMES = internal_names()
# Internal names start with their chapter's prefix (tested unique in test_book_structure.py).
PREFIXES = sorted({re.split(r"[-_]", n)[0] for n in NAMES} | {p.stem.split("_")[0] for p in (ROOT / "book").glob("*.ipynb")})

# What must never be read in the prose of a rendered page (code, signatures and printed outputs
# excluded): each pattern with what it means for the author.
PROSE_PATTERNS = [
    (re.compile(r"\{(?:glue|eq|cite|ref|doc|numref|math|term|download)(?::[a-z]+)?\}"),
     "an unresolved MyST role"),
    (re.compile(r"\((?:" + "|".join(map(re.escape, PREFIXES)) + r")[-_][\w-]+\)"),
     "a label in parentheses (an equation label where a number or words belong?)"),
    (re.compile(r"\(\s+[-−]?\d|\d\s+,\s|\d\s+\)"),
     "a tuple as Python prints it (glue prose.pair(...) instead)"),
]
# Numbers as Python writes them. Not applied to the API page, whose numpy-style docstrings write
# tolerances as Python literals (``tol=1e-12``), as numpy's and scipy's own do.
NUMBER_PATTERNS = [
    (re.compile(r"(?<![\w.])\d+(?:\.\d+)?e[+-]?\d+\b"),
     "Python's e-notation (glue prose.number(x) instead)"),
]
NUMBERS_EXEMPT = {"book/api.html"}


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").exists():
        pytest.fail("the book is not built: run `make book` first (`make test` does)")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        message = ("Chromium not found: install Debian's package (`sudo apt-get install chromium`) or set "
                   "CHROMIUM=/path/to/chromium to run the rendered-book browser test")
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield b
        b.close()


INSPECT = """() => {
  const out = {};
  const maths = Array.from(document.querySelectorAll('.math'));
  out.math_total = maths.length;
  out.math_untypeset = maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80));
  out.math_errors = Array.from(document.querySelectorAll('mjx-merror')).map(e => e.textContent.slice(0, 80));
  const article = document.querySelector('article') || document.body;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, .cell_output, .cell_input, mjx-container, script, style').forEach(e => e.remove());
  out.raw_tex = (clone.textContent.match(/(\\$\\$|\\\\\\(|\\\\\\[|\\\\[a-zA-Z]{2,})/g) || []).slice(0, 5);
  out.images = Array.from(document.images).map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
  out.links = Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
  out.unresolved = Array.from(document.querySelectorAll('span.xref, .problematic')).filter(e => !e.closest('a')).map(e => e.textContent.slice(0, 60));
  out.eqrefs = Array.from(document.querySelectorAll('a[href*="#equation-"]')).map(a => a.textContent);
  // prose: every block of running text, without code, outputs printed as text, or typeset math
  const blocks = article.querySelectorAll('p, li, td, th, h1, h2, h3, h4, h5, h6, dt, dd, caption, figcaption');
  out.prose = Array.from(blocks).filter(b => !b.closest('pre, .cell_input, dt.sig')).map(b => {
    const c = b.cloneNode(true);
    c.querySelectorAll('pre, code, script, style, .headerlink, ul, ol, .sig').forEach(e => e.remove());
    // math is read as its characters (MathJax's hidden MathML), so "$(a, b) = ($ 1.0 ..." reads "(a,b)=( 1.0"
    c.querySelectorAll('mjx-container').forEach(m => {
      const mml = m.querySelector('mjx-assistive-mml');
      m.replaceWith(document.createTextNode(mml ? mml.textContent : '[math]'));
    });
    return c.textContent.replace(/\\s+/g, ' ').trim();
  }).filter(t => t);
  return out;
}"""

LAYOUT = """(skipDisplayMath) => {
  const out = {equations: [], figures: [], spills: [], page_width: 0, viewport: window.innerWidth};
  const article = document.querySelector('article.bd-article') || document.querySelector('article') || document.body;
  const col = article.getBoundingClientRect();
  const describe = e => {
    const id = e.closest('[id]');
    return e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '')
      + (id ? ' in #' + id.id : '') + ': "' + e.textContent.replace(/\\s+/g, ' ').trim().slice(0, 60) + '"';
  };
  const mathItems = (window.MathJax && MathJax.startup && MathJax.startup.document)
    ? Array.from(MathJax.startup.document.math) : [];
  const texOf = c => { const item = mathItems.find(m => m.typesetRoot === c); return item ? item.math : ''; };
  document.querySelectorAll('mjx-container[display="true"]').forEach(c => {
    const box = c.closest('div.math') || c.parentElement;
    const math = c.querySelector('mjx-math');
    if (!math) return;
    const m = math.getBoundingClientRect();
    const b = c.getBoundingClientRect();  // the room the theme leaves beside the equation number
    const eqno = box.querySelector('.eqno');
    let overlap = false;
    if (eqno) {
      const e = eqno.getBoundingClientRect();
      overlap = e.width > 0 && m.right > e.left + 1 && m.left < e.right - 1 && m.bottom > e.top + 1 && m.top < e.bottom - 1;
    }
    const labelled = c.closest('[id^="equation-"]');
    out.equations.push({
      label: labelled ? labelled.id.slice('equation-'.length) : '',
      number: eqno ? eqno.textContent.replace('#', '').trim() : '',
      tex: texOf(c).replace(/\\s+/g, ' ').trim().slice(0, 70),
      width: Math.round(m.width), container: Math.round(Math.min(b.width, col.width)), overlap: overlap,
    });
  });
  document.querySelectorAll('article.bd-article img').forEach((img, index) => {
    const r = img.getBoundingClientRect();
    out.figures.push({index: index, src: img.getAttribute('src'), natural: img.naturalWidth,
                      shown: Math.round(r.width), right: Math.round(r.right), left: Math.round(r.left),
                      zoom: !!img.closest('a.book-zoom')});
  });
  // anything that leaves the column must sit in a box that scrolls on purpose
  const candidates = article.querySelectorAll('table, pre, img, p, li, h1, h2, h3, h4, dl, dt, dd, blockquote, .cell_output > div, .admonition, mjx-container, code');
  candidates.forEach(e => {
    if (e.parentElement.closest('mjx-container')) return;
    if (skipDisplayMath && (e.closest('div.math') || e.querySelector('mjx-container[display="true"]'))) return;  // their own test
    const r = e.getBoundingClientRect();
    if (r.width === 0 || (r.right <= col.right + 1 && r.left >= col.left - 1)) return;
    let a = e.parentElement, scroller = null;
    while (a && a !== article.parentElement) {
      const s = getComputedStyle(a);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX)) { scroller = a; break; }
      a = a.parentElement;
    }
    const own = getComputedStyle(e).overflowX;
    if (['auto', 'scroll'].includes(own) && e.clientWidth <= col.width + 1) return;  // it scrolls itself
    if (scroller && ['auto', 'scroll'].includes(getComputedStyle(scroller).overflowX)) return;
    out.spills.push((scroller ? 'clipped: ' : 'spills out of the column by ' + Math.round(Math.max(r.right - col.right, col.left - r.left)) + ' px: ') + describe(e));
  });
  out.page_width = document.documentElement.scrollWidth;
  if (out.page_width > window.innerWidth + 1) {
    let widest = null, right = 0;
    document.querySelectorAll('body *').forEach(e => {
      const r = e.getBoundingClientRect();
      if (r.right > right && r.width > 0) { right = r.right; widest = e; }
    });
    out.widest = widest ? describe(widest) + ' (right edge ' + Math.round(right) + ' px)' : '';
  }
  return out;
}"""

LIGHTBOX = """() => {
  const box = document.querySelector('.book-lightbox');
  if (!box) return null;
  const img = box.querySelector('img');
  const r = img.getBoundingClientRect();
  return {shown: Math.round(r.width), natural: img.naturalWidth, visible: getComputedStyle(box).display !== 'none'};
}"""

# A CJK character drawn in the page's font must differ from a private-use code point, which no font
# covers and which is drawn as the "missing glyph" box.
GLYPHS = """(selector) => {
  const draw = (text, font) => {
    const c = document.createElement('canvas'); c.width = 64; c.height = 64;
    const g = c.getContext('2d'); g.font = font; g.fillStyle = '#000'; g.fillText(text, 4, 48);
    return Array.from(g.getImageData(0, 0, 64, 64).data).join(',');
  };
  const out = {chars: 0, missing: [], texts: []};
  document.querySelectorAll(selector).forEach(e => {
    const text = e.textContent;
    const cjk = Array.from(new Set(text.match(/[\\u3400-\\u9fff\\uff00-\\uffef\\u3000-\\u303f]/g) || []));
    if (!cjk.length) return;
    const s = getComputedStyle(e);
    const font = '32px ' + s.fontFamily;
    const box = draw('\\ue000', font);
    out.texts.push(text.replace(/\\s+/g, ' ').trim().slice(0, 40));
    cjk.forEach(ch => { out.chars += 1; if (draw(ch, font) === box) out.missing.push(ch); });
  });
  return out;
}"""


def _ids_of(page: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))


def _open(browser, server, rel, width, problems):
    """A page at the given width, loaded and typeset; returns (context, page, foreign, console)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    foreign, console = [], []
    page.on("request", lambda req: foreign.append(req.url)
            if urlparse(req.url).scheme not in ("data", "blob") and not req.url.startswith(server) else None)
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console.append(str(exc)))
    response = page.goto(server + rel, wait_until="load")
    if response is None or response.status != 200:
        problems["offline"].append(f"{rel}: HTTP status {response.status if response else 'none'}")
        context.close()
        return None
    if page.evaluate("() => document.querySelectorAll('.math').length > 0"):
        # Sphinx loads MathJax only on pages that contain math
        try:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=30000)
            page.evaluate("() => MathJax.startup.promise")
        except PlaywrightTimeout:
            problems["offline"].append(f"{rel}: MathJax did not load within 30 s")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
    return context, page, foreign, console


def _check_zoom(page, rel, width, figures, problems, every: bool):
    """Click figures (the shrunk ones, or all when `every`) and check that they open at full size."""
    for fig in figures:
        shrunk = fig["natural"] > 0 and fig["shown"] * SHRINK_LIMIT < fig["natural"]
        if not (shrunk or every) or fig["natural"] == 0 or fig["shown"] == 0:
            continue  # a figure in a folded cell is not shown, so not clicked
        where = f"{rel} at {width} px: figure {fig['src']} (natural {fig['natural']} px, shown {fig['shown']} px)"
        if not fig["zoom"]:
            problems["figures"].append(f"{where} cannot be enlarged by a click")
            continue
        try:
            page.locator("article.bd-article img").nth(fig["index"]).click(timeout=10000)
        except PlaywrightTimeout:
            problems["figures"].append(f"{where}: cannot be clicked (covered by another element?)")
            continue
        box = page.evaluate(LIGHTBOX)
        if box is None or not box["visible"]:
            problems["figures"].append(f"{where}: a click opened no full-size view")
            continue
        if box["shown"] < fig["natural"] - 1:
            problems["figures"].append(f"{where}: the full-size view shows it at only {box['shown']} px")
        page.keyboard.press("Escape")
        if page.evaluate(LIGHTBOX) is not None:
            problems["figures"].append(f"{where}: Escape does not close the full-size view")


def _quantile(histogram: list[int], q: float) -> int:
    """The grey level below which a fraction q of the pixels lie."""
    target, seen = q * sum(histogram), 0
    for level, count in enumerate(histogram):
        seen += count
        if seen >= target:
            return level
    return 255


def _dark_mode_contrast(page, rel, problems):
    from PIL import Image

    page.evaluate("() => { document.documentElement.dataset.theme = 'dark'; document.documentElement.dataset.mode = 'dark'; }")
    images = page.locator(".bd-article .cell_output img")
    for i in range(images.count()):
        img = images.nth(i)
        img.scroll_into_view_if_needed()
        shot = Image.open(io.BytesIO(img.screenshot())).convert("L")
        dark, light = _quantile(shot.histogram(), 0.005) / 255, _quantile(shot.histogram(), 0.95) / 255
        lum = [((v + 0.055) / 1.055) ** 2.4 if v > 0.04045 else v / 12.92 for v in (dark, light)]
        ratio = (lum[1] + 0.05) / (lum[0] + 0.05)
        if ratio < MIN_CONTRAST:
            src = img.get_attribute("src")
            problems["dark"].append(f"{rel}: figure {src} in dark mode has contrast {ratio:.1f} "
                                    f"(ink {dark:.2f}, background {light:.2f}; needs {MIN_CONTRAST})")
    page.evaluate("() => { document.documentElement.dataset.theme = 'light'; document.documentElement.dataset.mode = 'light'; }")


def _check_links(context, server, rel, info, problems, id_cache):
    where = f"{rel}:"
    if info["unresolved"]:
        problems["links"].append(f"{where} unresolved cross-references: {info['unresolved'][:5]}")
    if any("?" in text for text in info["eqrefs"]):
        problems["links"].append(f"{where} equation references without numbers: {info['eqrefs']}")
    page_url = server + rel
    for href in info["links"]:
        absolute = urljoin(page_url, href)
        if not absolute.startswith(server):
            continue  # external links are allowed in the text; they are not requested
        target, fragment = urldefrag(absolute)
        target_path = HTML / urlparse(target).path.lstrip("/")
        if target_path.is_dir():
            target_path = target_path / "index.html"
        if not target_path.exists():
            hint = " (run `make pdf`)" if target_path.name == PDF_NAME else ""
            problems["links"].append(f"{where} broken link {href}{hint}")
        elif fragment and target_path.suffix == ".html":
            ids = id_cache.setdefault(target_path, _ids_of(target_path))
            if fragment not in ids:
                problems["links"].append(f"{where} link to a missing anchor {href}")
    if rel in notebook_pages():
        downloads = [h for h in info["links"] if h.endswith(f"{Path(rel).stem}.ipynb")]
        if not downloads:
            problems["links"].append(f"{where} no .ipynb download link")
        else:
            got = context.request.get(urljoin(page_url, downloads[0]))
            if got.status != 200 or b'"cells"' not in got.body():
                problems["links"].append(f"{where} the .ipynb download does not serve the notebook")
    if rel == book_pages()[0] and not any(h.endswith(PDF_NAME) for h in info["links"]):
        problems["links"].append(f"{where} the front page does not link the PDF ({PDF_NAME})")


def _check_prose(rel, info, names, problems):
    patterns = PROSE_PATTERNS + ([] if rel in NUMBERS_EXEMPT else NUMBER_PATTERNS)
    name_pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                              + r")(?![\w-])") if names else None
    seen = set()
    for text in info["prose"]:
        hits = [(m, meaning) for pattern, meaning in patterns for m in pattern.finditer(text)]
        if name_pattern:
            hits += [(m, "an internal name (equation label or glue name) in the prose")
                     for m in name_pattern.finditer(text)]
        for m, meaning in hits:
            snippet = text[max(0, m.start() - 40): m.end() + 40]
            key = (m.group(0), snippet)
            if key not in seen:
                seen.add(key)
                problems["prose"].append(f"{rel}: {meaning}: {m.group(0)!r} in \"...{snippet}...\"")


@pytest.fixture(scope="module")
def visits(server, browser):
    """Open every page at both widths once; return the problems found, by kind."""
    shutil.rmtree(SHOTS, ignore_errors=True)   # so that test_screenshots_taken sees this run's files only
    SHOTS.mkdir(parents=True)
    pages = book_pages()
    assert pages, "no pages in _toc.yml"
    problems: dict[str, list[str]] = defaultdict(list)
    id_cache: dict[Path, set[str]] = {}
    for rel in pages:
        stem = Path(rel).stem
        # --- 1280 px: what a reader on a laptop sees
        opened = _open(browser, server, rel, WIDE, problems)
        if opened is None:
            continue
        context, page, foreign, console = opened
        info = page.evaluate(INSPECT)
        layout = page.evaluate(LAYOUT, True)
        where = f"{rel}:"
        if info["math_untypeset"]:
            problems["offline"].append(f"{where} math not typeset: {info['math_untypeset'][:3]}")
        if info["math_errors"]:
            problems["offline"].append(f"{where} MathJax errors: {info['math_errors'][:3]}")
        if info["raw_tex"]:
            problems["offline"].append(f"{where} raw TeX left in the text: {info['raw_tex']}")
        bad_images = [i["src"] for i in info["images"] if not i["ok"]]
        if bad_images:
            problems["offline"].append(f"{where} images that did not load: {bad_images}")
        if info["math_total"] == 0 and rel in notebook_pages():
            problems["offline"].append(f"{where} a chapter without any math")
        _check_links(context, server, rel, info, problems, id_cache)
        _check_prose(rel, info, NAMES, problems)
        for eq in layout["equations"]:
            name = f"eq. {eq['number']} ({eq['label']})" if eq["label"] else f"unnumbered equation {eq['tex']!r}"
            if eq["width"] > eq["container"] + 1:
                problems["equations"].append(f"{rel}: {name} is {eq['width']} px wide, its container "
                                             f"{eq['container']} px; break it with aligned")
            elif eq["overlap"]:
                problems["equations"].append(f"{rel}: {name} ({eq['width']} px) is overlapped by its "
                                             f"equation number in a {eq['container']} px container")
        problems["spills"] += [f"{rel} at {WIDE} px: {s}" for s in layout["spills"]]
        _check_zoom(page, rel, WIDE, layout["figures"], problems, every=False)
        if stem == "bibliography":
            glyphs = page.evaluate(GLYPHS, ".bd-article .citation, .bd-article dd, .bd-article li")
            if glyphs["chars"] == 0:
                problems["fonts"].append(f"{rel}: no Chinese title found in the bibliography")
            elif glyphs["missing"]:
                problems["fonts"].append(f"{rel}: no font draws {''.join(glyphs['missing'][:20])} "
                                         f"(in {glyphs['texts'][:2]}); install fonts-noto-cjk")
        page.screenshot(path=str(SHOTS / f"{stem}-{WIDE}.png"), full_page=True)
        _dark_mode_contrast(page, rel, problems)

        # --- 400 px: a phone (the same page, resized: MathJax's output does not depend on the width)
        page.set_viewport_size({"width": NARROW, "height": 900})
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        layout = page.evaluate(LAYOUT, False)
        if layout["page_width"] > layout["viewport"] + 1:
            problems["narrow"].append(f"{rel}: the page is {layout['page_width']} px wide in a "
                                      f"{layout['viewport']} px window; widest: {layout.get('widest')}")
        problems["spills"] += [f"{rel} at {NARROW} px: {s}" for s in layout["spills"]]
        for fig in layout["figures"]:
            if fig["right"] > layout["viewport"] or fig["left"] < 0:
                problems["figures"].append(f"{rel} at {NARROW} px: figure {fig['src']} does not shrink "
                                           f"to the window (shown {fig['shown']} px)")
        _check_zoom(page, rel, NARROW, layout["figures"], problems, every=True)
        page.screenshot(path=str(SHOTS / f"{stem}-{NARROW}.png"), full_page=True)
        # console errors and foreign requests of both widths (the lists gather them from the first load)
        if console:
            problems["offline"].append(f"{where} console errors: {console[:3]}")
        if foreign:
            problems["offline"].append(f"{where} requests to other hosts: {sorted(set(foreign))[:5]}")
        context.close()
    return problems


# every kind of problem the visit records, and how a failure names it
KINDS = {
    "offline": "pages not rendered as they should be offline",
    "links": "broken links or references",
    "equations": f"display equations that do not fit the column at {WIDE} px",
    "figures": "figures too small to read that cannot be enlarged",
    "spills": "elements running out of the text column",
    "narrow": f"pages that scroll sideways at {NARROW} px",
    "prose": "internal labels, unresolved roles or Python formatting in the prose",
    "dark": "figures illegible in dark mode",
    "fonts": "Chinese titles without glyphs",
}


def test_every_problem_kind_is_reported(visits):
    # a kind misspelt where a problem is recorded would otherwise never fail a test
    assert set(visits) <= set(KINDS), f"unreported kinds: {sorted(set(visits) - set(KINDS))}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_pages(visits, kind):
    found = visits.get(kind, [])
    assert not found, f"{len(found)} {KINDS[kind]}:\n" + "\n".join(found)


def test_screenshots_taken(visits):
    missing = [f"{Path(rel).stem}-{w}.png" for rel in book_pages() for w in (WIDE, NARROW)
               if not (SHOTS / f"{Path(rel).stem}-{w}.png").exists()]
    assert not missing, f"screenshots not written: {missing}"


@pytest.mark.parametrize("text, meaning", [
    ("T = 1e+12 steps", "e-notation"), ("a rate of 2.24e-03", "e-notation"),
    ("(a, b) = ( 1.0 , 1.0 )", "tuple"), ("exact, eq. (zipf-scaling-loss)", "label"),
    ("see {glue:text}`tuned-T-last:.0e`", "role"),
])
def test_prose_patterns_catch_known_leaks(text, meaning):
    """The patterns above flag the leaks a reader reported (so the prose test cannot pass vacuously)."""
    assert any(p.search(text) for p, _ in PROSE_PATTERNS + NUMBER_PATTERNS), f"{meaning} not caught in {text!r}"


@pytest.mark.parametrize("text", ["T = 10¹² steps", "(a, b) = (1, 1)", "eq. (2.3)", "(warmup-stable-decay)",
                                  "a rate of 2.24 × 10⁻³", "the pair (1, 0.5)"])
def test_prose_patterns_allow_good_prose(text):
    assert not any(p.search(text) for p, _ in PROSE_PATTERNS + NUMBER_PATTERNS), f"good prose flagged: {text!r}"
