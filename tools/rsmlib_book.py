"""Sphinx extension for the rsmlib book (loaded by ``_config.yml``: ``sphinx: local_extensions``).

It does three things, all at build time, so that a fresh clone builds the same book:

1. **Offline MathJax.** ``mathjax_path`` in ``_config.yml`` names a file under ``mathjax/``,
   relative to the build's ``_static``. After the HTML build this extension copies MathJax's
   ``es5`` distribution there from the pinned PyPI package ``django-static-mathjax`` (a plain copy
   of MathJax 3 that imports nothing), so the book renders equations with no network at all.
   A ``mathjax_path`` that points at a network location is reported as a warning.
2. **Chapter-numbered equations and figures.** The chapters are not a numbered toctree, so Sphinx
   numbers equations (1), (2), ... afresh on every page, and a reference from Chapter 2 to
   ``{eq}`grad-free-energy``` would read "(3)", indistinguishable from Chapter 2's own (3). For
   pages named ``chapters/NN_*``, equation, figure, table and listing numbers become ``N.k``
   (``A4.k`` on the appendix page ``chapters/A4_*``), both where they are displayed and in
   every cross-reference.
3. **The API reference.** The ``{rsmlib-api}`` directive documents the public API, grouped by
   task: its content has one line per group, ``Title: name, name, ...`` (``Title — a sentence:
   ...`` adds a sentence under the heading), each name an attribute of ``rsmlib`` (``RSM``,
   ``keras.RSMLayer``). Every name of ``rsmlib.__all__`` must be in a group and every listed
   name must exist (a build warning otherwise, so ``-W`` fails): internals (validators, helper
   classes, underscore names) are not listed and stay out of the page. Each function and class
   gets a "Derived in" line naming the chapter whose ``#| export`` cell defines it; the
   docstrings' ``(eq. label)`` mentions become links to the numbered equation, and the equation
   a summary line names is displayed under it, typeset from the chapter's own TeX. ``$...$`` in a
   docstring is inline math.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from export import export_cells  # tools/export.py: the one parser of export cells

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "rsmlib"
DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s+(?P<name>[A-Za-z_]\w*)|^(?P<const>[A-Z_][A-Z0-9_]*)\s*=",
                        re.M)
CHAPTER_DOC = re.compile(r"^chapters/(?P<number>\d+)_[^/]+$")
APPENDIX_DOC = re.compile(r"^chapters/(?P<prefix>A\d+)_[^/]+$")  # A4_validation: "A4.1"
EQ_LABEL_MYST = re.compile(r"^\$\$\s*\((?P<label>[^)\s]+)\)\s*$", re.M)
EQ_LABEL_DIRECTIVE = re.compile(r"^:label:\s*(?P<label>\S+)\s*$", re.M)
# Spans a docstring means as markup: ``literal``, :role:`target`, `interpreted text`, $math$.
MARKUP_SPAN = re.compile(r"(``.+?``|:[\w:+.-]+:`[^`]*`|`[^`]*`_{0,2}|(?<![\w$])\$[^$\s][^$]*?(?<!\s)\$(?![\w$]))")
EQ_MENTION = re.compile(r"\beq\.\s+(?P<label>[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)")
NUMBERED_TYPES = ("displaymath", "figure", "table", "code-block")
MATHJAX_DIR = "mathjax"


# --------------------------------------------------------------------------------------------
# 1. Offline MathJax


def mathjax_es5_dir() -> Path:
    """The ``es5`` folder of the MathJax 3 distribution installed from requirements.txt."""
    import importlib.util

    spec = importlib.util.find_spec("mathjax")
    if spec is None or spec.origin is None:
        raise ExtensionError("MathJax is not installed: the book serves MathJax from its own "
                             "_static folder. Run `.venv/bin/pip install -r requirements.txt` "
                             "(it pins django-static-mathjax).")
    es5 = Path(spec.origin).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        raise ExtensionError(f"no MathJax es5 distribution at {es5}")
    return es5


def check_mathjax_path(app, config) -> None:
    path = str(config.mathjax_path or "")
    if re.match(r"^([a-z][a-z0-9+.-]*:)?//", path, re.I):
        logger.warning("mathjax_path %r loads MathJax over the network; the book must render "
                       "offline: use a path under %s/ (copied from the installed MathJax)",
                       path, MATHJAX_DIR, type="rsmlib", subtype="mathjax")


def copy_mathjax(app, exception) -> None:
    """Copy MathJax into ``<outdir>/_static/mathjax`` after a successful HTML build."""
    if exception is not None or app.builder.format != "html":
        return
    path = str(app.config.mathjax_path or "")
    first, _, entry = path.partition("/")
    if first != MATHJAX_DIR or not entry:
        return  # not ours to serve (check_mathjax_path has warned if it is remote)
    es5 = mathjax_es5_dir()
    if not (es5 / entry).is_file():
        raise ExtensionError(f"mathjax_path {path!r}: MathJax has no file {entry!r} in {es5}")
    target = Path(app.outdir) / "_static" / MATHJAX_DIR
    target.mkdir(parents=True, exist_ok=True)
    # The entry component plus the folders MathJax loads on demand (TeX extensions such as
    # boldsymbol, CHTML fonts, the menu, accessibility); not the other combined components.
    copy_if_changed(es5 / entry, target / entry)
    for folder in sorted(p for p in es5.iterdir() if p.is_dir()):
        for source in folder.rglob("*"):
            if source.is_file():
                copy_if_changed(source, target / source.relative_to(es5))
    licence = es5.parent / "LICENSE"
    if licence.is_file():
        copy_if_changed(licence, target / "LICENSE")


def copy_if_changed(source: Path, target: Path) -> None:
    stat = source.stat()
    if target.is_file():
        done = target.stat()
        if done.st_size == stat.st_size and int(done.st_mtime) == int(stat.st_mtime):
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


# --------------------------------------------------------------------------------------------
# 2. Chapter-prefixed numbers for equations, figures, tables and listings


def chapter_number(docname: str) -> int | None:
    match = CHAPTER_DOC.match(docname)
    return int(match.group("number")) if match else None


def number_prefix(docname: str) -> int | str | None:
    """What a page's numbers start with: 2 for ``chapters/02_*``, "A4" for ``chapters/A4_*``."""
    appendix = APPENDIX_DOC.match(docname)
    return appendix.group("prefix") if appendix else chapter_number(docname)


