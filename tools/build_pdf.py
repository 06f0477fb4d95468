"""Print the built book (_build/html) to one PDF: _build/pdf/scaling-laws.pdf, also served at
_build/html/scaling-laws.pdf so that the front page can link it.

Each page of _toc.yml is opened in headless Chromium from a local server, typeset by the local
MathJax, and printed with Chromium's print-to-PDF (A4, the theme's print style plus tools/static/
book.css, a running header with the chapter's title). A title page and a table of contents with page
numbers are printed the same way; pypdf joins the parts, stamps the page numbers and adds the PDF
outline (bookmarks: parts, chapters, sections). Offline: nothing is requested from the network.

Needs Debian's chromium and a CJK font (fonts-noto-cjk) for the Chinese titles of the source articles;
`make pdf` installs both if they are missing (tools/debian_packages.sh).
"""

from __future__ import annotations

import functools
import html
import http.server
import io
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path

from pypdf import PdfReader, PdfWriter

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "pdf"
NAME = "scaling-laws.pdf"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MARGIN = {"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"}
HEADER = ('<div style="font-size:8px; width:100%; padding:0 16mm; color:#666; '
          'font-family:sans-serif; text-align:right;">{title}</div>')
# What a printed page must not keep: the links to the other pages of the local server (dead in a
# PDF; the text stays), the buttons of the theme, and the folded input of hidden cells.
PREPARE = """(server) => {
  document.querySelectorAll('a[href]').forEach(a => {
    const url = new URL(a.getAttribute('href'), document.baseURI);
    if (url.href.startsWith(server) && !(url.pathname === location.pathname && url.hash)) {
      a.removeAttribute('href');
    }
  });
  document.documentElement.dataset.theme = 'light';
}"""
# Headings of a page, with the id of their section: Chromium writes a named destination for each
# element that a link of the page points to (the page's own contents list links every section), so
# the PDF says on which page each section starts.
HEADINGS = """() => Array.from(document.querySelectorAll('.bd-article section > h2')).map(h => {
  const c = h.cloneNode(true);
  c.querySelectorAll('.headerlink').forEach(e => e.remove());
  c.querySelectorAll('mjx-container').forEach(m => {
    const mml = m.querySelector('mjx-assistive-mml');
    m.replaceWith(document.createTextNode(mml ? mml.textContent : ''));
  });
  return [c.textContent.replace(/\\s+/g, ' ').trim(), h.parentElement.id];
})"""


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise SystemExit("Chromium not found: `make pdf` installs Debian's package (tools/debian_packages.sh); "
                         "or set CHROMIUM=/path/to/chromium")
    return path


def toc_entries() -> list[tuple[str | None, str]]:
    """(part caption or None, page stem) in _toc.yml order."""
    entries, part = [], None
    for line in (ROOT / "_toc.yml").read_text().splitlines():
        caption = re.match(r"\s*-?\s*caption:\s*\"?([^\"]+)\"?\s*$", line)
        if caption:
            part = caption.group(1).strip()
        page = re.match(r"\s*-?\s*(?:root|file):\s*book/(\S+)", line)
        if page:
            entries.append((part, page.group(1)))
    return entries


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def print_page(context, url: str, server: str, header: str) -> tuple[bytes, str, list[str]]:
    """One page of the book as PDF bytes, with its title and section headings."""
    page = context.new_page()
    foreign = []
    page.on("request", lambda r: foreign.append(r.url)
            if not r.url.startswith(server) and not r.url.startswith(("data:", "blob:")) else None)
    page.goto(url, wait_until="load")
    if page.evaluate("() => document.querySelectorAll('.math').length > 0"):
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60000)
        page.evaluate("() => MathJax.startup.promise")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
    page.evaluate(PREPARE, server)
    title = page.evaluate("() => (document.querySelector('.bd-article h1') || {}).textContent || document.title")
    title = re.sub(r"\s+", " ", title).replace("#", "").strip()
    headings = page.evaluate(HEADINGS)
    pdf = page.pdf(format="A4", margin=MARGIN, print_background=True, display_header_footer=True,
                   header_template=header.format(title=html.escape(title)), footer_template="<span></span>")
    page.close()
    if foreign:
        raise SystemExit(f"{url}: the page requested other hosts: {sorted(set(foreign))[:3]}")
    return pdf, title, headings


def html_pdf(context, body: str, header: str = "<span></span>", margin=None) -> bytes:
    """A PDF of a small HTML document (title page, contents, page numbers)."""
    page = context.new_page()
    page.set_content(body, wait_until="load")
    pdf = page.pdf(format="A4", margin=margin or MARGIN, print_background=True,
                   display_header_footer=header != "<span></span>", header_template=header,
                   footer_template="<span></span>")
    page.close()
    return pdf


FRONT_STYLE = """<style>
  body { font-family: "DejaVu Serif", "Noto Serif CJK SC", serif; color: #111; }
  .title { page-break-after: always; text-align: center; padding-top: 35%; }
  .title h1 { font-size: 30pt; margin-bottom: 0.6em; }
  .title p { font-size: 12pt; color: #444; }
  h2 { font-size: 18pt; }
  .part { margin-top: 1.1em; font-weight: bold; font-size: 11pt; }
  .row { display: flex; font-size: 10.5pt; margin: 0.25em 0; }
  .row.section { margin-left: 1.6em; font-size: 9.5pt; color: #333; }
  .row .t { flex: 1 1 auto; }
  .row .dots { flex: 1 0 2em; border-bottom: 1px dotted #999; margin: 0 0.4em 0.3em; }
  .row .n { flex: none; }
</style>"""


