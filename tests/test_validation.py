"""rsmlib.validation (Appendix A.4): each validator's message names the argument, says what was
expected and shows what was found; valid input passes unchanged; the models share one copy.

The entry points' messages (every public method) are tests/test_bad_input.py.
"""
import numpy as np
import pytest
import tensorflow as tf

import rsmlib.rbm
from rsmlib import validation as V

BAD = [
    # (call, exception, message regex)
    (lambda: V.check_not_empty(tf.zeros((0, 4)), "v"), ValueError,
     r"^v must hold at least one row; got shape \(0, 4\)$"),
    (lambda: V.check_not_empty(tf.zeros((0, 4)), "docs", row="document (row)"), ValueError,
     r"^docs must hold at least one document \(row\); got shape \(0, 4\)$"),
    (lambda: V.check_same_rows(tf.zeros((2, 3)), tf.zeros((5, 1)), "v", "h"), ValueError,
     r"^h must have the same number of rows as v \(paired rows\); got 5 rows of h and 2 of v$"),
    (lambda: V.check_units(np.ones(3), 3, "v"), ValueError,
     r"^v must have shape \(N, 3\); got shape \(3,\)$"),
    (lambda: V.check_units(np.ones((2, 4)), 3, "h"), ValueError,
     r"^h must have 3 columns \(one per unit\); got 4$"),
    (lambda: V.check_units(np.array([["a", "b"]]), 2, "v"), TypeError,
     r"^v must hold numbers \(real, integer or bool\); got dtype string$"),
    (lambda: V.check_units(np.zeros((0, 2)), 2, "v"), ValueError,
     r"^v must hold at least one row"),
    (lambda: V.check_units([[0, 1], [np.nan, 0]], 2, "v_data"), ValueError,
     r"^v_data must hold values in \[0, 1\] \(binary states or probabilities\); "
     r"found nan at row 1, column 0$"),
    (lambda: V.check_units([[0, -0.5]], 2, "v"), ValueError, r"found -0\.5 at row 0, column 1$"),
    (lambda: V.check_units([[0, np.inf]], 2, "v"), ValueError, r"found inf at row 0, column 1$"),
    (lambda: V.check_int(0, "num_hidden"), ValueError,
     r"^num_hidden must be a positive int; got 0$"),
    (lambda: V.check_int(True, "num_hidden"), ValueError, r"got True$"),
    (lambda: V.check_int(2.0, "num_visible"), ValueError, r"^num_visible must be a positive "
     r"int; got 2\.0$"),
    (lambda: V.check_int(-1, "k", low=0, meaning="number of Gibbs steps"), ValueError,
     r"^k must be a non-negative int \(number of Gibbs steps\); got -1$"),
    (lambda: V.check_int(1, "runs", low=2), ValueError, r"^runs must be an int >= 2; got 1$"),
    (lambda: V.check_float_dtype(tf.int64), TypeError,
     r"^dtype must be a floating type; got int64$"),
    (lambda: V.check_counts(np.ones((2, 3)), 4, "docs"), ValueError,
     r"^docs must have 4 columns \(one per vocabulary word\); got 3$"),
    (lambda: V.check_counts(np.ones(4), 4, "v"), ValueError,
     r"^v must have shape \(N, 4\) \(one row of word counts per document\); got shape \(4,\)$"),
    (lambda: V.check_counts(np.ones((1, 2), bool), 2, "v"), ValueError,
     r"^v must hold numeric counts; got dtype bool$"),
    (lambda: V.check_counts([[1.0, 0.5]], 2, "v"), ValueError,
     r"^v must hold non-negative integer counts; found 0\.5 at row 0, column 1$"),
    (lambda: V.check_counts([[1, 0], [0, 0], [0, 0]], 2, "v"), ValueError,
     r"^v must hold documents of at least one word; row 1 is empty \(2 empty rows\)$"),
    (lambda: V.check_lengths([3, 0]), ValueError,
     r"^D must hold document lengths of at least one word \(whole numbers\); got \[3, 0\]$"),
    (lambda: V.check_lengths(np.ones((2, 2))), ValueError,
     r"^D must be a scalar or have shape \(N,\); got shape \(2, 2\)$"),
    (lambda: V.check_lengths(tf.constant(["a"])), ValueError,
     r"^D must hold document lengths \(whole numbers\); got dtype string$"),
    # moved here from rsmlib.gaussian (Chapter 4) and rsmlib.dlgm (Appendix A.3), issue 16
    (lambda: V.check_num_samples(2.5), TypeError,
     r"^num_samples must be a positive int; got float$"),
    (lambda: V.check_num_samples(True), TypeError,
     r"^num_samples must be a positive int; got bool$"),
    (lambda: V.check_num_samples(0), ValueError, r"^num_samples must be a positive int; got 0$"),
    (lambda: V.check_real(object(), "mu"), TypeError,
     r"^mu must be a real array or tensor; got object$"),
    (lambda: V.check_real([1, 2], "R", dtype=tf.int32), TypeError,
     r"^R must have a floating dtype; got int32$"),
    (lambda: V.check_finite(tf.constant([[1.0, 2.0], [3.0, np.nan]]), "R"), ValueError,
     r"^R must be finite; found nan at index \(1, 1\)$"),
    (lambda: V.check_positive(tf.constant([1.0, -2.0]), "sigma"), ValueError,
     r"^sigma must be positive \(a scale or precision\); found -2\.0 at index \(1,\)$"),
    (lambda: V.check_positive(tf.constant([np.inf]), "d"), ValueError, r"^d must be finite"),
    (lambda: V.check_wrt("C", ("mu", "R")), ValueError,
     r"^wrt must name some of \('mu', 'R'\); got \('C',\)$"),
    (lambda: V.check_wrt((), ("mu", "R")), ValueError, r"got \(\)$"),
    (lambda: V.check_binary_images("v", np.array([["a"]]), 1), TypeError,
     r"^v must be a numeric array of shape \(N, 1\); got dtype <U1$"),
    (lambda: V.check_binary_images("v", np.ones(3), 3), ValueError,
     r"^v must have rank 2, shape \(N, 3\); got shape \(3,\)$"),
    (lambda: V.check_binary_images("v", np.ones((2, 4)), 3), ValueError,
     r"^v must have width 3, shape \(N, 3\); got shape \(2, 4\)$"),
    (lambda: V.check_binary_images("v", np.ones((0, 3)), 3), ValueError,
     r"^v must hold at least one row; got shape \(0, 3\)$"),
    (lambda: V.check_binary_images("mask", [[0, np.nan]], 2), ValueError,
     r"^mask must not contain NaN; found NaN at row 0, column 1$"),
    (lambda: V.check_binary_images("v", [[0, 1], [2, 0]], 2), ValueError,
     r"^v must hold binary values in \{0, 1\}; found 2 at row 1, column 0$"),
    (lambda: V.check_grey_images("train", [[0.5, -0.1]], 2), ValueError,
     r"^train must hold grey levels in \[0, 1\] for binarization='dynamic'; found -0\.1 "
     r"at row 0, column 1$"),
    (lambda: V.check_grey_images("train", np.ones((2, 3)), 2), ValueError,
     r"^train must have shape \(N, 2\) with N >= 1; got shape \(2, 3\)$"),
    (lambda: V.check_positive_number("learning_rate", -1e-3), ValueError,
     r"^learning_rate must be a positive number \(and finite\); got -0\.001$"),
    (lambda: V.check_positive_number("alpha", float("inf")), ValueError, r"got inf$"),
    (lambda: V.check_positive_number("num_data", True), ValueError, r"got True$"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_message(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_valid_input_passes_unchanged():
    v = np.array([[0, 1, 0.25]])
    out = V.check_units(v, 3, "v", tf.float64)
    assert out.dtype == tf.float64 and np.array_equal(out.numpy(), v)
    assert V.check_units(np.array([[True, False]]), 2, "v").dtype == tf.float32
    counts = V.check_counts(np.array([[2, 0, 1]], np.int32), 3, "v", tf.float64)
    assert counts.dtype == tf.float64 and counts.numpy().tolist() == [[2, 0, 1]]
    assert V.check_lengths(4).numpy() == 4 and V.check_lengths(4.0).dtype == tf.int32
    assert V.check_int(np.int64(5), "n") == 5 and type(V.check_int(np.int64(5), "n")) is int
    assert V.check_float_dtype("float16") == tf.float16
    images = V.check_binary_images("v", tf.constant([[0, 1], [1, 1]]), 2)
    assert images.dtype == np.float64 and images.tolist() == [[0, 1], [1, 1]]
    assert V.check_grey_images("x", [[0.0, 0.25]], 2).tolist() == [[0.0, 0.25]]
    assert V.check_positive_number("lr", 3) == 3.0 and V.check_num_samples(np.int64(4)) == 4
    assert V.check_real([1, 2], "mu").dtype == tf.float64
    assert V.check_real(np.float32([1]), "mu").dtype == tf.float32
    assert V.check_real([1, 2], "R", dtype=tf.float32).dtype == tf.float32
    t = tf.constant([0.5, 2.0])
    assert V.check_finite(t, "mu") is t and V.check_positive(t, "sigma") is t
    assert V.check_wrt("mu", ("mu", "R")) == ("mu",)
    assert V.check_wrt(["R", "mu"], ("mu", "R")) == ("R", "mu")


def test_values_are_not_inspected_inside_a_tf_function_but_shapes_are():
    @tf.function
    def units(x):
        return V.check_units(x, 2, "v")

    # values outside [0, 1] pass inside the graph (they cannot be read there) ...
    assert units(tf.constant([[0.0, 3.0]])).numpy().tolist() == [[0.0, 3.0]]
    # ... while the static width is still checked when the function is traced
    with pytest.raises(ValueError, match="v must have 2 columns"):
        units(tf.constant([[0.0, 1.0, 0.0]]))


def test_finiteness_and_positivity_become_graph_assertions_inside_a_tf_function():
    positive = tf.function(lambda t: V.check_positive(t, "sigma"))
    assert positive(tf.constant([1.0, 2.0])).numpy().tolist() == [1.0, 2.0]
    with pytest.raises(tf.errors.InvalidArgumentError, match="sigma must be positive"):
        positive(tf.constant([1.0, -2.0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="sigma must be finite"):
        positive(tf.constant([1.0, np.nan]))


def test_the_dlgm_and_the_gaussian_helpers_use_the_one_copy():
    import rsmlib.dlgm
    import rsmlib.gaussian

    for name in ("check_binary_images", "check_grey_images", "check_positive_number",
                 "check_int"):
        assert getattr(rsmlib.dlgm, name) is getattr(V, name), name
    for name in ("check_real", "check_finite", "check_positive", "check_num_samples",
                 "check_wrt", "first_bad"):
        assert getattr(rsmlib.gaussian, name) is getattr(V, name), name
    # one positive-int rule: rsmlib.dlgm's own check_positive_int is gone
    assert not hasattr(rsmlib.dlgm, "check_positive_int")
    assert not hasattr(rsmlib.gaussian, "_check_finite")


def test_the_rbm_uses_the_one_copy_and_keeps_the_old_import_path():
    from rsmlib.rbm import check_not_empty, check_same_rows, check_units  # Chapter 2 does this

    assert check_units is V.check_units and check_not_empty is V.check_not_empty
    assert check_same_rows is V.check_same_rows
    assert rsmlib.rbm.check_int is V.check_int
