"""The references a model is measured against: MFCC statistics cut to a model's effective width
are what that many linear features keep of them."""

from __future__ import annotations

import numpy as np

from audioviz.analysis.baselines import Baseline, effective_width, reference_stats
from audioviz.extract.collect import collect


def test_mfcc_statistics_cut_to_a_models_width_are_their_first_principal_components(corpus_dir):
    references = reference_stats(corpus_dir, None, 0, width=3)
    assert list(references) == ["mfcc-stats", "mfcc-stats-3", "random-projection"]
    stats = references["mfcc-stats-3"]
    raw = stats.stages["raw unscaled"]
    assert raw.track_mean.shape == (4, 3)
    assert np.all(np.diff(raw.std) < 0)  # components in order of the variance they carry

    full = collect(corpus_dir, Baseline("mfcc-stats"))
    x = full.stacked().astype(np.float64)
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1)
    axes = np.linalg.svd(z, full_matrices=False)[2][:3]
    by_path = {t.path: t for t in full.tracks}
    for path, got in zip(stats.paths, raw.track_mean):
        t = by_path[path].values.astype(np.float64)
        want = (((t - x.mean(axis=0)) / np.where(sd > 0, sd, 1)) @ axes.T).mean(axis=0)
        np.testing.assert_allclose(np.abs(got), np.abs(want), rtol=1e-3, atol=1e-3)  # an axis's sign is free


def test_a_model_as_wide_as_mfcc_statistics_gets_no_cut_reference(corpus_dir):
    assert list(reference_stats(corpus_dir, None, 0, width=128)) == ["mfcc-stats", "random-projection"]


def test_effective_width_counts_independent_directions():
    rng = np.random.default_rng(0)
    independent = rng.normal(size=(4000, 6)) * [1, 5, 0.1, 2, 3, 1]  # scale does not matter: correlations
    assert effective_width(independent) == 6
    # twelve features mixed from three sources: at most three directions
    mixed = rng.normal(size=(4000, 3)) @ rng.normal(size=(3, 12))
    assert 1 <= effective_width(mixed) <= 3
    # copies of a feature count once, and a constant one not at all
    copies = np.concatenate([independent[:, :1]] * 3 + [np.ones((4000, 1))], axis=1)
    assert effective_width(copies) == 1
    assert effective_width(np.ones((50, 4))) == 0
