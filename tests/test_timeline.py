from fractions import Fraction

import numpy as np
import pytest

from audioviz.mapping.timeline import frame_count, frame_times, frame_values, hold, interpolate, smooth


def test_frame_count_rounds_half_up():
    assert frame_count(10.0, Fraction(30)) == 300
    assert frame_count(10.016, Fraction(30)) == 300
    assert frame_count(10.017, Fraction(30)) == 301
    assert frame_count(1.0, Fraction(30000, 1001)) == 30
    np.testing.assert_allclose(frame_times(3, Fraction(30000, 1001)), [0, 1001 / 30000, 2002 / 30000])


def test_interpolation_passes_through_centres_and_holds_the_ends():
    centres = np.array([0.5, 1.5, 2.5])
    values = np.array([[0.0], [1.0], [0.0]])
    t = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    np.testing.assert_allclose(interpolate(values, centres, t)[:, 0], [0, 0, 0.5, 1, 0.5, 0, 0])


def test_hold_steps_at_segment_starts():
    starts = np.array([0.0, 0.96, 1.92])
    values = np.array([[1.0], [2.0], [3.0]])
    np.testing.assert_allclose(hold(values, starts, np.array([0.0, 0.95, 0.96, 2.5]))[:, 0], [1, 1, 2, 3])


def step_response(fps: int, tau: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(3 * fps)) / fps
    x = (t >= 1.0).astype(float)[:, None]
    return t, smooth(x, 1 / fps, tau)[:, 0]


def test_smoothing_is_a_time_constant_not_a_per_frame_factor():
    tau = 0.25
    for fps in (24, 30, 60, 120):
        t, y = step_response(fps, tau)
        # one time constant after the step, an EMA has covered 1 - 1/e of it, at any fps
        assert np.interp(1.0 + tau, t, y) == pytest.approx(1 - np.exp(-1), abs=0.07)
    t30, y30 = step_response(30, tau)
    t60, y60 = step_response(60, tau)
    np.testing.assert_allclose(np.interp(t30, t60, y60), y30, atol=0.07)


def test_no_smoothing_is_identity(rng):
    x = rng.random((20, 10))
    assert smooth(x, 1 / 30, 0.0) is x


def test_frame_values_shape_range_and_tail():
    centres = np.array([0.475, 1.435, 2.03])  # the last one is the overlapping tail segment
    starts = centres - 0.475
    values = np.array([[0.0] * 10, [1.0] * 10, [0.5] * 10])
    out = frame_values(values, centres, starts, frame_count(2.5, Fraction(30)), Fraction(30), True, 0.1)
    assert out.shape == (75, 10) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert out[-1, 0] == pytest.approx(0.5, abs=0.05)  # the tail's own value, held to the end


def test_30_and_60_fps_follow_the_same_parameter_curve(rng):
    values = rng.random((40, 10))
    centres, starts = 0.48 + 0.96 * np.arange(40), 0.96 * np.arange(40)
    n30 = frame_count(40 * 0.96, Fraction(30))
    at30 = frame_values(values, centres, starts, n30, Fraction(30), True, 0.2)
    at60 = frame_values(values, centres, starts, 2 * n30, Fraction(60), True, 0.2)
    # every other 60 fps frame is a 30 fps instant; the curves agree there
    np.testing.assert_allclose(at60[::2], at30, atol=2e-3)
    # and they do move: the agreement is not two flat lines
    assert at30.std(axis=0).min() > 0.05


def test_smoothing_follows_a_ramp_with_a_lag_of_one_time_constant():
    fps, tau = 30, 0.25
    t = np.arange(300) / fps
    y = smooth(t[:, None].copy(), 1 / fps, tau)[:, 0]
    # a continuous low-pass filter trails a unit ramp by exactly tau once settled
    np.testing.assert_allclose(t[-50:] - y[-50:], tau, atol=1e-6)
