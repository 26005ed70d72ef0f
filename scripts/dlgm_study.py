"""Chapter 5's DLGM study on the 5,000 offline MNIST digits, at the size that fits 2 CPU cores.

Writes scripts/results/dlgm_study.json (the chapter reads and checks it) in ONE invocation,
recording the command, its arguments, the seeds, the git commit and the wall time. Parts:

Training seed by training seed (so that a run cut short stays balanced); after seed 0, the
sweep and the mixtures.

* static:  the chapter's protocol (4,000 training digits binarised once, --epochs epochs,
           lr 3e-3, K = (25, 10), H = 200), training seeds 0..(--seeds - 1) per covariance.
* dynamic: dynamic binarisation (fresh pixels from the grey levels every epoch) on the first
           3,500 training digits, early stopping on the last 500 (binarised once; --patience, at
           most --dynamic-epochs epochs, --dynamic-learning-rate), the same training seeds.
  For every trained model: test -ln p(v) on the first --test-images test digits by importance
  sampling with S = --samples, with the defensive local proposal (proposal="local") and with
  plain q; the 10-sample ELBO; the imputation error rates of the chapter (200 test digits,
  random-half and bottom-half masks, 30 and 1 steps); the Hamming distance of 300 samples to
  the nearest training digit (and that of an untrained model with the same seed).
* sweep:   for the seed-0 static models, -ln p̂(v) on the first --sweep-images test digits at
           S = --sweep, for both proposals.
* mixture: exact mixtures of Bernoullis (--mixtures) on the same split, the prior α chosen on
           a validation split (the training digits after the first --fit-digits), and, as a
           convergence check, the same mixture refitted with twice the EM iterations.

The committed results came from one run, on 2 CPU cores shared with other jobs:

    nice -n 10 python scripts/dlgm_study.py > /tmp/dlgm_study.log 2>&1

and the longer dynamic runs and the mixtures' convergence check from a second one (the static
runs and the sweep were not repeated):

    nice -n 10 python scripts/dlgm_study.py --parts dynamic mixture --dynamic-epochs 200 \
        --patience 10 --out scripts/results/dlgm_dynamic.json > /tmp/dlgm_dynamic.log 2>&1

Chapter 5 reads the static runs and the sweep from dlgm_study.json and the dynamic runs and the
mixtures from dlgm_dynamic.json; the dynamic runs still in dlgm_study.json (capped at 40 epochs,
patience 5) are superseded.

Model seed k, training seed k + 1 (seed 0 is the chapter's run). Every random step is seeded.
"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rsmlib import DLGM, load_mnist_digits  # noqa: E402
from rsmlib.dlgm import (bernoulli_mixture_log_likelihood, fit_bernoulli_mixture,  # noqa: E402
                         fit_local_gaussian)
from rsmlib.sampling import split_seed  # noqa: E402

CONFIG = dict(num_visible=784, latent_sizes=(25, 10), hidden_size=200, kappa=1.0)
COVARIANCES = ("diagonal", "rank_one")
SEEDS = {"is": 10, "elbo": 11, "sweep": 20, "impute": 14, "samples": 13, "mask": 15}


def git_commit():
    """HEAD's hash, and whether the working tree differed from it (then the run is not HEAD)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = lambda *a: subprocess.run(["git", *a], cwd=root, capture_output=True, text=True).stdout
    return {"commit": run("rev-parse", "HEAD").strip(),
            "dirty": bool(run("status", "--porcelain", "--untracked-files=no").strip())}


def nearest_training_distance(images, train):
    """Hamming distance from each binary image (n, 784) to its nearest training digit, (n,)."""
    images = np.asarray(images, np.float32)
    return (images @ (1 - train).T + (1 - images) @ train.T).min(axis=1)


def imputation_rates(model, originals, masks):
    """The fraction of missing pixels wrong (p > ½ against the truth), per mask and steps."""
    rates = {}
    for problem, mask in masks.items():
        for steps in (30, 1):
            p = model.impute(originals, mask, steps=steps, seed=SEEDS["impute"])
            rates[f"{problem}, {steps} steps"] = float(
                ((p > 0.5) != (originals > 0.5))[mask == 0].mean())
    return rates


def proposal_options(proposal, args):
    """The keyword arguments of DLGM.log_likelihood_is for "q" or the defensive "local"."""
    if proposal == "q":
        return {"proposal": "q"}
    return {"proposal": "local", "defensive": args.defensive, "widen": args.widen,
            "local_steps": args.local_steps}