def front_matter(book_title: str, subtitle: str, chapters: list[dict]) -> str:
    rows, last_part = [], None
    for ch in chapters:
        if ch["part"] != last_part and ch["part"]:
            rows.append(f'<div class="part">{html.escape(ch["part"])}</div>')
            last_part = ch["part"]
        rows.append(f'<div class="row"><span class="t">{html.escape(ch["title"])}</span>'
                    f'<span class="dots"></span><span class="n">{ch["start"]}</span></div>')
        for heading, number in ch["sections"]:
            if number is not None:
                rows.append(f'<div class="row section"><span class="t">{html.escape(heading)}</span>'
                            f'<span class="dots"></span><span class="n">{number}</span></div>')
    return (f"<html><head><meta charset='utf-8'>{FRONT_STYLE}</head><body>"
            f"<div class='title'><h1>{html.escape(book_title)}</h1><p>{html.escape(subtitle)}</p></div>"
            f"<h2>Contents</h2>{''.join(rows)}</body></html>")


def numbers_html(count: int, first: int) -> str:
    """`count` A4 pages, each with its page number at the foot (stamped onto the book's pages)."""
    pages = "".join(f'<div class="p"><span>{first + i}</span></div>' for i in range(count))
    return ("<html><head><style>@page { size: A4; margin: 0 } body { margin: 0 }"
            ".p { height: 297mm; position: relative; page-break-after: always; }"
            ".p span { position: absolute; bottom: 9mm; width: 100%; text-align: center;"
            " font: 9pt sans-serif; color: #444; }</style></head><body>" + pages + "</body></html>")


def normalise(text: str) -> str:
    """Letters and digits only: math glyphs and hyphenation differ between the page and its PDF text."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def section_pages(reader: PdfReader, headings: list[list[str]]) -> list[int | None]:
    """The page (0-based, within a chapter) where each section starts: from the PDF's named
    destinations, else from the first page after the previous section whose text has the heading."""
    destinations = {}
    for name, dest in reader.named_destinations.items():
        try:
            destinations[name.lstrip("/")] = reader.get_destination_page_number(dest)
        except Exception:  # a destination without a page: ignore it
            continue
    texts = None
    found, start = [], 0
    for heading, section_id in headings:
        hit = destinations.get(section_id)
        if hit is None:
            if texts is None:
                texts = [normalise(p.extract_text() or "") for p in reader.pages]
            key = normalise(heading)[:30]
            hit = next((i for i in range(max(start, 1), len(texts)) if key and key in texts[i]), None)
        found.append(hit)
        if hit is not None:
            start = hit
    return found


def build() -> Path:
    if not (HTML / "index.html").exists():
        raise SystemExit("the book is not built: run `make book` first (`make pdf` does)")
    from playwright.sync_api import sync_playwright

    start = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    httpd, server = serve(HTML)
    entries = toc_entries()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        chapters = []
        for part, stem in entries:
            pdf, title, headings = print_page(context, f"{server}book/{stem}.html", server, HEADER)
            reader = PdfReader(io.BytesIO(pdf))
            chapters.append({"part": part, "stem": stem, "title": title, "reader": reader,
                             "sections": list(zip([h for h, _ in headings], section_pages(reader, headings)))})
            print(f"  {stem}: {len(reader.pages)} pages", flush=True)
        book_title = chapters[0]["title"]
        subtitle = "The Jupyter Book printed to PDF: every chapter with its derivations, checks and figures."
        # the contents' length decides where the chapters start: iterate until it is stable
        front_pages = 2
        for _ in range(4):
            page_no = front_pages + 1
            numbered = []
            for ch in chapters:
                secs = [(h, None if i is None else page_no + i) for h, i in ch["sections"]]
                numbered.append({**ch, "start": page_no, "sections": secs})
                page_no += len(ch["reader"].pages)
            front = PdfReader(io.BytesIO(html_pdf(context, front_matter(book_title, subtitle, numbered))))
            if len(front.pages) == front_pages:
                break
            front_pages = len(front.pages)
        total = page_no - 1
        numbers = PdfReader(io.BytesIO(html_pdf(context, numbers_html(total, 1), margin={"top": "0", "bottom": "0",
                                                                                      "left": "0", "right": "0"})))
        browser.close()
    httpd.shutdown()

    writer = PdfWriter()
    for page in front.pages:
        writer.add_page(page)
    for ch in numbered:
        for page in ch["reader"].pages:
            writer.add_page(page)
    for index, page in enumerate(writer.pages):
        if index > 0:  # no number on the title page
            page.merge_page(numbers.pages[index])
    parts = {}
    writer.add_outline_item(title="Contents", page_number=1)
    for ch in numbered:
        parent = None
        if ch["part"]:
            if ch["part"] not in parts:
                parts[ch["part"]] = writer.add_outline_item(title=ch["part"], page_number=ch["start"] - 1)
            parent = parts[ch["part"]]
        item = writer.add_outline_item(title=ch["title"], page_number=ch["start"] - 1, parent=parent)
        for heading, number in ch["sections"]:
            if number is not None:
                writer.add_outline_item(title=heading, page_number=number - 1, parent=item)
    writer.add_metadata({"/Title": book_title, "/Author": "The scaling-laws book team"})
    writer.page_mode = "/UseOutlines"
    target = OUT / NAME
    with open(target, "wb") as f:
        writer.write(f)
    shutil.copyfile(target, HTML / NAME)
    print(f"make pdf: {len(writer.pages)} pages, {target.stat().st_size / 1e6:.1f} MB, "
          f"{time.perf_counter() - start:.0f} s -> {target.relative_to(ROOT)} (and {(HTML / NAME).relative_to(ROOT)})")
    return target


if __name__ == "__main__":
    sys.exit(0 if build() else 1)
