"""The rendered book, as a reader sees it: every page of _build/html in headless Chromium, offline.

Run after the book is built (``jb build . -n -W --keep-going``)::

    .venv/bin/python -m pytest tests/browser -p no:cacheprovider

It serves ``_build/html`` (or ``$RSMLIB_BOOK_HTML``) on 127.0.0.1 from a free port and loads each
HTML page in headless Chromium whose network is cut off: host names do not resolve and every
non-loopback request is sent to a proxy on a closed loopback port, so a page that needs a CDN
fails loudly (its console reports the failed load). Every page is read at two widths, a laptop's
1366 px and a phone's 390 px (Chromium's mobile emulation: the page's viewport meta applies), and
at each width the test checks

* MathJax rendered: pages with math have one MathJax output element per formula, no MathJax error
  node (``mjx-merror``, "Math input error") and no undefined macro (MathJax shows it in red);
* no raw TeX in the text a reader sees outside math and code: no control sequence (``\\mathbb``,
  ``\\frac``, ``\\(`` ...) and no ``$`` except a price (``$5``, ``$1.50``);
* nothing is clipped: an element whose content is wider than its box is a scrolling container
  (``overflow-x: auto``/``scroll``), so wide equations, tables and code scroll sideways, and the
  page itself is no wider than the window;
* every ``<img>`` loaded (``naturalWidth > 0``); no console errors (SEVERE browser log entries)
  and no request left 127.0.0.1;
* on the laptop: one search box, and a sidebar title of at most two lines;

and saves a full-page screenshot to ``_build/screenshots/<width>/<page>.png`` (override the folder
with ``$RSMLIB_SCREENSHOTS``). Without the browser it checks that internal links resolve (every
local ``href``/``src`` names a file in the build and every ``#anchor`` exists in its target page),
that every image of a chapter or appendix page is a figure numbered by its chapter ("Figure
1.2", in page order) with a caption and alt text that describes it (not a file name or a hash),
that no Markdown table row in a page's source (``_sources/``) has more cells than its header (a
``|`` in a formula such as ``$|b_h|$`` splits the row, and the cells after the header's last are
silently dropped), that every bibliography label is the author-year text of the citations
that link to it, and that the API page leads with its quick start and documents every name of
``rsmlib.__all__``, grouped by task, and no internals. A page made to fail checks the detectors
themselves (``test_the_page_checks_flag_what_they_should``). Chromium and chromedriver come from Debian (``chromium``, ``chromium-driver``;
``tools/ensure_chromium.sh`` installs them); a missing browser or book is a failure, not a skip.
"""
from __future__ import annotations

import base64
import functools
import html
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("RSMLIB_BOOK_HTML", ROOT / "_build" / "html")).resolve()
SHOTS = Path(os.environ.get("RSMLIB_SCREENSHOTS", ROOT / "_build" / "screenshots")).resolve()
CHROMIUM = os.environ.get("RSMLIB_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RSMLIB_CHROMEDRIVER",
                              shutil.which("chromedriver") or "/usr/bin/chromedriver")
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static"}
MATHJAX_TIMEOUT_S = 60
WIDTHS = {1366: 900, 390: 844}  # px: a laptop (the theme shows both sidebars), a phone
MOBILE_BELOW = 600  # px: narrower windows are emulated as a phone (mobile viewport, touch)
MAX_TITLE_LINES = 2  # the sidebar title at 1366 px
MAX_CLIP_PX = 0.5  # content may stick out of a non-scrolling box by sub-pixel rounding only
SCREENSHOT_MAX_HEIGHT = 30000  # px; a longer page is cut there (the checks still cover all of it)


def book_pages() -> list[str]:
    """Every HTML page of the build, relative to its root ('intro.html', 'chapters/...')."""
    if not HTML.is_dir():
        return []
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not SKIP_DIRS.intersection(p.relative_to(HTML).parts[:-1]))


PAGES = book_pages()


def test_the_book_is_built():
    assert PAGES, f"no HTML pages under {HTML}: build the book first (jb build . -n -W --keep-going)"
    assert "intro.html" in PAGES and "index.html" in PAGES


