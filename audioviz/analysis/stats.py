"""The numbers behind the analysis figures, in plain numpy.

A *stage* is one view of the features: the raw features before any scaling, or the ten
components of a mapping method after one of its fitted scalers. For every stage we keep the
per-component mean and standard deviation over the corpus's segments, per track and per group,
and a score of how well the per-track means separate the groups; for the raw features and the
stages meant for rendering also the multivariate measures of probe.py, with their floor under
shuffled labels.

Tracks are processed one at a time and combined from their moments, so a corpus whose stacked
raw features would not fit in memory (thousands of tracks of 4096-d classifier features) can
still be analysed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError, InputError
from ..mapping.scaling import KINDS, SCALINGS
from . import probe

if TYPE_CHECKING:  # annotations only: extract.collect imports torch
    from ..extract.collect import CorpusFeatures
    from ..mapping.fitted import FittedMapping

# the scaling each method is meant to be used with (paper, section 3): per-feature scaling gave
# the most dynamic raw and K-Means results; PCA needs `across` to keep its variance order
PRIMARY_SCALING = {
    "raw": ("standard", "features"),
    "pca": ("standard", "across"),
    "kmeans": ("standard", "features"),
    "kmeans-pca": ("standard", "across"),
}
NO_GROUP = -1
WIDE = 64  # per-track statistics of stages wider than this are kept in float32


@dataclass(frozen=True)
class Stage:
    method: str  # raw, pca, kmeans or kmeans-pca
    kind: str | None = None  # standard or minmax; None: before scaling
    scaling: str | None = None  # features or across

    @property
    def scaled(self) -> bool:
        return self.kind is not None

    @property
    def key(self) -> str:
        return f"{self.method} {self.kind} {self.scaling}" if self.scaled else f"{self.method} unscaled"

    @property
    def label(self) -> str:
        if not self.scaled:
            return "raw features, unscaled" if self.method == "raw" else f"{self.method}, unscaled"
        how = "per component" if self.scaling == "features" else "across components"
        return f"{self.method}, {self.kind} {how}"

    @property
    def primary(self) -> bool:
        """Whether this is the scaling the method is meant to be rendered with."""
        return self.scaled and PRIMARY_SCALING.get(self.method) == (self.kind, self.scaling)


def default_stages(methods: Sequence[str]) -> list[Stage]:
    """Raw features, raw scaled every way (when raw is a method), and each method with the
    scaling it is meant for; PCA also per component, to show that this loses its order."""
    stages = [Stage("raw")]
    if "raw" in methods:
        stages += [Stage("raw", kind, scaling) for kind in KINDS for scaling in SCALINGS]
    if "pca" in methods:
        stages += [Stage("pca", *PRIMARY_SCALING["pca"]), Stage("pca", "standard", "features")]
    for method in ("kmeans", "kmeans-pca"):
        if method in methods:
            stages.append(Stage(method, *PRIMARY_SCALING[method]))
    return stages


@dataclass
class StageStats:
    stage: Stage
    mean: np.ndarray  # (C,) over every segment of the corpus
    std: np.ndarray  # (C,)
    track_mean: np.ndarray  # (T, C)
    track_std: np.ndarray  # (T, C)
    group_mean: np.ndarray  # (G, C) over every segment of the group's tracks
    group_std: np.ndarray  # (G, C)
    separation: float  # NaN with fewer than two groups
    probe: float = float("nan")  # track-level probe accuracy (probe.py); NaN where not measured
    silhouette: float = float("nan")
    shuffled: probe.Separation | None = None  # both, with the labels shuffled

    @property
    def components(self) -> int:
        return self.mean.shape[0]

    @property
    def measured(self) -> bool:
        """Whether the probe and silhouette were computed for this stage."""
        return self.shuffled is not None


@dataclass
class CorpusStats:
    model: str
    root: str
    feature_size: int
    paths: list[str]  # one per track, in corpus order
    counts: np.ndarray  # (T,) segments per track
    group_names: list[str]  # sorted
    labels: np.ndarray  # (T,) index into group_names, NO_GROUP for a track without one
    stages: dict[str, StageStats]  # by Stage.key, in drawing order
    variance_ratio: dict[str, np.ndarray] = field(default_factory=dict)  # pca, kmeans-pca
    failed: list[tuple[str, str]] = field(default_factory=list)
    fitted_on: dict = field(default_factory=dict)  # the mapping's meta: what it was fitted on
    # "method kind scaling" -> mean over components of their standard deviation over the corpus,
    # for every scaler of every method the mapping has
    scaling_spread: dict[str, float] = field(default_factory=dict)
    seed: int = 0  # of the probe's folds and shuffles
    # paired.gaps' results against each reference, computed once: the report and its figures both state them
    paired: dict = field(default_factory=dict, repr=False)

    @property
    def tracks(self) -> int:
        return len(self.paths)

    @property
    def segments(self) -> int:
        return int(self.counts.sum())

    @property
    def fitted_here(self) -> bool:
        """Whether the mapping was fitted on exactly this corpus."""
        meta = self.fitted_on
        return meta.get("fitted_on") == Path(self.root).name and meta.get("segments") == self.segments

    @property
    def grouped(self) -> bool:
        """Whether there are at least two groups to compare."""
        return len(self.group_names) >= 2

    def group_tracks(self) -> np.ndarray:
        """(G,) number of tracks in each group."""
        return np.bincount(self.labels[self.labels >= 0], minlength=len(self.group_names))

    def group_segments(self) -> np.ndarray:
        """(G,) number of segments in each group."""
        keep = self.labels >= 0
        return np.bincount(self.labels[keep], weights=self.counts[keep], minlength=len(self.group_names)).astype(int)

    @property
    def separation(self) -> dict[str, float]:
        """Stage key -> group separation, for the stages where it is defined."""
        return {k: s.separation for k, s in self.stages.items() if np.isfinite(s.separation)}

    @property
    def separation_chance(self) -> float:
        """The separation random group labels give on average: (G - 1) / (T - 1) over the
        tracks with a group; NaN with fewer than two groups."""
        labelled = int((self.labels >= 0).sum())
        if not self.grouped or labelled < 2:
            return float("nan")
        return (len(self.group_names) - 1) / (labelled - 1)

    def scaled_stages(self) -> list[StageStats]:
        return [s for s in self.stages.values() if s.stage.scaled]

    def primary_stages(self) -> list[StageStats]:
        """One stage per method, with the scaling it is meant to be rendered with."""
        return [s for s in self.stages.values() if s.stage.primary]

    @property
    def probe_chance(self) -> float:
        """The probe's accuracy when it always answers the largest group."""
        return probe.chance(self.labels)

    def primary(self, method: str) -> StageStats | None:
        """The stage of `method` with the scaling it is meant to be rendered with."""
        return next((s for s in self.primary_stages() if s.stage.method == method), None)