def prefix_chapter_numbers(app, env) -> list[str]:
    """Runs after Sphinx has (re)assigned figure numbers: the k-th in chapter N becomes (N, k).

    Without a numbered toctree Sphinx counts on across pages, so each chapter's items are
    renumbered from 1 in their original order. An appendix's are numbered the same way,
    ("A4", k): "Figure A4.1".
    """
    for docname, by_type in env.toc_fignumbers.items():
        chapter = number_prefix(docname)
        if chapter is None or env.toc_secnumbers.get(docname):
            continue  # not a chapter, or already numbered by a numbered toctree
        for figtype in NUMBERED_TYPES:
            numbers = by_type.get(figtype, {})
            flat = sorted((number, node_id) for node_id, number in numbers.items()
                          if len(number) == 1)
            for k, (_, node_id) in enumerate(flat, start=1):
                numbers[node_id] = (chapter, k)
    return []


# --------------------------------------------------------------------------------------------
# 3. The API reference


def exported_definitions(chapters_dir: Path) -> dict[tuple[str, str], str]:
    """{(module, top-level name): notebook path} from the chapters' ``#| export`` cells."""
    where = {}
    for notebook, _, module, body in export_cells(chapters_dir):
        rel = notebook.relative_to(ROOT).as_posix()
        for definition in DEFINITION.finditer(body):
            name = definition.group("name") or definition.group("const")
            where.setdefault((module, name), rel)
    return where


def equations(chapters_dir: Path) -> dict[str, tuple[str, str | None]]:
    """{label: (docname, TeX body or None)} of the chapters' numbered equations.

    The body is known for MyST's ``$$`` blocks closed by ``$$ (label)``; for ``:label:``
    directives only the label is collected.
    """
    found = {}
    for path in sorted(chapters_dir.glob("*.ipynb")):
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            continue
        docname = notebook_docname(path.relative_to(ROOT).as_posix())
        for cell in cells:
            if cell.get("cell_type") != "markdown":
                continue
            text = "".join(cell.get("source", ""))
            body = None  # lines of the open $$ block, if any
            for line in text.splitlines():
                closing = EQ_LABEL_MYST.match(line)
                if body is not None and (closing or line.strip() == "$$"):
                    if closing:
                        found.setdefault(closing.group("label"), (docname, "\n".join(body)))
                    body = None
                elif body is None and line.strip() == "$$":
                    body = []
                elif body is not None:
                    body.append(line)
            for match in EQ_LABEL_DIRECTIVE.finditer(text):
                found.setdefault(match.group("label"), (docname, None))
    return found