# ------------------------------------------------------------------------------------------
# Internal links: parsed from the HTML files themselves


class LinkParser(HTMLParser):
    """Collects ids/names (anchor targets) and local href/src references of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag in ("a", "map") else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            value = attrs.get(key)
            if value is not None and tag in ("a", "link", "script", "img", "iframe", "source"):
                self.refs.append((tag, value.strip()))


@functools.lru_cache(maxsize=None)
def parse_page(path: Path) -> LinkParser:
    parser = LinkParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def broken_links(page: str) -> list[str]:
    """Local references of ``page`` whose file, or whose #anchor in that file, does not exist."""
    source = HTML / page
    problems = []
    for tag, ref in parse_page(source).refs:
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc or ref.startswith(("mailto:", "javascript:", "data:")):
            continue  # external (never loaded: the browser checks below see any request)
        target = source if not parts.path else (source.parent / unquote(parts.path)).resolve()
        if parts.path.endswith("/") or target.is_dir():
            target = target / "index.html"
        try:
            target.relative_to(HTML)
        except ValueError:
            problems.append(f"<{tag}> {ref!r} points outside the build")
            continue
        if not target.is_file():
            problems.append(f"<{tag}> {ref!r}: no file {target.relative_to(HTML)}")
            continue
        anchor = unquote(parts.fragment)
        if anchor and target.suffix == ".html" and anchor not in parse_page(target).ids:
            problems.append(f"<{tag}> {ref!r}: no id {anchor!r} in {target.relative_to(HTML)}")
    return problems


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(page):
    problems = broken_links(page)
    assert not problems, f"{page}: broken internal links:\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------------------------
# Markdown tables in the pages' sources: a row split by a `|` loses its last cells silently

DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def table_cells(line: str) -> list[str]:
    """The cells of a Markdown (GFM) table row: split at every unescaped ``|``.

    As in markdown-it, a ``|`` splits the row wherever it is, inside ``$...$`` and backticks too.
    """
    row = line.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return re.split(r"(?<!\\)\|", row)


def markdown_texts(source: Path) -> list[tuple[str, str]]:
    """(where, Markdown text) of a page's source: the file, or each Markdown cell of a notebook."""
    text = source.read_text(encoding="utf-8")
    if source.suffix != ".ipynb":
        return [(source.name, text)]
    cells = json.loads(text)["cells"]
    return [(f"{source.name} cell {i}", "".join(c["source"]) if isinstance(c["source"], list)
             else c["source"]) for i, c in enumerate(cells) if c.get("cell_type") == "markdown"]


def split_table_rows(text: str) -> list[str]:
    """Rows with more cells than their table's header, with the counts."""
    problems = []
    lines = text.splitlines()
    in_fence = False
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            in_fence = not in_fence
        elif (not in_fence and i + 1 < len(lines) and "|" in lines[i]
              and DELIMITER_ROW.match(lines[i + 1]) and "-" in lines[i + 1]):
            width = len(table_cells(lines[i + 1]))
            j = i + 2
            while j < len(lines) and lines[j].strip() and "|" in lines[j]:
                cells = table_cells(lines[j])
                if len(cells) > width:
                    problems.append(f"line {j + 1}: {len(cells)} cells under a {width}-column "
                                    f"header (a '|' inside a cell splits it; write $\\lvert x"
                                    f"\\rvert$ for |x|): {lines[j].strip()[:100]!r}")
                j += 1
            i = j
            continue
        i += 1
    return problems


def page_source(page: str) -> Path | None:
    """The source Sphinx copied for ``page`` (``_sources/<page>.md``, ``.ipynb``, ...)."""
    stem = HTML / "_sources" / page[:-len(".html")]
    found = sorted(stem.parent.glob(stem.name + ".*")) if stem.parent.is_dir() else []
    found = [p for p in found if p.suffix in (".md", ".ipynb", ".rst", ".txt")]
    return found[0] if found else None


@pytest.mark.parametrize("page", PAGES)
def test_table_rows_are_not_split(page):
    source = page_source(page)
    if source is None:
        return  # a generated page (index, search, genindex): no Markdown source
    problems = [f"{where}, {p}" for where, text in markdown_texts(source)
                for p in split_table_rows(text)]
    assert not problems, f"{page}: Markdown table rows split by '|':\n  " + "\n  ".join(problems)


