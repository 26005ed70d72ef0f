"""Run RSM and DLGM training steps under tf.distribute.MirroredStrategy on 2 logical CPUs.

Run as a script (``python tests/distribute_helper.py``) from tests/test_distribute.py: the two
logical devices must be configured before TensorFlow initialises its devices, which pytest's
process has already done. Prints one JSON line: for each model, the relative difference between
the parameters after several mirrored steps and the single-device run of the same algorithm, and
the same for a deliberately broken mirrored step (no all-reduce: replica 0's shard gradient,
scaled to the global batch, stands for the whole batch), which must be detected.

The algorithm, identical on one device and on two replicas: the global batch is split into two
shards; shard r draws its random numbers (Gibbs chains, reparameterisation noise) from
fold_in(step seed, r); the gradient is that of the mean loss over the global batch.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

from rsmlib import DLGM, RSM, relative_error  # noqa: E402

REPLICAS, STEPS, BATCH = 2, 3, 16
SHARD = BATCH // REPLICAS


def shard_seed(step_seed, r):
    return tf.random.experimental.stateless_fold_in(step_seed, r)


# ---- the per-shard losses (the global loss is their size-weighted mean) ------------------------

def rsm_shard_loss(model, v, seed):
    v_model = model.gibbs(v, 1, seed)
    return model.cd_loss(v, v_model)


def dlgm_shard_loss(model, v, seed):
    return model.free_energy(v, seed, num_data=256) / tf.cast(tf.shape(v)[0], model.dtype)


# ---- the updates (plain SGD for the RSM; the DLGM's own Adam) ----------------------------------

def rsm_apply(model, grads, lr=0.05):
    for p, g in zip(model.parameters, grads):
        p.assign_sub(lr * g)


def dlgm_apply(model, grads):
    model._adam(grads, 1e-2)


def single_device(model, shard_loss, apply, batches, seeds):
    for v, s in zip(batches, seeds):
        grads = None
        for r in range(REPLICAS):
            with tf.GradientTape() as tape:
                loss = shard_loss(model, v[r * SHARD:(r + 1) * SHARD], shard_seed(s, r)) / REPLICAS
            g = tape.gradient(loss, model.parameters)
            grads = g if grads is None else [a + b for a, b in zip(grads, g)]
        apply(model, grads)


def mirrored(strategy, model, shard_loss, apply, batches, seeds, broken=False):
    @tf.function
    def replica_grads(v, seed):
        r = tf.distribute.get_replica_context().replica_id_in_sync_group
        with tf.GradientTape() as tape:
            loss = shard_loss(model, v, shard_seed(seed, r))
            loss = loss / REPLICAS   # the global mean: each shard holds 1/REPLICAS of the batch
        return tape.gradient(loss, model.parameters)

    for v, s in zip(batches, seeds):
        shards = strategy.experimental_distribute_values_from_function(
            lambda ctx: v[ctx.replica_id_in_sync_group * SHARD:
                          (ctx.replica_id_in_sync_group + 1) * SHARD])
        per_replica = strategy.run(replica_grads, args=(shards, s))
        if broken:
            grads = [REPLICAS * strategy.experimental_local_results(g)[0] for g in per_replica]
        else:
            grads = [strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None) for g in per_replica]
        apply(model, grads)


def compare(make, shard_loss, apply, batches, seeds):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == REPLICAS
    reference = make()
    single_device(reference, shard_loss, apply, batches, seeds)
    out = {}
    for broken in (False, True):
        with strategy.scope():
            model = make()
        assert all(isinstance(p, tf.distribute.DistributedValues) or "Mirrored" in type(p).__name__
                   for p in model.parameters)
        mirrored(strategy, model, shard_loss, apply, batches, seeds, broken=broken)
        ref = [p.numpy() for p in reference.parameters]
        got = [p.numpy() for p in model.parameters]
        moved = relative_error([a - b for a, b in zip(got, [p.numpy() for p in make().parameters])],
                               [a - b for a, b in zip(ref, [p.numpy() for p in make().parameters])])
        out["broken" if broken else "mirrored"] = {"params": relative_error(got, ref),
                                                   "update": moved}
    return out


def main():
    rng = np.random.default_rng(0)
    seeds = [tf.constant([7, i], tf.int64) for i in range(STEPS)]
    docs = rng.poisson(1.5, (STEPS, BATCH, 12)).astype(np.float32)
    docs[..., 0] += 1
    images = (rng.random((STEPS, BATCH, 20)) < 0.4).astype(np.float32)
    result = {
        "devices": [d.name for d in tf.config.list_logical_devices("CPU")],
        "rsm": compare(lambda: RSM(12, 5, seed=1, init_scale=0.1), rsm_shard_loss, rsm_apply,
                       [tf.constant(d) for d in docs], seeds),
        "dlgm": compare(lambda: DLGM(20, (3, 2), hidden_size=8, seed=2), dlgm_shard_loss,
                        dlgm_apply, [tf.constant(x) for x in images], seeds),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
