"""Bad input at every public entry point raises a clear ValueError/TypeError naming the argument,
what was expected and what was found; nothing returns NaN silently.

Each row: (entry point and input, the call, the exception type, a regex the message must match).
A row's optional fifth field records the bug it once was (what happened instead).
"""
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings, strategies as st

from rsmlib import DLGM, RBM, RSM, relative_error
from rsmlib import gaussian as G
from rsmlib.evaluation import perplexity, rsm_log_probs
from rsmlib.ais import ais_log_partition, ais_log_partition_by_length
from rsmlib.training import fit_rsm

K, F = 4, 3
GOOD = np.array([[1, 2, 0, 0], [0, 1, 1, 3]], np.float32)
EMPTY_BATCH = np.zeros((0, K), np.float32)
IMAGES = np.array([[0, 1, 1, 0, 1, 0, 0, 1], [1, 1, 0, 0, 0, 1, 0, 0]], np.float32)


def rsm():
    return RSM(K, F, seed=0)


def rbm():
    return RBM(K, F, seed=0)


def dlgm():
    return DLGM(8, (2,), hidden_size=4, seed=0)


def fit(docs=GOOD, model=None, **kw):
    args = dict(epochs=1, learning_rate=0.1, seed=0, progress=False)
    return fit_rsm(model or rsm(), docs, **{**args, **kw})


def exact_log_z(model):
    return lambda d: model.log_partition_exact(d).numpy()


def counts_with(value, at=(0, 1)):
    v = GOOD.astype(np.float64).copy()
    v[at] = value
    return v