def test_split_table_rows_finds_the_cells_a_pipe_adds():
    table = ("| Label | Claim | Where |\n|---|---|---|\n| 1.1 | $\\lvert b_h\\rvert$ is | Ch. 1 |\n"
             "| 2.1 | $\\bar D\\,|b_h|$ past 100 | Ch. 2 |\n\n```\n| a | b |\n|---|---|\n|1|2|3|\n```\n")
    problems = split_table_rows(table)
    assert len(problems) == 1 and "line 4: 5 cells under a 3-column header" in problems[0], problems


# ------------------------------------------------------------------------------------------
# Figures: every image of a chapter is a numbered figure with a caption and alt text

CHAPTER_PAGE = re.compile(r"^chapters/(?P<prefix>\d+|A\d+)_[^/]+\.html$")
FIGURE_NUMBER = re.compile(r"^Figure (?P<prefix>\d+|A\d+)\.(?P<k>\d+)$")
# alt text that says nothing: empty, a file name, a hash, one word ("image", "plot")
FILE_LIKE_ALT = re.compile(r"\.(png|jpe?g|gif|svg|webp)\b|^[0-9a-f]{8,}$|^\S*$", re.I)
MIN_ALT_WORDS = 4


class FigureParser(HTMLParser):
    """Each <img> of a page with its alt text and the number and caption of its <figure>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images: list[dict] = []
        self.figures: list[dict] = []  # the open <figure>s, innermost last
        self.capture: list[tuple[dict, str, int]] = []  # (figure, key, depth of the span)
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in ("img", "br", "hr", "input", "meta", "link", "source", "col", "wbr"):
            self.depth += 1
        if tag == "figure":
            self.figures.append({"number": "", "caption": "", "images": [], "depth": self.depth})
        elif tag == "img":
            image = {"src": attrs.get("src", ""), "alt": attrs.get("alt"),
                     "figure": self.figures[-1] if self.figures else None}
            self.images.append(image)
            if self.figures:
                self.figures[-1]["images"].append(image)
        elif tag == "span" and self.figures:
            classes = (attrs.get("class") or "").split()
            for key, css in (("number", "caption-number"), ("caption", "caption-text")):
                if css in classes:
                    self.capture.append((self.figures[-1], key, self.depth))

    def handle_endtag(self, tag):
        if self.capture and self.capture[-1][2] == self.depth and tag == "span":
            self.capture.pop()
        if tag == "figure" and self.figures and self.figures[-1]["depth"] == self.depth:
            self.figures.pop()
        if tag not in ("img", "br", "hr", "input", "meta", "link", "source", "col", "wbr"):
            self.depth -= 1

    def handle_data(self, data):
        for figure, key, _ in self.capture:
            figure[key] += data


def figure_problems(page: str, markup: str) -> list[str]:
    """What is wrong with the images of a chapter page: alt text, caption, number."""
    chapter = CHAPTER_PAGE.match(page)
    if chapter is None:
        return []
    parser = FigureParser()
    parser.feed(markup)
    problems, numbers = [], []
    for image in parser.images:
        name = image["src"].rsplit("/", 1)[-1][:24]
        alt = " ".join((image["alt"] or "").split())
        if not alt or FILE_LIKE_ALT.search(alt) or len(alt.split()) < MIN_ALT_WORDS:
            problems.append(f"image {name}: alt text {alt!r} does not describe it (a sentence "
                            "in the cell's metadata mystnb.image.alt)")
        figure = image["figure"]
        if figure is None:
            problems.append(f"image {name} is not in a figure (cell metadata mystnb.figure)")
            continue
        caption = " ".join(figure["caption"].split())
        number = " ".join(figure["number"].split())
        if len(caption.split()) < 3:
            problems.append(f"image {name}: its figure has no caption ({caption!r})")
        match = FIGURE_NUMBER.match(number)
        if match is None or match["prefix"] != chapter["prefix"].lstrip("0"):
            problems.append(f"image {name}: its figure is numbered {number!r}, not "
                            f"'Figure {chapter['prefix'].lstrip('0')}.k'")
        else:
            numbers.append(int(match["k"]))
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"figures numbered {numbers}, not 1, 2, ... in page order")
    return problems


@pytest.mark.parametrize("page", [p for p in PAGES if CHAPTER_PAGE.match(p)])
def test_figures_have_numbers_captions_and_alt_text(page):
    problems = figure_problems(page, (HTML / page).read_text(encoding="utf-8"))
    assert not problems, f"{page}: figures:\n  " + "\n  ".join(problems)


def test_figure_problems_finds_what_it_should():
    good = ('<figure id="a"><img alt="A log-log plot of the bias falling with k" src="x.png"/>'
            '<figcaption><p><span class="caption-number">Figure 1.{k} </span><span '
            'class="caption-text">The bias of <em>CD-k</em> falls.</span></p></figcaption>'
            '</figure>')
    page = "chapters/01_energy_models.html"
    assert figure_problems(page, good.format(k=1) + good.format(k=2)) == []
    assert figure_problems("chapters/A4_validation.html", good.format(k=1).replace(
        "Figure 1.1", "Figure A4.1")) == []
    assert figure_problems("api.html", '<img src="x.png">') == []  # not a chapter
    cases = {
        '<img alt="4c555f4d07e4d0cf8883eac4c3941c99f7b108e02ba09db7808c7dbde6cb615c" src="a.png">':
            ["does not describe it", "not in a figure"],
        '<img alt="_images/4c55.png" src="a.png">': ["does not describe it", "not in a figure"],
        '<p><img alt="" src="a.png"></p>': ["does not describe it", "not in a figure"],
        '<img alt="plot" src="a.png">': ["does not describe it", "not in a figure"],
        good.format(k=1).replace('<span class="caption-number">Figure 1.1 </span>', ""):
            ["numbered ''"],
        good.format(k=1).replace("Figure 1.1", "Figure 3"): ["numbered 'Figure 3'"],
        good.format(k=1).replace("Figure 1.1", "Figure 2.1"): ["numbered 'Figure 2.1'"],
        good.format(k=1).replace("The bias of <em>CD-k</em> falls.", ""): ["no caption"],
        good.format(k=2) + good.format(k=1): ["figures numbered [2, 1]"],
    }
    for markup, expected in cases.items():
        found = figure_problems(page, markup)
        assert len(found) == len(expected) and all(e in f for e, f in zip(expected, found)), (
            markup, found)


# ------------------------------------------------------------------------------------------
# Bibliography: labels in the author-year style of the citations

CITATION_ENTRY = re.compile(r'<div class="citation" id="(?P<id>[^"]+)"[^>]*>\s*<span class="label">'
                            r'<span class="fn-bracket">\[</span>(?P<label>.*?)'
                            r'<span class="fn-bracket">\]</span>', re.S)
CITATION_LINK = re.compile(r'<a class="reference internal" href="(?:\.\./)*bibliography\.html#'
                           r'(?P<id>[^"]+)"[^>]*>(?P<text>[^<]*)</a>')
AUTHOR_YEAR = re.compile(r"^\D+, (\d{4}|n\.d\.)[a-z]?$")  # "Hinton, 2002", "Rezende et al., 2014"


def test_bibliography_labels_are_the_citations_author_year_text():
    bibliography = HTML / "bibliography.html"
    assert bibliography.is_file(), f"no {bibliography}"
    labels = {m["id"]: html.unescape(m["label"]).strip()
              for m in CITATION_ENTRY.finditer(bibliography.read_text(encoding="utf-8"))}
    assert labels, "no bibliography entries found in bibliography.html"
    problems = [f"label [{label}] is not author-year (e.g. [Hinton, 2002])"
                for label in labels.values() if not AUTHOR_YEAR.match(label)]
    citations = 0
    for page in PAGES:
        for m in CITATION_LINK.finditer((HTML / page).read_text(encoding="utf-8")):
            citations += 1
            text, label = html.unescape(m["text"]).strip(), labels.get(m["id"])
            if label is not None and text != label:
                problems.append(f"{page}: the citation reads {text!r}, its entry's label "
                                f"[{label}]")
    assert citations > 0, "no citation links to bibliography.html found: is this the rsmlib book?"
    assert not problems, "bibliography labels do not match the citations:\n  " + "\n  ".join(
        sorted(set(problems)))


# ------------------------------------------------------------------------------------------
# The API page: a quick start, then the public API by task, without internals

API_GROUPS = ("Quick start", "Models", "Training", "Evaluation", "Estimators", "Data", "Keras")
SIGNATURE_ID = re.compile(r'<dt class="sig sig-object py" id="(?P<id>[^"]+)"')


def public_names() -> list[str]:
    """``rsmlib.__all__``, read from the source (importing rsmlib would import TensorFlow)."""
    import ast

    tree = ast.parse((ROOT / "rsmlib" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__"
                                                for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("rsmlib/__init__.py has no __all__")


def test_api_page_is_the_public_api_by_task():
    page = (HTML / "api.html").read_text(encoding="utf-8")
    headings = [html.unescape(h).strip() for h in re.findall(r"<h[23]>([^<]+)", page)]
    headings = [h for h in headings if h != "Contents"]  # the theme's "on this page" box
    missing = [g for g in API_GROUPS if g not in headings]
    assert not missing, f"api.html lacks the sections {missing}; it has {headings}"
    assert headings.index("Quick start") == 0, f"the quick start must come first: {headings}"
    ids = set(SIGNATURE_ID.findall(page))
    undocumented = [n for n in public_names() if f"rsmlib.{n}" not in ids]
    assert not undocumented, f"public names missing from api.html: {undocumented}"
    internal = sorted(i for i in ids if re.search(r"\._|\.check_(?!close$)|^rsmlib\.[a-z]+\.", i)
                      and not i.startswith("rsmlib.keras."))
    assert not internal, f"api.html documents internals: {internal}"
    assert "rsmlib.keras.RSMLayer" in ids and "rsmlib.fit_rsm" in ids
    docstring_math = len(re.findall(r'<dd>(?:(?!</dd>).)*?<div class="math', page, re.S))
    assert docstring_math >= 5, f"only {docstring_math} docstrings show typeset math"
    # the docstrings' examples show Python as written: no reST escapes (x\*\*2) in them
    examples = [html.unescape(re.sub(r"<[^>]+>", "", block)) for block in
                re.findall(r'<div class="doctest highlight.*?</pre>', page, re.S)]
    assert len(examples) >= 40, f"only {len(examples)} docstring examples on api.html"
    escaped = [line for block in examples for line in block.splitlines()
               if re.search(r"\\[*|]", line)]
    assert not escaped, f"examples on api.html show reST escapes: {escaped[:3]}"


# ------------------------------------------------------------------------------------------
# The browser


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def server():
    assert HTML.is_dir(), f"{HTML} does not exist: build the book first"
    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def closed_loopback_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).is_file(), (f"no Chromium at {CHROMIUM}: install Debian's chromium and "
                                      "chromium-driver (tools/ensure_chromium.sh)")
    assert Path(CHROMEDRIVER).is_file(), f"no chromedriver at {CHROMEDRIVER}"
    profile = tempfile.mkdtemp(prefix="rsmlib-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
                 "--window-size=%d,%d" % (max(WIDTHS), WIDTHS[max(WIDTHS)]),
                 "--force-device-scale-factor=1",
                 # No network: names resolve to nothing and anything not on loopback goes to a
                 # proxy on a closed port. Loopback bypasses the proxy (Chromium's default).
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
                 f"--proxy-server=http://127.0.0.1:{closed_loopback_port()}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(MATHJAX_TIMEOUT_S + 10)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def set_viewport(driver, width: int, height: int) -> None:
    """Emulate a ``width`` x ``height`` px screen (a phone's, with its mobile viewport, below 600)."""
    mobile = width < MOBILE_BELOW
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": mobile})


WAIT_FOR_PAGE = """
const done = arguments[arguments.length - 1];
(async () => {
  const result = {mathjax: typeof window.MathJax, mathjaxError: null};
  try {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await Promise.race([
        MathJax.startup.promise,
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), %d)),
      ]);
    }
  } catch (e) { result.mathjaxError = String(e); }
  // Load every image, lazily loaded ones included, before measuring it.
  for (const img of document.images) {
    img.loading = 'eager';
    if (!img.complete) {
      await new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r);
                               setTimeout(r, 10000); });
    }
  }
  done(result);
})();
""" % (MATHJAX_TIMEOUT_S * 1000)

INSPECT_PAGE = r"""
const shown = el => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
};
const where = el => {
  const section = el.closest('[id]');
  const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
             + Array.from(el.classList).slice(0, 2).map(c => '.' + c).join('');
  const text = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 50);
  return `${name}${section && section !== el ? ' in #' + section.id : ''} "${text}"`;
};

// Raw TeX: control sequences and dollars in the text a reader sees, outside math and code.
const NOT_PROSE = 'pre, code, kbd, samp, script, style, textarea, template, noscript, '
                + '.highlight, .math, mjx-container, .MathJax';
const TEX = /\\[A-Za-z]+|\\[()\[\]{}|]|\$/g;
const PRICE = /^\$\d+(?:[.,]\d+)*(?=$|[\s.,;:!?)\]'"\u2019\u201d-])/;
const rawTex = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const parent = node.parentElement;
  if (!parent || parent.closest(NOT_PROSE)) continue;
  const text = node.nodeValue;
  for (const m of text.matchAll(TEX)) {
    const before = text[m.index - 1];
    if (m[0] === '$' && PRICE.test(text.slice(m.index)) && (!before || /[\s(]/.test(before)))
      continue;
    const section = parent.closest('[id]');
    rawTex.push(`${m[0]} in "${text.slice(Math.max(0, m.index - 30), m.index + 40).trim()}"`
                + (section ? ` (#${section.id})` : ''));
    break;
  }
}
const mathErrors = Array.from(document.querySelectorAll('mjx-merror'))
  .map(e => 'error: ' + (e.getAttribute('data-mjx-error') || e.textContent));
// MathJax's noundefined extension typesets an unknown macro as its name, in red.
for (const e of document.querySelectorAll('mjx-container [style*="color: red"], '
                                        + 'mjx-container [mathcolor="red"]'))
  mathErrors.push('undefined macro: ' + e.textContent);
if ((document.body.innerText || '').includes('Math input error'))
  mathErrors.push('"Math input error" in the page');

// Clipping: content wider than its box must scroll, never be cut off.
const clipped = [];
const MAX_CLIP_PX = arguments[0];
const root = document.documentElement;
if (root.scrollWidth > root.clientWidth + 1) {
  // Name the culprits: the outermost shown elements whose right edge passes the window's,
  // outside any scrolling or clipping box and not fixed to the window (the theme's drawers).
  const wide = el => el.getBoundingClientRect().right > root.clientWidth + 1;
  const contained = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement)
      if (getComputedStyle(p).overflowX !== 'visible' || getComputedStyle(p).position === 'fixed')
        return true;
    return false;
  };
  const culprits = Array.from(document.body.querySelectorAll('*'))
    .filter(el => wide(el) && shown(el) && !wide(el.parentElement)
                  && getComputedStyle(el).position !== 'fixed' && !contained(el))
    .slice(0, 3).map(where);
  clipped.push(`the page is ${root.scrollWidth} px wide in a ${root.clientWidth} px window `
               + `(sticking out: ${culprits.join('; ')})`);
}
// scrollWidth also counts boxes nobody sees (MathJax's screen-reader copy, 1 px clipped), so a
// candidate's content is measured as the extent of its shown descendants.
const HIDDEN_COPY = 'mjx-assistive-mml, .visually-hidden, .sr-only, script, style, template';
const cutOff = el => {
  const box = el.getBoundingClientRect();
  const left = box.left + el.clientLeft, right = left + el.clientWidth;
  let over = 0;
  for (const child of el.querySelectorAll('*')) {
    if (child.closest(HIDDEN_COPY)) continue;
    const r = child.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    over = Math.max(over, r.right - right, left - r.left);
  }
  return over;
};
for (const el of [document.body, ...document.body.querySelectorAll('*')]) {
  if (el.scrollWidth <= el.clientWidth + 1 || el.clientWidth < 2) continue;
  const overflow = getComputedStyle(el).overflowX;
  if (overflow !== 'hidden' && overflow !== 'clip') continue;  // visible: the parent decides
  if (el.closest(HIDDEN_COPY + ', svg') || !shown(el)) continue;
  const over = cutOff(el);
  if (over > MAX_CLIP_PX)
    clipped.push(`${where(el)} cuts ${Math.round(over)} px off (${el.clientWidth} px wide)`);
}

// Chrome: the search boxes a reader sees, and the sidebar title's lines.
const searchBoxes = Array.from(document.querySelectorAll(
    '.search-button-field, button.search-button, input[type="search"]'))
  .filter(el => shown(el) && !el.closest('main, .search-button__wrapper'))
  .map(where);
let titleLines = null;
const title = Array.from(document.querySelectorAll('.logo__title')).find(shown);
if (title) {
  const range = document.createRange();
  range.selectNodeContents(title);
  titleLines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0)
                                                          .map(r => Math.round(r.top))).size;
}

return {
  url: location.href,
  title: document.title,
  mathSources: document.querySelectorAll('.math, div.math, span.math').length,
  mathRendered: document.querySelectorAll('mjx-container').length,
  mathErrors: mathErrors.slice(0, 5),
  rawTex: rawTex.slice(0, 8),
  clipped: clipped.slice(0, 8),
  searchBoxes: searchBoxes,
  titleLines: titleLines,
  titleText: title ? title.textContent.trim() : null,
  images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src,
                                                  complete: i.complete,
                                                  width: i.naturalWidth})),
  height: Math.max(document.body.scrollHeight, root.scrollHeight),
};
"""


def settle(driver, timeout_s: float = 30) -> None:
    """Wait until the page (after any redirect, e.g. index.html -> intro.html) has loaded."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        now = driver.execute_script(
            "return [location.href, document.readyState, !!document.body];")
        if now == last and now[1] == "complete" and now[2]:
            return
        last = now
        time.sleep(0.25)
    raise AssertionError(f"page did not finish loading in {timeout_s} s: {last}")


def requests_made(driver) -> list[str]:
    """URLs the page asked the network for, from Chromium's performance log."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def screenshot(driver, page: str, width: int, height: int) -> Path:
    """A full-page PNG (up to SCREENSHOT_MAX_HEIGHT px) of the current page at ``width`` px.

    The emulated screen is made as tall as the page for the shot (Chromium's
    capture-beyond-viewport mode mis-draws the theme's sticky sidebar), then restored.
    """
    height = max(WIDTHS[width], min(int(height), SCREENSHOT_MAX_HEIGHT))
    path = SHOTS / str(width) / (page[:-len(".html")] + ".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        set_viewport(driver, width, height)
        time.sleep(0.3)  # let the theme re-layout
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
    finally:
        set_viewport(driver, width, WIDTHS[width])
    return path


def load(driver, server: str, page: str, width: int) -> tuple[dict, dict]:
    """Open ``page`` at ``width`` px, wait for MathJax and the images; (wait result, inspection)."""
    set_viewport(driver, width, WIDTHS[width])
    driver.get(f"{server}/{page}")
    settle(driver)
    waited = driver.execute_async_script(WAIT_FOR_PAGE)
    time.sleep(0.2)  # MathJax has typeset; let the layout settle before measuring it
    return waited, driver.execute_script(INSPECT_PAGE, MAX_CLIP_PX)


def page_problems(width: int, waited: dict, state: dict) -> list[str]:
    """What a reader at ``width`` px would see wrong on the page ``state`` describes."""
    problems = []
    if state["mathSources"]:
        if waited["mathjax"] == "undefined":
            problems.append(f"{state['mathSources']} formulas but MathJax never loaded")
        if waited["mathjaxError"]:
            problems.append(f"MathJax did not finish: {waited['mathjaxError']}")
        if state["mathRendered"] < state["mathSources"]:
            problems.append(f"MathJax rendered {state['mathRendered']} of "
                            f"{state['mathSources']} formulas")
    if state["mathErrors"]:
        problems.append(f"MathJax could not typeset: {state['mathErrors']}")
    for raw in state["rawTex"]:
        problems.append(f"raw TeX in the page text: {raw}")
    for clip in state["clipped"]:
        problems.append(f"clipped instead of scrolling: {clip}")
    for image in state["images"]:
        if not image["complete"] or image["width"] == 0:
            problems.append(f"image did not load: {image['src']}")
    if width == max(WIDTHS):
        if len(state["searchBoxes"]) != 1:
            problems.append(f"{len(state['searchBoxes'])} search boxes (want one): "
                            f"{state['searchBoxes']}")
        if state["titleLines"] is not None and state["titleLines"] > MAX_TITLE_LINES:
            problems.append(f"the sidebar title {state['titleText']!r} takes "
                            f"{state['titleLines']} lines (at most {MAX_TITLE_LINES})")
    return problems


@pytest.mark.parametrize("width", sorted(WIDTHS, reverse=True))
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline(page, width, server, browser):
    browser.get_log("browser")  # drop what an earlier page left
    browser.get_log("performance")
    waited, state = load(browser, server, page, width)
    console = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    requests = requests_made(browser)
    shot = screenshot(browser, page, width, state["height"])

    problems = page_problems(width, waited, state)
    for entry in console:
        problems.append(f"console error: {entry['message']}")
    external = [u for u in requests
                if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                and urlsplit(u).hostname not in ("127.0.0.1", "localhost")]
    for url in external:
        problems.append(f"request left the machine: {url}")
    assert not problems, (f"{page} at {width} px ({state['url']}, screenshot {shot}):\n  "
                          + "\n  ".join(problems))


def test_math_pages_really_have_mathjax_output(server, browser):
    """Guard against a vacuous pass: the preface has math, rendered by the book's own MathJax."""
    browser.get_log("performance")
    waited, state = load(browser, server, "intro.html", max(WIDTHS))
    assert state["mathSources"] > 0, "the preface has no math: is this the rsmlib book?"
    assert state["mathRendered"] >= state["mathSources"], state
    assert state["titleLines"] is not None and state["searchBoxes"], state
    mathjax = [u for u in requests_made(browser) if "/_static/mathjax/" in u]
    assert mathjax and all(u.startswith(server) for u in mathjax), mathjax


SYNTHETIC_PAGE = r"""<!DOCTYPE html><html><body><main>
<p id="raw-dollar">An unrendered $x^2$ formula.</p>
<p id="raw-macro">A control word \mathbb{E} left in prose.</p>
<p id="prices">Prices are prose: it costs $5, or $1.50 (and $20).</p>
<pre>echo $HOME; \frac{a}{b}</pre><p>Code: <code>$x \mu</code>.</p>
<span class="math">\(x\)</span>
<div id="clipped" style="width:100px;overflow:hidden"><div style="width:300px;height:9px"></div></div>
<div id="scrolls" style="width:100px;overflow-x:auto"><div style="width:300px;height:9px"></div></div>
<mjx-container><mjx-merror data-mjx-error="Missing close brace">x</mjx-merror></mjx-container>
<div id="too-wide" style="width:3000px;height:1px"></div>
</main></body></html>"""


def test_the_page_checks_flag_what_they_should(browser):
    """The detectors on a page made to fail: what they flag, and what they leave alone."""
    set_viewport(browser, 1366, WIDTHS[1366])
    browser.get("about:blank")
    browser.execute_script("document.open(); document.write(arguments[0]); document.close();",
                           SYNTHETIC_PAGE)
    state = browser.execute_script(INSPECT_PAGE, MAX_CLIP_PX)
    raw = state["rawTex"]
    assert len(raw) == 2 and "#raw-dollar" in raw[0] and "\\mathbb" in raw[1], raw
    clipped = state["clipped"]
    assert len(clipped) == 2, clipped
    assert clipped[0].startswith("the page is 3") and "div#too-wide" in clipped[0], clipped
    assert "div#clipped" in clipped[1] and "cuts 200 px off" in clipped[1], clipped
    assert any("Missing close brace" in e for e in state["mathErrors"]), state["mathErrors"]