def evaluate(model, test, train, args, untrained):
    """Everything the chapter reads about one trained model."""
    v = test[:args.test_images]
    out = {}
    for proposal in ("local", "q"):
        log_p, se = model.log_likelihood_is(v, args.samples, seed=SEEDS["is"],
                                            batch_size=max(1, 50_000 // args.samples),
                                            **proposal_options(proposal, args))
        key = "log_p" if proposal == "local" else "log_p_q"
        out[key], out[key.replace("log_p", "se")] = log_p.tolist(), se.tolist()
    out["elbo"] = model.elbo(v, seed=SEEDS["elbo"], num_samples=10).numpy().tolist()
    originals = test[500:700]
    masks = {"random half": (np.random.default_rng(SEEDS["mask"]).random(originals.shape)
                             < 0.5).astype(np.float32),
             "bottom half": np.ones_like(originals)}
    masks["bottom half"][:, 392:] = 0
    out["imputation"] = imputation_rates(model, originals, masks)
    out["nn_samples"] = float(nearest_training_distance(
        model.sample(300, seed=SEEDS["samples"])[0].numpy(), train).mean())
    out["nn_untrained"] = float(nearest_training_distance(
        untrained.sample(300, seed=SEEDS["samples"])[0].numpy(), train).mean())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--samples", type=int, default=800)
    parser.add_argument("--test-images", type=int, default=100)
    parser.add_argument("--dynamic-epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--fit-digits", type=int, default=3500,
                        help="dynamic runs and mixtures fit the first N training digits; "
                             "the rest are their validation split")
    parser.add_argument("--dynamic-learning-rate", type=float, default=3e-3)
    parser.add_argument("--defensive", type=float, default=0.2, help="local proposal: α")
    parser.add_argument("--widen", type=float, default=1.2, help="local proposal: scale")
    parser.add_argument("--local-steps", type=int, default=200)
    parser.add_argument("--mixtures", type=int, nargs="+", default=[10, 500])
    parser.add_argument("--sweep", type=int, nargs="+", default=[50, 200, 800, 3200, 12800])
    parser.add_argument("--sweep-images", type=int, default=100)
    parser.add_argument("--parts", nargs="+", default=["static", "sweep", "mixture", "dynamic"])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "dlgm_study.json"))
    args = parser.parse_args(argv)
    tf.config.experimental.enable_op_determinism()
    start_time = time.time()
    train, test, _, _, grey = load_mnist_digits(num_test=1000, seed=0, grey=True)
    results = {"command": "python scripts/dlgm_study.py " + " ".join(
                   sys.argv[1:] if argv is None else argv),
               "args": vars(args), "git": git_commit(), "seeds": SEEDS,
               "training_seeds": {"model": list(range(args.seeds)),
                                  "fit": [s + 1 for s in range(args.seeds)]},
               "config": {**CONFIG, "latent_sizes": list(CONFIG["latent_sizes"])},
               "test_images": args.test_images,
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_time))}

    def save():
        results["wall_seconds"] = time.time() - start_time
        with open(args.out + ".part", "w") as f:
            json.dump(results, f)
        os.replace(args.out + ".part", args.out)

    models = {}
    protocols = [p for p in ("static", "dynamic") if p in args.parts]
    for protocol in protocols:
        results[protocol] = {c: [] for c in COVARIANCES}
    for seed in range(args.seeds):          # seed by seed, so that a cut run stays balanced
        for protocol in protocols:
            for cov in COVARIANCES:
                start = time.perf_counter()
                if protocol == "static":
                    model = DLGM(covariance=cov, visible_mean=train.mean(axis=0), seed=seed,
                                 **CONFIG)
                    history = model.fit(train, args.epochs, seed=seed + 1, learning_rate=3e-3,
                                        test=test, progress=False)
                else:
                    fit_grey = grey[:args.fit_digits]
                    model = DLGM(covariance=cov, visible_mean=fit_grey.mean(axis=0),
                                 seed=seed, **CONFIG)
                    history = model.fit(fit_grey, args.dynamic_epochs, seed=seed + 1,
                                        learning_rate=args.dynamic_learning_rate, test=test,
                                        binarization="dynamic",
                                        validation=train[args.fit_digits:],
                                        patience=args.patience, progress=False)
                training_seconds = time.perf_counter() - start
                untrained = DLGM(covariance=cov, visible_mean=train.mean(axis=0), seed=seed,
                                 **CONFIG)
                run = {"seed": seed, "history": history, "training_seconds": training_seconds,
                       **evaluate(model, test, train, args, untrained),
                       "seconds": time.perf_counter() - start}
                results[protocol][cov].append(run)
                if protocol == "static" and seed == 0:
                    models[cov] = model
                print(f"{time.strftime('%H:%M:%S')} {protocol} {cov} seed {seed}: "
                      f"-ln p = {-np.mean(run['log_p']):.2f} (q: {-np.mean(run['log_p_q']):.2f})"
                      f" best epoch {history.get('best_epoch')} "
                      f"({training_seconds:.0f} + {run['seconds'] - training_seconds:.0f} s)",
                      flush=True)
                save()
        if seed == 0:
            for part in ("sweep", "mixture"):
                if part in args.parts:
                    run_part(part, args, results, models, train, test)
                    save()
    if args.seeds == 0:
        for part in ("sweep", "mixture"):
            if part in args.parts:
                run_part(part, args, results, models, train, test)
                save()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    save()
    return 0


