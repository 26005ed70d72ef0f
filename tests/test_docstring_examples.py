"""The docstring examples of the modules exported by the notebooks in ``NOTEBOOKS`` run, and
print what they say.

``NOTEBOOKS`` holds every notebook that exports: Chapters 1 to 5 and Appendices A.1 to A.4.
The API page shows these examples (napoleon's "Examples" sections); this runs
them with ``doctest`` (``ELLIPSIS`` on, so a long error message may end in ``...``). Every
public function and class that one of these notebooks exports has an example, and type hints
on its public functions and methods: a new one without an example fails
``test_every_public_definition_has_an_example``, one without hints
``test_public_functions_have_type_hints``.
"""
from __future__ import annotations

import doctest
import importlib
import inspect
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from export import export_cells  # noqa: E402  (tools/export.py)

NOTEBOOKS = ("01_energy_models.ipynb", "A4_validation.ipynb", "02_replicated_softmax.ipynb",
             "03_training_rsm.ipynb", "A2_training.ipynb", "04_stochastic_backprop.ipynb",
             "05_deep_latent_gaussian.ipynb", "A3_dlgm_training.ipynb", "A1_keras.ipynb")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def exported_definitions() -> list[tuple[str, str]]:
    """[(module, name)] of the public top-level functions and classes the notebooks export."""
    import ast

    found = []
    for notebook, _, module, body in export_cells(ROOT / "chapters"):
        if notebook.name not in NOTEBOOKS:
            continue
        for node in ast.parse(body).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                found.append((module, node.name))
    return found


DEFINITIONS = exported_definitions()


def test_the_notebooks_export_what_this_test_expects():
    names = {name for _, name in DEFINITIONS}
    assert {"RBM", "check", "binary_states", "as_seed", "check_units", "check_counts"} <= names
    assert {"price_gradients", "kl_rank_one_to_standard", "DLGM", "GenerativeModel",
            "load_mnist_digits", "fit_dlgm", "load_binarized_mnist", "check_binary_images",
            "check_finite", "check_wrt"} <= names


@pytest.mark.parametrize("module, name", DEFINITIONS, ids=lambda x: x)
def test_every_public_definition_has_an_example(module, name):
    obj = getattr(importlib.import_module(f"rsmlib.{module}"), name)
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(obj, name) if t.examples]
    assert tests, f"rsmlib.{module}.{name} has no '>>>' example in its docstring"


@pytest.mark.parametrize("module, name", DEFINITIONS, ids=lambda x: x)
def test_examples_run_and_print_what_they_show(module, name):
    mod = importlib.import_module(f"rsmlib.{module}")
    obj = getattr(mod, name)
    finder = doctest.DocTestFinder(recurse=inspect.isclass(obj))
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    # the runner swaps sys.stdout while an example runs: collect its reports, print nothing
    report: list[str] = []
    for test in finder.find(obj, f"rsmlib.{module}.{name}", globs=dict(vars(mod))):
        runner.run(test, out=report.append)
    failed, attempted = runner.failures, runner.tries
    assert failed == 0, f"{failed} of {attempted} examples failed:\n" + "".join(report)


@pytest.mark.parametrize("module, name", DEFINITIONS, ids=lambda x: x)
def test_public_functions_have_type_hints(module, name):
    obj = getattr(importlib.import_module(f"rsmlib.{module}"), name)
    functions = [obj] if inspect.isfunction(obj) else [
        f for n, f in vars(obj).items()
        if inspect.isfunction(f) and (not n.startswith("_") or n == "__init__")]
    bare = []
    for f in functions:
        signature = inspect.signature(f)
        params = [p for p in signature.parameters.values() if p.name != "self"]
        if any(p.annotation is inspect.Parameter.empty for p in params) or (
                f.__name__ != "__init__" and signature.return_annotation is inspect.Signature.empty):
            bare.append(f.__qualname__)
    assert not bare, f"rsmlib.{module}: no type hints on {bare}"
