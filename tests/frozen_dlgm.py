"""A frozen copy of rsmlib.dlgm.fit_dlgm as of edec340 (2026-12-02 03:45 UTC), the loop that
produced Chapter 5 and scripts/results/dlgm_study.json. tests/test_dlgm.py compares today's
DLGM.fit with it, bit for bit. Do not edit. (Only its imports changed since, when
rsmlib.dlgm's check_positive_int gave way to rsmlib.validation.check_int (issue 16): the loop
below is as it was.)"""
import os

import tensorflow as tf

from rsmlib.dlgm import check_binary_images, check_grey_images, check_positive_number
from rsmlib.sampling import as_seed, split_seed
from rsmlib.training import resume_checkpoint, save_checkpoint
from rsmlib.validation import check_int


def check_positive_int(name, value):
    """rsmlib.dlgm.check_positive_int as of edec340: the test and message of check_int."""
    return check_int(value, name)


def fit_dlgm(
    model,
    train,
    epochs,
    batch_size=100,
    seed=0,
    learning_rate=1e-3,
    test=None,
    checkpoint_dir=None,
    progress=True,
    jit_compile=False,
    binarization="static",
    validation=None,
    patience=None,
):
    """``DLGM.fit``: train ``model`` on ``train`` (N, D) for up to ``epochs`` passes
    over shuffled minibatches of ``batch_size`` images, one ``model.train_step`` each.

    binarization: "static", train holds binary images used as they are; or "dynamic",
    train holds grey levels in [0, 1] and every epoch draws fresh pixels v ~
    Bernoulli(train). If the model was built without ``visible_mean``, the visible bias
    is first set from the mean training image (see GenerativeModel.set_visible_mean),
    unless resuming. Returns a history dict: "train", the mean loss F/B of each epoch
    (nats per image); with ``test``, "test_elbo", its mean one-sample ELBO after each
    epoch; with ``validation`` (binary (M, D)), "validation_elbo", the same on it with
    one fixed noise seed. With ``patience`` (needs ``validation``) training stops once
    the validation ELBO has not improved for ``patience`` epochs, the parameters of the
    best epoch are restored and history["best_epoch"] names it (early stopping; not
    combined with checkpoint_dir). With ``checkpoint_dir`` it saves a
    tf.train.Checkpoint (parameters and Adam state) after every epoch and first resumes
    from the latest checkpoint found there. The run's arguments are saved beside it
    (run.json): a checkpoint of another run (model shape, number of images, batch_size,
    seed, learning_rate or binarization), one that cannot be read, or one that already
    holds more than ``epochs`` epochs is refused with an error and left untouched
    (``epochs`` may grow). ``progress``: tqdm bar.
    """
    from tqdm import tqdm

    if binarization not in ("static", "dynamic"):
        raise ValueError(
            f"binarization must be 'static' or 'dynamic'; got {binarization!r}"
        )
    check_data = check_binary_images if binarization == "static" else check_grey_images
    train = check_data("train", train, model.num_visible)
    if test is not None:
        test = check_binary_images("test", test, model.num_visible)
    if validation is not None:
        validation = tf.constant(
            check_binary_images("validation", validation, model.num_visible),
            model.dtype,
        )
    if patience is not None:
        check_positive_int("patience", patience)
        if validation is None:
            raise ValueError("patience (early stopping) needs validation images")
        if checkpoint_dir is not None:
            raise ValueError(
                "patience (early stopping) cannot be combined with "
                "checkpoint_dir: the best epoch is kept in memory only"
            )
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    check_positive_number("learning_rate", learning_rate)
    n, steps = train.shape[0], train.shape[0] // batch_size
    if steps < 1:
        raise ValueError(
            f"batch_size must be at most len(train) = {n}; got {batch_size}"
        )
    train_mean = train.mean(axis=0)
    train = tf.constant(train, model.dtype)
    step = model.train_step_function(jit_compile)
    manager, first_epoch = None, 0
    if checkpoint_dir is not None:
        checkpoint_dir = os.fspath(checkpoint_dir)
        run = {
            "num_visible": model.num_visible,
            "latent_sizes": list(model.latent_sizes),
            "hidden_size": model.hidden_size,
            "covariance": model.covariance,
            "activation": model.activation,
            "kappa": model.kappa,
            "dtype": model.dtype.name,
            "images": n,
            "batch_size": int(batch_size),
            "seed": as_seed(seed).numpy().tolist(),
            "learning_rate": float(learning_rate),
            "binarization": binarization,
        }
        checkpoint = tf.train.Checkpoint(model=model)
        manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=2)
        if resume_checkpoint(checkpoint, manager, checkpoint_dir, run):
            first_epoch = int(model.step_count.numpy()) // steps
            if first_epoch > epochs:
                raise ValueError(
                    f"epochs = {epochs} is fewer than the {first_epoch} epochs "
                    f"the checkpoint in {checkpoint_dir!r} already holds; pass "
                    f"epochs >= {first_epoch} to resume it, or another "
                    "checkpoint_dir"
                )
    if (
        first_epoch == 0
        and int(model.step_count.numpy()) == 0
        and not model.generative.visible_mean_given
    ):
        model.generative.set_visible_mean(train_mean)
    history = {"train": [], "test_elbo": []}
    if validation is not None:
        history["validation_elbo"] = []
    best, since_best = None, 0
    for epoch in tqdm(range(first_epoch, epochs), disable=not progress, desc="epochs"):
        s = split_seed(
            tf.random.experimental.stateless_fold_in(as_seed(seed), epoch), 3
        )
        order = tf.random.experimental.stateless_shuffle(tf.range(n), s[0])
        step_seeds = split_seed(s[1], steps)
        data = train
        if binarization == "dynamic":  # fresh pixels every epoch
            u = tf.random.stateless_uniform(
                tf.shape(train),
                tf.random.experimental.stateless_fold_in(s[0], 1),
                dtype=model.dtype,
            )
            data = tf.cast(u < train, model.dtype)
        losses = [
            step(
                tf.gather(data, order[b * batch_size : (b + 1) * batch_size]),
                step_seeds[b],
                tf.constant(float(n), model.dtype),
                tf.constant(float(learning_rate), model.dtype),
            )
            for b in range(steps)
        ]
        history["train"].append(float(tf.reduce_mean(losses)))
        if test is not None:
            history["test_elbo"].append(float(tf.reduce_mean(model.elbo(test, s[2]))))
        if validation is not None:
            history["validation_elbo"].append(
                float(tf.reduce_mean(model.elbo(validation.numpy(), as_seed(seed))))
            )
            if patience is not None:
                if best is None or history["validation_elbo"][-1] > best[0]:
                    best, since_best = (
                        history["validation_elbo"][-1],
                        epoch + 1,
                        [v.numpy() for v in model.variables],
                    ), 0
                else:
                    since_best += 1
                    if since_best >= patience:
                        break
        if manager is not None:
            save_checkpoint(manager, checkpoint_dir, run, epoch + 1)
    # early stopping: keep the best epoch
    if best is not None:
        for var, value in zip(model.variables, best[2]):
            var.assign(value)
        history["best_epoch"] = best[1]
    return history
