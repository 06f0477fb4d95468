"""Open every page of the rendered book in headless Chromium and check it as a reader would see it.

For each page: the math is typeset by the local MathJax (no raw TeX left, no MathJax errors), every
image loaded, no console errors, no request to any host but the local server, every internal link
and cross-reference resolves, and chapters offer their .ipynb for download. A screenshot of each
page is saved under _build/screenshots/ for a person to look at.

Needs the built book (`make book`; `make test` builds it first) and Debian's Chromium
(`apt-get install chromium`). Without Chromium the test skips, unless REQUIRE_BROWSER=1 (set by
.ci/run), where a missing browser is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def book_pages() -> list[str]:
    stems = re.findall(r"(?:root|file):\s*book/(\S+)", (ROOT / "_toc.yml").read_text())
    return [f"book/{stem}.html" for stem in stems]


def notebook_pages() -> set[str]:
    return {f"book/{p.stem}.html" for p in (ROOT / "book").glob("*.ipynb")}


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
  out.raw_tex = (clone.textContent.match(/(\\$\\$|\\\\\\(|\\\\\\[|\\\\frac|\\\\mathbb|\\\\eta\\b)/g) || []).slice(0, 5);
  out.images = Array.from(document.images).map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
  out.links = Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
  out.unresolved = Array.from(document.querySelectorAll('span.xref, .problematic')).filter(e => !e.closest('a')).map(e => e.textContent.slice(0, 60));
  out.eqrefs = Array.from(document.querySelectorAll('a[href*="#equation-"]')).map(a => a.textContent);
  return out;
}"""


def _ids_of(page: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))


def test_every_page_renders_offline(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = book_pages()
    assert pages, "no pages in _toc.yml"
    problems: list[str] = []
    id_cache: dict[Path, set[str]] = {}
    for rel in pages:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        foreign, console_errors = [], []
        page.on("request", lambda req: foreign.append(req.url)
                if urlparse(req.url).scheme not in ("data", "blob") and not req.url.startswith(server) else None)
        page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: console_errors.append(str(exc)))
        response = page.goto(server + rel, wait_until="load")
        if response is None or response.status != 200:
            problems.append(f"{rel}: HTTP status {response.status if response else 'none'}")
            context.close()
            continue
        if page.evaluate("() => document.querySelectorAll('.math').length > 0"):
            # Sphinx loads MathJax only on pages that contain math
            try:
                page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                       timeout=30000)
                page.evaluate("() => MathJax.startup.promise")
            except PlaywrightTimeout:
                problems.append(f"{rel}: MathJax did not load within 30 s")
        page.wait_for_load_state("networkidle")
        info = page.evaluate(INSPECT)
        page.screenshot(path=str(SHOTS / (Path(rel).stem + ".png")), full_page=False)
        where = f"{rel}:"
        if info["math_untypeset"]:
            problems.append(f"{where} math not typeset: {info['math_untypeset'][:3]}")
        if info["math_errors"]:
            problems.append(f"{where} MathJax errors: {info['math_errors'][:3]}")
        if info["raw_tex"]:
            problems.append(f"{where} raw TeX left in the text: {info['raw_tex']}")
        bad_images = [i["src"] for i in info["images"] if not i["ok"]]
        if bad_images:
            problems.append(f"{where} images that did not load: {bad_images}")
        if console_errors:
            problems.append(f"{where} console errors: {console_errors[:3]}")
        if foreign:
            problems.append(f"{where} requests to other hosts: {sorted(set(foreign))[:5]}")
        if info["unresolved"]:
            problems.append(f"{where} unresolved cross-references: {info['unresolved'][:5]}")
        if any("?" in text for text in info["eqrefs"]):
            problems.append(f"{where} equation references without numbers: {info['eqrefs']}")
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
                problems.append(f"{where} broken link {href}")
            elif fragment and target_path.suffix == ".html":
                ids = id_cache.setdefault(target_path, _ids_of(target_path))
                if fragment not in ids:
                    problems.append(f"{where} link to a missing anchor {href}")
        if rel in notebook_pages():
            downloads = [h for h in info["links"] if h.endswith(f"{Path(rel).stem}.ipynb")]
            if not downloads:
                problems.append(f"{where} no .ipynb download link")
            else:
                got = context.request.get(urljoin(page_url, downloads[0]))
                if got.status != 200 or b'"cells"' not in got.body():
                    problems.append(f"{where} the .ipynb download does not serve the notebook")
        if info["math_total"] == 0 and rel in notebook_pages():
            problems.append(f"{where} a chapter without any math")
        context.close()
    assert not problems, "\n".join(problems)
