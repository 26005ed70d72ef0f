"""rsmlib: Replicated Softmax, RBMs and Gaussian stochastic backpropagation in TensorFlow 2.

Hand-written. Every other module in this package is generated from the book's chapters
(``chapters/*.ipynb``, cells marked ``#| export <module>``) by ``python tools/export.py``;
each function's docstring names the equation it implements, derived in its chapter.
"""
__version__ = "0.1.0"

from rsmlib.checks import check, check_close, relative_error
from rsmlib.partition import binary_states
from rsmlib.rbm import RBM
from rsmlib.sampling import as_seed, bernoulli, split_seed

__all__ = [
    "RBM",
    "as_seed",
    "bernoulli",
    "binary_states",
    "check",
    "check_close",
    "relative_error",
    "split_seed",
]
