"""Scale on one machine: fit a large mixed-type table, then stream many rows to disk.

Generates a realistic table (default 1,000,000 rows x 20 columns: skewed and
multimodal numerics, integers, low- and high-cardinality categoricals,
booleans, datetimes, missing values, all correlated through a latent customer
segment), fits GANAugmenter for a few epochs, saves it, and streams synthetic
rows with ``sample_to_file``. Sampling runs in fresh child processes, once per
row count, so each reports its own peak RSS: equal peaks for 1x and 10x the
rows show that memory does not grow with n.

    nice -n 10 python benchmarks/scale.py --rows 1000000 --epochs 3 \\
        --sample-rows 1000000 10000000 --out /tmp/scale > scale.log 2>&1

Prints one line per figure; peak RSS is the process's VmHWM (Linux), else ``getrusage``.
``python benchmarks/scale.py encode dense|compact --rows N`` measures the
training encoding alone (the dense one-hot matrix against compact rows).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def peak_rss_mib() -> float:
    """This process's peak RSS: VmHWM, which starts afresh at exec.

    ``getrusage``'s ``ru_maxrss`` carries the parent's peak over fork and
    exec, so a child started by a big parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    """A customer table whose columns all depend on a latent segment (and on each other)."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(5, n, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    seg_names = np.array(["retail", "smb", "enterprise", "student", "public"], dtype=object)
    region = (segment * 2 + rng.integers(0, 4, n)) % 12
    # High-cardinality: ~5,000 cities, Zipf-like, nested in their region.
    city_rank = np.minimum(rng.zipf(1.3, n), 420) - 1
    city = np.char.add(np.char.add("c", region.astype(str)), np.char.add("_", city_rank.astype(str))).astype(object)
    age = np.clip(rng.normal(np.array([38, 45, 50, 22, 47])[segment], 9), 18, 90).round().astype(np.int64)
    income = np.exp(rng.normal(10.2 + 0.3 * segment / 4 + 0.01 * (age - 40), 0.6))  # right-skewed
    income[rng.random(n) < 0.05] = np.nan
    bimodal = rng.random(n) < np.array([0.2, 0.5, 0.8, 0.05, 0.4])[segment]
    spend = np.where(bimodal, rng.normal(900, 120, n), rng.normal(150, 40, n)).clip(0)
    balance = (rng.pareto(2.5, n) + 1) * 500 * (1 + segment)
    balance[rng.random(n) < 0.10] = np.nan
    n_orders = rng.poisson(1 + spend / 100)
    n_visits = rng.negative_binomial(3, 0.2, n) + n_orders
    tenure_days = rng.integers(0, 3650, n)
    score = rng.beta(2 + segment, 5, n)
    rating = np.clip(np.round(1 + 4 * score + rng.normal(0, 0.6, n)), 1, 5).astype(np.int64)
    is_active = rng.random(n) < 0.3 + 0.6 * (tenure_days < 1000)
    has_card = rng.random(n) < np.array([0.5, 0.7, 0.9, 0.2, 0.6])[segment]
    logit = -2 + 1.5 * (~is_active) - 0.002 * n_orders * 10 + 0.8 * (rating <= 2)
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    signup = pd.Timestamp("2015-01-01") + pd.to_timedelta(3650 - tenure_days, unit="D")
    last_login = signup + pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    last_login = pd.Series(last_login).mask(rng.random(n) < 0.03)
    device = rng.choice(np.array(["mobile", "desktop", "tablet", "tv"], dtype=object), n, p=[0.55, 0.35, 0.08, 0.02])
    channel = rng.choice(np.array(["organic", "ads", "referral", "partner", "email", "social"], dtype=object), n)
    channel[rng.random(n) < 0.02] = None
    modes = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    temperature = rng.normal(np.array([-5.0, 12.0, 28.0])[modes], np.array([3.0, 2.0, 4.0])[modes])
    return pd.DataFrame(
        {
            "segment": seg_names[segment],
            "region": np.char.add("r", region.astype(str)).astype(object),
            "city": city,
            "age": age,
            "income": income,
            "spend": spend,
            "balance": balance,
            "n_orders": n_orders,
            "n_visits": n_visits,
            "tenure_days": tenure_days,
            "score": score,
            "rating": rating,
            "is_active": is_active,
            "has_card": has_card,
            "churned": churned,
            "signup": signup,
            "last_login": last_login,
            "device": device,
            "channel": channel,
            "temperature": temperature,
        }
    )


def cmd_run(args) -> None:
    from ganaugment import GANAugmenter

    print(f"python {sys.version.split()[0]}, pid {os.getpid()}, cpu count {os.cpu_count()}", flush=True)
    started = time.perf_counter()
    table = make_table(args.rows, seed=args.seed)
    print(f"table: {table.shape[0]:,} rows x {table.shape[1]} columns, "
          f"{table.memory_usage(deep=True).sum() / 2**20:.0f} MiB in pandas, generated in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    print(f"rss after table: current {current_rss_mib():.0f} MiB, peak {peak_rss_mib():.0f} MiB", flush=True)
    model = GANAugmenter(epochs=args.epochs, batch_size=args.batch_size, random_state=args.seed, verbose=False)
    started = time.perf_counter()
    model.fit(table)
    fit_seconds = time.perf_counter() - started
    epochs = [h["seconds"] for h in model.history_]
    print(f"encoded width {model.encoder_.output_width_}; encoder fit + transform {model.encode_seconds_:.1f} s", flush=True)
    print(f"fit: {len(epochs)} epochs in {fit_seconds:.1f} s; seconds per epoch {', '.join(f'{s:.1f}' for s in epochs)} "
          f"(steps per epoch {args.rows // model._effective_batch_size(args.rows)}, batch {args.batch_size})", flush=True)
    print(f"rss after fit: current {current_rss_mib():.0f} MiB, peak {peak_rss_mib():.0f} MiB", flush=True)
    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "scale.gan")
    model.save(model_path)
    del table, model
    for n in args.sample_rows:
        path = os.path.join(args.out, f"synthetic_{n}{args.format}")
        done = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "sample", model_path, path, str(n), "--chunk-size", str(args.chunk_size)],
            capture_output=True, text=True,
        )
        sys.stdout.write(done.stdout)
        if done.returncode:
            sys.stdout.write(done.stderr[-3000:])
            raise SystemExit(done.returncode)
        sys.stdout.flush()


def cmd_sample(args) -> None:
    from ganaugment import GANAugmenter

    before = peak_rss_mib()
    model = GANAugmenter.load(args.model)
    loaded = peak_rss_mib()
    started = time.perf_counter()
    model.sample_to_file(args.path, args.n, chunk_size=args.chunk_size)
    seconds = time.perf_counter() - started
    size = os.path.getsize(args.path) / 2**20
    print(f"sample_to_file {args.n:,} rows -> {os.path.basename(args.path)} ({size:.0f} MiB) in {seconds:.1f} s "
          f"({args.n / seconds:,.0f} rows/s, chunk {args.chunk_size:,}); peak rss: after imports {before:.0f} MiB, "
          f"after load {loaded:.0f} MiB, after sampling {peak_rss_mib():.0f} MiB", flush=True)
    if not args.keep:
        os.remove(args.path)


def cmd_encode(args) -> None:
    """Peak RSS of encoding the table for training: dense one-hot matrix against compact rows."""
    from ganaugment import TableEncoder

    table = make_table(args.rows, seed=args.seed)
    encoder = TableEncoder(random_state=0).fit(table)
    before = peak_rss_mib()
    started = time.perf_counter()
    if args.layout == "dense":
        encoded = encoder.transform(table, np.random.default_rng(0))
        size = encoded.nbytes
    else:
        encoded = encoder.transform_compact(table, np.random.default_rng(0))
        size = encoded.values.nbytes + encoded.codes.nbytes
    print(f"encode {args.rows:,} rows ({args.layout}, width {encoder.output_width_}): {size / 2**20:.0f} MiB of "
          f"training data in {time.perf_counter() - started:.1f} s; peak rss {before:.0f} MiB before, "
          f"{peak_rss_mib():.0f} MiB after", flush=True)


def cmd_step(args) -> None:
    """Seconds per activation and per generator+discriminator forward/backward on this table's layout."""
    import torch

    from ganaugment import TableEncoder
    from ganaugment.tabular.model import TabularGAN

    table = make_table(args.rows, seed=args.seed)
    encoder = TableEncoder(random_state=0).fit(table)
    params = dict(noise_dim=128, generator_dim=[128, 128], discriminator_dim=[128, 128], pac=10, dropout=0.25, tau=0.2)
    model = TabularGAN(encoder, 0, params, torch.device("cpu"), 0)
    model.set_training_data(encoder.transform_compact(table, np.random.default_rng(0)), None)
    batch = model.draw(args.batch_size)
    raw = torch.randn(args.batch_size, encoder.output_width_, requires_grad=True)
    started = time.perf_counter()
    for _ in range(args.repeat):
        model._activate(raw).sum().backward()
    activate = (time.perf_counter() - started) / args.repeat
    started = time.perf_counter()
    for _ in range(args.repeat):
        fake, aux = model.generate(batch)
        (model.discriminate(fake, batch).sum() + model.generator_penalty(aux, batch)).backward()
    step = (time.perf_counter() - started) / args.repeat
    print(f"width {encoder.output_width_}, batch {args.batch_size}, torch threads {torch.get_num_threads()}: "
          f"activation fwd+bwd {activate:.3f} s, generator+discriminator fwd+bwd {step:.3f} s", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="generate, fit, save, stream (the default)")
    run.add_argument("--rows", type=int, default=1_000_000)
    run.add_argument("--epochs", type=int, default=3)
    run.add_argument("--batch-size", type=int, default=500)
    run.add_argument("--sample-rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    run.add_argument("--chunk-size", type=int, default=100_000)
    run.add_argument("--format", choices=[".parquet", ".csv"], default=".parquet")
    run.add_argument("--out", default="/tmp/ganaugment-scale")
    run.add_argument("--seed", type=int, default=0)
    sample = commands.add_parser("sample", help="(internal) stream N rows from a saved model")
    sample.add_argument("model")
    sample.add_argument("path")
    sample.add_argument("n", type=int)
    sample.add_argument("--chunk-size", type=int, default=100_000)
    sample.add_argument("--keep", action="store_true")
    encode = commands.add_parser("encode", help="peak memory of the dense against the compact training encoding")
    encode.add_argument("layout", choices=["dense", "compact"])
    encode.add_argument("--rows", type=int, default=1_000_000)
    encode.add_argument("--seed", type=int, default=0)
    step = commands.add_parser("step", help="seconds per activation and per network forward/backward")
    step.add_argument("--rows", type=int, default=5000)
    step.add_argument("--batch-size", type=int, default=500)
    step.add_argument("--repeat", type=int, default=5)
    step.add_argument("--seed", type=int, default=0)
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        argv = ["run", *argv]
    args = parser.parse_args(argv)
    {"sample": cmd_sample, "encode": cmd_encode, "step": cmd_step}.get(args.command, cmd_run)(args)


if __name__ == "__main__":
    main()
