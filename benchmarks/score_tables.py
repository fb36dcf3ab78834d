"""Score synthetic tables against a real one with SDMetrics (quality, diagnostic, '?' rates).

Usage: python benchmarks/score_tables.py REAL.csv SYNTH.csv [SYNTH.csv ...]
"""

import sys

import pandas as pd

from ganaugment.metrics._sdmetrics import quality_and_diagnostic


def main():
    real = pd.read_csv(sys.argv[1])
    for path in sys.argv[2:]:
        synthetic = pd.read_csv(path)
        s = quality_and_diagnostic(real, synthetic)
        gaps = []
        for column in ("workclass", "occupation", "native-country"):
            if column in real:
                gaps.append(abs((real[column] == "?").mean() - (synthetic[column] == "?").mean()) * 100)
        print(f"{path}: quality {s['quality_score']:.4f} shapes {s['column_shapes']:.4f} "
              f"pairs {s['column_pair_trends']:.4f} diagnostic {s['diagnostic_score']:.4f} "
              f"max '?' gap {max(gaps, default=float('nan')):.2f} points")


if __name__ == "__main__":
    main()
