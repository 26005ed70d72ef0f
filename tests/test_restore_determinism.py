"""Exact restore and determinism: a run interrupted mid-training and resumed in a fresh process
ends with the parameters of an uninterrupted run; corrupt or mismatched checkpoints give a clear
error and are left untouched; the same seed gives identical parameters and samples."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import restore_helper as H
from rsmlib import DLGM, RBM, RSM
from rsmlib.ais import ais_log_partition
from rsmlib.training import fit_rsm

HELPER = Path(__file__).with_name("restore_helper.py")


class Interrupted(Exception):
    pass


def stop_at(epoch):
    def callback(e, model):
        if e == epoch:          # raised before epoch `epoch` is checkpointed: like a kill
            raise Interrupted
    return callback


def resume_in_fresh_process(kind, checkpoint_dir, tmp_path):
    out = tmp_path / f"{kind}.npz"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, str(HELPER), kind, str(checkpoint_dir), str(out)],
                          capture_output=True, text=True, env=env, cwd=HELPER.parent.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = np.load(out)
    assert str(saved["source_digest"]) == H.SOURCE_DIGEST, (
        "rsmlib/ changed on disk between this process's import and the fresh process's (a "
        "concurrent tools/export.py?): the two halves ran different code; rerun the test")
    return [saved[f"arr_{i}"] for i in range(len(saved.files) - 2)], saved["history"]


def snapshot(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(directory).iterdir()) if p.is_file()}


# --- exact restore ------------------------------------------------------------------------------

def test_fit_rsm_interrupted_and_resumed_in_a_fresh_process_equals_an_uninterrupted_run(tmp_path):
    straight = H.new_rsm()
    history = fit_rsm(straight, H.corpus(), epochs=H.EPOCHS, **H.RSM_ARGS)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Interrupted):
        fit_rsm(H.new_rsm(), H.corpus(), epochs=H.EPOCHS, checkpoint_dir=str(ckpt),
                callback=stop_at(3), **H.RSM_ARGS)
    params, errors = resume_in_fresh_process("rsm", ckpt, tmp_path)
    for got, want in zip(params, straight.parameters):
        np.testing.assert_array_equal(got, want.numpy())
    np.testing.assert_array_equal(errors, history["reconstruction_error"])


def test_dlgm_fit_resumed_in_a_fresh_process_equals_an_uninterrupted_run(tmp_path):
    straight = H.new_dlgm()
    history = straight.fit(H.images(), H.EPOCHS, **H.DLGM_ARGS)
    ckpt = tmp_path / "ckpt"
    H.new_dlgm().fit(H.images(), 2, checkpoint_dir=str(ckpt), **H.DLGM_ARGS)
    params, losses = resume_in_fresh_process("dlgm", ckpt, tmp_path)
    # Bitwise, like the RSM: a tolerance would hide a broken restore, since losing the Adam
    # moments (or resuming with another seed) changes the result by only ~0.5 % after 16 steps.
    assert len(params) == len(straight.variables)
    for got, want in zip(params, straight.variables):
        np.testing.assert_array_equal(got, want.numpy())
    np.testing.assert_array_equal(losses, history["train"][2:])


# --- corrupt or mismatched checkpoints ------------------------------------------------------------

@pytest.fixture
def saved_run(tmp_path):
    """A checkpoint directory holding epochs 1 and 2 of the helper's RSM run."""
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Interrupted):
        fit_rsm(H.new_rsm(), H.corpus(), epochs=H.EPOCHS, checkpoint_dir=str(ckpt),
                callback=stop_at(3), **H.RSM_ARGS)
    return ckpt


def expect_refusal(ckpt, call, match="checkpoint", error=Exception):
    before = snapshot(ckpt)
    with pytest.raises(error, match=match):
        call()
    assert snapshot(ckpt) == before, "a refused checkpoint directory was modified"


@pytest.mark.parametrize("change", [
    dict(model=lambda: RSM(6, 5, seed=1)),                       # another number of hidden units
    dict(optimizer="momentum"),                                  # another optimiser state
    dict(docs=lambda: H.corpus()[:20]),                          # another corpus (chains' shape)
], ids=["num_hidden", "optimizer", "corpus"])
def test_a_mismatched_checkpoint_is_refused_and_left_untouched(saved_run, change):
    model = change.pop("model", H.new_rsm)()
    docs = change.pop("docs", H.corpus)()
    args = {**H.RSM_ARGS, **change}
    expect_refusal(saved_run, lambda: fit_rsm(model, docs, epochs=H.EPOCHS,
                                              checkpoint_dir=str(saved_run), **args),
                   match=r"(?i)checkpoint|shape")


@pytest.mark.parametrize("change", [dict(seed=4), dict(learning_rate=0.1), dict(persistent=False),
                                    dict(batch_size=5)],
                         ids=["seed", "learning_rate", "persistent", "batch_size"])
def test_a_checkpoint_of_another_run_configuration_is_refused(saved_run, change):
    args = {**H.RSM_ARGS, **change}
    expect_refusal(saved_run, lambda: fit_rsm(H.new_rsm(), H.corpus(), epochs=H.EPOCHS,
                                              checkpoint_dir=str(saved_run), **args))


def test_asking_for_fewer_epochs_than_saved_is_an_error(saved_run):
    expect_refusal(saved_run, lambda: fit_rsm(H.new_rsm(), H.corpus(), epochs=1,
                                              checkpoint_dir=str(saved_run), **H.RSM_ARGS))


def _truncate(pattern):
    def corrupt(ckpt):
        for p in Path(ckpt).glob(pattern):
            p.write_bytes(p.read_bytes()[:7])
    return corrupt


