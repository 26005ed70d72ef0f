"""The compiled sampler op (rsmlib/ops, Chapter 3) against the TensorFlow-ops sampler it
replaces on a CPU: the same counts, bit for bit, from the same seed (issue 17)."""
import shutil
import subprocess
import sys
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from rsmlib import counts_op, multinomial_counts

ROOT = Path(__file__).resolve().parents[1]
WITHOUT_THE_OP = {"test_a_wheel_and_an_sdist_carry_the_source_not_a_built_library"}


@pytest.fixture(autouse=True)
def _needs_the_op(request):
    if counts_op.library() is None and request.node.originalname not in WITHOUT_THE_OP:
        pytest.skip("the op is not built (python -m rsmlib.ops.build)")


def both(logits, D, seed):
    op = multinomial_counts(logits, D, seed, method="op").numpy()
    reference = multinomial_counts(logits, D, seed, method="tf").numpy()
    return op, reference


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("N, K, D", [(1, 1, 1), (1, 2, 1), (3, 7, 1), (100, 4258, 60),
                                     (5, 50, 5000), (16, 200_000, 100), (64, 13, 1000)])
def test_the_op_picks_the_same_words_as_the_tensorflow_ops(dtype, N, K, D):
    for seed in range(6):
        logits = 3.0 * tf.random.stateless_normal([N, K], [7, seed], dtype=dtype)
        op, reference = both(logits, D, seed)
        np.testing.assert_array_equal(op, reference)
        assert op.dtype == dtype.as_numpy_dtype


def test_the_same_counts_with_different_lengths_per_row():
    logits = tf.random.stateless_normal([40, 300], [1, 2])
    for seed in range(20):
        D = tf.random.stateless_uniform([40], [3, seed], 1, 400, dtype=tf.int32)
        op, reference = both(logits, D, seed)
        np.testing.assert_array_equal(op, reference)
        np.testing.assert_array_equal(op.sum(axis=1), D.numpy())


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_the_same_counts_at_extreme_logits_and_zero_probability_words(dtype):
    rng = np.random.default_rng(0)
    extreme = rng.choice([-1e4, 0.0, 1e4, -30.0, 30.0, -700.0], size=(50, 200))
    extreme[:, 0] = -1e4      # a word that can never be drawn ...
    extreme[:, -1] = -1e4     # ... also last: the clamp to K - 1 can only pick it by rounding
    extreme[10] = -1e4        # a row of equal logits
    extreme[11, :] = -1e4
    extreme[11, 100] = 1e4    # one word carries all the mass
    logits = tf.constant(extreme, dtype)
    for seed in range(20):
        op, reference = both(logits, 257, seed)
        np.testing.assert_array_equal(op, reference)
    # float32 exp underflows: most words of most rows have probability exactly 0
    weights = tf.exp(logits - tf.reduce_max(logits, -1, keepdims=True)).numpy()
    assert (weights == 0).mean() > 0.5
    counts = multinomial_counts(logits, 257, 0, method="op").numpy()
    assert np.all(counts[weights == 0] == 0)
    assert counts[11, 100] == 257


