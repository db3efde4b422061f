"""Is a model ahead of a baseline, or is the gap the noise of a few dozen tracks?

A probe accuracy measured on 87 tracks moves by about 0.05 when other tracks are drawn, so two
figures that differ by less say nothing on their own. Both measures are compared on the same
tracks, paired, with an interval for the gap (the model's figure minus the baseline's):
- the *probe* (probe.py) is run on SPLITS fold splits, the same for both views, and the gap's
  interval is the corrected repeated cross-validation t interval (Nadeau and Bengio, 2003;
  Bouckaert and Frank, 2004): the folds share their training tracks, so the spread of the
  per-fold gaps is widened by the share of tracks a fold tests against those it trains on;
- the *separation* (stats.group_separation) of both views' per-track means: a jackknife over
  tracks (each left out in turn) gives the gap's standard error, and a t interval on it.
Both are deterministic. A gap whose interval excludes 0 is "ahead" or "behind"; otherwise it
is "within noise". On pairs of views that tell the groups apart equally well by construction,
the intervals exclude 0 about as rarely as their level says (tests/test_claims.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import probe
from .stats import CorpusStats, group_separation

SPLITS = 5  # fold splits of the probe, the same for both views
LEVEL = 0.95  # of the interval
AHEAD, BEHIND, WITHIN = "ahead", "behind", "within noise"


@dataclass(frozen=True)
class Gap:
    ours: float  # the model's figure on the paired tracks
    theirs: float  # the baseline's
    low: float  # interval of ours - theirs
    high: float
    tracks: int

    @property
    def difference(self) -> float:
        return self.ours - self.theirs

    @property
    def verdict(self) -> str:
        return AHEAD if self.low > 0 else BEHIND if self.high < 0 else WITHIN

    def describe(self) -> str:
        """'-0.06 (95 % interval -0.14 to +0.02)'."""
        return f"{self.difference:+.2f} ({LEVEL:.0%} interval {self.low:+.2f} to {self.high:+.2f})"

    def as_dict(self) -> dict:
        return {"ours": self.ours, "theirs": self.theirs, "difference": self.difference, "low": self.low,
                "high": self.high, "level": LEVEL, "verdict": self.verdict, "tracks": self.tracks}


def gaps(stats: CorpusStats, reference: CorpusStats, method: str = "kmeans") -> dict[str, Gap]:
    """{"probe raw": Gap, "separation <method>": Gap} of `stats` against `reference` on the
    tracks both have with a group; empty where fewer than two groups of two tracks remain or
    `method` has no stage in both. Computed once per pair (kept on `stats`)."""
    key = (id(reference), method)  # the entry holds `reference`, so its id is not reused meanwhile
    if key not in stats.paired:
        stats.paired[key] = (reference, _gaps(stats, reference, method))
    return stats.paired[key][1]


def _gaps(stats: CorpusStats, reference: CorpusStats, method: str) -> dict[str, Gap]:
    where = {p: i for i, p in enumerate(reference.paths)}
    ours_idx = [i for i, p in enumerate(stats.paths) if p in where and stats.labels[i] >= 0]
    theirs_idx = [where[stats.paths[i]] for i in ours_idx]
    labels = stats.labels[ours_idx]
    if (reference.labels[theirs_idx] != labels).any():
        raise ValueError("the model's and the reference's tracks are grouped differently")
    keep = probe.usable(labels)
    ours_idx, theirs_idx, labels = np.asarray(ours_idx)[keep], np.asarray(theirs_idx)[keep], labels[keep]
    if len(np.unique(labels)) < 2:
        return {}
    out = {}
    a, b = stats.stages["raw unscaled"], reference.stages["raw unscaled"]
    out["probe raw"] = _probe_gap(np.concatenate([a.track_mean[ours_idx], a.track_std[ours_idx]], axis=1),
                                  np.concatenate([b.track_mean[theirs_idx], b.track_std[theirs_idx]], axis=1),
                                  labels, stats.seed)
    a, b = stats.primary(method), reference.primary(method)
    if a is not None and b is not None:
        out[f"separation {method}"] = _separation_gap(a.track_mean[ours_idx].astype(np.float64),
                                                      b.track_mean[theirs_idx].astype(np.float64), labels)
    return out


def _probe_gap(ours: np.ndarray, theirs: np.ndarray, labels: np.ndarray, seed: int) -> Gap:
    """Per-fold accuracies of both views on the same SPLITS x FOLDS folds; the corrected t interval."""
    acc_ours, acc_theirs, test_share = [], [], []
    for s in range(SPLITS):
        fold = probe.fold_of(labels, seed + s)
        hits_ours, hits_theirs = probe.probe_hits(ours, labels, seed + s), probe.probe_hits(theirs, labels, seed + s)
        for k in range(int(fold.max()) + 1):
            test = fold == k
            acc_ours.append(hits_ours[test].mean())
            acc_theirs.append(hits_theirs[test].mean())
            test_share.append(test.sum() / ((fold >= 0) & ~test).sum())
    d = np.array(acc_ours) - np.array(acc_theirs)
    spread = np.sqrt((1 / len(d) + np.mean(test_share)) * d.var(ddof=1))
    return _gap(float(np.mean(acc_ours)), float(np.mean(acc_theirs)), spread, len(d) - 1, len(labels))


def _separation_gap(ours: np.ndarray, theirs: np.ndarray, labels: np.ndarray) -> Gap:
    """The separation of both views; the jackknife's standard error of their difference."""
    n = len(labels)
    left_out = np.empty(n)
    for i in range(n):
        rest = np.arange(n) != i
        left_out[i] = group_separation(ours[rest], labels[rest]) - group_separation(theirs[rest], labels[rest])
    spread = np.sqrt((n - 1) / n * ((left_out - left_out.mean()) ** 2).sum())
    return _gap(group_separation(ours, labels), group_separation(theirs, labels), spread, n - 1, n)


def _gap(ours: float, theirs: float, spread: float, dof: int, tracks: int) -> Gap:
    from scipy.stats import t

    half = float(t.ppf((1 + LEVEL) / 2, dof)) * spread if spread > 0 else 0.0
    return Gap(ours, theirs, ours - theirs - half, ours - theirs + half, tracks)
