"""The full-scale DLGM experiment of chapter 5: train on the full binarized MNIST and report the
test -ln p(v) by importance sampling, for comparison with Table 1 of Rezende et al. (2014).

Not run in CI and not run by the book: it needs the network (to download about 100 MB of data,
once) and hours of compute, ideally on a GPU (rsmlib's code is device-agnostic; TensorFlow places
it on the GPU when one is visible). Example:

    python scripts/train_dlgm_full.py --data-dir ~/data/binarized_mnist --epochs 500 \\
        --covariance rank_one --checkpoint-dir ~/runs/dlgm-rank-one

It resumes from the latest checkpoint in --checkpoint-dir, so it can be stopped and restarted.
It prints one line per evaluation and a final line with the test -ln p(v) ± standard errors.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from rsmlib import DLGM, load_binarized_mnist  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="where the .amat files are (or go)")
    parser.add_argument("--covariance", choices=("diagonal", "rank_one"), default="rank_one",
                        help="the posterior covariance")
    parser.add_argument("--latent-sizes", type=int, nargs="+", default=[100, 50],
                        help="units per stochastic layer, bottom first")
    parser.add_argument("--hidden-size", type=int, default=500,
                        help="units of each MLP")
    parser.add_argument("--epochs", type=int, default=500,
                        help="training epochs")
    parser.add_argument("--batch-size", type=int, default=100,
                        help="images per step")
    parser.add_argument("--learning-rate", type=float, default=1e-3,
                        help="Adam step size")
    parser.add_argument("--kappa", type=float, default=1.0,
                        help="the Gaussian prior's variance on the weights")
    parser.add_argument("--seed", type=int, default=0,
                        help="model and training seed")
    parser.add_argument("--jit", action="store_true", help="compile the training step with XLA")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="resume from / save to")
    parser.add_argument("--eval-samples", type=int, default=5000,
                        help="importance samples per test image")
    parser.add_argument("--eval-images", type=int, default=10_000,
                        help="test images scored")
    args = parser.parse_args(argv)

    train = np.concatenate([load_binarized_mnist("train", args.data_dir),
                            load_binarized_mnist("valid", args.data_dir)])
    test = load_binarized_mnist("test", args.data_dir)[:args.eval_images]
    print(f"train {train.shape}, test {test.shape}")
    model = DLGM(784, tuple(args.latent_sizes), args.hidden_size, args.covariance,
                 kappa=args.kappa, visible_mean=train.mean(0), seed=args.seed)
    start = time.perf_counter()
    history = model.fit(train, args.epochs, args.batch_size, seed=args.seed + 1,
                        learning_rate=args.learning_rate, checkpoint_dir=args.checkpoint_dir,
                        jit_compile=args.jit, progress=True)
    if history["train"]:
        print(f"trained {len(history['train'])} epochs in {time.perf_counter() - start:.0f} s; "
              f"final training loss F/N = {history['train'][-1]:.2f}")
    log_p, se = model.log_likelihood_is(test, args.eval_samples, seed=args.seed + 2,
                                        batch_size=max(1, 200_000 // args.eval_samples))
    n = len(log_p)
    print(f"{args.covariance}: test -ln p(v) = {-log_p.mean():.2f} "
          f"± {log_p.std(ddof=1) / np.sqrt(n):.2f} (test images) "
          f"± {np.sqrt((se ** 2).sum()) / n:.3f} (Monte Carlo), S = {args.eval_samples}, n = {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
