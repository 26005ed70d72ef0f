"""Bibliography labels in the book's author-year citation style (a Sphinx local extension).

The chapters cite author-year (``bibtex_reference_style: author_year``): "Hinton, 2002",
"Salakhutdinov and Hinton, 2009", "Rezende et al., 2014". pybtex's default ``alpha`` labels
("Hin02", "A+16") would not match them, so this registers the formatting style ``author_year``
(``bibtex_default_style`` in _config.yml): pybtex's ``alpha`` (sorted by author, year, title) with
labels written the way the citations are. Two works with the same label get "a", "b" after the
year. tests/browser checks that every citation's text equals its entry's label.
"""
from __future__ import annotations

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle

STYLE_NAME = "author_year"


def last_name(person) -> str:
    """"de Finetti", "Université de Montréal": prelast and last names, LaTeX turned into text."""
    parts = person.rich_prelast_names + person.rich_last_names
    return " ".join(str(part.render_as("text")) for part in parts) or str(person)


def author_year_label(entry) -> str:
    """"A, 2002", "A and B, 2009", "A et al., 2014" (authors, else editors, else the key)."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [last_name(p) for p in persons]
    if len(names) > 1 and names[-1] == "others":  # "A and others": BibTeX's "et al."
        names = names[:-1] + ["", ""]
    if not names:
        who = str(Text.from_latex(entry.fields.get("organization", entry.key)).render_as("text"))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    year = entry.fields.get("year", "n.d.")
    return f"{who}, {year}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [author_year_label(entry) for entry in sorted_entries]
        repeated = {label for label, n in Counter(labels).items() if n > 1}
        seen: Counter = Counter()
        for label in labels:
            if label in repeated:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(AlphaStyle):
    default_label_style = AuthorYearLabels


def setup(app):
    register_plugin("pybtex.style.formatting", STYLE_NAME, AuthorYearStyle, force=True)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
