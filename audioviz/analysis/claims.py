"""The paper's observations, checked against one model's figures on one folder.

The paper (section 3) reports five things about its features and mappings:
(a) raw autoencoder features have a tiny spread and need scaling;
(b) ae_shared spreads most of the autoencoders;
(c) standard scaling per component gives the most dynamic parameters;
(d) PCA orders the components by how much they move;
(e) K-Means and K-Means-PCA make different genres look different, more so with classifier
    features.
Each verdict here is computed from the statistics, with the numbers that decide it. Where an
observation compares models ((b), and the second half of (e)), one model's report cannot decide
it and says so: benchmarks/style_probe.py runs every bundled model on the same music.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import paired
from .stats import CorpusStats, within_track_share

HOLDS, PARTLY, FAILS, UNTESTED = "holds", "partly", "does not hold", "not tested"
TINY = 0.25  # a median spread under this share of the spread between the means is tiny
NEEDS_SCALING = 0.5  # scaled all together, raw features moving under this share of per-component: need it
ORDERED = -0.8  # rank correlation of spread with component index at or below this: in order
MARGIN = 0.1  # probe accuracy and silhouette at least this far above shuffled labels'
TIE = 0.01  # two scores closer than this (they print alike) are a tie
NAMES = {"kmeans": "K-Means", "kmeans-pca": "K-Means-PCA"}


@dataclass(frozen=True)
class Observation:
    key: str  # a to e
    claim: str  # the paper's observation, in short
    verdict: str  # holds, partly, does not hold, not tested
    evidence: str  # the numbers that decide it, in a sentence

    def as_dict(self) -> dict:
        return asdict(self)


def observations(stats: CorpusStats, references: dict[str, CorpusStats] | None = None) -> list[Observation]:
    """The verdict on each of the paper's observations for these statistics; `references`
    (baseline kind -> its statistics on the same folder) adds comparisons to (e)."""
    return [tiny_spread(stats), shared_spreads_most(stats), standard_most_dynamic(stats), pca_orders(stats),
            kmeans_separates(stats, references or {})]


def _verdict(passed: list[bool]) -> str:
    return HOLDS if all(passed) else PARTLY if any(passed) else FAILS


def tiny_spread(stats: CorpusStats) -> Observation:
    claim = "raw autoencoder features have a tiny spread and need scaling"
    raw = stats.stages["raw unscaled"]
    spread, span = float(np.median(raw.std)), float(np.ptp(raw.mean))
    share = spread / span if span > 0 else float("inf")
    tiny = share < TINY
    evidence = (f"the median standard deviation of the raw features is {spread:.3g}, {_pct(share)} of the "
                f"spread between their means ({span:.3g})")
    passed = [tiny]
    across, per = stats.scaling_spread.get("raw standard across"), stats.scaling_spread.get("raw standard features")
    if across is not None and per is not None:
        needs = across < NEEDS_SCALING * per
        passed.append(needs)
        evidence += (f"; scaled all together they move {across:.2f} on average against {per:.2f} scaled per "
                     f"component, so they {'do' if needs else 'do not'} need per-component scaling")
    else:
        evidence += f" ({'tiny' if tiny else 'not tiny'}; the raw mapping needs exactly ten features, so "
        evidence += "how much scaling changes cannot be shown for this model)"
    if not _autoencoder(stats.model):
        evidence += f"; {stats.model} is not one of the autoencoders the paper spoke of"
    return Observation("a", claim, _verdict(passed), evidence + ".")


def _autoencoder(model: str) -> bool:
    return model.split(" ")[0] in ("ae", "ae_shared", "ae_skip")


def shared_spreads_most(stats: CorpusStats) -> Observation:
    raw = stats.stages["raw unscaled"]
    return Observation(
        "b", "ae_shared's features spread most of the three autoencoders", UNTESTED,
        f"this compares models, and the report shows one (here the median raw spread is "
        f"{float(np.median(raw.std)):.3g}); benchmarks/style_probe.py compares them on the same music.")


def standard_most_dynamic(stats: CorpusStats) -> Observation:
    claim = "standard scaling per component gives the most dynamic parameters"
    spread = stats.scaling_spread
    methods = sorted({k.split(" ")[0] for k in spread}, key=["raw", "pca", "kmeans", "kmeans-pca"].index)
    if not methods:
        return Observation("c", claim, UNTESTED, "the mapping has no method to scale.")
    passed, parts = [], []
    for m in methods:
        ours = {k.split(" ", 1)[1]: v for k, v in spread.items() if k.split(" ")[0] == m}
        best = max(ours, key=ours.get)
        passed.append(best == "standard features")
        others = ", ".join(f"{v:.2f}" for k, v in ours.items() if k != "standard features")
        parts.append(f"{m}: {ours['standard features']:.2f} against {others}")
    evidence = ("mean standard deviation of the parameters over the corpus, standard per component against the "
                "other three scalings: " + "; ".join(parts))
    if all(passed):
        evidence += (". By construction: standard scaling sets every component's spread to 0.4 before "
                     "clipping, while min-max gives each its share of its own range")
    return Observation("c", claim, _verdict(passed), evidence + ".")


def _rank_correlation(values: np.ndarray) -> float:
    if np.ptp(values) == 0:
        return 0.0
    ranks = np.argsort(np.argsort(values)).astype(np.float64)
    return float(np.corrcoef(np.arange(len(values)), ranks)[0, 1])


def pca_orders(stats: CorpusStats) -> Observation:
    claim = "PCA orders the components by how much they move"
    s = stats.stages.get("pca standard across")
    if s is None:
        return Observation("d", claim, UNTESTED, "the mapping has no PCA (it needs at least ten features).")
    within = np.nanmean(s.track_std, axis=0)  # what a viewer sees: how much each moves within a song
    rho, top = _rank_correlation(within), int(np.argmax(within))
    passed = [top == 0, rho <= ORDERED]
    evidence = (f"within tracks, PCA scaled across components moves {within[0]:.3f} at component 0 and "
                f"{within[-1]:.3f} at component {s.components - 1}; component {top} moves most, and the rank "
                f"correlation of movement with component index is {rho:.2f}")
    corpus_top = int(np.argmax(s.std))
    here = stats.fitted_here
    evidence += (f". Over the whole corpus component {corpus_top} spreads most"
                 + (" (by construction: the mapping, fitted on this corpus, orders its components by this spread)"
                    if here else " (the mapping was not fitted on this corpus, so this is not by construction)"))
    return Observation("d", claim, _verdict(passed), evidence + ".")


def kmeans_separates(stats: CorpusStats, references: dict[str, CorpusStats]) -> Observation:
    claim = "K-Means and K-Means-PCA make different styles look different (more so with classifier features)"
    if not stats.grouped:
        return Observation("e", claim, UNTESTED, "the folder has fewer than two groups of tracks.")
    stages = [s for s in (stats.primary("kmeans"), stats.primary("kmeans-pca")) if s is not None and s.measured]
    if not stages:
        return Observation("e", claim, UNTESTED, "the mapping has no K-Means.")
    chance, passed, parts = stats.separation_chance, [], []
    for s in stages:
        # multivariate: the per-component separation misses groups that differ in how the
        # components combine
        passed.append(s.probe >= s.shuffled.probe + MARGIN and s.silhouette >= s.shuffled.silhouette + MARGIN)
        parts.append(f"{NAMES[s.stage.method]}: separation {s.separation:.2f} (random labels {chance:.2f}), probe "
                     f"{s.probe:.2f} (random labels {s.shuffled.probe:.2f}), silhouette {s.silhouette:.2f} "
                     f"(random labels {s.shuffled.silhouette:.2f})")
    evidence = "; ".join(parts)
    ref = references.get("mfcc-stats")
    kmeans = stats.primary("kmeans")
    theirs = ref.primary("kmeans") if ref is not None else None
    if kmeans is not None and theirs is not None and theirs.measured:
        signs = {_compare(kmeans.separation, theirs.separation), _compare(kmeans.probe, theirs.probe)}
        word = ("as much as" if signs == {0} else "more than" if -1 not in signs else "less than" if 1 not in signs
                else "more by one measure and less by the other than")
        evidence += (f". Through the same mapping, MFCC statistics give separation {theirs.separation:.2f} and "
                     f"probe {theirs.probe:.2f}: this model's K-Means separates {word} they do")
    evidence += ". Whether classifier features separate more than autoencoder features compares models: see " \
                "benchmarks/style_probe.py"
    return Observation("e", claim, _verdict(passed), evidence + ".")


def _pct(share: float) -> str:
    return f"{share:.0%}" if np.isfinite(share) else "all"


# the networks against the baselines ------------------------------------------------------

MEASURES = (  # (measure, stage): the columns of the comparison, in reading order
    ("probe", "raw"), ("probe", "kmeans"), ("separation", "kmeans"), ("silhouette", "kmeans"),
    ("probe", "pca"), ("separation", "pca"), ("silhouette", "pca"),
)
WITHIN = "within tracks"  # share of the raw features' variance that lies within tracks
REFERENCE_NAMES = {"mfcc-stats": "MFCC statistics", "random-projection": "random projection"}
RANDOM_LABELS = "random labels"


def reference_name(kind: str) -> str:
    """A baseline kind's name in tables: 'mfcc-stats-10' is 'MFCC statistics (10 components)'."""
    if kind in REFERENCE_NAMES:
        return REFERENCE_NAMES[kind]
    width = kind.removeprefix("mfcc-stats-")
    return f"MFCC statistics ({width} components)" if width.isdigit() else kind