def run_part(part, args, results, models, train, test):
    """The S-sweep on the seed-0 static models, or the exact mixture baselines."""
    if part == "sweep":
        if not models:                                  # the seed-0 static models, retrained
            for cov in COVARIANCES:
                models[cov] = DLGM(covariance=cov, visible_mean=train.mean(axis=0), seed=0,
                                   **CONFIG)
                models[cov].fit(train, args.epochs, seed=1, learning_rate=3e-3, progress=False)
        results["sweep"] = {}
        for cov, model in models.items():
            results["sweep"][cov] = {}
            v = test[:args.sweep_images]
            fit_seed = split_seed(split_seed(SEEDS["sweep"], 2)[0], -(-len(v) // 100))
            fits = [fit_local_gaussian(model, v[i:i + 100], args.local_steps, s)
                    for i, s in zip(range(0, len(v), 100), fit_seed)]   # as inside, once for all S
            local = [tf.concat([f[k] for f in fits], 0) for k in (0, 1)]
            for proposal in ("q", "local"):
                results["sweep"][cov][proposal] = {}
                options = proposal_options(proposal, args)
                if proposal == "local":
                    options["local"] = local
                for S in args.sweep:
                    start = time.perf_counter()
                    log_p, se = model.log_likelihood_is(
                        v, S, seed=SEEDS["sweep"], batch_size=max(1, 50_000 // S), **options)
                    results["sweep"][cov][proposal][str(S)] = {
                        "log_p": log_p.tolist(), "se": se.tolist(),
                        "seconds": time.perf_counter() - start}
                    print(f"{time.strftime('%H:%M:%S')} sweep {cov} {proposal} S={S}: "
                          f"-ln p = {-log_p.mean():.3f}", flush=True)
    if part == "mixture":
        results["mixture"] = {}
        evaluation = test[:args.test_images]
        fit_part, valid_part = train[:args.fit_digits], train[args.fit_digits:]
        for K in args.mixtures:
            iterations = 100 if K <= 10 else 30
            valid = {}
            for alpha in (0.01, 0.1, 1.0):
                mix = fit_bernoulli_mixture(fit_part, K, iterations, seed=K, alpha=alpha)
                valid[alpha] = float(bernoulli_mixture_log_likelihood(mix, valid_part).mean())
            alpha = max(valid, key=valid.get)
            mix = fit_bernoulli_mixture(train, K, iterations, seed=K, alpha=alpha)
            # convergence: the same mixture after twice the EM iterations
            longer = fit_bernoulli_mixture(train, K, 2 * iterations, seed=K, alpha=alpha)
            results["mixture"][str(K)] = {
                "alpha": alpha, "iterations": iterations,
                "log_p_twice_iterations":
                    bernoulli_mixture_log_likelihood(longer, evaluation).tolist(),
                "validation": {str(a): x for a, x in valid.items()},
                "log_p": bernoulli_mixture_log_likelihood(mix, evaluation).tolist(),
                "train_log_p": float(bernoulli_mixture_log_likelihood(mix, train).mean())}
            print(f"mixture K={K} alpha={alpha}: -ln p = "
                  f"{-np.mean(results['mixture'][str(K)]['log_p']):.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
