"""fit_rsm's cache of traced epochs between processes (``rsmlib.training._epoch_for``).

A loaded epoch must train bit for bit as the epoch traced in this process, and as the
plain ``tf.function`` (Grappler on) that it is run in place of; the cache must be keyed on
everything the graph holds, survive a damaged file, and stay off where it is turned off.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rsmlib import RSM, fit_rsm, training

K, F = 30, 5
DOCS = np.random.default_rng(0).poisson(0.6, size=(60, K)).astype(np.float32)
DOCS[:, 0] += 1  # no empty document
RUNS = {
    "momentum (the hand-written step)": {},
    "adam (the tape)": {"optimizer": "adam"},
    "persistent chains, k ramped": {"persistent": True, "cd_steps": (1, 2)},
    "weight decay (the tape, Grappler on)": {"weight_decay": 1e-3, "hidden_bias_rate": 0.003},
}


def train(model_type=RSM, **options):
    model = model_type(K, F, seed=3)
    arguments = dict(epochs=3, batch_size=20, learning_rate=0.05, seed=4, progress=False)
    fit_rsm(model, DOCS, **{**arguments, **options})
    return [p.numpy() for p in model.parameters]


def assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def epochs():
    return [f for _, fs in training._SHARED.trainers.values() for f in fs.values()]


def cached_files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RSMLIB_CACHE_DIR", str(tmp_path))
    training._SHARED.trainers.clear()  # as in a new process
    yield tmp_path
    training._SHARED.trainers.clear()


@pytest.mark.parametrize("options", RUNS.values(), ids=RUNS.keys())
def test_a_loaded_epoch_trains_as_the_traced_one_and_as_the_plain_tf_function(
    cache, monkeypatch, options
):
    traced = train(**options)
    assert all(f.experimental_get_tracing_count() == 1 for f in epochs())
    assert len(cached_files(cache)) == 2 * len(epochs())  # a .json and a .pb each
    training._SHARED.trainers.clear()
    loaded = train(**options)
    assert [f.experimental_get_tracing_count() for f in epochs()] == [0] * len(epochs())
    assert_same(loaded, traced)
    # the epoch called as the tf.function it was traced to: Grappler on, no cache
    training._SHARED.trainers.clear()
    monkeypatch.setattr(training, "_epoch_for", lambda t, k, b, key: t.make_epoch(k, b))
    assert_same(train(**options), traced)


def test_a_new_process_loads_the_epoch_and_ends_where_this_one_does(cache):
    traced = train()
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_epoch_cache import train, epochs
        parameters = train()
        print(json.dumps({{"tracings": [f.experimental_get_tracing_count()
                                        for f in epochs()],
                          "parameters": [p.tolist() for p in parameters]}}))
        """
    )
    env = {**os.environ, "RSMLIB_CACHE_DIR": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, check=True)
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    assert reply["tracings"] == [0]
    assert_same([np.asarray(p, np.float32) for p in reply["parameters"]], traced)


def test_a_damaged_file_is_traced_again_with_a_warning_and_saved_over(cache):
    traced = train()
    (pb,) = [p for p in cache.iterdir() if p.suffix == ".pb"]
    pb.write_bytes(b"not a graph")
    training._SHARED.trainers.clear()
    with pytest.warns(RuntimeWarning, match="cannot be used.*tracing it again"):
        again = train()
    assert_same(again, traced)
    assert [f.experimental_get_tracing_count() for f in epochs()] == [1]
    training._SHARED.trainers.clear()
    assert_same(train(), traced)  # the file saved over the damaged one loads
    assert [f.experimental_get_tracing_count() for f in epochs()] == [0]


def test_the_cache_is_keyed_on_what_the_graph_holds(cache, monkeypatch):
    train()
    counts = [len(cached_files(cache))]
    for options in ({"batch_size": 10}, {"cd_steps": 2}, {"momentum": 0.5},
                    {"learning_rate": 0.02}, {}):
        train(**options)
        counts.append(len(cached_files(cache)))
    assert counts == [2, 4, 6, 8, 10, 10]  # the last run is the first one's: loaded
    monkeypatch.setattr(training, "_CODE_VERSION", ["another rsmlib or TensorFlow"])
    training._SHARED.trainers.clear()
    train()
    assert len(cached_files(cache)) == 12


def test_off_writes_nothing_and_a_subclass_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("RSMLIB_CACHE_DIR", "off")
    training._SHARED.trainers.clear()
    off = train()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.delenv("RSMLIB_CACHE_DIR")  # the default folder: $XDG_CACHE_HOME/rsmlib

    class Subclass(RSM):  # its methods may differ from the cached graph's
        pass

    assert_same(train(Subclass), off)
    assert list(tmp_path.iterdir()) == []
    training._SHARED.trainers.clear()
    assert_same(train(), off)
    assert len(cached_files(tmp_path / "rsmlib")) == 2
    training._SHARED.trainers.clear()


def test_an_unwritable_folder_warns_and_trains(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("RSMLIB_CACHE_DIR", str(blocker / "cache"))
    training._SHARED.trainers.clear()
    with pytest.warns(RuntimeWarning, match="cannot save the traced epoch"):
        parameters = train()
    monkeypatch.setenv("RSMLIB_CACHE_DIR", "off")
    training._SHARED.trainers.clear()
    assert_same(train(), parameters)
    training._SHARED.trainers.clear()


def test_a_file_saved_for_other_variables_is_traced_again(cache):
    traced = train()
    (saved,) = [p for p in cache.iterdir() if p.suffix == ".json"]
    described = json.loads(saved.read_text())
    described["variables"][0][1] = [K + 1, F]  # another shape at the first input
    saved.write_text(json.dumps(described))
    training._SHARED.trainers.clear()
    with pytest.warns(RuntimeWarning, match="saved for the variables"):
        assert_same(train(), traced)
    assert [f.experimental_get_tracing_count() for f in epochs()] == [1]


def test_functions_run_eagerly_runs_the_plain_function_and_saves_nothing(cache):
    import tensorflow as tf

    traced = train()
    files = cached_files(cache)
    training._SHARED.trainers.clear()
    tf.config.run_functions_eagerly(True)
    try:
        eager = train()
        ((_, functions),) = training._SHARED.trainers.values()
        assert all(isinstance(f, tf.types.experimental.PolymorphicFunction)
                   for f in functions.values())
    finally:
        tf.config.run_functions_eagerly(False)
    assert cached_files(cache) == files
    np.testing.assert_allclose(eager[0], traced[0], atol=1e-5)