CASES = [
    # --- RSM: counts v (N, K) -------------------------------------------------------------------
    ("RSM.free_energy negative", lambda: rsm().free_energy(counts_with(-1)), ValueError,
     r"v must hold non-negative integer counts; found -1\.0 at row 0, column 1"),
    ("RSM.free_energy fractional", lambda: rsm().free_energy(counts_with(0.5)), ValueError,
     r"v must hold non-negative integer counts; found 0\.5"),
    ("RSM.free_energy NaN", lambda: rsm().free_energy(counts_with(np.nan)), ValueError,
     r"v must hold non-negative integer counts; found nan"),
    ("RSM.free_energy inf", lambda: rsm().free_energy(counts_with(np.inf)), ValueError,
     r"v must hold non-negative integer counts; found inf"),
    ("RSM.free_energy D=0", lambda: rsm().free_energy(np.zeros((2, K))), ValueError,
     r"v must hold documents of at least one word; row 0 is empty"),
    ("RSM.free_energy vocab mismatch", lambda: rsm().free_energy(np.ones((2, K + 1))), ValueError,
     r"v must have 4 columns \(one per vocabulary word\); got 5"),
    ("RSM.free_energy rank 1", lambda: rsm().free_energy(np.ones(K)), ValueError,
     r"v must have shape \(N, 4\).*got shape \(4,\)"),
    ("RSM.free_energy rank 3", lambda: rsm().free_energy(np.ones((1, 2, K))), ValueError,
     r"v must have shape \(N, 4\)"),
    ("RSM.free_energy string dtype", lambda: rsm().free_energy(np.array([["a"] * K])),
     (TypeError, ValueError), r"v must hold numeric counts; got dtype string"),
    ("RSM.free_energy bool dtype", lambda: rsm().free_energy(GOOD > 0), (TypeError, ValueError),
     r"v must hold numeric counts; got dtype bool"),
    ("RSM.hidden_probs negative", lambda: rsm().hidden_probs(-GOOD), ValueError,
     r"v must hold non-negative integer counts"),
    ("RSM.sample_hidden NaN", lambda: rsm().sample_hidden(counts_with(np.nan), seed=0), ValueError,
     r"v must hold non-negative integer counts"),
    ("RSM.gibbs D=0", lambda: rsm().gibbs(np.zeros((1, K)), 1, seed=0), ValueError,
     r"v must hold documents of at least one word"),
    ("RSM.gibbs k fractional", lambda: rsm().gibbs(GOOD, 1.5, seed=0), ValueError,
     r"k must be a non-negative int"),
    ("RSM.gibbs seed float", lambda: rsm().gibbs(GOOD, 1, seed=0.5), TypeError,
     r"seed must be an int or an integer tensor of shape \(2,\)"),
    ("RSM.cd_loss v_model vocab", lambda: rsm().cd_loss(GOOD, np.ones((2, 5))), ValueError,
     r"v_model must have 4 columns"),
    ("RSM.cd_loss v_data fractional", lambda: rsm().cd_loss(GOOD + 0.5, GOOD), ValueError,
     r"v_data must hold non-negative integer counts"),
    ("RSM.cd_update v_model D=0", lambda: rsm().cd_update(GOOD, np.zeros((2, K))), ValueError,
     r"v_model must hold documents of at least one word"),
    ("RSM.sample_visible D=0", lambda: rsm().sample_visible(np.ones((2, F)), [3, 0], seed=0),
     ValueError, r"D must hold document lengths of at least one word.*got \[3, 0\]"),
    ("RSM.sample_visible D NaN", lambda: rsm().sample_visible(np.ones((2, F)), [3, np.nan], seed=0),
     ValueError, r"D must hold document lengths"),
    ("RSM.sample_visible D inf", lambda: rsm().sample_visible(np.ones((2, F)), np.inf, seed=0),
     ValueError, r"D must hold document lengths"),
    ("RSM.sample_visible D rank 2", lambda: rsm().sample_visible(np.ones((1, F)), [[3]], seed=0),
     ValueError, r"D must be a scalar or have shape \(N,\)"),
    ("RSM.log_partition_exact D=0", lambda: rsm().log_partition_exact(0), ValueError,
     r"D must hold document lengths of at least one word"),
    ("RSM.log_partition_exact D fractional", lambda: rsm().log_partition_exact(2.5), ValueError,
     r"D must hold document lengths.*2\.5"),
    ("RSM.log_partition_exact D string", lambda: rsm().log_partition_exact("3"), ValueError,
     r"D must hold document lengths \(whole numbers\); got dtype string"),
    ("RSM.log_prob_exact D=0", lambda: rsm().log_prob_exact(np.zeros((1, K))), ValueError,
     r"v must hold documents of at least one word"),
    ("RSM() vocab_size float", lambda: RSM(4.0, 3), ValueError, r"vocab_size must be a positive int"),
    ("RSM() num_hidden 0", lambda: RSM(4, 0), ValueError, r"num_hidden must be a positive int"),
    ("RSM() int dtype", lambda: RSM(4, 3, dtype=tf.int32), TypeError, r"dtype must be a floating"),
    ("RSM.free_energy empty batch", lambda: rsm().free_energy(EMPTY_BATCH), ValueError,
     r"v must hold at least one document \(row\); got shape \(0, 4\)"),
    ("RSM.cd_loss empty batch", lambda: rsm().cd_loss(EMPTY_BATCH, EMPTY_BATCH), ValueError,
     r"v_data must hold at least one document"),
    ("RSM.cd_update empty batch", lambda: rsm().cd_update(EMPTY_BATCH, EMPTY_BATCH), ValueError,
     r"v_data must hold at least one document"),
    ("RSM.gibbs empty batch", lambda: rsm().gibbs(EMPTY_BATCH, 1, seed=0), ValueError,
     r"v must hold at least one document"),
    ("RSM.energy h=2", lambda: rsm().energy(GOOD, np.full((2, F), 2.0)), ValueError,
     r"h must hold values in \[0, 1\].*found 2 at row 0, column 0"),
    ("RSM.energy h NaN", lambda: rsm().energy(GOOD, np.full((2, F), np.nan)), ValueError,
     r"h must hold values in \[0, 1\].*found nan"),
    ("RSM.energy h rows", lambda: rsm().energy(GOOD, np.ones((3, F))), ValueError,
     r"h must have the same number of rows as v.*got 3 rows of h and 2 of v"),
    ("RSM.visible_logits h NaN", lambda: rsm().visible_logits(np.full((2, F), np.nan)), ValueError,
     r"h must hold values in \[0, 1\].*nan"),
    ("RSM.visible_logits h width", lambda: rsm().visible_logits(np.ones((2, 5))), ValueError,
     r"h must have 3 columns"),
    ("RSM.sample_visible h=2", lambda: rsm().sample_visible(np.full((2, F), 2.0), 3, seed=0),
     ValueError, r"h must hold values in \[0, 1\]"),
    ("RSM.sample_visible D length", lambda: rsm().sample_visible(np.ones((2, F)), [3, 4, 5], seed=0),
     ValueError, r"D must be a scalar or hold one length per row of h \(2 rows\); got 3 lengths"),
    # --- RBM: binary states v (N, K), h (N, F) ----------------------------------------------------
    ("RBM.free_energy 2", lambda: rbm().free_energy(counts_with(2)), ValueError,
     r"v must hold values in \[0, 1\].*found 2 at row 0, column 1"),
    ("RBM.free_energy NaN", lambda: rbm().free_energy(counts_with(np.nan) * 0 + np.nan),
     ValueError, r"v must hold values in \[0, 1\].*nan"),
    ("RBM.free_energy inf", lambda: rbm().free_energy(np.array([[np.inf, 0, 0, 0]])), ValueError,
     r"v must hold values in \[0, 1\].*inf"),
    ("RBM.free_energy width", lambda: rbm().free_energy(np.ones((1, 5))), ValueError,
     r"v must have 4 columns"),
    ("RBM.free_energy rank 1", lambda: rbm().free_energy(np.ones(4)), ValueError,
     r"v must have shape \(N, 4\)"),
    ("RBM.energy h=2", lambda: rbm().energy(np.ones((1, 4)), np.full((1, 3), 2.0)), ValueError,
     r"h must hold values in \[0, 1\]"),
    ("RBM.visible_probs h width", lambda: rbm().visible_probs(np.ones((1, 5))), ValueError,
     r"h must have 3 columns"),
    ("RBM.cd_loss v_model 2", lambda: rbm().cd_loss(np.ones((1, 4)), np.full((1, 4), 2.0)),
     ValueError, r"v_model must hold values in \[0, 1\]"),
    ("RBM.gibbs k negative", lambda: rbm().gibbs(np.ones((1, 4)), -1, seed=0), ValueError,
     r"k must be a non-negative int"),
    ("RBM() num_visible 0", lambda: RBM(0, 3), ValueError, r"num_visible must be a positive int"),
    ("RBM.cd_loss empty batch", lambda: rbm().cd_loss(np.zeros((0, K)), np.zeros((0, K))),
     ValueError, r"v_data must hold at least one row; got shape \(0, 4\)"),
    ("RBM.free_energy string dtype", lambda: rbm().free_energy(np.array([["a"] * K])), TypeError,
     r"v must hold numbers .*got dtype string"),
    ("RBM.free_energy complex", lambda: rbm().free_energy(np.ones((1, K)) + 0j), TypeError,
     r"v must hold numbers .*got dtype complex128"),
    ("RBM.energy h rows", lambda: rbm().energy(np.ones((1, K)), np.ones((2, F))), ValueError,
     r"h must have the same number of rows as v.*got 2 rows of h and 1 of v"),
    ("RBM.gibbs k bool", lambda: rbm().gibbs(np.ones((1, 4)), True, seed=0), ValueError,
     r"k must be a non-negative int"),
    # --- fit_rsm ----------------------------------------------------------------------------------
    ("fit_rsm negative", lambda: fit(counts_with(-1)), ValueError,
     r"docs must hold non-negative integer counts; found -1"),
    ("fit_rsm fractional", lambda: fit(counts_with(1.5)), ValueError,
     r"docs must hold non-negative integer counts; found 1\.5"),
    ("fit_rsm NaN", lambda: fit(counts_with(np.nan)), ValueError, r"docs must hold .*found nan"),
    ("fit_rsm inf", lambda: fit(counts_with(np.inf)), ValueError, r"docs must hold .*found inf"),
    ("fit_rsm D=0", lambda: fit(np.zeros((2, K))), ValueError,
     r"docs must hold documents of at least one word"),
    ("fit_rsm vocab mismatch", lambda: fit(np.ones((2, K + 1))), ValueError,
     r"docs must have 4 columns"),
    ("fit_rsm rank 1", lambda: fit(np.ones(K)), ValueError, r"docs must have shape \(N, 4\)"),
    ("fit_rsm empty corpus", lambda: fit(EMPTY_BATCH), ValueError,
     r"docs must hold at least one document"),
    ("fit_rsm epochs 0", lambda: fit(epochs=0), ValueError, r"epochs must be a positive int"),
    ("fit_rsm batch_size 0", lambda: fit(batch_size=0), ValueError,
     r"batch_size must be a positive int"),
    ("fit_rsm learning_rate NaN", lambda: fit(learning_rate=float("nan")), ValueError,
     r"learning_rate must be a positive number \(and finite\); got nan"),
    ("fit_rsm learning_rate negative", lambda: fit(learning_rate=-0.1), ValueError,
     r"learning_rate must be a positive number"),
    ("fit_rsm cd_steps 0", lambda: fit(cd_steps=0), ValueError, r"cd_steps must be >= 1"),
    ("fit_rsm optimizer", lambda: fit(optimizer="sgd"), ValueError,
     r"optimizer must be 'momentum' or 'adam'"),
    ("fit_rsm seed float", lambda: fit(seed=0.5), TypeError, r"seed must be an int"),
    # --- AIS and evaluation -----------------------------------------------------------------------
    ("ais_log_partition D=0", lambda: ais_log_partition(rsm(), 0, num_runs=4, num_betas=5, seed=0),
     ValueError, r"D must hold document lengths, whole numbers >= 1"),
    ("ais_log_partition D NaN",
     lambda: ais_log_partition(rsm(), [3, np.nan], num_runs=4, num_betas=5, seed=0), ValueError,
     r"D must hold document lengths"),
    ("ais_log_partition D fractional",
     lambda: ais_log_partition(rsm(), 2.5, num_runs=4, num_betas=5, seed=0), ValueError,
     r"D must hold document lengths.*2\.5"),
    ("ais_log_partition D rank 2",
     lambda: ais_log_partition(rsm(), [[2]], num_runs=4, num_betas=5, seed=0), ValueError,
     r"D must be a positive int or a non-empty 1-D sequence"),
    ("ais_log_partition D empty",
     lambda: ais_log_partition(rsm(), [], num_runs=4, num_betas=5, seed=0), ValueError,
     r"D must be a positive int or a non-empty 1-D sequence"),
    ("ais_log_partition num_runs 1",
     lambda: ais_log_partition(rsm(), 3, num_runs=1, num_betas=5, seed=0), ValueError,
     r"num_runs must be an int >= 2"),
    ("ais_log_partition base_log_probs shape",
     lambda: ais_log_partition(rsm(), 3, num_runs=4, num_betas=5, seed=0,
                               base_log_probs=np.zeros(K + 1)), ValueError,
     r"base_log_probs must have shape \(4,\); got shape \(5,\)"),
    ("ais_log_partition_by_length D=0",
     lambda: ais_log_partition_by_length(rsm(), [3, 0], num_runs=4, seed=0), ValueError,
     r"D must hold document lengths, whole numbers >= 1"),
    ("ais_log_partition_by_length D fractional",
     lambda: ais_log_partition_by_length(rsm(), 2.5, num_runs=4, seed=0), ValueError,
     r"D must hold document lengths.*2\.5"),
    ("ais_log_partition_by_length num_runs 1",
     lambda: ais_log_partition_by_length(rsm(), 3, num_runs=1, seed=0), ValueError,
     r"num_runs must be an int >= 2"),
    ("ais_log_partition_by_length gibbs_steps 0",
     lambda: ais_log_partition_by_length(rsm(), 3, num_runs=4, seed=0, gibbs_steps=0),
     ValueError, r"gibbs_steps must be an int >= 1"),
    ("ais_log_partition_by_length model RBM",
     lambda: ais_log_partition_by_length(RBM(K, F), 3, num_runs=4, seed=0), TypeError,
     r"model must be an RSM"),
    ("rsm_log_probs negative",
     lambda: rsm_log_probs(rsm(), -GOOD, log_partition=exact_log_z(rsm())), ValueError,
     r"docs must hold non-negative integer counts"),
    ("rsm_log_probs D=0",
     lambda: rsm_log_probs(rsm(), np.zeros((1, K)), log_partition=exact_log_z(rsm())), ValueError,
     r"docs must hold documents of at least one word"),
    ("perplexity shape mismatch", lambda: perplexity([-1.0, -2.0], [1, 2, 3]), ValueError,
     r"log_probs and lengths must be 1-D of the same non-zero length"),
    ("perplexity empty", lambda: perplexity([], []), ValueError, r"non-zero length"),
    # --- DLGM: images (N, D) in {0, 1} ------------------------------------------------------------
    ("DLGM.elbo 0.5", lambda: dlgm().elbo(IMAGES * 0.5, seed=0), ValueError,
     r"v must hold binary values in \{0, 1\}; found 0\.5"),
    ("DLGM.elbo 2", lambda: dlgm().elbo(IMAGES * 2, seed=0), ValueError,
     r"v must hold binary values in \{0, 1\}; found 2"),
    ("DLGM.elbo -1", lambda: dlgm().elbo(-IMAGES, seed=0), ValueError,
     r"v must hold binary values in \{0, 1\}; found -1"),
    ("DLGM.elbo NaN", lambda: dlgm().elbo(IMAGES + np.nan, seed=0), ValueError,
     r"v must not contain NaN"),
    ("DLGM.elbo inf", lambda: dlgm().elbo(np.where(IMAGES > 0, np.inf, 0), seed=0), ValueError,
     r"v must hold binary values in \{0, 1\}; found inf"),
    ("DLGM.elbo width", lambda: dlgm().elbo(IMAGES[:, :7], seed=0), ValueError,
     r"v must have width 8"),
    ("DLGM.elbo rank 1", lambda: dlgm().elbo(IMAGES[0], seed=0), ValueError, r"v must have rank 2"),
    ("DLGM.elbo empty batch", lambda: dlgm().elbo(np.zeros((0, 8)), seed=0), ValueError,
     r"v must hold at least one row"),
    ("DLGM.elbo string dtype", lambda: dlgm().elbo(np.array([["a"] * 8]), seed=0), TypeError,
     r"v must be a numeric array"),
    ("DLGM.train_step 0.5", lambda: dlgm().train_step(IMAGES * 0.5, seed=0, num_data=2),
     ValueError, r"v must hold binary values"),
    ("DLGM.train_step empty batch", lambda: dlgm().train_step(np.zeros((0, 8)), seed=0, num_data=2),
     ValueError, r"v must hold at least one row"),
    ("DLGM.fit empty", lambda: dlgm().fit(np.zeros((0, 8)), 1, batch_size=2, progress=False),
     ValueError, r"train must hold at least one row"),
    ("DLGM.fit test width", lambda: dlgm().fit(IMAGES, 1, batch_size=2, test=IMAGES[:, :3],
                                               progress=False), ValueError, r"test must have width 8"),
    ("DLGM.impute mask 2", lambda: dlgm().impute(IMAGES, IMAGES * 2, steps=1, seed=0), ValueError,
     r"mask must hold binary values"),
    ("DLGM.log_likelihood_is num_samples 1",
     lambda: dlgm().log_likelihood_is(IMAGES, 1, seed=0), ValueError, r"num_samples must be an int >= 2"),
    ("DLGM() covariance", lambda: DLGM(8, (2,), covariance="full"), ValueError,
     r"covariance must be one of"),
    ("DLGM() kappa NaN", lambda: DLGM(8, (2,), kappa=float("nan")), ValueError,
     r"kappa must be a positive prior variance"),
    # --- gaussian helpers (chapter 4; see also tests/test_gaussian.py) -----------------------------
    ("kl_diagonal_to_standard sigma inf", lambda: G.kl_diagonal_to_standard([0.0], [np.inf]),
     ValueError, r"sigma must be finite; found inf"),
    ("kl_diagonal_to_standard K=0", lambda: G.kl_diagonal_to_standard(np.zeros(0), np.zeros(0)),
     ValueError, r"mu must have shape \(\.\.\., K\) with K >= 1"),
    ("sample_rank_one d NaN", lambda: G.sample_rank_one([0.0, 0.0], [1.0, np.nan], [0.0, 0.0], 0),
     ValueError, r"d must be finite; found nan"),
    ("sample_gaussian R NaN", lambda: G.sample_gaussian([0.0], [[np.nan]], 3, seed=0), ValueError,
     r"R must be finite"),
    ("sample_gaussian R rank 3", lambda: G.sample_gaussian([0.0], np.ones((1, 1, 1)), 3, seed=0),
     ValueError, r"R must be a square matrix"),
    ("kl_to_standard C not symmetric", lambda: G.kl_to_standard([0.0, 0.0], [[1.0, 5.0], [0.0, 1.0]]),
     ValueError, r"C must be symmetric positive definite; found C\[0, 1\] = 5 but C\[1, 0\] = 0"),
    ("price_gradients f NaN",
     lambda: G.price_gradients(lambda x: tf.reduce_sum(x, 1) * np.nan, [0.0], [[1.0]], 3, seed=0),
     ValueError, r"f must have finite values at the samples .*found nan"),
    # fixed in chapter 3 (the reason strings record what the bug was)
    ("fit_rsm learning_rate inf", lambda: fit(learning_rate=float("inf")), ValueError,
     r"learning_rate must be a positive", "training.fit_rsm accepts learning_rate=inf and "
     "returns NaN parameters with a finite-looking history"),
    ("fit_rsm momentum -1", lambda: fit(momentum=-1.0), ValueError, r"momentum must",
     "training.fit_rsm accepts momentum outside [0, 1)"),
    ("fit_rsm model RBM", lambda: fit(model=RBM(K, F)), TypeError, r"model must be an RSM",
     "training.fit_rsm(RBM) raises AttributeError: 'RBM' object has no attribute 'vocab_size'"),
    ("ais_log_partition model RBM",
     lambda: ais_log_partition(RBM(K, F), 3, num_runs=4, num_betas=5, seed=0), TypeError,
     r"model must be an RSM", "partition.ais_log_partition accepts an RBM and returns a number"),
    ("ais_log_partition D string",
     lambda: ais_log_partition(rsm(), "3", num_runs=4, num_betas=5, seed=0), ValueError,
     r"D must", "partition.ais_log_partition('3') raises numpy's TypeError \"ufunc 'rint' not "
     "supported\""),
    ("ais_log_partition base_log_probs NaN",
     lambda: ais_log_partition(rsm(), 3, num_runs=4, num_betas=5, seed=0,
                               base_log_probs=[0, 0, np.nan, 0]), ValueError,
     r"base_log_probs must be finite.*nan", "partition.ais_log_partition: NaN base_log_probs "
     "gives 'must be a finite vector of shape (4,); got shape (4,)' (names no NaN)"),
    ("rsm_log_probs log_partition NaN",
     lambda: rsm_log_probs(rsm(), GOOD, log_partition=lambda d: np.full(len(d), np.nan)),
     ValueError, r"log_partition", "evaluation.rsm_log_probs silently returns NaN when "
     "log_partition returns NaN"),
    ("rsm_log_probs log_partition shape",
     lambda: rsm_log_probs(rsm(), GOOD, log_partition=lambda d: np.zeros(len(d) + 3)),
     ValueError, r"log_partition", "evaluation.rsm_log_probs does not check the shape of "
     "log_partition's result (wrong values returned silently)"),
    ("perplexity NaN", lambda: perplexity([np.nan, -1.0], [1, 2]), ValueError, r"log_probs",
     "evaluation.perplexity returns nan for NaN log_probs"),
    ("perplexity zero lengths", lambda: perplexity([-1.0, -1.0], [0, 0]), ValueError, r"lengths",
     "evaluation.perplexity returns inf (RuntimeWarning) for zero lengths"),
    ("perplexity negative length", lambda: perplexity([-1.0, -1.0], [-1, 2]), ValueError,
     r"lengths", "evaluation.perplexity accepts negative lengths"),
    # fixed in chapter 5 (the reason strings record what the bug was)
    ("DLGM.elbo num_samples 0", lambda: dlgm().elbo(IMAGES, seed=0, num_samples=0), ValueError,
     r"num_samples", "dlgm: elbo(num_samples=0) raises ZeroDivisionError"),
    ("DLGM.train_step num_data 0", lambda: dlgm().train_step(IMAGES, seed=0, num_data=0),
     ValueError, r"num_data", "dlgm: train_step(num_data=0) returns loss inf"),
    ("DLGM.train_step num_data NaN",
     lambda: dlgm().train_step(IMAGES, seed=0, num_data=float("nan")), ValueError, r"num_data",
     "dlgm: train_step(num_data=nan) returns NaN and leaves NaN parameters"),
    ("DLGM.train_step learning_rate NaN",
     lambda: dlgm().train_step(IMAGES, seed=0, num_data=2, learning_rate=float("nan")), ValueError,
     r"learning_rate", "dlgm: train_step(learning_rate=nan) returns and corrupts the parameters"),
    ("DLGM.free_energy 3", lambda: dlgm().free_energy(IMAGES * 3, seed=0), ValueError,
     r"v must hold binary values", "dlgm: free_energy (public) does not check v; 3 is accepted"),
    ("DLGM.free_energy width", lambda: dlgm().free_energy(IMAGES[:, :5], seed=0), ValueError,
     r"v must have width 8", "dlgm: free_energy raises InvalidArgumentError 'Matrix size-incompatible'"),
    ("DLGM.fit batch_size 0", lambda: dlgm().fit(IMAGES, 1, batch_size=0, progress=False),
     ValueError, r"batch_size", "dlgm: fit(batch_size=0) raises ZeroDivisionError"),
    ("DLGM.fit epochs -1", lambda: dlgm().fit(IMAGES, -1, batch_size=2, progress=False),
     ValueError, r"epochs", "dlgm: fit(epochs=-1) silently trains nothing"),
    ("DLGM.fit learning_rate -1",
     lambda: dlgm().fit(IMAGES, 1, batch_size=2, learning_rate=-1.0, progress=False), ValueError,
     r"learning_rate", "dlgm: fit accepts a negative learning rate"),
    ("DLGM.sample n=-1", lambda: dlgm().sample(-1, seed=0), ValueError, r"\bn\b",
     "dlgm: sample(-1) raises InvalidArgumentError 'Dimension -1 must be >= 0'"),
    ("DLGM.sample n=1.5", lambda: dlgm().sample(1.5, seed=0), (TypeError, ValueError), r"\bn\b",
     "dlgm: sample(1.5) raises InvalidArgumentError about attr 'Tshape'"),
    ("DLGM() num_visible 0", lambda: DLGM(0, (2,)), ValueError, r"num_visible",
     "dlgm: DLGM(0, ...) raises ZeroDivisionError"),
    ("DLGM() num_visible 2.5", lambda: DLGM(2.5, (2,)), ValueError, r"num_visible",
     "dlgm: DLGM(2.5, ...) silently truncates to 2"),
    ("DLGM() hidden_size 0", lambda: DLGM(8, (2,), hidden_size=0), ValueError, r"hidden_size",
     "dlgm: DLGM(hidden_size=0) raises ZeroDivisionError"),
    ("DLGM() activation", lambda: DLGM(8, (2,), activation="sigmoid"), ValueError, r"activation",
     "dlgm: an unknown activation raises a bare KeyError 'sigmoid'"),
]