def measure(stats: CorpusStats, what: str, method: str, shuffled: bool = False) -> float:
    """One cell of the comparison: `what` (probe, separation, silhouette) of the raw features or
    of `method`'s stage meant for rendering; `shuffled`: with random labels instead."""
    s = stats.stages.get("raw unscaled") if method == "raw" else stats.primary(method)
    if s is None or (what != "separation" and not s.measured):
        return float("nan")
    if what == "separation":
        return stats.separation_chance if shuffled else s.separation
    source = s.shuffled if shuffled else s
    return float(getattr(source, what))


def comparison(stats: CorpusStats, references: dict[str, CorpusStats]) -> dict[str, dict[str, float]]:
    """Row name -> {"probe raw": ..., ...}: this model, each baseline through the same mapping,
    and random labels (this model's figures with the labels shuffled)."""
    def row(s: CorpusStats, shuffled: bool = False) -> dict[str, float]:
        out = {f"{w} {m}": measure(s, w, m, shuffled) for w, m in MEASURES}
        # the other side of telling tracks apart: what is left to move the picture during a song
        out[WITHIN] = float("nan") if shuffled else within_track_share(s.counts, s.stages["raw unscaled"])
        return out

    rows = {stats.model: row(stats)}
    rows |= {reference_name(k): row(r) for k, r in references.items()}
    rows[RANDOM_LABELS] = row(stats, shuffled=True)
    return rows