def notebook_docname(notebook: str) -> str:
    return notebook[:-len(".ipynb")] if notebook.endswith(".ipynb") else notebook


def chapter_link(env, notebook: str, with_title: bool = True) -> str:
    """reST for "Chapter N, <title>" (or just "Chapter N") linking to the chapter.

    Plain text if the chapter is not in the book yet (a notebook not yet in _toc.yml).
    """
    docname = notebook_docname(notebook)
    number = chapter_number(docname)
    label = f"Chapter {number}" if number is not None else docname
    if docname not in env.found_docs:
        return f"{label} (``{notebook}``, not yet in the book)"
    if with_title:
        return f"{label}, :doc:`/{docname}`"
    return f":doc:`{label} </{docname}>`"


def api_groups(lines: list[str]) -> list[tuple[str, str, list[str]]]:
    """[(title, sentence, [names])] from the directive's ``Title — sentence: a, b`` lines."""
    groups = []
    for line in lines:
        if not line.strip():
            continue
        head, colon, names = line.rpartition(":")
        if not colon or not head.strip():
            raise ValueError(f"expected 'Title: name, name, ...', got {line!r}")
        title, _, sentence = head.partition(" — ")
        groups.append((title.strip(), sentence.strip(),
                       [n.strip() for n in names.split(",") if n.strip()]))
    return groups


def resolve(name: str):
    """The object ``rsmlib.<name>`` (``keras.RSMLayer`` imports ``rsmlib.keras``), or None."""
    import importlib

    obj = importlib.import_module(PACKAGE)
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return None
    return obj


class RsmlibApi(SphinxDirective):
    """``{rsmlib-api}``: the public API of rsmlib, one section per group of the content."""

    has_content = True

    def run(self):
        import importlib
        import inspect

        package_dir = ROOT / PACKAGE
        # Rebuild this page when a module is added, removed or changed, or a chapter moves.
        self.env.note_dependency(str(package_dir))
        self.env.note_dependency(str(ROOT / "chapters"))
        for module in sorted(package_dir.glob("*.py")):
            self.env.note_dependency(str(module))
        try:
            groups = api_groups(list(self.content))
        except ValueError as error:
            raise self.error(str(error)) from None
        if not groups:
            raise self.error("{rsmlib-api} needs its groups: one 'Title: name, ...' per line")
        public = list(importlib.import_module(PACKAGE).__all__)
        listed = [name for _, _, names in groups for name in names]
        for name in public:
            if name not in listed:
                logger.warning("rsmlib.%s (in rsmlib.__all__) is in no group of {rsmlib-api}",
                               name, location=self.get_location(), type="rsmlib", subtype="api")
        for name in sorted({n for n in listed if listed.count(n) > 1}):
            logger.warning("rsmlib.%s is listed twice in {rsmlib-api}", name,
                           location=self.get_location(), type="rsmlib", subtype="api")

        lines = []
        for title, sentence, names in groups:
            lines += [title, "-" * len(title), ""]
            if sentence:
                lines += [sentence, ""]
            for name in names:
                obj = resolve(name)
                if obj is None:
                    logger.warning("{rsmlib-api}: rsmlib has no %s", name,
                                   location=self.get_location(), type="rsmlib", subtype="api")
                    continue
                kind = "autoclass" if inspect.isclass(obj) else "autofunction"
                lines += [f".. {kind}:: {PACKAGE}.{name}", ""]
        return parse_rst(self, "\n".join(lines))


def parse_rst(directive: SphinxDirective, text: str) -> list[nodes.Node]:
    """Parse reStructuredText (sections allowed) whatever the page's own markup is (MyST here)."""
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser, roles
    from docutils.utils import new_document

    document = directive.state.document
    source, line = directive.get_source_info()
    subdoc = new_document(source, settings=get_default_settings(Parser))
    subdoc.settings = document.settings
    subdoc.reporter = document.reporter
    blank_role = roles._roles.get("")  # docutils' parser resets the default role; keep MyST's
    Parser().parse("\n" * (line or 0) + text, subdoc)
    if blank_role is not None:
        roles._roles[""] = blank_role
    for node in subdoc.children:
        if isinstance(node, nodes.section):
            document.note_implicit_target(node, node)
    return list(subdoc.children)


