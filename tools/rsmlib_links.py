"""Sphinx extension: the book's links to its source derive from one setting, ``repository.url``.

Jupyter Book passes ``repository.url`` of ``_config.yml`` to the theme as ``repository_url``.
When it names a place, the pages get the repository button and the launch buttons (Binder,
Colab) of ``launch_buttons``; when it is empty (the book's source has no public home yet), they
get neither, so that no rendered link leads nowhere. The chapters' first cell derives from the
same setting (``tools/install_cell.py``).
"""
from __future__ import annotations

REPOSITORY_BUTTONS = ("use_repository_button", "use_edit_page_button", "use_issues_button")


def derive_links(app, config) -> None:
    options = config.html_theme_options
    if (options.get("repository_url") or "").strip():
        options["use_repository_button"] = True  # Jupyter Book's default is False
        return
    for button in REPOSITORY_BUTTONS:
        options[button] = False
    options.pop("launch_buttons", None)
    options.pop("repository_url", None)


def setup(app):
    app.connect("config-inited", derive_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
