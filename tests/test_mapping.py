import json

import numpy as np
import pytest

from audioviz.config import MappingConfig
from audioviz.errors import ConfigError, ModelError
from audioviz.mapping.fitted import METHODS, FittedMapping, similarity
from audioviz.mapping.order import apply_order, fixed_order, random_order, resolve_order
from audioviz.mapping.scaling import KINDS, SCALINGS, Scaler


@pytest.fixture
def feats(rng):
    # raw autoencoder codes: tiny spreads around different means, as the paper observed
    return rng.normal(loc=np.linspace(0.2, 0.8, 10), scale=np.linspace(0.001, 0.02, 10), size=(500, 10))


def test_standard_by_features_gives_mean_half_std_0_4(feats):
    out = Scaler.fit(feats, "standard", "features").apply(feats)
    assert out.shape == (500, 10) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(out.mean(axis=0), 0.5, atol=0.02)
    # one standard deviation above the mean lands at 0.5 + 0.4
    one_up = Scaler.fit(feats, "standard", "features").apply(feats.mean(axis=0) + feats.std(axis=0))
    np.testing.assert_allclose(one_up, 0.9, atol=1e-4)
    # clipping at 0.5 +- 1.25 sigma trims a normal distribution's spread from 0.4 to about 0.33
    np.testing.assert_allclose(out.std(axis=0), 0.33, atol=0.03)


def test_minmax_spans_zero_to_one(feats):
    out = Scaler.fit(feats, "minmax", "features").apply(feats)
    np.testing.assert_allclose(out.min(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.max(axis=0), 1.0, atol=1e-6)


def test_across_keeps_relative_means_and_spreads(feats):
    out = Scaler.fit(feats, "minmax", "across").apply(feats)
    assert np.all(np.diff(out.mean(axis=0)) > 0)  # the order of the means survives
    assert out[:, 0].std() < out[:, 9].std()  # and so does the order of the spreads


def test_new_data_outside_the_fitted_range_is_clipped(feats):
    s = Scaler.fit(feats, "standard", "features")
    assert s.apply(feats + 10).max() == 1.0 and s.apply(feats - 10).min() == 0.0


def test_a_constant_component_does_not_divide_by_zero(feats):
    feats[:, 3] = 0.5
    out = Scaler.fit(feats, "standard", "features").apply(feats)
    assert np.isfinite(out).all() and np.allclose(out[:, 3], 0.5)


@pytest.fixture(scope="module")
def corpus_feats():
    """Features with structure: five clusters in 10-d, spread unevenly over directions."""
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1, (5, 10))
    x = np.concatenate([c + rng.normal(0, 0.3, (120, 10)) for c in centres])
    return x @ np.diag(np.linspace(0.2, 0.01, 10)) + 0.5


@pytest.fixture(scope="module")
def fitted(corpus_feats):
    return FittedMapping.fit(corpus_feats, seed=3, fitted_on="test")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scaling", SCALINGS)
def test_every_combination_gives_ten_moving_values_in_unit_range(fitted, corpus_feats, method, kind, scaling):
    track = corpus_feats[100:260]  # one "song" that wanders across two clusters
    out = fitted.transform(track, method, kind, scaling)
    assert out.shape == (160, 10) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert (out.std(axis=0) > 0.01).sum() >= 8, out.std(axis=0)


