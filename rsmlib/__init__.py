"""rsmlib: Replicated Softmax, RBMs and Gaussian stochastic backpropagation in TensorFlow 2.

Hand-written. Every other module in this package is generated from the book's chapters
(``chapters/*.ipynb``, cells marked ``#| export <module>``) by ``python tools/export.py``;
each function's docstring names the equation it implements, derived in its chapter.
"""
__version__ = "0.1.0"

from rsmlib.checks import check, check_close, relative_error
from rsmlib.datasets import load_binarized_mnist, load_mnist_digits
from rsmlib.dlgm import DLGM
from rsmlib.datasets import load_reuters
from rsmlib.gaussian import (gradient_and_hessian, kl_diagonal_to_standard,
                              kl_rank_one_to_standard, kl_to_standard, log_det_diagonal,
                              log_det_rank_one, pathwise_gradients, price_gradients,
                              rank_one_covariance, rank_one_scale, rank_one_scale_matvec,
                              sample_diagonal, sample_gaussian, sample_rank_one,
                              score_function_gradients)
from rsmlib.partition import binary_states
from rsmlib.rbm import RBM
from rsmlib.rsm import RSM, log_multinomial
from rsmlib.sampling import as_seed, bernoulli, split_seed

__all__ = [
    "DLGM",
    "load_binarized_mnist",
    "load_mnist_digits",
    "RBM",
    "RSM",
    "as_seed",
    "bernoulli",
    "binary_states",
    "check",
    "check_close",
    "gradient_and_hessian",
    "kl_diagonal_to_standard",
    "kl_rank_one_to_standard",
    "kl_to_standard",
    "load_reuters",
    "log_det_diagonal",
    "log_det_rank_one",
    "log_multinomial",
    "pathwise_gradients",
    "price_gradients",
    "rank_one_covariance",
    "rank_one_scale",
    "rank_one_scale_matvec",
    "relative_error",
    "sample_diagonal",
    "sample_gaussian",
    "sample_rank_one",
    "score_function_gradients",
    "split_seed",
]