def _garble_state(ckpt):
    (Path(ckpt) / "checkpoint").write_text("garbage\n")


def _remove_history(ckpt):
    (Path(ckpt) / "history.npz").unlink()


@pytest.mark.parametrize("corrupt", [
    pytest.param(_truncate("ckpt-2.data-*"), id="truncated-data"),
    pytest.param(_truncate("ckpt-2.index"), id="truncated-index"),
    pytest.param(_garble_state, id="garbled-state-file"),
    pytest.param(_remove_history, id="missing-history"),
])
def test_a_corrupt_checkpoint_gives_a_clear_error_and_is_left_untouched(saved_run, corrupt):
    corrupt(saved_run)
    expect_refusal(saved_run, lambda: fit_rsm(H.new_rsm(), H.corpus(), epochs=H.EPOCHS,
                                              checkpoint_dir=str(saved_run), **H.RSM_ARGS),
                   match=r"(?i)checkpoint|history\.npz")


@pytest.fixture
def saved_dlgm_run(tmp_path):
    """A checkpoint directory holding epochs 1 and 2 of the helper's DLGM run (and its run.json)."""
    ckpt = tmp_path / "dlgm"
    H.new_dlgm().fit(H.images(), 2, checkpoint_dir=str(ckpt), **H.DLGM_ARGS)
    assert (ckpt / "run.json").exists()
    return ckpt


def resume_dlgm(ckpt, model=H.new_dlgm, images=H.images, **change):
    return lambda: model().fit(images(), H.EPOCHS, checkpoint_dir=str(ckpt),
                               **{**H.DLGM_ARGS, **change})


@pytest.mark.parametrize("key, change", [
    ("batch_size", dict(batch_size=20)),     # 8 saved steps // 2 would silently resume at epoch 4
    ("seed", dict(seed=4)),
    ("learning_rate", dict(learning_rate=0.01)),
    ("images", dict(images=lambda: H.images()[:30])),
    ("latent_sizes", dict(model=lambda: DLGM(10, (4,), hidden_size=5))),
    ("hidden_size", dict(model=lambda: DLGM(10, (3,), hidden_size=6))),
    ("covariance", dict(model=lambda: DLGM(10, (3,), hidden_size=5, covariance="diagonal"))),
], ids=lambda x: x if isinstance(x, str) else None)
def test_a_dlgm_checkpoint_of_another_run_is_refused_naming_the_argument(saved_dlgm_run, key,
                                                                         change):
    expect_refusal(saved_dlgm_run, resume_dlgm(saved_dlgm_run, **change), error=ValueError,
                   match=rf"checkpoint of another run \(.*\b{key}: saved ")


def _remove_run_json(ckpt):
    (Path(ckpt) / "run.json").unlink()


@pytest.mark.parametrize("corrupt, match", [
    pytest.param(_remove_run_json, "checkpoint files but no run.json", id="missing-run-json"),
    pytest.param(_garble_state, "run.json but no readable checkpoint", id="garbled-state-file"),
    pytest.param(_truncate("ckpt-2.data-*"), "cannot be restored", id="truncated-data"),
    pytest.param(_truncate("ckpt-2.index"), "cannot be restored", id="truncated-index"),
])
def test_a_corrupt_dlgm_checkpoint_gives_a_clear_error_and_is_left_untouched(saved_dlgm_run,
                                                                             corrupt, match):
    corrupt(saved_dlgm_run)
    expect_refusal(saved_dlgm_run, resume_dlgm(saved_dlgm_run), error=ValueError, match=match)


def test_a_dlgm_checkpoint_resumes_with_the_same_arguments(saved_dlgm_run):
    model = H.new_dlgm(seed=99)              # another initialisation: restored from the checkpoint
    history = model.fit(H.images(), H.EPOCHS, checkpoint_dir=str(saved_dlgm_run),
                        test=H.images()[:5], **H.DLGM_ARGS)   # `test` is not part of the run
    assert len(history["train"]) == H.EPOCHS - 2 and int(model.step_count) == 4 * H.EPOCHS


# --- determinism ----------------------------------------------------------------------------------

def test_fit_rsm_same_seed_same_parameters_and_history():
    runs = []
    for seed in (3, 3, 4):
        model = H.new_rsm()
        history = fit_rsm(model, H.corpus(), epochs=2, **{**H.RSM_ARGS, "seed": seed})
        runs.append(([p.numpy() for p in model.parameters], history))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]
    assert not all(np.array_equal(a, b) for a, b in zip(runs[0][0], runs[2][0]))


def test_samplers_and_ais_same_seed_same_numbers():
    rsm = RSM(6, 4, seed=1, init_scale=0.5)
    docs = H.corpus()
    np.testing.assert_array_equal(rsm.gibbs(docs, 2, seed=5), rsm.gibbs(docs, 2, seed=5))
    assert not np.array_equal(rsm.gibbs(docs, 2, seed=5), rsm.gibbs(docs, 2, seed=6))
    a = ais_log_partition(rsm, [3, 7], num_runs=8, num_betas=20, seed=1)
    b = ais_log_partition(rsm, [3, 7], num_runs=8, num_betas=20, seed=1)
    c = ais_log_partition(rsm, [3, 7], num_runs=8, num_betas=20, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    rbm = RBM(6, 4, seed=2, init_scale=0.5)
    v = (docs > 1).astype(np.float32)
    np.testing.assert_array_equal(rbm.gibbs(v, 3, seed=tf.constant([1, 2])),
                                  rbm.gibbs(v, 3, seed=tf.constant([1, 2])))
    np.testing.assert_array_equal(RSM(6, 4, seed=9).W, RSM(6, 4, seed=9).W)
