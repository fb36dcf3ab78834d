"""Throughput of the sampling path's matrix products by output width, on this CPU.

The folded generator (``ganaugment/tabular/networks.py``) pads every row of
its buffer to a multiple of ``ROW_ALIGN`` floats because the BLAS behind
torch ran products of some widths far slower than products a few columns
wider. This script shows whether that holds on the machine it runs on: for
blocks of ``--rows`` rows and each inner size ``K``, it times
``(rows x K) @ (K x N)`` for widths ``N`` around the shapes of the default
Adult model (noise 128 into 424-432 columns, 256 hidden outputs into the
167 output columns) and prints GFLOPS, best of ``--repeats``.

    python benchmarks/gemm_widths.py
    python benchmarks/gemm_widths.py --inner 32 --widths 295 296 300 304
"""

import argparse
import json
import time


def gflops(rows: int, inner: int, width: int, repeats: int) -> float:
    import torch

    generator = torch.Generator().manual_seed(0)
    a = torch.randn(rows, inner, generator=generator)
    b = torch.randn(inner, width, generator=generator)
    out = torch.empty(rows, width)
    torch.mm(a, b, out=out)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(10):
            torch.mm(a, b, out=out)
        best = min(best, (time.perf_counter() - start) / 10)
    return 2.0 * rows * inner * width / best / 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=4096, help="rows per product (the CPU sampling block)")
    parser.add_argument("--inner", type=int, nargs="+", default=[128, 256], help="inner sizes K")
    parser.add_argument("--widths", type=int, nargs="+", default=[160, 161, 167, 168, 176, 424, 426, 428, 432],
                        help="output widths N")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    import torch

    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": args.rows}))
    for inner in args.inner:
        for width in args.widths:
            print(json.dumps({"K": inner, "N": width, "gflops": round(gflops(args.rows, inner, width, args.repeats), 1)}),
                  flush=True)


if __name__ == "__main__":
    main()
