"""Why AIS over the temperature fails for long documents: the study behind Chapter 3's claims.

    nice -n 10 .venv/bin/python scripts/ais_temperature_study.py [--out FILE] [--betas 21]

Trains RSM-16 exactly as chapters/03_training_rsm.ipynb does (split_documents(reuters.counts, 0.2,
seed=0); base-rate visible biases; 40 epochs, CD-1 rising to CD-5, Adam, learning rate 0.01), from
each of the chapter's training seeds 0, 1 and 2, whose log Z_D is exact by enumeration, and
records for each model (one entry of ``models``) in a small JSON file:

1. AIS over the temperature (``ais_log_partition``, 100 runs, base-rate model) at D = 500 with
   1,000, 3,000 and 10,000 linearly spaced temperatures and with the 15,000-step schedule of
   Salakhutdinov & Murray (2008) (1,000 steps to β = 0.5, 4,000 to 0.9, 10,000 to 1), each
   against the exact value;
2. the AIS error against the document length D for both estimators (temperature: 1,000
   temperatures, 100 runs; length: ``ais_log_partition_by_length``, 1,000 runs);
3. the exact intermediate distributions p_β(h) over the 2^16 hidden states at D = 500
   (``temperature_path_hidden_log_probs``) on a grid of β: the mass of h = 0, of the mode of p_1,
   and the mean number of units on.

One run writes the whole file, with its provenance: the command and its arguments, the git
commit of the checkout (and whether rsmlib/ or this script differed from it), TensorFlow's
version and thread settings, the machine and its CPU's vector instructions, the seconds each
part took, and a SHA-256 of the trained parameters of each model (W, b_v, b_h as float32 bytes,
``parameter_sha256``), which Chapter 3 compares with its own three RSM-16s. Every random step
takes the seed recorded in the file; the same seeds give the same file on the same kind of
machine, but training is not bit-reproducible across CPUs (a CPU with other vector
instructions rounds the products differently, and 40 epochs of training amplify that into a
different model). So the default output is named after the CPU's vendor_id
(scripts/results/ais_temperature_study_GenuineIntel.json, ..._AuthenticAMD.json): one file per
kind, committed. Chapter 3 reads them all, checks that one of them holds its own seed-0 model
(on a new kind of machine, run this script before Chapter 3), and asserts its claims over every
committed model.
"""
import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rsmlib import RSM, load_reuters  # noqa: E402
from rsmlib.datasets import split_documents  # noqa: E402
from rsmlib.evaluation import unigram_base_rates  # noqa: E402
from rsmlib.ais import (ais_log_partition, ais_log_partition_by_length,  # noqa: E402
                              temperature_path_hidden_log_probs)
from rsmlib.training import fit_rsm  # noqa: E402

TRAINING_SEEDS = (0, 1, 2)  # Chapter 3's three RSM-16s (its table's seeds)


RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def paper_schedule():
    """Salakhutdinov & Murray (2008): β step 1/2,000 to 0.5, 1/10,000 to 0.9, 1/100,000 to 1."""
    return np.concatenate([np.linspace(0.0, 0.5, 1001), np.linspace(0.5, 0.9, 4001)[1:],
                           np.linspace(0.9, 1.0, 10001)[1:]])


def parameter_sha256(model):
    """SHA-256 of the model's W, b_v and b_h as float32 bytes, in that order (a fingerprint)."""
    digest = hashlib.sha256()
    for p in model.parameters:
        digest.update(np.ascontiguousarray(p.numpy(), np.float32).tobytes())
    return digest.hexdigest()


def cpu_description():
    """The CPU's model name, vendor_id and vector-instruction flags (training depends on them)."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return {"model_name": platform.processor(), "vendor_id": platform.machine(),
                "vector_flags": None}
    fields = dict(line.split(":", 1) for line in info.split("\n\n")[0].splitlines()
                  if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = fields.get("flags", "").split()
    return {"model_name": fields.get("model name"), "vendor_id": fields.get("vendor_id"),
            "vector_flags": sorted(f for f in flags if f.startswith(("avx", "fma", "amx")))}


def git_state():
    """The checkout's commit, and whether rsmlib/ or this script differ from it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args):
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        changed = git("status", "--porcelain", "--", "rsmlib", "scripts/ais_temperature_study.py")
        return {"git_commit": git("rev-parse", "HEAD"), "code_differs_from_commit": bool(changed)}
    except (OSError, subprocess.CalledProcessError):
        return {"git_commit": None, "code_differs_from_commit": None}


def train_rsm16(train, base, seed):
    """RSM-16 with the chapter's recipe, from ``seed`` (initial weights and training)."""
    model = RSM(train.shape[1], 16, seed=seed, init_scale=0.01)
    model.b_v.assign(tf.constant(base, tf.float32))
    fit_rsm(model, train, epochs=40, cd_steps=(1, 5), learning_rate=0.01, seed=seed,
            optimizer="adam", progress=False)
    return model


