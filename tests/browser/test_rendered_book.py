"""The rendered book, as a reader sees it: every page of _build/html in headless Chromium, offline.

Run after the book is built (``jb build . -n -W --keep-going``)::

    .venv/bin/python -m pytest tests/browser -p no:cacheprovider

It serves ``_build/html`` (or ``$RSMLIB_BOOK_HTML``) on 127.0.0.1 from a free port and loads each
HTML page in headless Chromium whose network is cut off: host names do not resolve and every
non-loopback request is sent to a proxy on a closed loopback port, so a page that needs a CDN
fails loudly (its console reports the failed load). For every page it checks

* MathJax rendered: pages with math have one MathJax output element per formula, no ``mjx-merror``
  (TeX that MathJax could not parse), and no raw ``$$``, ``\\(``, ``\\[`` left in the visible text;
* every ``<img>`` loaded (``naturalWidth > 0``);
* no console errors (SEVERE browser log entries) and no request left 127.0.0.1;
* internal links resolve: every local ``href``/``src`` names a file in the build and every
  ``#anchor`` exists in its target page;

and saves a full-page screenshot to ``_build/screenshots/<page>.png`` (override with
``$RSMLIB_SCREENSHOTS``). Chromium and chromedriver come from Debian (``chromium``,
``chromium-driver``; ``tools/ensure_chromium.sh`` installs them); a missing browser or book is a
failure, not a skip.
"""
from __future__ import annotations

import functools
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
WINDOW = (1280, 900)  # a laptop screen: the theme shows both sidebars
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
                 "--window-size=%d,%d" % WINDOW, "--force-device-scale-factor=1",
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

INSPECT_PAGE = """
const main = document.querySelector('main') || document.body;
// Visible prose: the main content without code, scripts and MathJax's own output.
const clone = main.cloneNode(true);
clone.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
     .forEach(n => n.remove());
const text = clone.innerText || clone.textContent || '';
const math = document.querySelectorAll('.math, div.math, span.math');
return {
  url: location.href,
  title: document.title,
  mathSources: math.length,
  mathRendered: document.querySelectorAll('mjx-container').length,
  mathErrors: Array.from(document.querySelectorAll('mjx-merror'))
                   .map(e => e.getAttribute('data-mjx-error') || e.textContent).slice(0, 5),
  rawTex: (text.match(/(\\$\\$|\\\\\\(|\\\\\\)|\\\\\\[|\\\\\\])[^\\n]{0,60}/g) || []).slice(0, 5),
  images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src,
                                                  complete: i.complete,
                                                  width: i.naturalWidth})),
  height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),
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


def screenshot(driver, page: str, height: int) -> Path:
    """A full-page PNG (up to SCREENSHOT_MAX_HEIGHT px) of the current page.

    The window is made as tall as the page for the shot (Chromium's capture-beyond-viewport
    mode mis-draws the theme's sticky sidebar), then restored.
    """
    width, window_height = WINDOW
    chrome = window_height - driver.execute_script("return window.innerHeight;")
    height = max(window_height - chrome, min(int(height), SCREENSHOT_MAX_HEIGHT))
    path = SHOTS / (page[:-len(".html")] + ".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        driver.set_window_size(width, height + chrome)
        time.sleep(0.3)  # let the theme re-layout
        path.write_bytes(driver.get_screenshot_as_png())
    finally:
        driver.set_window_size(width, window_height)
    return path


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline(page, server, browser):
    browser.get_log("browser")  # drop what an earlier page left
    browser.get_log("performance")
    browser.get(f"{server}/{page}")
    settle(browser)
    waited = browser.execute_async_script(WAIT_FOR_PAGE)
    state = browser.execute_script(INSPECT_PAGE)
    console = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    requests = requests_made(browser)
    shot = screenshot(browser, page, state["height"])

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
    if state["rawTex"]:
        problems.append(f"raw TeX left in the page text: {state['rawTex']}")
    for image in state["images"]:
        if not image["complete"] or image["width"] == 0:
            problems.append(f"image did not load: {image['src']}")
    for entry in console:
        problems.append(f"console error: {entry['message']}")
    external = [u for u in requests
                if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                and urlsplit(u).hostname not in ("127.0.0.1", "localhost")]
    for url in external:
        problems.append(f"request left the machine: {url}")
    assert not problems, (f"{page} ({state['url']}, screenshot {shot}):\n  "
                          + "\n  ".join(problems))


def test_math_pages_really_have_mathjax_output(server, browser):
    """Guard against a vacuous pass: the preface has math, rendered by the book's own MathJax."""
    browser.get_log("performance")
    browser.get(f"{server}/intro.html")
    settle(browser)
    browser.execute_async_script(WAIT_FOR_PAGE)
    state = browser.execute_script(INSPECT_PAGE)
    assert state["mathSources"] > 0, "the preface has no math: is this the rsmlib book?"
    assert state["mathRendered"] >= state["mathSources"], state
    mathjax = [u for u in requests_made(browser) if "/_static/mathjax/" in u]
    assert mathjax and all(u.startswith(server) for u in mathjax), mathjax
