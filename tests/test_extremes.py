"""Numerical extremes: very long documents (D = 10⁵), large weights, tiny probabilities.
Free energy, log-partition, AIS and the ELBO stay finite and match float64 references."""
import numpy as np
import pytest
import tensorflow as tf

from rsmlib import DLGM, RBM, RSM, relative_error
from rsmlib import gaussian as G
from rsmlib.ais import ais_log_partition

K, F = 6, 4
LONG = 100_000


def model(dtype, scale, seed=0):
    m = RSM(K, F, seed=seed, init_scale=scale, dtype=dtype)
    rng = np.random.default_rng(seed)
    m.b_v.assign(scale * rng.standard_normal(K))
    m.b_h.assign(scale * rng.standard_normal(F) / 10)
    return m


def as_float64(m32):
    """The same model in float64 (the same parameter values; a seed draws other numbers per dtype)."""
    m64 = type(m32)(m32.W.shape[0], m32.W.shape[1], dtype=tf.float64)
    for a, b in zip(m64.parameters, m32.parameters):
        a.assign(tf.cast(b, tf.float64))
    return m64


def reference_free_energy(m, v):
    """float64 NumPy: -v·b_v - Σ_j log(1 + exp(D b_h + v W)) with a stable softplus."""
    W, b_v, b_h = (p.numpy().astype(np.float64) for p in m.parameters)
    v = np.asarray(v, np.float64)
    x = v.sum(1, keepdims=True) * b_h + v @ W
    return -v @ b_v - np.logaddexp(0.0, x).sum(1)


def long_docs(seed=1):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(K) * 0.3, size=3)
    p[:, 0] = np.maximum(p[:, 0], 1e-9)
    return np.stack([rng.multinomial(LONG, q / q.sum()) for q in p]).astype(np.float64)


@pytest.mark.parametrize("scale", [0.01, 1.0, 5.0])
def test_free_energy_of_very_long_documents_with_large_weights(scale):
    v = long_docs()
    m32 = model(tf.float32, scale)
    ref = reference_free_energy(m32, v)
    got = m32.free_energy(v.astype(np.float32)).numpy()
    assert np.all(np.isfinite(got))
    assert relative_error(got, ref) < 1e-5


@pytest.mark.parametrize("scale", [1.0, 5.0])
def test_log_partition_of_very_long_documents(scale):
    m32 = model(tf.float32, scale)
    m64 = as_float64(m32)
    # float64 NumPy reference by enumerating the 2^F hidden states
    W, b_v, b_h = (p.numpy() for p in m64.parameters)
    h = np.array([[(i >> j) & 1 for j in range(F - 1, -1, -1)] for i in range(2 ** F)], float)
    logits = b_v + h @ W.T
    top = logits.max(1, keepdims=True)
    a = h @ b_h + top[:, 0] + np.log(np.exp(logits - top).sum(1))
    for D in (1, 1000, LONG):
        ref = np.max(D * a) + np.log(np.sum(np.exp(D * a - np.max(D * a))))
        assert abs(float(m64.log_partition_exact(D)) - ref) <= 1e-12 * abs(ref) + 1e-12
        got32 = float(m32.log_partition_exact(D))
        assert np.isfinite(got32) and abs(got32 - ref) <= 1e-5 * abs(ref) + 1e-5


def test_log_prob_of_a_very_long_document_is_finite_and_matches_float64():
    v = long_docs()
    m32 = model(tf.float32, 1.0)
    m64 = as_float64(m32)
    lp64 = m64.log_prob_exact(v).numpy()
    lp32 = m32.log_prob_exact(v.astype(np.float32)).numpy()
    assert np.all(np.isfinite(lp32)) and np.all(lp64 < 0)
    assert relative_error(lp32, lp64) < 1e-5


@pytest.mark.parametrize("D", [1, 50, 2000])
def test_ais_is_finite_and_accurate_at_long_documents(D):
    m = model(tf.float64, 0.5, seed=3)
    exact = float(m.log_partition_exact(D))
    est, se = ais_log_partition(m, D, num_runs=16, num_betas=200, seed=4)
    assert np.isfinite(est) and np.isfinite(se)
    assert abs(est - exact) < max(5 * se, 1e-3 * abs(exact))


def test_rbm_free_energy_with_large_weights_matches_float64():
    rbm32 = RBM(8, 5, seed=1, init_scale=50.0)
    rbm64 = as_float64(rbm32)
    v = (np.random.default_rng(2).random((20, 8)) < 0.5).astype(np.float32)
    got = rbm32.free_energy(v).numpy()
    assert np.all(np.isfinite(got))
    assert relative_error(got, rbm64.free_energy(v.astype(np.float64))) < 1e-5
    assert np.isfinite(float(rbm64.log_partition_exact()))
    assert np.all(np.isfinite(rbm64.log_prob_exact(v.astype(np.float64))))


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_elbo_stays_finite_with_large_weights_and_tiny_probabilities(scale):
    v = (np.random.default_rng(3).random((6, 12)) < 0.5).astype(np.float32)
    m32 = DLGM(12, (3,), hidden_size=6, seed=0)
    m64 = DLGM(12, (3,), hidden_size=6, seed=0, dtype=tf.float64)
    for a, b in zip(m32.variables, m64.variables):
        if a.dtype.is_floating:
            a.assign(a * scale)
            b.assign(tf.cast(a, tf.float64))
    e32 = m32.elbo(v, seed=1).numpy()
    assert np.all(np.isfinite(e32)) and np.all(e32 < 0)
    eps = m32.noise(len(v), seed=2)
    f32 = float(m32.free_energy(v, noise=eps))
    f64 = float(m64.free_energy(v.astype(np.float64), noise=[tf.cast(e, tf.float64) for e in eps]))
    assert np.isfinite(f32) and abs(f32 - f64) <= 1e-5 * abs(f64)


def test_gaussian_kl_and_log_det_with_tiny_and_huge_scales():
    sigma = np.array([1e-30, 1e-3, 1.0, 1e3, 1e30])
    mu = np.zeros(5)
    kl = float(G.kl_diagonal_to_standard(mu, sigma))
    ref = 0.5 * np.sum(sigma ** 2 - 1 - 2 * np.log(sigma))
    assert np.isfinite(kl) and abs(kl - ref) <= 1e-12 * abs(ref)
    d, u = np.array([1e-8, 1.0, 1e8]), np.array([1e4, 0.0, 1e-4])
    dense = np.linalg.inv(np.diag(d) + np.outer(u, u))
    assert abs(float(G.log_det_rank_one(d, u)) - np.linalg.slogdet(dense)[1]) < 1e-6
    assert np.isfinite(float(G.kl_rank_one_to_standard(np.zeros(3), d, u)))
