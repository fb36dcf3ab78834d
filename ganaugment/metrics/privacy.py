"""Privacy: does the generator copy its training rows?

The distance to the closest record (DCR) of a row is its distance to the
nearest training row. Synthetic rows should be no closer to the training rows
than genuinely new real rows (the holdout) are: a synthetic DCR distribution
shifted towards 0 means memorisation. Exact copies of training rows are
counted over the full tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._frames import DistanceEncoder, row_keys, subsample

__all__ = ["distance_to_closest_record", "exact_copy_share", "privacy_scores"]

ZERO_DISTANCE = 1e-6  # distances below this are rounding noise: the rows are equal


def distance_to_closest_record(train: pd.DataFrame, queries: list, *, random_state: int = 0,
                               max_reference: int | None = 20000, max_query: int | None = 5000) -> list:
    """DCR of each query row to the training rows; one array per query table.

    Distances come from :class:`DistanceEncoder` (0 = identical row, about 1 =
    every column different). To bound the cost on large tables, at most
    ``max_reference`` training rows are the reference set and at most
    ``max_query`` rows of each query table are measured; the same reference
    serves every query table, so their DCRs stay comparable. Distances below
    ``ZERO_DISTANCE`` (1e-6) are reported as 0.
    """
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(random_state)
    reference = subsample(train, max_reference, rng)
    encoder = DistanceEncoder().fit(train)
    index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(encoder.transform(reference))
    out = []
    for query in queries:
        query = subsample(query, max_query, rng)
        distances, _ = index.kneighbors(encoder.transform(query))
        distances = distances[:, 0].astype(np.float64)
        # The fast Euclidean expansion leaves ~1e-8 of rounding on equal rows.
        distances[distances < ZERO_DISTANCE] = 0.0
        out.append(distances)
    return out


def exact_copy_share(train: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Share of synthetic rows equal in every column to some training row."""
    keys = row_keys(synthetic, like=train)
    return float(np.isin(keys, row_keys(train)).mean()) if len(keys) else 0.0


def privacy_scores(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame,
                   *, random_state: int = 0, max_rows: int | None = 20000) -> dict:
    """DCR of synthetic and holdout rows to the training rows, and exact copies.

    ``dcr_closer_share`` is the share of synthetic rows closer to the
    training rows than the 5th percentile of the holdout rows' DCR: about
    0.05 when the generator does not copy, near 1 when it does.
    ``holdout_copy_share`` gives the exact-copy rate that real new rows show,
    the baseline for ``exact_copy_share`` on tables with many duplicates.
    """
    max_query = None if max_rows is None else max(1, max_rows // 4)
    dcr_syn, dcr_hold = distance_to_closest_record(
        train, [synthetic, holdout], random_state=random_state, max_reference=max_rows, max_query=max_query
    )
    threshold = float(np.quantile(dcr_hold, 0.05))
    return {
        "dcr_synthetic_median": float(np.median(dcr_syn)),
        "dcr_holdout_median": float(np.median(dcr_hold)),
        "dcr_closer_share": float(np.mean(dcr_syn < threshold)) if threshold > 0 else float(np.mean(dcr_syn <= 0)),
        "exact_copy_share": exact_copy_share(train, synthetic),
        "holdout_copy_share": exact_copy_share(train, holdout),
        "dcr_synthetic": dcr_syn,
        "dcr_holdout": dcr_hold,
    }