def study_model(model, base, num_betas):
    """Parts 1-3 for one trained model; returns them and the seconds each took."""
    seconds, result = {}, {}
    part = time.time()
    D_long, runs = 500, 100
    exact_500 = float(model.log_partition_exact(D_long).numpy())
    schedules = [("linear", 1000, None, 11), ("linear", 3000, None, 14),
                 ("linear", 10000, None, 18), ("Salakhutdinov & Murray 2008", 15000,
                                               paper_schedule(), 19)]
    rows = []
    for name, steps, betas, seed in schedules:
        start = time.time()
        kwargs = {"betas": betas} if betas is not None else {"num_betas": steps}
        log_z, se = ais_log_partition(model, D_long, num_runs=runs, seed=seed,
                                      base_log_probs=base, **kwargs)
        rows.append({"schedule": name, "temperatures": steps, "D": D_long, "runs": runs,
                     "seed": seed, "log_z": log_z, "stderr": se, "error": log_z - exact_500,
                     "seconds": round(time.time() - start, 1)})
        print(rows[-1], flush=True)
    result["temperature_ais_D500"] = {"exact_log_z": exact_500, "rows": rows}
    seconds["temperature_ais_D500"] = round(time.time() - part, 1)

    part = time.time()
    Ds = [10, 30, 50, 100, 200, 300, 400, 500]
    exact = model.log_partition_exact(Ds).numpy()
    t_log_z, t_se = ais_log_partition(model, Ds, num_runs=100, num_betas=1000, seed=31,
                                      base_log_probs=base)
    l_log_z, l_se = ais_log_partition_by_length(model, Ds, num_runs=1000, seed=32)
    result["error_vs_D"] = {
        "D": Ds, "exact_log_z": exact.tolist(),
        "temperature": {"runs": 100, "temperatures": 1000, "seed": 31,
                        "error": (t_log_z - exact).tolist(), "stderr": t_se.tolist()},
        "length": {"runs": 1000, "gibbs_steps": 1, "seed": 32,
                   "error": (l_log_z - exact).tolist(), "stderr": l_se.tolist()}}
    seconds["error_vs_D"] = round(time.time() - part, 1)
    print(result["error_vs_D"], flush=True)

    part = time.time()
    result["p_beta_D500"] = p_beta(model, base, D_long, num_betas)
    seconds["p_beta_D500"] = round(time.time() - part, 1)
    return result, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="default: results/ais_temperature_study_<vendor_id>.json")
    parser.add_argument("--betas", type=int, default=21, help="grid of β for part 3")
    args = parser.parse_args()
    if args.out is None:
        vendor = cpu_description()["vendor_id"]
        args.out = os.path.join(RESULTS, f"ais_temperature_study_{vendor}.json")
    tf.config.experimental.enable_op_determinism()
    started = time.time()
    train, _ = split_documents(load_reuters().counts, 0.2, seed=0)
    base = unigram_base_rates(train)
    result = {"command": "python " + " ".join(sys.argv), "args": vars(args), **git_state(),
              "tensorflow": tf.__version__, "numpy": np.__version__,
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "cpu": cpu_description(),
              "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
              "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "model": "RSM-16 trained as in chapter 3, one entry per training seed",
              "models": []}
    print(result, flush=True)

    for seed in TRAINING_SEEDS:
        start = time.time()
        model = train_rsm16(train, base, seed)
        entry = {"training_seed": seed, "parameter_sha256": parameter_sha256(model),
                 "seconds": {"training": round(time.time() - start, 1)}}
        print(entry, flush=True)
        parts, seconds = study_model(model, base, args.betas)
        entry.update(parts)
        entry["seconds"].update(seconds)
        result["models"].append(entry)
    result["seconds"] = {"total": round(time.time() - started, 1)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {args.out}", flush=True)


def p_beta(model, base, D_long, num_betas):
    """Part 3: the exact p_β(h) at D = D_long on a grid of ``num_betas`` values of β."""
    betas = np.round(np.linspace(0.0, 1.0, num_betas), 6)
    log_p = temperature_path_hidden_log_probs(model, D_long, betas, base).numpy()   # (B, 2^16)
    p = np.exp(log_p)
    mode = int(np.argmax(log_p[-1]))
    units_on = np.array([bin(i).count("1") for i in range(p.shape[1])])
    return {"D": D_long, "betas": betas.tolist(), "mode_of_p1": mode,
            "mode_units_on": int(units_on[mode]),
            "p_h_zero": p[:, 0].tolist(), "p_mode_of_p1": p[:, mode].tolist(),
            "mean_units_on": (p @ units_on).tolist(), "max_p": p.max(axis=1).tolist()}


if __name__ == "__main__":
    main()
