"""Throughput on an accelerator: Adult training and sampling, DCGAN training and sampling.

Usage:
    python benchmarks/gpu_throughput.py --adult adult_train.csv --mnist-dir DIR [--device cuda]
    python benchmarks/gpu_throughput.py --adult adult_train.csv --mnist-dir DIR --device cpu \\
        --sections dcgan --mnist-images 1000 --dcgan-epochs 2

Prints one line per figure; the first epoch of every fit (warm-up, kernel
selection) is left out of the means. Sections:

* Adult, default networks, with and without a recorded CUDA graph
  (``cuda_graph``), at two batch sizes and with bf16 autocast; the synthetic
  tables of the fits with and without a graph, for a QualityReport elsewhere;
* host synchronisations per epoch, counted by PyTorch's synchronisation
  debug mode (a 3-epoch fit's count minus a 1-epoch fit's), tables and images;
* ``sample(100_000)`` on Adult, and its two parts: the generator on the
  device (``sample_encoded``, at several block sizes) and decoding on the host;
* the copy of one sampling block to the host, from pageable and pinned memory;
* DCGAN on MNIST at two batch sizes, with and without a CUDA graph, and with bf16
  autocast (on the CPU: without and with bf16 autocast only), and sampling.
"""

import argparse
import gzip
import os
import time
import warnings

import numpy as np
import pandas as pd
import torch

from ganaugment import GANAugmenter
from ganaugment.tabular import model as tabular_model


def read_idx(path):
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def epoch_seconds(model):
    return float(np.mean([h["seconds"] for h in model.history_[1:]]))


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def best_of(fn, device, repeats=5):
    """Fastest of ``repeats`` timed calls after one warm-up call."""
    fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def print_syncs(name, X, y, steps, device, epochs=(1, 3)):
    """Host synchronisations per epoch, with and without a CUDA graph: the count of a longer fit
    minus a shorter one's, so that what a fit does once (moving the data, calibration) drops out."""
    if not device.startswith("cuda"):
        return
    for graph in (False, True):
        counts = []
        for n in epochs:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                torch.cuda.set_sync_debug_mode("warn")
                try:
                    GANAugmenter(epochs=n, device=device, cuda_graph=graph, random_state=0).fit(X, y)
                finally:
                    torch.cuda.set_sync_debug_mode("default")
            counts.append(sum("synchroniz" in str(w.message) for w in caught))
        per_epoch = (counts[1] - counts[0]) / (epochs[1] - epochs[0])
        print(f"{name} host synchronisations, cuda_graph={graph}: {per_epoch:.1f} per epoch of {steps} steps "
              f"(fits of {epochs[0]} and {epochs[1]} epochs: {counts})", flush=True)


def weight_gap(a, b):
    pairs = zip(a.model_.generator.state_dict().values(), b.model_.generator.state_dict().values())
    return max(float((x - y).abs().max()) for x, y in pairs if x.is_floating_point())


def fit_adult(adult, device, **params):
    params = {"epochs": 20, "batch_size": 500, "random_state": 0, **params}
    return GANAugmenter(device=device, **params).fit(adult)


