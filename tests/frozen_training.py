"""A frozen copy of rsmlib.training as of f5c8c3c (2026-12-02 00:45 UTC), before fit_rsm moved onto
Keras optimizers. tests/test_training_frozen.py compares today's fit_rsm with it. Do not edit."""
import json
import math
import numbers
import os

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rsmlib.rsm import RSM, check_counts
from rsmlib.sampling import as_seed


class MomentumSGD(tf.Module):
    """θ ← θ + Δ with Δ ← momentum·Δ − rate·∇loss: gradient descent with momentum.

    One velocity variable per parameter, so the state is saved with the model in checkpoints.
    """

    def __init__(self, variables, learning_rate, momentum=0.9, name=None):
        super().__init__(name=name)
        self.learning_rate, self.momentum = float(learning_rate), float(momentum)
        self.velocity = [tf.Variable(tf.zeros_like(v), name="velocity") for v in variables]

    def apply(self, grads, variables):
        for g, v, vel in zip(grads, variables, self.velocity):
            vel.assign(self.momentum * vel - self.learning_rate * g)
            v.assign_add(vel)


class Adam(tf.Module):
    """Adam (Kingma & Ba 2015): θ ← θ − rate · m̂ / (√v̂ + ε), with bias-corrected moments."""

    def __init__(self, variables, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8, name=None):
        super().__init__(name=name)
        self.learning_rate = float(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.m = [tf.Variable(tf.zeros_like(v), name="m") for v in variables]
        self.v = [tf.Variable(tf.zeros_like(v), name="v") for v in variables]
        self.steps = tf.Variable(0, dtype=tf.int64, name="steps")

    def apply(self, grads, variables):
        self.steps.assign_add(1)
        t = tf.cast(self.steps, variables[0].dtype)
        correction = tf.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        for g, var, m, v in zip(grads, variables, self.m, self.v):
            m.assign(self.beta_1 * m + (1 - self.beta_1) * g)
            v.assign(self.beta_2 * v + (1 - self.beta_2) * tf.square(g))
            var.assign_sub(self.learning_rate * correction * m / (tf.sqrt(v) + self.epsilon))


def cd_schedule(cd_steps, epochs):
    """Gibbs steps per epoch: an int (constant), or (k_start, k_end) ramped linearly over epochs."""
    if isinstance(cd_steps, (int, np.integer)) and not isinstance(cd_steps, bool):
        if cd_steps < 1:
            raise ValueError(f"cd_steps must be >= 1; got {cd_steps}")
        return [int(cd_steps)] * epochs
    if (isinstance(cd_steps, (tuple, list)) and len(cd_steps) == 2
            and all(isinstance(k, (int, np.integer)) and k >= 1 for k in cd_steps)):
        start, end = cd_steps
        if epochs == 1:
            return [int(start)]
        return [int(round(start + (end - start) * e / (epochs - 1))) for e in range(epochs)]
    raise ValueError(f"cd_steps must be a positive int or a pair (k_start, k_end) of positive ints; "
                     f"got {cd_steps!r}")


def reconstruction_error(v_data, v_model):
    """Mean over documents of Σ_k (v_k − v'_k)² / D: squared count error per word; a scalar."""
    D = tf.reduce_sum(v_data, axis=-1)
    return tf.reduce_mean(tf.reduce_sum(tf.square(v_data - v_model), axis=-1) / D)


class _Trainer(tf.Module):
    """The state of one fit_rsm run: model, optimisers, persistent chains, epoch counter."""

    def __init__(self, model, docs, optimizer, learning_rate, hidden_bias_rate, momentum,
                 persistent, seed, weight_decay=0.0):
        super().__init__()
        self.model = model
        self.weight_decay = float(weight_decay)
        make = {"momentum": lambda vs, lr: MomentumSGD(vs, lr, momentum),
                "adam": lambda vs, lr: Adam(vs, lr)}[optimizer]
        self.main = make([model.W, model.b_v], learning_rate)
        # an RSM built with hidden_bias=False holds b_h at zero: no optimiser, no update
        self.train_hidden_bias = bool(getattr(model, "hidden_bias", True))
        self.bias = make([model.b_h], hidden_bias_rate) if self.train_hidden_bias else None
        self.epoch = tf.Variable(0, dtype=tf.int64, name="epoch")
        self.chains = tf.Variable(docs, name="persistent_chains") if persistent else None

    def make_step(self, k):
        """A tf.function for one CD-k (or PCD-k) update on a batch; returns its reconstruction error."""
        K = self.model.vocab_size
        signature = [tf.TensorSpec([None, K], self.model.W.dtype), tf.TensorSpec([None], tf.int32),
                     tf.TensorSpec([2], tf.int64)]

        @tf.function(input_signature=signature)
        def step(v_data, index, seed):
            start = v_data if self.chains is None else tf.gather(self.chains, index)
            v_model = self.model.gibbs(start, k, seed)
            if self.chains is not None:
                self.chains.scatter_nd_update(index[:, None], v_model)
            with tf.GradientTape() as tape:
                loss = self.model.cd_loss(v_data, v_model)
                if self.weight_decay:  # L2 "weight cost" on W only: + (λ/2) ||W||²
                    loss += 0.5 * self.weight_decay * tf.reduce_sum(tf.square(self.model.W))
            trained = [self.model.W, self.model.b_v]
            if self.bias is not None:
                trained.append(self.model.b_h)
            grads = tape.gradient(loss, trained)
            self.main.apply(grads[:2], trained[:2])
            if self.bias is not None:
                self.bias.apply(grads[2:], trained[2:])
            # CD-1's negative sample is already a one-step reconstruction; otherwise make one
            recon = v_model if (k == 1 and self.chains is None) else self.model.gibbs(v_data, 1, seed + 1)
            return reconstruction_error(v_data, recon)
        return step


def fit_rsm(model, docs, *, epochs, batch_size=100, cd_steps=1, learning_rate, seed,
            persistent=False, progress=True, checkpoint_dir=None, optimizer="momentum",
            momentum=0.9, hidden_bias_rate=None, weight_decay=0.0, callback=None):
    """Train ``model`` (an RSM) on ``docs`` (N, K) counts by CD-k or persistent CD.

    Each epoch visits the documents in a seeded random order in batches of ``batch_size`` and
    minimises ``model.cd_loss`` (a mean over the batch) with ``optimizer`` ("momentum" SGD or
    "adam"). ``cd_steps`` is an int or a pair (k_start, k_end) ramped linearly over the epochs
    (the paper raises k from 1 to 5). ``hidden_bias_rate`` (default ``learning_rate``) is the
    step size of b_h, whose gradient carries the factor D (chapter 2). With ``persistent=True``
    each document owns one persistent chain (PCD). Everything random derives from ``seed``.

    ``weight_decay`` λ >= 0 adds the L2 penalty (λ/2)·‖W‖² to the loss (Hinton's "weight cost"),
    so every step moves W by −rate·(∇_W loss + λ W); the biases are not decayed. A model whose
    ``hidden_bias`` attribute is False (``RSM(..., hidden_bias=False)``, b_h a non-trainable zero)
    keeps b_h at zero: only W and b_v are updated.
    Example: ``fit_rsm(model, train, epochs=40, learning_rate=0.01, seed=0, weight_decay=1e-4)``.

    With ``checkpoint_dir``, the full state (parameters, optimiser moments, persistent chains,
    epoch) is saved after every epoch, and a later call with the same directory resumes after the
    last saved epoch, continuing exactly as an uninterrupted run with the same arguments would.
    The run's arguments are saved beside it (run.json): a checkpoint of a different run, or one
    that cannot be read, is refused with an error and left untouched.
    ``callback(epoch, model)`` may return a dict of extra numbers to record.

    Returns the history: {"epoch": [...], "cd_steps": [...], "reconstruction_error": [...], ...}.
    """
    if not isinstance(model, RSM):
        raise TypeError(f"model must be an RSM; got {type(model).__name__}")
    docs = check_counts(docs, model.vocab_size, "docs", model.W.dtype)
    n = int(docs.shape[0])
    if n == 0:
        raise ValueError("docs must hold at least one document; got an empty corpus")
    for arg, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{arg} must be a positive int; got {value!r}")
    hidden_bias_rate = learning_rate if hidden_bias_rate is None else hidden_bias_rate
    for arg, value in (("learning_rate", learning_rate), ("hidden_bias_rate", hidden_bias_rate)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0):
            raise ValueError(f"{arg} must be a positive number (and finite); got {value!r}")
    if not (isinstance(momentum, numbers.Real) and 0 <= momentum < 1):
        raise ValueError(f"momentum must be a number in [0, 1); got {momentum!r}")
    if not (isinstance(weight_decay, numbers.Real) and math.isfinite(weight_decay)
            and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0; got {weight_decay!r}")
    if optimizer not in ("momentum", "adam"):
        raise ValueError(f"optimizer must be 'momentum' or 'adam'; got {optimizer!r}")
    schedule = cd_schedule(cd_steps, epochs)
    base_seed = as_seed(seed)
    run = {"vocab_size": model.vocab_size, "num_hidden": model.num_hidden, "documents": n,
           "epochs": int(epochs), "batch_size": int(batch_size), "cd_steps": schedule,
           "learning_rate": float(learning_rate), "hidden_bias_rate": float(hidden_bias_rate),
           "seed": base_seed.numpy().tolist(), "persistent": bool(persistent),
           "optimizer": optimizer, "momentum": float(momentum)}
    if weight_decay:  # recorded only when used, so checkpoints of earlier runs still resume
        run["weight_decay"] = float(weight_decay)
    if not getattr(model, "hidden_bias", True):
        run["hidden_bias"] = False

    trainer = _Trainer(model, docs, optimizer, learning_rate, hidden_bias_rate, momentum,
                       persistent, seed, weight_decay)
    history = {"epoch": [], "cd_steps": [], "reconstruction_error": []}
    manager = None
    if checkpoint_dir is not None:
        ckpt = tf.train.Checkpoint(trainer=trainer)
        manager = tf.train.CheckpointManager(ckpt, os.fspath(checkpoint_dir), max_to_keep=2)
        if resume_checkpoint(ckpt, manager, os.fspath(checkpoint_dir), run):
            history = _saved_history(os.fspath(checkpoint_dir), manager.latest_checkpoint)

    steps = {}  # one compiled update per number of Gibbs steps
    bar = tqdm(total=epochs, initial=int(trainer.epoch.numpy()), disable=not progress,
               desc="fit_rsm", unit="epoch")
    while int(trainer.epoch.numpy()) < epochs:
        epoch = int(trainer.epoch.numpy())
        k = schedule[epoch]
        order = np.random.default_rng([int(base_seed[1]), int(base_seed[0]), epoch]).permutation(n)
        errors = []
        for b, start in enumerate(range(0, n, batch_size)):
            index = tf.constant(order[start:start + batch_size], tf.int32)
            step_seed = tf.stack([base_seed[1] * 1_000_003 + epoch,
                                  tf.constant(b, tf.int64) + base_seed[0] * 2**32])
            if k not in steps:
                steps[k] = trainer.make_step(k)
            errors.append(float(steps[k](tf.gather(docs, index), index, step_seed)))
        if not all(np.all(np.isfinite(p.numpy())) for p in model.parameters):
            raise FloatingPointError(f"the parameters are no longer finite after epoch {epoch + 1}; "
                                     f"lower learning_rate ({learning_rate}) or hidden_bias_rate "
                                     f"({hidden_bias_rate})")
        trainer.epoch.assign_add(1)
        history["epoch"].append(epoch + 1)
        history["cd_steps"].append(k)
        history["reconstruction_error"].append(float(np.mean(errors)))
        if callback is not None:
            for key, value in (callback(epoch + 1, model) or {}).items():
                history.setdefault(key, []).append(value)
        if manager is not None:  # saved last, so an interrupted epoch is redone on resume
            save_checkpoint(manager, os.fspath(checkpoint_dir), run, epoch + 1)
            np.savez(os.path.join(checkpoint_dir, "history.npz"),
                     **{key: np.asarray(val) for key, val in history.items()})
        bar.set_postfix(k=k, recon=f"{history['reconstruction_error'][-1]:.3f}")
        bar.update(1)
    bar.close()
    return history


def resume_checkpoint(checkpoint, manager, checkpoint_dir, run):
    """Restore the latest checkpoint of ``checkpoint_dir`` into ``checkpoint``; return whether one existed.

    ``run`` is a dict of the arguments that define the run (JSON-serialisable), saved beside the
    checkpoints as run.json by the training loop. Refuses with a ValueError, leaving the directory
    untouched: a checkpoint of another run (its run.json differs from ``run``, each difference
    named), checkpoint files without run.json, run.json without a readable checkpoint, and a
    checkpoint that cannot be restored. Used by ``fit_rsm`` and ``DLGM.fit``.
    """
    run_file = os.path.join(checkpoint_dir, "run.json")
    if not os.path.exists(run_file):
        if manager.latest_checkpoint or (os.path.isdir(checkpoint_dir) and any(
                name.startswith("ckpt-") for name in os.listdir(checkpoint_dir))):
            raise ValueError(f"checkpoint_dir {checkpoint_dir!r} holds checkpoint files but no "
                             f"run.json; refusing to overwrite it")
        return False
    with open(run_file) as f:
        saved_run = json.load(f)
    differences = {key: (saved_run.get(key), value) for key, value in run.items()
                   if saved_run.get(key) != value}
    if differences:
        listed = ", ".join(f"{k}: saved {a!r}, now {b!r}" for k, (a, b) in differences.items())
        raise ValueError(f"checkpoint_dir {checkpoint_dir!r} holds a checkpoint of another run "
                         f"({listed}); use another directory to train differently")
    if manager.latest_checkpoint is None:
        raise ValueError(f"checkpoint_dir {checkpoint_dir!r} has run.json but no readable "
                         f"checkpoint (is its 'checkpoint' state file damaged?); refusing to "
                         f"overwrite it")
    try:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    except Exception as error:
        raise ValueError(f"the checkpoint {manager.latest_checkpoint!r} cannot be restored: "
                         f"{type(error).__name__}: {error}") from error
    return True


def save_checkpoint(manager, checkpoint_dir, run, number):
    """Save checkpoint ``number`` with ``manager``, writing ``run`` to run.json first if it is not
    there yet, so that checkpoint files never lie in ``checkpoint_dir`` without it."""
    os.makedirs(checkpoint_dir, exist_ok=True)
    run_file = os.path.join(checkpoint_dir, "run.json")
    if not os.path.exists(run_file):
        with open(run_file, "w") as f:
            json.dump(run, f, indent=1)
    manager.save(checkpoint_number=number)


def _saved_history(checkpoint_dir, latest):
    """The history saved beside the checkpoints (history.npz), as a dict of lists."""
    try:
        saved = np.load(os.path.join(checkpoint_dir, "history.npz"), allow_pickle=False)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise ValueError(f"the history beside the checkpoint {latest!r} cannot be read: "
                         f"{type(error).__name__}: {error}") from error
    return {key: saved[key].tolist() for key in saved.files}