@pytest.mark.parametrize("call, error, message", [c[1:4] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- integer and float dtypes give the same numbers ---------------------------------------------

@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.float16, np.float64])
def test_integer_and_float_counts_agree(dtype):
    model = RSM(K, F, seed=0, init_scale=0.5)
    np.testing.assert_array_equal(model.free_energy(GOOD.astype(dtype)), model.free_energy(GOOD))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float64, bool])
def test_integer_and_float_images_agree(dtype):
    model = RBM(8, 3, seed=0, init_scale=0.5)
    np.testing.assert_array_equal(model.free_energy(IMAGES.astype(dtype)),
                                  model.free_energy(IMAGES))
    d = dlgm()
    np.testing.assert_array_equal(d.elbo(IMAGES.astype(dtype), seed=1), d.elbo(IMAGES, seed=1))


# --- property: every entry with a bad value is rejected, wherever it is ----------------------------

@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), k=st.integers(1, 6), seed=st.integers(0, 2**16),
       bad=st.sampled_from([-1.0, 0.5, 2.5, np.nan, np.inf, -np.inf]), data=st.data())
def test_a_single_bad_count_anywhere_is_found(n, k, seed, bad, data):
    v = np.random.default_rng(seed).integers(0, 4, (n, k)).astype(np.float64)
    v[:, 0] += 1
    row, col = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, k - 1))
    v[row, col] = bad
    with pytest.raises(ValueError, match=f"at row {row}, column {col}"):
        RSM(k, 2).free_energy(v)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), k=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_valid_random_counts_give_finite_free_energies(n, k, seed):
    v = np.random.default_rng(seed).integers(0, 50, (n, k))
    v[:, 0] += 1
    model = RSM(k, 3, seed=seed, init_scale=1.0, dtype=tf.float64)
    assert np.all(np.isfinite(model.free_energy(v)))
    assert relative_error(model.free_energy(v), model.free_energy(v.astype(np.float64))) == 0
