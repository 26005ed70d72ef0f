"""pytest plugin loaded for the nbval run (`pytest -p nbval_plugin`, see the Makefile).

nbval compares every stored output, including stderr.  TensorFlow and its C++ runtime write
log lines to stderr that differ between machines and versions, so stderr is not compared.
Errors are unaffected: a cell that raises still fails.
"""


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        parent = getattr(item, "parent", None)
        skip = getattr(parent, "skip_compare", None)
        if skip is not None and "stderr" not in skip:
            parent.skip_compare = tuple(skip) + ("stderr",)
