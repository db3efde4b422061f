import numpy as np
import pytest

from audioviz.errors import ConfigError, ModelError
from audioviz.mapping.fitted import FittedMapping
from audioviz.mapping.order import apply_order, fixed_order
from audioviz.mapping.scaling import Scaler


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


def test_fitted_mapping_round_trips_as_plain_arrays(tmp_path, feats):
    m = FittedMapping.fit(feats, fitted_on="test")
    path = m.save(tmp_path / "mapping")
    assert path.suffix == ".npz"
    with np.load(path, allow_pickle=False) as z:  # nothing in it needs unpickling
        assert "raw.standard.features.offset" in z.files
    back = FittedMapping.load(path)
    assert back.meta == m.meta
    for kind in ("standard", "minmax"):
        for scaling in ("features", "across"):
            np.testing.assert_array_equal(back.transform(feats, "raw", kind, scaling), m.transform(feats, "raw", kind, scaling))


def test_fitting_twice_gives_identical_state(feats):
    a, b = FittedMapping.fit(feats), FittedMapping.fit(feats)
    assert a.arrays.keys() == b.arrays.keys()
    assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)


def test_raw_needs_ten_features(rng):
    m = FittedMapping.fit(rng.random((50, 64)))
    with pytest.raises(ConfigError, match="exactly 10 features"):
        m.transform(rng.random((5, 64)))
    with pytest.raises(ConfigError, match="fitted on 64"):
        m.transform(rng.random((5, 10)))


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