def add_derivation_links(app, what, name, obj, options, lines) -> None:
    """Link ``eq. label``, typeset the summary's equation, add "Derived in Chapter N".

    Runs on every rsmlib docstring (``rsmlib.RSM``, ``rsmlib.RSM.free_energy``, ...). The
    module that defines a function or class is its ``__module__`` (``rsmlib.rsm``), whatever
    name the API page documents it under.
    """
    if name.split(".")[0] != PACKAGE:
        return
    shown = app.env.rsmlib_equations
    built = app.env.found_docs

    def in_book(label):  # only equations of chapters that are in the book can be linked
        return label in shown and shown[label][0] in built

    def link(match):
        return f"eq. :eq:`{match['label']}`" if in_book(match["label"]) else match.group(0)

    summary_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    summary = [m["label"] for line in lines[:summary_end] for m in EQ_MENTION.finditer(line)]
    doctest = doctest_lines(lines)
    for i, line in enumerate(lines):
        if i not in doctest:  # an example's code and output are shown as they are
            lines[i] = EQ_MENTION.sub(link, plain_text_to_rst(line))
    tex = next((shown[label][1] for label in summary if in_book(label) and shown[label][1]),
               None)
    if tex:  # the formula the summary names, typeset, under the summary
        lines[summary_end:summary_end] = ["", ".. math::", ""] + [
            "   " + row for row in tex.strip().splitlines()] + [""]
    if what not in ("function", "class"):
        return
    module = (getattr(obj, "__module__", None) or "").split(".")
    if len(module) != 2 or module[0] != PACKAGE:
        return
    notebook = app.env.rsmlib_definitions.get((module[1], getattr(obj, "__name__", "")))
    if notebook is None:
        return
    if lines and lines[-1].strip():
        lines.append("")
    lines.append(f"*Derived in* {chapter_link(app.env, notebook, with_title=False)}.")
    lines.append("")


def doctest_lines(lines: list[str]) -> set[int]:
    """Indices of the lines of the docstring's doctest blocks (the "Examples" sections).

    A doctest block starts at a ``>>>`` line and runs to the next blank line, as in reST;
    its ``2**n`` and ``|x|`` are Python, which reST shows literally, so they are not escaped.
    """
    found, inside = set(), False
    for i, line in enumerate(lines):
        inside = bool(line.strip()) and (inside or line.lstrip().startswith(">>>"))
        if inside:
            found.add(i)
    return found


def plain_text_to_rst(line: str) -> str:
    """Escape ``|`` and ``*`` outside markup spans; ``$x$`` becomes ``:math:`x```.

    rsmlib's docstrings are plain text with ``literals`` (``max_i |a_i - b_i|``, ``2**n``), so a
    ``|`` or ``*`` there is mathematics, not a reST substitution or emphasis.
    """
    parts = MARKUP_SPAN.split(line)
    for i in range(0, len(parts), 2):  # even indices lie outside the markup spans
        parts[i] = re.sub(r"([|*])", r"\\\1", parts[i])
    for i in range(1, len(parts), 2):
        if parts[i].startswith("$"):
            parts[i] = f":math:`{parts[i][1:-1]}`"
    return "".join(parts)


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """Emit each script once per page.

    sphinx-thebe, as Jupyter Book loads it, adds its inline ``const THEBE_JS_URL = ...`` script
    twice, and the second copy is a SyntaxError in the reader's console on every page.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def load_sources(app) -> None:
    chapters = ROOT / "chapters"
    app.env.rsmlib_definitions = exported_definitions(chapters)
    app.env.rsmlib_equations = equations(chapters)


def setup(app):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # autodoc imports TensorFlow
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("config-inited", check_mathjax_path)
    app.connect("builder-inited", load_sources)
    app.connect("env-get-updated", prefix_chapter_numbers, priority=900)
    app.connect("autodoc-process-docstring", add_derivation_links)
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    app.connect("build-finished", copy_mathjax)
    app.add_directive("rsmlib-api", RsmlibApi)
    return {"version": "1.0", "parallel_read_safe": False, "parallel_write_safe": True}
