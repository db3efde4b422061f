"""How well a view of the features tells groups of tracks apart, measured on whole tracks.

Two measures, both on one vector per track so that segments of one track never sit on both
sides of a comparison:
- the *probe*: a logistic regression that predicts a track's group from the mean and standard
  deviation of its components, scored on tracks it was not fitted on (stratified folds over
  tracks); chance is the share of the largest group;
- the *silhouette* of the per-track mean vectors under the group labels (-1 to 1; about 0 when
  groups overlap), which, unlike the per-component score in stats.py, sees the components
  together.
Random labels give each measure's floor: the same computation with the labels shuffled.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

FOLDS = 5
SHUFFLES = 10  # random-label draws whose mean is the floor
# tracks of a group below this cannot be split into train and test folds
MIN_PER_GROUP = 2


@dataclass(frozen=True)
class Separation:
    probe: float  # track-level accuracy on held-out folds; NaN where it cannot be measured
    silhouette: float  # of per-track mean vectors; NaN where undefined


def usable(labels: np.ndarray) -> np.ndarray:
    """The tracks the measures use: those in a group with at least MIN_PER_GROUP tracks."""
    labels = np.asarray(labels)
    keep = labels >= 0
    if keep.any():
        keep[keep] = np.bincount(labels[keep])[labels[keep]] >= MIN_PER_GROUP
    return keep


def chance(labels: np.ndarray) -> float:
    """The probe's accuracy when it always answers the largest group."""
    y = np.asarray(labels)[usable(labels)]
    return float(np.bincount(y).max() / len(y)) if len(y) else float("nan")


def probe_accuracy(summary: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """Share of tracks whose group a logistic regression, fitted on the other folds' tracks,
    predicts right. `summary`: (T, F) one vector per track. NaN with fewer than two groups."""
    hits = probe_hits(summary, labels, seed)
    return float(np.nanmean(hits)) if np.isfinite(hits).any() else float("nan")


def probe_hits(summary: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """(T,) 1 where the probe predicts the track's group on the fold that holds it out, 0 where
    it does not, NaN for tracks it cannot use (all NaN with fewer than two groups)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    fold = fold_of(labels, seed)
    hits = np.full(len(fold), np.nan)
    x, y = np.asarray(summary, np.float64), np.asarray(labels)
    for k in range(int(fold.max()) + 1):
        train, test = (fold >= 0) & (fold != k), fold == k
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        with warnings.catch_warnings():  # wide summaries of few tracks: a fold may stop short, and still count
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x[train], y[train])
        hits[test] = model.predict(x[test]) == y[test]
    return hits


def fold_of(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """(T,) the stratified fold that holds each track out, -1 for tracks the probe cannot use
    (all -1 with fewer than two groups). It depends only on the labels and `seed`, so two views
    of the same tracks are split alike."""
    from sklearn.model_selection import StratifiedKFold

    keep = usable(labels)
    fold = np.full(len(keep), -1)
    y = np.asarray(labels)[keep]
    if len(np.unique(y)) < 2:
        return fold
    folds = min(FOLDS, int(np.bincount(y)[np.bincount(y) > 0].min()))
    found = np.empty(len(y), dtype=int)
    for k, (_, test) in enumerate(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(y, y)):
        found[test] = k
    fold[keep] = found
    return fold


def silhouette(track_means: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of the per-track mean vectors under their groups; NaN with fewer than two
    groups or when every track looks the same."""
    from sklearn.metrics import silhouette_score

    keep = usable(labels)
    x, y = np.asarray(track_means, np.float64)[keep], np.asarray(labels)[keep]
    if len(np.unique(y)) < 2 or len(y) <= len(np.unique(y)) or not np.ptp(x, axis=0).any():
        return float("nan")
    return float(silhouette_score(x, y))


def separation(track_mean: np.ndarray, track_std: np.ndarray, labels: np.ndarray, seed: int = 0) -> Separation:
    """Both measures for one view: the probe sees each track's means and spreads, the
    silhouette its means."""
    summary = np.concatenate([track_mean, track_std], axis=1)
    return Separation(probe_accuracy(summary, labels, seed), silhouette(track_mean, labels))


def shuffled(track_mean: np.ndarray, track_std: np.ndarray, labels: np.ndarray, seed: int = 0,
             draws: int = SHUFFLES) -> Separation:
    """The mean of both measures over `draws` shuffles of the labels among the tracks that have
    one: what this view scores when groups mean nothing."""
    rng = np.random.default_rng([seed, 0x5A])
    labels = np.asarray(labels)
    has = np.flatnonzero(labels >= 0)
    results = []
    for i in range(draws):
        y = labels.copy()
        y[has] = rng.permutation(labels[has])
        results.append(separation(track_mean, track_std, y, seed + i))
    return Separation(_mean([r.probe for r in results]), _mean([r.silhouette for r in results]))


def _mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")
