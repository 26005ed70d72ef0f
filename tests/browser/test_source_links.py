"""The built book links to its source only where ``repository.url`` (_config.yml) names it.

Run after the book is built (``make test`` does)::

    .venv/bin/python -m pytest tests/browser/test_source_links.py -p no:cacheprovider

With the setting empty, no page of ``_build/html`` (or ``$RSMLIB_BOOK_HTML``) links to a code host
or a launch service (Binder, Colab, ...): such a link would lead nowhere. With it set, every such
link names that repository. The chapters must still offer the .ipynb download (a local file).
Links to works the book cites (the URLs in references.bib, e.g. a tutorial's repository in the
bibliography) are content, not links to the book's source, and are left out.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("RSMLIB_BOOK_HTML", ROOT / "_build" / "html")).resolve()
HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "mybinder.org", "colab.research.google.com",
         "deepnote.com", "binder")
LINK = re.compile(r"""(?:href|src|action)\s*=\s*["']([^"']+)["']""", flags=re.I)


def setting() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return ((config.get("repository") or {}).get("url") or "").strip().rstrip("/")


def cited_urls() -> set[str]:
    """The URLs that references.bib cites (``url = {...}`` or ``\\url{...}``), without a final /."""
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    urls = re.findall(r"\\url\{([^}]+)\}", bib) + re.findall(r"\burl\s*=\s*[{\"]([^}\"]+)", bib)
    return {u.strip().rstrip("/") for u in urls}


def source_links() -> dict[str, set[str]]:
    """{page: links to a code host or a launch service} over every page, less cited works."""
    cited = cited_urls()
    found = {}
    for page in sorted(HTML.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        links = {url for url in LINK.findall(text) if re.match(r"^(\w+:)?//", url)
                 and any(host in url.lower() for host in HOSTS) and url.rstrip("/") not in cited}
        if links:
            found[page.relative_to(HTML).as_posix()] = links
    return found


def test_the_book_is_built():
    assert (HTML / "intro.html").is_file(), f"build the book first: no {HTML / 'intro.html'}"


def test_cited_works_are_recognised():
    assert "https://github.com/lisa-lab/DeepLearningTutorials" in cited_urls()


def test_no_link_leads_nowhere():
    url, links = setting(), source_links()
    if not url:
        assert links == {}, f"repository.url is unset, yet pages link to a source: {links}"
    else:
        repo = "/".join(url.split("/")[-2:])
        wrong = {page: {u for u in found if repo not in u} for page, found in links.items()}
        assert not any(wrong.values()), f"links to another place than {url}: {wrong}"
        assert links, f"repository.url is {url}, yet no page links to it"


def test_chapters_offer_the_notebook_download():
    page = (HTML / "chapters" / "01_energy_models.html").read_text(encoding="utf-8")
    assert "_sources/chapters/01_energy_models.ipynb" in page