def test_pca_across_orders_spreads_on_the_fitting_corpus(fitted, corpus_feats, rng):
    for method in ("pca", "kmeans-pca"):
        for kind in ("standard", "minmax"):
            std = fitted.transform(corpus_feats, method, kind, "across").std(axis=0)
            assert np.all(np.diff(std) <= 1e-6), (method, kind, std)
            assert std[0] > 2 * std[9]
        # minmax across is affine on the fitting corpus: PCA's own order survives untouched
        np.testing.assert_array_equal(fitted.arrays[f"{method}.minmax.across.order"], np.arange(10))
    ratio = fitted.arrays["pca.variance_ratio"]
    assert np.all(np.diff(ratio) <= 0) and ratio.sum() == pytest.approx(1.0)
    # standard across clips at 0 and 1; for unimodal (here correlated Gaussian) features that
    # still keeps the order, since clipping trims a wider component more but never below a narrower one
    rotation = np.linalg.qr(rng.normal(size=(10, 10)))[0]
    gauss = rng.normal(size=(2000, 10)) * np.geomspace(1, 0.05, 10) @ rotation * 0.02 + 0.4
    g = FittedMapping.fit(gauss)
    std = g.transform(gauss, "pca", "standard", "across").std(axis=0)
    assert np.all(np.diff(std) <= 1e-6) and std[0] > 5 * std[9], std
    # per-feature scaling gives every component the same spread: the order is gone
    std = g.transform(gauss, "pca", "standard", "features").std(axis=0)
    assert std.max() - std.min() < 0.02


def test_a_segment_on_a_centroid_is_most_similar_to_it(fitted):
    centroids = fitted.arrays["kmeans.centroids"]
    segs = centroids * fitted.arrays["input.scale"] + fitted.arrays["input.mean"]  # back to feature space
    sims = fitted.components(segs, "kmeans")
    assert np.array_equal(sims.argmax(axis=1), np.arange(10))
    scaled = fitted.transform(segs, "kmeans", "minmax", "features")
    assert np.array_equal(scaled.argmax(axis=1), np.arange(10)) or np.all(scaled[np.arange(10), np.arange(10)] == 1)
    # scale / (distance + scale): 1 on the centroid, 1/2 at the scale, then falling as 1 / distance
    z = np.array([[0.0, 0.0], [3.0, 4.0], [30.0, 40.0]])
    np.testing.assert_allclose(similarity(z, np.zeros((1, 2)), 5.0), [[1.0], [0.5], [5 / 55]], rtol=1e-12)
    # mappings fitted before the scale existed keep the formula their scalers were fitted on
    np.testing.assert_allclose(similarity(z[1:2], np.zeros((1, 2))), [[1 / 5]], rtol=1e-6)


def test_kmeans_similarity_stays_finite_on_repeated_segments_and_digital_silence():
    # a loop repeated note for note and a stretch of digital silence: K-Means puts centroids
    # exactly on them, where 1 / distance was a million times every other similarity
    rng = np.random.default_rng(3)
    music = rng.normal(size=(300, 12))
    loop = np.repeat(rng.normal(size=(1, 12)), 80, axis=0)
    silence = np.zeros((80, 12))
    feats = np.concatenate([music, loop, silence])
    m = FittedMapping.fit(feats, seed=0)
    scale = float(m.arrays["kmeans.scale"][0])
    assert 0.5 < scale < 5  # the median distance to the nearest centroid of standardised features
    sims = m.components(feats, "kmeans")
    assert sims.max() <= 1.0 and sims.min() > 0
    # the repeated segments sit on (or next to) centroids: the most similar segments, yet finite
    assert sims[300:].max(axis=1).min() > 0.8 > np.percentile(sims[:300].max(axis=1), 90)
    # scaled per component, the music still moves: the repeated segments no longer squash it to 0
    scaled = m.transform(feats, "kmeans", "minmax", "features")
    assert scaled[:300].std(axis=0).min() > 0.05


def test_fitting_twice_gives_identical_state_and_parameters(tmp_path, corpus_feats):
    a, b = FittedMapping.fit(corpus_feats, seed=7), FittedMapping.fit(corpus_feats, seed=7)
    assert a.arrays.keys() == b.arrays.keys() and a.meta == b.meta
    assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)
    back = FittedMapping.load(a.save(tmp_path / "m"))
    assert back.meta == a.meta and back.arrays.keys() == a.arrays.keys()
    for method in METHODS:
        np.testing.assert_array_equal(back.transform(corpus_feats, method), a.transform(corpus_feats, method))
    # a different seed moves K-Means (the only seeded part) and nothing else
    c = FittedMapping.fit(corpus_feats, seed=8)
    assert np.array_equal(a.arrays["pca.axes"], c.arrays["pca.axes"])


