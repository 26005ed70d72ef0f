"""Property-based tests (hypothesis, derandomized) of rsmlib's identities and input validators.

- free energies equal -log Σ_h exp(-E(v, h)) by enumeration, on random small RSMs and RBMs;
- cd_loss and cd_update are means over the batch: a batch repeated m times gives the same values,
  and the sum of free energies is N times their mean (sum vs mean rescaling);
- the gauge of chapter 2: (W + 1 cᵀ, b_v, b_h - c) leaves the RSM's energy, free energy,
  log Z_D, hidden probabilities and word distributions unchanged;
- the validators accept exactly the inputs their docstrings allow, seen through the public
  methods that call them (RSM counts and lengths, RBM units, DLGM binary images).
The examples are few (the suite must stay fast) and derandomized (the same every run).
"""
import itertools

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rsmlib import DLGM, RBM, RSM, as_seed, binary_states, perplexity, rsm_log_probs
from rsmlib.training import cd_schedule

FAST = settings(max_examples=15, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

small = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def rsm_and_docs(draw, max_k=4, max_f=3):
    K, F = draw(st.integers(1, max_k)), draw(st.integers(1, max_f))
    W = draw(hnp.arrays(np.float64, (K, F), elements=small))
    b_v = draw(hnp.arrays(np.float64, (K,), elements=small))
    b_h = draw(hnp.arrays(np.float64, (F,), elements=small))
    N = draw(st.integers(1, 4))
    docs = draw(hnp.arrays(np.int64, (N, K), elements=st.integers(0, 6)))
    docs[:, 0] += docs.sum(1) == 0                       # every document holds a word
    model = RSM(K, F, dtype=tf.float64)
    for p, value in zip(model.parameters, (W, b_v, b_h)):
        p.assign(value)
    return model, docs.astype(np.float64)


def rsm_enumerated_free_energy(model, v):
    hs = binary_states(model.num_hidden)
    n, s = len(v), len(hs)
    E = model.energy(np.repeat(v, s, axis=0), np.tile(hs.numpy(), (n, 1)))
    return -tf.reduce_logsumexp(-tf.reshape(E, [n, s]), axis=1).numpy()


@FAST
@given(rsm_and_docs())
def test_rsm_free_energy_equals_enumeration(case):
    model, docs = case
    np.testing.assert_allclose(model.free_energy(docs).numpy(),
                               rsm_enumerated_free_energy(model, docs), rtol=1e-10, atol=1e-10)


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 10_000))
def test_rbm_free_energy_and_log_z_equal_enumeration(K, F, seed):
    model = RBM(K, F, seed=seed, init_scale=1.5, dtype=tf.float64)
    model.b_v.assign(tf.random.stateless_normal([K], [1, seed], dtype=tf.float64))
    model.b_h.assign(tf.random.stateless_normal([F], [2, seed], dtype=tf.float64))
    vs, hs = binary_states(K).numpy(), binary_states(F).numpy()
    pairs = np.array(list(itertools.product(range(len(vs)), range(len(hs)))))
    E = model.energy(vs[pairs[:, 0]], hs[pairs[:, 1]]).numpy().reshape(len(vs), len(hs))
    free = -np.logaddexp.reduce(-E, axis=1)
    np.testing.assert_allclose(model.free_energy(vs).numpy(), free, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(float(model.log_partition_exact()), np.logaddexp.reduce(-E.ravel()),
                               rtol=1e-10)
    np.testing.assert_allclose(float(model.log_partition_exact()),
                               np.logaddexp.reduce(-free), rtol=1e-10)


@FAST
@given(rsm_and_docs(), st.integers(2, 3))
def test_repeating_the_batch_leaves_the_cd_loss_and_update_unchanged(case, m):
    model, docs = case
    negatives = docs + 1.0                              # other documents, other lengths
    repeated, repeated_negatives = np.tile(docs, (m, 1)), np.tile(negatives, (m, 1))
    assert float(model.cd_loss(repeated, repeated_negatives)) == pytest.approx(
        float(model.cd_loss(docs, negatives)), abs=1e-10)
    updates = zip(model.cd_update(repeated, repeated_negatives), model.cd_update(docs, negatives))
    for a, b in updates:
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10)
    total = float(tf.reduce_sum(model.free_energy(docs)))
    assert total == pytest.approx(len(docs) * float(tf.reduce_mean(model.free_energy(docs))))


@FAST
@given(rsm_and_docs(), rsm_and_docs())
def test_the_cd_loss_of_two_batches_together_is_their_size_weighted_mean(first, second):
    """Σ-over-rows vs mean rescaling: N L(A ∪ B) = N_A L(A) + N_B L(B), for any split."""
    model, a = first
    b = second[1]
    if b.shape[1] != a.shape[1]:
        b = np.ones((len(b), a.shape[1]))
    both = np.concatenate([a, b])
    loss = lambda v: float(model.cd_loss(v, v[:, ::-1] + 1.0))   # noqa: E731
    assert len(both) * loss(both) == pytest.approx(len(a) * loss(a) + len(b) * loss(b),
                                                   abs=1e-9)


