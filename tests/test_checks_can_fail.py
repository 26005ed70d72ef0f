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