def test_the_clamp_to_the_last_word_matches_searchsorted():
    # For u < 1, fl(u * total) < total always (round to nearest), so no such u reaches the
    # clamp to K - 1: only u = 1 does (searchsorted returns K there). u = 1 is outside
    # stateless_uniform's range, but the op must still pick what the TF ops pick; the other
    # uniforms sit at the edges of the intervals, where a lower_bound search would differ.
    weights = tf.constant([[1.0, 2.0, 0.0], [0.0, 3.0, 0.0], [1.0, 1.0, 1.0]], tf.float64)
    u = tf.constant([[1.0, 0.0, 1 / 3],
                     [1.0, 0.5, 0.0],
                     [1 / 3, 2 / 3, np.nextafter(1 / 3, 0.0)]], tf.float64)
    counts = counts_op.counts_from_uniforms(weights, u, tf.constant([3, 3, 3])).numpy()
    cdf = tf.math.cumsum(weights, axis=-1)
    raw = tf.searchsorted(cdf, u * cdf[:, -1:], side="right").numpy()
    assert raw[0, 0] == 3 and raw[1, 0] == 3      # the clamp is exercised
    words = np.minimum(raw, 2)
    expected = np.stack([np.bincount(row, minlength=3) for row in words])
    np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_the_running_sum_is_sequential_as_tensorflows_cumsum_is(dtype):
    # weights whose float64 sum depends on the order of the additions: 1, then 2^-53 many
    # times (2^-53 is exact in float32 too). Summed left to right each tiny term is lost;
    # a pairwise sum would keep them. float32 weights are widened, then summed in float64.
    K = 4097
    w = np.full((1, K), 2.0**-53)
    w[0, 0] = 1.0
    weights = tf.constant(w, dtype)
    cdf = tf.math.cumsum(tf.cast(weights, tf.float64), axis=-1).numpy()
    assert cdf[0, -1] == 1.0                       # TensorFlow's cumsum: sequential
    u = tf.constant([[np.nextafter(1.0, 0.0)]], tf.float64)
    op = counts_op.counts_from_uniforms(weights, u, tf.constant([1])).numpy()
    words = np.searchsorted(cdf[0], u.numpy()[0] * cdf[0, -1], side="right")
    assert op[0, min(int(words[0]), K - 1)] == 1


def test_the_op_inside_a_tf_function_and_rows_with_no_words():
    logits = tf.random.stateless_normal([6, 30], [0, 1])
    D = tf.constant([0, 1, 5, 0, 30, 2])
    fn = tf.function(lambda: counts_op.counts_from_uniforms(
        tf.exp(logits), tf.random.stateless_uniform([6, 30], [0, 2], dtype=tf.float64), D))
    counts = fn().numpy()
    np.testing.assert_array_equal(counts.sum(axis=1), D.numpy())


@pytest.mark.parametrize("method", ["op", "tf"])
def test_rows_with_no_words_and_batches_with_no_rows(method):
    logits = tf.random.stateless_normal([6, 30], [0, 3])
    for D in ([0, 1, 5, 0, 30, 2], [0] * 6):
        op, reference = both(logits, tf.constant(D), 4)
        np.testing.assert_array_equal(op, reference)
        np.testing.assert_array_equal(op.sum(axis=1), D)
    empty = multinomial_counts(tf.zeros([0, 7]), 3, 0, method=method)
    assert empty.shape == (0, 7)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_non_finite_logits_the_same_on_both_paths(dtype):
    # NaN or +inf in a row, or a row all -inf: exp(logits - max) holds a NaN, so does the
    # row's total, no comparison with it holds, and every draw falls to the clamp, K - 1.
    # A single -inf is an impossible word. Both paths must agree, word for word.
    x = np.zeros((6, 5))
    x[0, 2] = np.nan
    x[1, 3] = np.inf
    x[2, :] = -np.inf
    x[3, 1] = -np.inf
    x[4, [1, 3]] = np.inf
    x[5, 0], x[5, 4] = -np.inf, np.nan
    logits = tf.constant(x, dtype)
    for seed in range(5):
        op, reference = both(logits, 7, seed)
        np.testing.assert_array_equal(op, reference)
        np.testing.assert_array_equal(op[[0, 1, 2, 4, 5], -1], 7)
        assert op[3, 1] == 0 and op[3].sum() == 7


def test_under_xla_auto_falls_back_to_the_tensorflow_ops():
    # the op has no XLA kernel: inside jit_compile=True, "auto" must build TF ops (with a
    # one-hot count, since bincount's size is not a compile-time constant there)
    from rsmlib import sampling

    logits = tf.random.stateless_normal([8, 12], [0, 5], dtype=tf.float64)
    D = tf.constant([0, 1, 2, 3, 30, 40, 50, 60])
    xla = tf.function(lambda x: multinomial_counts(x, D, 7), jit_compile=True)
    counts = xla(logits).numpy()
    np.testing.assert_array_equal(counts.sum(axis=1), D.numpy())
    seen = []
    probe = tf.function(lambda: seen.append(sampling._in_xla_context()) or 0.0,
                        jit_compile=True)
    probe()
    nested = tf.function(lambda: seen.append(sampling._in_xla_context()) or 0.0)
    tf.function(lambda: nested(), jit_compile=True)()
    tf.function(lambda: seen.append(sampling._in_xla_context()) or 0.0)()
    assert seen == [True, True, False] and not sampling._in_xla_context()
    # the same distribution: 2,000 rows of 60 draws, chi-square on the pooled counts
    from scipy import stats

    many = tf.repeat(logits[:1], 2000, axis=0)
    pooled = tf.function(lambda x: multinomial_counts(x, 60, 8), jit_compile=True)(
        many).numpy().sum(axis=0)
    p = tf.nn.softmax(logits[0]).numpy()
    assert stats.chisquare(pooled, pooled.sum() * p).pvalue > 1e-3


