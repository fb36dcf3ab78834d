"""Sampling speed of GANAugmenter against CTGAN, timed in alternation in one process.

``vs_ctgan.py`` times each model's sampling in its own process, minutes apart;
on a shared VM the CPU's speed drifts by 10-25 % over such a span, which is
the size of the gaps being measured. Here both models are fitted in one
process (``--epochs``, default 1: sampling costs the same after one epoch as
after three hundred, as the networks keep their shapes), then
``sample(--rows)`` is called on each in turn for ``--rounds`` rounds after one
warm-up call each. The script prints every round and the ratio of the
medians (CTGAN's time over GANAugmenter's) as JSON.

CTGAN comes from the benchmark's own virtual environment (see vs_ctgan.py):

    PYTHONPATH=. /tmp/ctgan-venv/bin/python benchmarks/sample_vs_ctgan.py --rounds 9
    PYTHONPATH=. /tmp/ctgan-venv/bin/python benchmarks/sample_vs_ctgan.py --rounds 9 \\
        --gan '{"generator_dim": [64, 64], "noise_dim": 32}'
"""

import argparse
import json
import os
import time

import numpy as np
import pandas as pd
from vs_ctgan import DATA_DIR, DISCRETE  # the same data and discrete columns as the full comparison


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--gan", type=json.loads, default={}, help="further GANAugmenter parameters, a JSON object")
    parser.add_argument("--data-dir", default=DATA_DIR)
    args = parser.parse_args()

    import torch
    from ctgan import CTGAN

    from ganaugment import GANAugmenter

    train = pd.read_csv(os.path.join(args.data_dir, "adult_train.csv"))
    torch.manual_seed(0)  # CTGAN draws from torch's global generator
    ctgan = CTGAN(epochs=args.epochs, batch_size=args.batch_size, verbose=False)
    ctgan.fit(train, DISCRETE)
    gan = GANAugmenter(**{"epochs": args.epochs, "batch_size": args.batch_size, "random_state": 0, **args.gan})
    models = {"ctgan": ctgan, "ganaugment": gan.fit(train)}
    seconds = {name: [] for name in models}
    for model in models.values():
        model.sample(args.rows)  # warm-up
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.sample(args.rows)
            seconds[name].append(round(time.perf_counter() - start, 3))
    medians = {name: float(np.median(s)) for name, s in seconds.items()}
    print(json.dumps({
        "torch_threads": torch.get_num_threads(), "rows": args.rows, "gan": args.gan,
        "seconds": seconds, "median_s": medians,
        "speedup_of_medians": round(medians["ctgan"] / medians["ganaugment"], 2),
    }), flush=True)


if __name__ == "__main__":
    main()
