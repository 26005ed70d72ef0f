"""rsmlib: Replicated Softmax, RBMs and Gaussian stochastic backpropagation in TensorFlow 2.

Hand-written. Every other module in this package is generated from the book's chapters
(``chapters/*.ipynb``, cells marked ``#| export <module>``) by ``python tools/export.py``;
each function's docstring names the equation it implements, derived in its chapter.
"""
__version__ = "0.1.0"

from rsmlib.checks import check, check_close, finite_differences, relative_error
from rsmlib.datasets import load_binarized_mnist, load_mnist_digits
from rsmlib.dlgm import DLGM
from rsmlib.datasets import (Corpus, load_20newsgroups, load_reuters, log_counts,
                             split_documents)
from rsmlib.gaussian import (gradient_and_hessian, kl_diagonal_to_standard,
                              kl_rank_one_to_standard, kl_to_standard, log_det_diagonal,
                              log_det_rank_one, pathwise_gradients, price_gradients,
                              rank_one_covariance, rank_one_scale, rank_one_scale_matvec,
                              sample_diagonal, sample_gaussian, sample_rank_one,
                              score_function_gradients)
from rsmlib.evaluation import perplexity, rsm_log_probs, top_words, unigram_log_probs
from rsmlib.ais import ais_log_partition
from rsmlib.partition import binary_states
from rsmlib.training import fit_rsm
from rsmlib.rbm import RBM
from rsmlib.rsm import RSM, log_multinomial
from rsmlib.sampling import as_seed, bernoulli, multinomial_counts, split_seed

__all__ = [
    "Corpus",
    "ais_log_partition",
    "fit_rsm",
    "load_20newsgroups",
    "log_counts",
    "perplexity",
    "rsm_log_probs",
    "split_documents",
    "top_words",
    "unigram_log_probs",
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
    "finite_differences",
    "gradient_and_hessian",
    "kl_diagonal_to_standard",
    "kl_rank_one_to_standard",
    "kl_to_standard",
    "load_reuters",
    "log_det_diagonal",
    "log_det_rank_one",
    "log_multinomial",
    "multinomial_counts",
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


def __getattr__(name):
    """``rsmlib.keras`` (appendix A.1) is imported on first use: importing Keras takes seconds."""
    if name == "keras":
        import importlib
        return importlib.import_module("rsmlib.keras")
    raise AttributeError(f"module 'rsmlib' has no attribute {name!r}")
