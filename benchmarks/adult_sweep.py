"""Fit several GANAugmenter settings on Adult in parallel; write each synthetic table.

Used to choose defaults (run where spare cores or a GPU exist); score the
written tables with ``benchmarks/score_tables.py``.

Usage: python benchmarks/adult_sweep.py DATA OUT_DIR 'name:{"epochs": 300}' ...
"""

import json
import os
import subprocess
import sys
import time


def run_one(data, out_dir, name, params):
    import pandas as pd

    from ganaugment import GANAugmenter

    real = pd.read_csv(data)
    start = time.perf_counter()
    model = GANAugmenter(**{"random_state": 0, **params}).fit(real)
    seconds = time.perf_counter() - start
    synthetic = model.sample(len(real))
    path = os.path.join(out_dir, f"{name}.csv")
    synthetic.to_csv(path + ".tmp", index=False)
    os.replace(path + ".tmp", path)
    per_epoch = sum(h["seconds"] for h in model.history_) / len(model.history_)
    print(f"{name} fit_seconds {seconds:.1f} seconds_per_epoch {per_epoch:.3f} device {model.device_} "
          f"last d_real {model.history_[-1]['d_real']:.3f} d_fake {model.history_[-1]['d_fake']:.3f}", flush=True)


def main():
    if sys.argv[1] == "--one":
        _, _, data, out_dir, name, params = sys.argv
        run_one(data, out_dir, name, json.loads(params))
        return
    data, out_dir, *specs = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    procs = []
    for spec in specs:
        name, params = spec.split(":", 1)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        procs.append(subprocess.Popen([sys.executable, __file__, "--one", data, out_dir, name, params], env=env))
    sys.exit(max(p.wait() for p in procs))


if __name__ == "__main__":
    main()
