"""Throughput on an accelerator: Adult seconds per epoch and DCGAN images per second.

Usage: python benchmarks/gpu_throughput.py --adult adult_train.csv --mnist-dir DIR [--device cuda]
Prints one line per figure. The first epoch (warm-up, kernel selection) is left out of the means.
"""

import argparse
import gzip
import os
import time

import numpy as np
import pandas as pd
import torch

from ganaugment import GANAugmenter


def read_idx(path):
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--adult", required=True)
    parser.add_argument("--mnist-dir", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"device {name}, torch {torch.__version__}")

    adult = pd.read_csv(args.adult)
    gan = GANAugmenter(epochs=args.epochs, device=args.device, random_state=0).fit(adult)
    seconds = [h["seconds"] for h in gan.history_[1:]]
    print(f"adult default networks, batch 500: {np.mean(seconds):.3f} s/epoch "
          f"({len(adult) // 500} steps/epoch), {args.epochs} epochs")
    start = time.perf_counter()
    gan.sample(100_000)
    print(f"adult sample 100,000 rows: {time.perf_counter() - start:.2f} s")

    images = read_idx(os.path.join(args.mnist_dir, "t10k-images-idx3-ubyte.gz"))[:8000]
    labels = read_idx(os.path.join(args.mnist_dir, "t10k-labels-idx1-ubyte.gz"))[:8000]
    for batch in (64, 256):
        model = GANAugmenter(epochs=4, batch_size=batch, device=args.device, random_state=0).fit(images, labels)
        steps = len(images) // batch
        secs = np.mean([h["seconds"] for h in model.history_[1:]])
        print(f"dcgan mnist 28x28 batch {batch}: {steps * batch / secs:,.0f} training images/s "
              f"({secs:.2f} s/epoch)")
    start = time.perf_counter()
    model.sample(20_000, y=np.arange(20_000) % 10)
    print(f"dcgan sample 20,000 images: {20_000 / (time.perf_counter() - start):,.0f} images/s")


if __name__ == "__main__":
    main()