def test_method_op_under_xla_is_a_clear_error():
    xla = tf.function(lambda x: multinomial_counts(x, 3, 0, method="op"), jit_compile=True)
    with pytest.raises(ValueError, match="method='op' cannot run inside"):
        xla(tf.zeros([2, 5]))


def test_bad_shapes_are_refused_with_the_argument_named():
    with pytest.raises(tf.errors.InvalidArgumentError, match="lengths\\[0\\] = 3 exceeds"):
        counts_op.counts_from_uniforms(tf.ones([1, 4]), tf.zeros([1, 2], tf.float64), [3])
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="weights"):
        counts_op.counts_from_uniforms(tf.ones([4]), tf.zeros([1, 2], tf.float64), [1])
    with pytest.raises(ValueError, match="method must be"):
        multinomial_counts(tf.zeros([1, 3]), 1, 0, method="fast")


def test_auto_uses_the_op_on_a_cpu():
    logits = tf.random.stateless_normal([4, 20], [0, 9])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        counts = multinomial_counts(logits, 10, 1)
    assert tape.gradient(counts, logits) is None
    graph = tf.function(lambda x: multinomial_counts(x, 10, 1)).get_concrete_function(
        tf.TensorSpec([4, 20])).graph
    types = {op.type for op in graph.get_operations()}
    assert "RsmlibCountsFromUniforms" in types and "Cumsum" not in types


def test_without_the_op_one_notice_and_the_same_counts():
    # a fresh process where the library cannot be found
    code = (
        "import warnings, importlib.resources as r, tensorflow as tf, numpy as np\n"
        "from rsmlib import counts_op, multinomial_counts\n"
        "counts_op.resources = type('R', (), {'files': staticmethod(lambda p: r.files('rsmlib')"
        " / 'no-such-dir')})\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    a = [multinomial_counts(tf.zeros([3, 9]), 4, s).numpy() for s in range(3)]\n"
        "notices = [w for w in caught if 'compiled sampler op' in str(w.message)]\n"
        "assert len(notices) == 1, [str(w.message) for w in caught]\n"
        "b = [multinomial_counts(tf.zeros([3, 9]), 4, s, method='tf').numpy() for s in range(3)]\n"
        "assert all(np.array_equal(x, y) for x, y in zip(a, b))\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_a_wheel_and_an_sdist_carry_the_source_not_a_built_library(tmp_path):
    # a .so is built for one TensorFlow: a py3-none-any wheel must not carry one, even
    # when one was built in the source tree; the C++ source ships, to be built where the
    # wheel is installed (the fallback notice says how)
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "rsmlib", source / "rsmlib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    (source / "rsmlib" / "ops" / "_counts_from_uniforms.so").write_bytes(b"built here")
    built = []
    for hook in ("build_wheel", "build_sdist"):  # one process each, as pip runs them
        code = (f"import sys; from setuptools import build_meta as b; "
                f"print('BUILT', b.{hook}(sys.argv[1]))")
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "dist")],
                             cwd=source, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        built += [tmp_path / "dist" / line.split()[1] for line in out.stdout.splitlines()
                  if line.startswith("BUILT ")]
    wheel, sdist = built
    in_wheel = zipfile.ZipFile(wheel).namelist()
    in_sdist = tarfile.open(sdist).getnames()
    assert "rsmlib/ops/counts_from_uniforms.cc" in in_wheel
    assert any(n.endswith("rsmlib/ops/counts_from_uniforms.cc") for n in in_sdist)
    assert not [n for n in in_wheel + in_sdist if n.endswith(".so")]
    assert "py3-none-any" in wheel.name