def versus_baselines(stats: CorpusStats, references: dict[str, CorpusStats]) -> str:
    """Whether the model tells the groups apart better than trivial features, in one sentence
    from the track-level probe and the K-Means separation."""
    if not stats.grouped:
        return ""
    rows = comparison(stats, references)
    ours = rows[stats.model]
    floor = rows[RANDOM_LABELS]
    scores = [f"{name} {_cell(values['probe raw'])}" for name, values in rows.items() if name != RANDOM_LABELS]
    text = (f"Track-level probe of the group from the raw features: {', '.join(scores)}; random labels "
            f"{_cell(floor['probe raw'])}, always answering the largest group {stats.probe_chance:.2f}.")
    ref = rows.get(REFERENCE_NAMES["mfcc-stats"])
    if ref is None:
        return text
    keys = ("probe raw", "separation kmeans")
    beats = [_compare(ours[k], ref[k]) >= 0 for k in keys if np.isfinite(ours[k]) and np.isfinite(ref[k])]
    if not beats:
        return text
    if all(beats):
        verdict = "at least match MFCC statistics on both the probe and the K-Means separation"
    elif any(beats):
        verdict = "match MFCC statistics on one of the probe and the K-Means separation, not on the other"
    else:
        verdict = "tell the groups apart less well than MFCC statistics, on both the probe and the K-Means separation"
    text += (f" K-Means separation: {stats.model} {_cell(ours['separation kmeans'])}, MFCC statistics "
             f"{_cell(ref['separation kmeans'])}. Here {stats.model}'s features {verdict}.")
    text += _noise(stats, references["mfcc-stats"], REFERENCE_NAMES["mfcc-stats"])
    narrow = [k for k in references if k not in REFERENCE_NAMES]
    for kind in narrow:
        cut = rows[reference_name(kind)]
        text += (f" {stats.model}'s features vary along about {kind.removeprefix('mfcc-stats-')} independent directions "
                 "(their effective width, the participation ratio of their correlations); cut to as many principal "
                 f"components, MFCC statistics give probe {_cell(cut['probe raw'])} and K-Means separation "
                 f"{_cell(cut['separation kmeans'])}." + _noise(stats, references[kind], reference_name(kind), how=False))
    return text


NOISE_WORDS = {paired.AHEAD: "ahead beyond the noise", paired.BEHIND: "behind beyond the noise",
               paired.WITHIN: "within the noise"}


def _noise(stats: CorpusStats, reference: CorpusStats, name: str, how: bool = True) -> str:
    """Whether the gaps to the reference `name` exceed what another draw of such tracks could
    change (paired.py), in one sentence; `how`: with how the intervals are made."""
    found = paired.gaps(stats, reference)
    if not found:
        return ""
    parts = [f"{'probe' if key.startswith('probe') else 'K-Means separation'} {gap.describe()}, "
             f"{NOISE_WORDS[gap.verdict]}" for key, gap in found.items()]
    n = next(iter(found.values())).tracks
    method = (f", with {paired.LEVEL:.0%} intervals: the probe's over {paired.SPLITS} fold splits, corrected for "
              f"their shared training tracks, the separation's from a jackknife over tracks" if how else "")
    return f" Paired on the same {n} tracks ({stats.model} minus {name}{method}): {'; '.join(parts)}."


def _compare(ours: float, theirs: float) -> int:
    """1 where `ours` is higher, -1 where lower, 0 for a tie (closer than TIE)."""
    return 0 if abs(ours - theirs) < TIE else 1 if ours > theirs else -1


def at_least(ours: float, theirs: float) -> bool:
    """Whether `ours` matches or beats `theirs`, ties included: the issue's targets."""
    return _compare(ours, theirs) >= 0


def _cell(x: float) -> str:
    return f"{x:.2f}" if np.isfinite(x) else "n/a"
