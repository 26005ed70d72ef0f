"""tools/rsmlib_book.py, the book's Sphinx extension: how a docstring's plain text becomes reST.

A docstring's ``|`` and ``*`` are mathematics (``|a_i - b_i|``, ``2**n``) and are escaped for
reST; the lines of a doctest block (an "Examples" section) are Python, which reST shows as
they are, so escaping them would put backslashes into the printed code (``x\\*\\*2``).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from rsmlib_book import doctest_lines, plain_text_to_rst  # noqa: E402  (tools/rsmlib_book.py)


def test_plain_text_is_escaped_outside_literals():
    assert plain_text_to_rst("max_i |a_i| and 2**n") == r"max_i \|a_i\| and 2\*\*n"
    assert plain_text_to_rst("``2**n`` and $|x|$") == "``2**n`` and :math:`|x|`"


def test_doctest_blocks_are_found_from_the_prompt_to_the_blank_line():
    lines = ["Sum of x**2.", "", ".. rubric:: Examples", "",
             ">>> f = lambda x: tf.reduce_sum(x**2)", "... # |x|", "4.0", "",
             "After |x|."]
    assert doctest_lines(lines) == {4, 5, 6}
    assert doctest_lines(["a", ">>> 1", "1", ">>> 2 * 3", "6"]) == {1, 2, 3, 4}
    assert doctest_lines(["no example: 2**n", "    >>>  indented", "x"]) == {1, 2}