def pooled(counts: np.ndarray, means: np.ndarray, stds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the union of sets of segments, from each set's size,
    mean and (population) standard deviation; exact, and never needs the segments themselves."""
    n = np.asarray(counts, dtype=np.float64)
    if n.sum() <= 0:
        nan = np.full(means.shape[1:], np.nan)
        return nan, nan.copy()
    w = n / n.sum()
    mean = w @ means
    var = w @ (stds**2 + (means - mean) ** 2)
    return mean, np.sqrt(np.maximum(var, 0.0))


def within_track_share(counts: np.ndarray, stage: StageStats) -> float:
    """Share of a stage's variance over every segment that lies within tracks (what moves the
    picture during a song; the rest tells tracks apart), averaged over the components that vary.
    `counts`: (T,) segments per track."""
    n = np.asarray(counts, dtype=np.float64)
    within = (n / n.sum()) @ np.asarray(stage.track_std, np.float64) ** 2
    total = np.asarray(stage.std, np.float64) ** 2
    varies = total > 1e-12
    return float(np.mean(within[varies] / total[varies])) if varies.any() else float("nan")


def group_separation(track_means: np.ndarray, labels: np.ndarray) -> float:
    """Share of the variance of per-track mean vectors explained by group membership.

    Per component, the between-group sum of squares over the total sum of squares (the R^2 of
    a one-way ANOVA) of the tracks that have a group, averaged over the components that vary.
    0: groups look alike; 1: every track looks like the rest of its group. NaN with fewer than
    two groups.
    """
    labels = np.asarray(labels)
    keep = labels >= 0
    x, y = np.asarray(track_means, dtype=np.float64)[keep], labels[keep]
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    grand = x.mean(axis=0)
    total = ((x - grand) ** 2).sum(axis=0)
    between = np.zeros_like(total)
    for g in present:
        members = x[y == g]
        between += len(members) * (members.mean(axis=0) - grand) ** 2
    # a component that is constant (up to rounding) carries no information about groups
    varies = total > 1e-12 * np.maximum((x**2).sum(axis=0), 1e-300)
    if not varies.any():
        return float("nan")
    return float(np.mean(between[varies] / total[varies]))


def group_labels(paths: Sequence[str], groups: Mapping[str, str]) -> tuple[list[str], np.ndarray]:
    """(sorted group names, (T,) index of each track's group or NO_GROUP)."""
    names = sorted({groups[p] for p in paths if groups.get(p)})
    index = {name: i for i, name in enumerate(names)}
    labels = np.array([index[groups[p]] if groups.get(p) else NO_GROUP for p in paths], dtype=np.int64)
    return names, labels


def compute_stats(
    corpus: CorpusFeatures,
    mapping: FittedMapping,
    groups: Mapping[str, str] | None = None,
    stages: Sequence[Stage] | None = None,
    seed: int = 0,
) -> CorpusStats:
    """Every stage's statistics over `corpus`, per track and per group (`groups`: track path
    -> group name; tracks missing from it have no group). `seed` splits the probe's folds and
    shuffles its random labels."""
    tracks = [t for t in corpus.tracks if len(t.values)]
    if not tracks:
        raise InputError(f"{corpus.root}: no track with features to analyse.")
    width = tracks[0].values.shape[1]
    if width != mapping.feature_size:
        raise ConfigError(
            f"the features have {width} components but the mapping was fitted on {mapping.feature_size}; "
            "fit it on features of the same model."
        )
    stages = list(stages) if stages is not None else default_stages(mapping.methods)
    paths = [t.path for t in tracks]
    names, labels = group_labels(paths, groups or {})
    counts = np.array([len(t.values) for t in tracks], dtype=np.int64)

    # every scaler of every method, for how dynamic each makes the parameters (the paper's
    # observation (c)); only the stages asked for keep their per-track figures
    every = [Stage(m, k, sc) for m in mapping.methods for k in KINDS for sc in SCALINGS]
    moments = _track_moments(tracks, mapping, stages + [e for e in every if e not in stages])
    spread = {e.key: float(pooled(counts, *moments[e.key])[1].mean()) for e in every}
    out: dict[str, StageStats] = {}
    for stage in stages:
        track_mean, track_std = moments[stage.key]
        out[stage.key] = _stage_stats(stage, counts, track_mean, track_std, labels, len(names))
        if len(names) >= 2 and (stage.primary or stage.key == "raw unscaled"):
            _measure(out[stage.key], labels, seed)
    ratios = {m: np.asarray(mapping.arrays[f"{m}.variance_ratio"], dtype=np.float64)
              for m in ("pca", "kmeans-pca") if f"{m}.variance_ratio" in mapping.arrays}
    return CorpusStats(corpus.model, str(corpus.root), width, paths, counts, names, labels, out, ratios,
                       list(corpus.failed), dict(mapping.meta), spread, seed)


def _track_moments(tracks, mapping: FittedMapping, stages: Sequence[Stage]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Stage key -> ((T, C) means, (T, C) standard deviations), one track at a time."""
    methods = {s.method for s in stages if s.scaled or s.method != "raw"}
    means: dict[str, list[np.ndarray]] = {s.key: [] for s in stages}
    stds: dict[str, list[np.ndarray]] = {s.key: [] for s in stages}
    for t in tracks:
        raw = np.asarray(t.values, dtype=np.float64)
        comps = {m: mapping.components(raw, m) for m in methods}  # once per method, shared by its scalers
        for s in stages:
            values = comps.get(s.method, raw)
            if s.scaled:
                values = mapping.scale(values, s.method, s.kind, s.scaling).astype(np.float64)
            means[s.key].append(values.mean(axis=0))
            stds[s.key].append(values.std(axis=0))
    return {k: (_compact(np.stack(means[k])), _compact(np.stack(stds[k]))) for k in means}


def _compact(a: np.ndarray) -> np.ndarray:
    # thousands of tracks of 4096-d classifier features: float32 halves half a gigabyte, and
    # seven digits are plenty for figures
    return a.astype(np.float32) if a.shape[1] > WIDE else a


def _measure(s: StageStats, labels: np.ndarray, seed: int) -> None:
    """The multivariate measures of one stage, and their floor under shuffled labels (fewer
    draws for a wide stage, whose probe costs seconds a fold)."""
    found = probe.separation(s.track_mean, s.track_std, labels, seed)
    s.probe, s.silhouette = found.probe, found.silhouette
    s.shuffled = probe.shuffled(s.track_mean, s.track_std, labels, seed, draws=probe.SHUFFLES if s.components <= WIDE else 2)


def _stage_stats(stage: Stage, counts: np.ndarray, track_mean: np.ndarray, track_std: np.ndarray,
                 labels: np.ndarray, n_groups: int) -> StageStats:
    mean, std = pooled(counts, track_mean, track_std)
    width = track_mean.shape[1]
    group_mean, group_std = np.full((n_groups, width), np.nan), np.full((n_groups, width), np.nan)
    for g in range(n_groups):
        members = labels == g
        group_mean[g], group_std[g] = pooled(counts[members], track_mean[members], track_std[members])
    separation = group_separation(track_mean, labels) if n_groups >= 2 else float("nan")
    return StageStats(stage, mean, std, track_mean, track_std, group_mean, group_std, separation)