@FAST
@given(rsm_and_docs(), hnp.arrays(np.float64, 3, elements=small))
def test_the_gauge_shift_changes_no_distribution(case, c):
    model, docs = case
    c = c[:model.num_hidden]
    shifted = RSM(model.vocab_size, model.num_hidden, dtype=tf.float64)
    shifted.W.assign(model.W + c[None, :])           # W + 1 cᵀ
    shifted.b_v.assign(model.b_v)
    shifted.b_h.assign(model.b_h - c)
    hs = binary_states(model.num_hidden).numpy()
    v = np.repeat(docs, len(hs), axis=0)
    h = np.tile(hs, (len(docs), 1))
    np.testing.assert_allclose(shifted.energy(v, h), model.energy(v, h), atol=1e-10)
    np.testing.assert_allclose(shifted.free_energy(docs), model.free_energy(docs), atol=1e-10)
    np.testing.assert_allclose(shifted.hidden_probs(docs), model.hidden_probs(docs), atol=1e-10)
    D = [1, 3, 7]
    np.testing.assert_allclose(shifted.log_partition_exact(D), model.log_partition_exact(D),
                               atol=1e-9)
    np.testing.assert_allclose(tf.nn.log_softmax(shifted.visible_logits(hs)),
                               tf.nn.log_softmax(model.visible_logits(hs)), atol=1e-10)


# --- validators -------------------------------------------------------------------------

entries = st.one_of(st.integers(-2, 5).map(float), st.floats(-1, 5), st.just(np.nan),
                    st.just(np.inf))


@FAST
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.just(3)), elements=entries))
def test_rsm_accepts_exactly_non_negative_integer_documents(values):
    """Through the public methods (the validator itself may move between modules)."""
    model = RSM(3, 2, dtype=tf.float64)
    valid = (np.all(np.isfinite(values)) and np.all(values >= 0)
             and np.all(values == np.round(values)) and np.all(values.sum(1) > 0))
    if valid:
        assert np.all(np.isfinite(model.free_energy(values).numpy()))
    else:
        with pytest.raises(ValueError, match=r"\bv\b"):
            model.free_energy(values)
        with pytest.raises(ValueError, match=r"\bdocs\b"):
            rsm_log_probs(model, values, log_partition=model.log_partition_exact)


@FAST
@given(st.one_of(st.integers(-3, 10), st.floats(-3, 10), st.lists(st.integers(-1, 5), min_size=1,
                                                                   max_size=4)))
def test_rsm_accepts_exactly_whole_document_lengths_of_at_least_one(D):
    model = RSM(2, 1, dtype=tf.float64)
    values = np.atleast_1d(np.asarray(D, float))
    if np.all(np.isfinite(values) & (values == np.round(values)) & (values >= 1)):
        log_z = np.atleast_1d(model.log_partition_exact(D).numpy())
        assert log_z.shape == values.shape and np.all(np.isfinite(log_z))
    else:
        with pytest.raises(ValueError, match=r"\bD\b"):
            model.log_partition_exact(D)


@FAST
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.just(2)),
                  elements=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(-1, 2),
                                     st.just(np.nan))))
def test_rbm_accepts_exactly_units_in_the_unit_interval_and_dlgm_exactly_binary_images(values):
    rbm, dlgm = RBM(2, 2, dtype=tf.float64), DLGM(2, (1,), hidden_size=2, dtype=tf.float64)
    if np.all((values >= 0) & (values <= 1)):
        assert np.all(np.isfinite(rbm.free_energy(values).numpy()))
    else:
        with pytest.raises(ValueError, match=r"\bv\b"):
            rbm.free_energy(values)
    if np.all((values == 0) | (values == 1)):
        assert np.all(np.isfinite(dlgm.elbo(values, seed=0).numpy()))
    else:
        with pytest.raises(ValueError, match=r"\bv\b"):
            dlgm.elbo(values, seed=0)


@FAST
@given(st.one_of(st.integers(-2**62, 2**62), st.booleans(), st.floats(allow_nan=False),
                 st.lists(st.integers(-5, 5), min_size=1, max_size=3)))
def test_as_seed_accepts_ints_and_integer_pairs_only(seed):
    ok = (isinstance(seed, int) and not isinstance(seed, bool)) or (
        isinstance(seed, list) and len(seed) == 2)
    if ok:
        out = as_seed(seed).numpy().tolist()
        assert out == ([0, seed] if isinstance(seed, int) else seed)
    else:
        with pytest.raises((TypeError, ValueError)):
            as_seed(seed)


@FAST
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 12))
def test_cd_schedule_ramps_monotonically_between_its_exact_endpoints(k0, k1, epochs):
    ks = cd_schedule((k0, k1), epochs)
    assert len(ks) == epochs and ks[0] == k0 and (epochs == 1 or ks[-1] == k1)
    steps = np.diff(ks)
    assert np.all(steps >= 0) if k1 >= k0 else np.all(steps <= 0)
    assert cd_schedule(k0, epochs) == [k0] * epochs


@FAST
@given(st.lists(st.tuples(st.floats(-50, -0.01), st.integers(1, 20)), min_size=1, max_size=5))
def test_perplexity_is_exp_of_minus_the_per_word_mean(pairs):
    log_p, lengths = map(np.array, zip(*pairs))
    assert perplexity(log_p, lengths) == pytest.approx(np.exp(-log_p.sum() / lengths.sum()),
                                                       rel=1e-12)
    with pytest.raises(ValueError, match="lengths"):
        perplexity(log_p, np.zeros_like(lengths))