def test_fitted_mapping_is_plain_arrays_with_a_readable_summary(tmp_path, fitted):
    path = fitted.save(tmp_path / "mapping")
    assert path == tmp_path / "mapping.npz"
    with np.load(path, allow_pickle=False) as z:  # nothing in it needs unpickling
        assert {"raw.standard.features.offset", "pca.axes", "kmeans.centroids", "kmeans-pca.axes"} <= set(z.files)
    summary = json.loads((tmp_path / "mapping.json").read_text())
    assert summary["methods"] == list(METHODS) and summary["segments"] == 600 and len(summary["pca_variance_ratio"]) == 10
    assert FittedMapping.load(tmp_path / "mapping").meta == fitted.meta  # the suffix may be left out
    with pytest.raises(ConfigError, match="no such fitted mapping"):
        FittedMapping.load(tmp_path / "nothing")


def test_wide_features_get_every_method_but_raw(rng):
    m = FittedMapping.fit(rng.random((50, 64)))
    assert m.methods == ("pca", "kmeans", "kmeans-pca")
    assert m.transform(rng.random((5, 64)), "kmeans").shape == (5, 10)
    with pytest.raises(ConfigError, match="exactly 10 features.*use --mapping pca"):
        m.transform(rng.random((5, 64)))
    with pytest.raises(ConfigError, match="fitted on 64"):
        m.transform(rng.random((5, 10)), "pca")


def test_fitting_needs_ten_segments(rng):
    with pytest.raises(ConfigError, match="at least 10 segments"):
        FittedMapping.fit(rng.random((9, 10)))


def test_a_pickle_is_not_a_mapping(tmp_path):
    import pickle

    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(ModelError, match="not a fitted mapping"):
        FittedMapping.load(path)


def test_fixed_order_sends_component_i_to_the_ith_most_important_param():
    names = [f"p{i}" for i in range(10)]
    importance = ["p4", "p5", "p3", "p6", "p2", "p7", "p1", "p8", "p0", "p9"]
    perm = fixed_order(names, importance)
    comps = np.tile(np.arange(10, dtype=np.float32), (3, 1))
    params = apply_order(comps, perm)
    assert params[0, 4] == 0 and params[0, 5] == 1 and params[0, 9] == 9
    with pytest.raises(ValueError):
        fixed_order(names, importance[:-1] + ["p4"])


def test_random_order_is_a_seeded_permutation():
    a, b, c = random_order(10, 1), random_order(10, 1), random_order(10, 2)
    assert sorted(a.tolist()) == list(range(10)) and np.array_equal(a, b) and not np.array_equal(a, c)


def test_named_order_assigns_components_in_turn_and_the_rest_by_importance():
    names = [f"p{i}" for i in range(10)]
    importance = names[::-1]
    perm = resolve_order("p3, p0", names, importance, seed=0)
    assert perm[0] == 3 and perm[1] == 0 and perm[2] == 9 and sorted(perm.tolist()) == list(range(10))
    with pytest.raises(ConfigError, match="'hue', which the scene does not have; its parameters are: p0, p1"):
        resolve_order("p1,hue", names, importance, 0)
    with pytest.raises(ConfigError, match="'p1' more than once"):
        resolve_order("p1,p1", names, importance, 0)


def test_mapping_config_resolves_auto_per_method():
    c = MappingConfig()
    assert c.method_for(10) == "raw" and c.method_for(4096) == "pca"
    assert c.scaling_for("pca") == "across" and c.scaling_for("kmeans") == "features"
    assert MappingConfig(scaling="features").scaling_for("pca") == "features"
    with pytest.raises(ConfigError, match="mapping 'tsne' is not one of"):
        MappingConfig(method="tsne")
    with pytest.raises(ConfigError, match="order ',a' is not"):
        MappingConfig(order=",a")