def adult_section(args):
    adult = pd.read_csv(args.adult)
    runs = (
        dict(cuda_graph=False),
        dict(cuda_graph=True),
        dict(cuda_graph=True, mixed_precision="bf16"),
        dict(cuda_graph=False, batch_size=2000),
        dict(cuda_graph=True, batch_size=2000),
    )
    models = []
    for params in runs:
        gan = fit_adult(adult, args.device, epochs=args.epochs, **params)
        steps = len(adult) // params.get("batch_size", 500)
        secs = epoch_seconds(gan)
        print(f"adult default networks, {params}: {secs:.3f} s/epoch ({steps} steps/epoch, "
              f"{1000 * secs / steps:.2f} ms/step), fit {gan.fit_seconds_:.1f} s", flush=True)
        models.append(gan)
    eager, graph = models[:2]  # the default batch, without and with a graph
    for name, model in (("graph", graph), ("eager", eager)):
        model.sample(len(adult)).to_csv(os.path.join(args.out, f"adult_{name}_{args.epochs}ep.csv"), index=False)
    graph_again = fit_adult(adult, args.device, epochs=args.epochs, cuda_graph=True)
    eager_again = fit_adult(adult, args.device, epochs=args.epochs, cuda_graph=False)
    print(f"adult {args.epochs} epochs, largest generator weight difference: graph vs eager "
          f"{weight_gap(graph, eager):.2e}, graph vs graph {weight_gap(graph, graph_again):.2e}, "
          f"eager vs eager {weight_gap(eager, eager_again):.2e}; samples of the first two in {args.out}", flush=True)
    print_syncs("adult", adult, None, len(adult) // 500, args.device)

    seconds = best_of(lambda: graph.sample(100_000), args.device)
    print(f"adult sample(100,000): {seconds:.3f} s", flush=True)
    gan = graph.model_
    rng = np.random.default_rng(0)
    slot, classes = gan.draw_conditions(100_000, None, {}, rng)
    for block in (16384, 65536, 100_000):
        seconds = best_of(lambda: gan.sample_encoded(slot, classes, seed=0, chunk=block), args.device)
        print(f"adult sample_encoded 100,000 rows, block {block}: {seconds:.4f} s", flush=True)
    encoded = gan.sample_encoded(slot, classes, seed=0)
    seconds = best_of(lambda: graph.encoder_.inverse_transform(encoded, np.random.default_rng(0)), "cpu")
    print(f"adult decode 100,000 rows on the host: {seconds:.4f} s", flush=True)
    if args.device.startswith("cuda"):
        width = encoded.values.shape[1] + encoded.codes.shape[1]
        block = torch.randn(65536, width, device=args.device)
        for name, host in (("pageable", torch.empty(block.shape)), ("pinned", torch.empty(block.shape, pin_memory=True))):
            seconds = best_of(lambda: host.copy_(block, non_blocking=name == "pinned"), args.device, repeats=20)
            print(f"copy of one 65,536 x {width} float block to {name} host memory: {1000 * seconds:.3f} ms",
                  flush=True)


def dcgan_section(args):
    images = read_idx(os.path.join(args.mnist_dir, "t10k-images-idx3-ubyte.gz"))[: args.mnist_images]
    labels = read_idx(os.path.join(args.mnist_dir, "t10k-labels-idx1-ubyte.gz"))[: args.mnist_images]
    cuda = args.device.startswith("cuda")
    # (cuda_graph, mixed_precision) per batch size; a graph changes nothing on the CPU.
    variants = ((False, None), (True, None), (True, "bf16")) if cuda else ((False, None), (False, "bf16"))
    runs = [(batch, graph, precision) for batch in (64, 256) for graph, precision in variants]
    for batch, graph, precision in runs:
        model = GANAugmenter(epochs=args.dcgan_epochs, batch_size=batch, cuda_graph=graph, mixed_precision=precision,
                             device=args.device, random_state=0).fit(images, labels)
        steps = len(images) // batch
        secs = epoch_seconds(model)
        print(f"dcgan mnist 28x28 batch {batch}, cuda_graph={graph}, mixed_precision={precision}: "
              f"{steps * batch / secs:,.0f} training images/s ({secs:.2f} s/epoch, {1000 * secs / steps:.2f} ms/step)",
              flush=True)
        if batch == 64 and graph == cuda and precision is None:
            default = model
    print_syncs("dcgan", images, labels, len(images) // 64, args.device)
    seconds = best_of(lambda: default.sample(20_000, y=np.arange(20_000) % 10), args.device, repeats=3)
    print(f"dcgan sample 20,000 images: {20_000 / seconds:,.0f} images/s", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adult", required=True)
    parser.add_argument("--mnist-dir", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--mnist-images", type=int, default=8000, help="MNIST images to train on (default: 8000)")
    parser.add_argument("--dcgan-epochs", type=int, default=4, help="epochs of every DCGAN fit (default: 4)")
    parser.add_argument("--out", default=".", help="folder for the synthetic Adult tables (default: .)")
    parser.add_argument("--sections", default="adult,dcgan", help="comma-separated: adult, dcgan")
    args = parser.parse_args()
    if args.mnist_images < 256:
        parser.error("--mnist-images must be at least 256, the largest DCGAN batch")
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"device {name}, torch {torch.__version__}, sampling block on the accelerator "
          f"{tabular_model.SAMPLE_BLOCK_ACCELERATOR}", flush=True)
    sections = args.sections.split(",")
    if "adult" in sections:
        adult_section(args)
    if "dcgan" in sections:
        dcgan_section(args)


if __name__ == "__main__":
    main()
