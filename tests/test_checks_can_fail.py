"""The checks can fail: deliberately broken variants of key functions must be caught.

Each test swaps a correct method for a broken one (monkeypatch, restored afterwards) and runs
the same check that tests/test_rbm.py and the chapters run; the check must raise.
"""
import numpy as np
import pytest
import tensorflow as tf

import test_rbm
from rsmlib import RBM


def free_energy_without_visible_bias(self, v):
    v = self._visible(v)
    return -tf.reduce_sum(tf.nn.softplus(self.hidden_input(v)), axis=-1)


def free_energy_without_hidden_bias(self, v):
    v = self._visible(v)
    return (-tf.linalg.matvec(v, self.b_v)
            - tf.reduce_sum(tf.nn.softplus(tf.matmul(v, self.W)), axis=-1))


def cd_loss_without_stop_gradient(self, v_data, v_model):
    return (tf.reduce_mean(self.free_energy(self._visible(v_data)))
            - tf.reduce_mean(self.free_energy(self._visible(v_model))))


def cd_loss_with_sum(self, v_data, v_model):
    v_model = tf.stop_gradient(self._visible(v_model))
    return (tf.reduce_sum(self.free_energy(self._visible(v_data)))
            - tf.reduce_sum(self.free_energy(v_model)))


def cd_loss_with_flipped_negative_phase(self, v_data, v_model):
    v_model = tf.stop_gradient(self._visible(v_model))
    return (tf.reduce_mean(self.free_energy(self._visible(v_data)))
            + tf.reduce_mean(self.free_energy(v_model)))


@pytest.mark.parametrize("broken", [free_energy_without_visible_bias,
                                    free_energy_without_hidden_bias])
def test_a_free_energy_missing_a_term_is_caught(monkeypatch, broken):
    monkeypatch.setattr(RBM, "free_energy", broken)
    with pytest.raises(AssertionError):
        test_rbm.test_free_energy_equals_enumeration.hypothesis.inner_test(K=3, F=2, seed=1)


@pytest.mark.parametrize("broken", [cd_loss_without_stop_gradient, cd_loss_with_sum,
                                    cd_loss_with_flipped_negative_phase])
def test_a_broken_cd_loss_is_caught(monkeypatch, broken):
    monkeypatch.setattr(RBM, "cd_loss", broken)
    with pytest.raises(AssertionError):
        test_rbm.test_autodiff_of_cd_loss_is_minus_cd_update_even_for_a_differentiable_negative()


# --- chapter 2 (RSM), chapter 4 (Price's theorem), chapter 5 (KL) ------------------------------

import rsmlib.dlgm  # noqa: E402
import rsmlib.gaussian  # noqa: E402
import rsmlib.rsm  # noqa: E402
import test_dlgm  # noqa: E402
import test_gaussian  # noqa: E402
import test_rsm  # noqa: E402
from rsmlib import RSM  # noqa: E402


def rsm_fixtures():
    model = RSM(test_rsm.K, test_rsm.F, seed=1, init_scale=1.0, dtype=tf.float64)
    model.b_v.assign([0.3, -0.5, 0.1, 0.8])
    model.b_h.assign([0.4, -0.2, 0.25])
    docs = tf.constant([[1, 0, 0, 0], [2, 1, 0, 0], [0, 3, 1, 0], [1, 1, 1, 1],
                        [0, 0, 0, 5], [4, 0, 2, 1], [0, 2, 2, 2], [3, 3, 2, 1]], tf.float64)
    return model, docs


def rsm_free_energy_without_D(v, W, b_v, b_h):
    x = b_h + tf.matmul(v, W)                                    # D dropped from D b_h
    return -tf.linalg.matvec(v, b_v) - tf.reduce_sum(tf.nn.softplus(x), axis=-1)


def rsm_cd_loss_without_stop_gradient(self, v_data, v_model):
    return (tf.reduce_mean(self.free_energy(self._counts(v_data, "v_data")))
            - tf.reduce_mean(self.free_energy(self._counts(v_model, "v_model"))))


def rsm_cd_loss_with_sum(self, v_data, v_model):
    v_model = tf.stop_gradient(self._counts(v_model, "v_model"))
    return (tf.reduce_sum(self.free_energy(self._counts(v_data, "v_data")))
            - tf.reduce_sum(self.free_energy(v_model)))


def test_rsm_free_energy_without_D_is_caught(monkeypatch):
    monkeypatch.setattr(rsmlib.rsm, "free_energy", rsm_free_energy_without_D)
    with pytest.raises(AssertionError):
        test_rsm.test_free_energy_matches_enumeration_over_hidden_states(*rsm_fixtures())
    with pytest.raises(AssertionError):
        test_rsm.test_cd_loss_gradient_is_minus_cd_update_with_D_on_hidden_bias(
            *rsm_fixtures(), tf.float64, 1e-12)


def test_rsm_cd_loss_without_stop_gradient_is_caught(monkeypatch):
    monkeypatch.setattr(RSM, "cd_loss", rsm_cd_loss_without_stop_gradient)
    with pytest.raises(AssertionError):
        test_rsm.test_cd_loss_holds_the_negative_constant(*rsm_fixtures())


def test_rsm_cd_loss_with_sum_instead_of_mean_is_caught(monkeypatch):
    monkeypatch.setattr(RSM, "cd_loss", rsm_cd_loss_with_sum)
    with pytest.raises(AssertionError):
        test_rsm.test_cd_loss_gradient_is_minus_cd_update_with_D_on_hidden_bias(
            *rsm_fixtures(), tf.float64, 1e-12)
    with pytest.raises(AssertionError):
        test_rsm.test_sum_of_free_energies_is_N_times_the_mean_loss(*rsm_fixtures())


def price_gradients_without_one_half(f, mu, R, num_samples, seed):
    xi, _ = rsmlib.gaussian.sample_gaussian(mu, R, num_samples, seed)
    g, H = rsmlib.gaussian.gradient_and_hessian(f, xi)
    return {"mu": g, "C": H}                                     # Price's ½ dropped


def test_price_without_one_half_is_caught(monkeypatch):
    monkeypatch.setattr(test_gaussian.G, "price_gradients", price_gradients_without_one_half)
    with pytest.raises(AssertionError):
        test_gaussian.test_price_factor_one_half_is_exact_for_a_quadratic()


def kl_with_flipped_sign(mu, sigma):
    return -rsmlib.gaussian.kl_diagonal_to_standard(mu, sigma)


def kl_rank_one_with_flipped_sign(mu, d, u):
    return -rsmlib.gaussian.kl_rank_one_to_standard(mu, d, u)


@pytest.mark.parametrize("covariance", ["diagonal", "rank_one"])
def test_a_flipped_kl_sign_is_caught(monkeypatch, covariance):
    monkeypatch.setattr(rsmlib.dlgm, "kl_diagonal_to_standard", kl_with_flipped_sign)
    monkeypatch.setattr(rsmlib.dlgm, "kl_rank_one_to_standard", kl_rank_one_with_flipped_sign)
    with pytest.raises(AssertionError):
        test_dlgm.test_kl_closed_form_matches_monte_carlo(covariance)
