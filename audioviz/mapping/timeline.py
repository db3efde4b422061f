"""From one value per segment to one value per video frame.

Frame f shows time f / fps (exact, never a running sum). Values are linearly interpolated
between segment centres (held before the first and after the last), then smoothed by an
exponential moving average defined by a time constant, so that a render at 30 fps and one at
60 fps follow the same curve.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def frame_count(duration: float, fps: Fraction) -> int:
    """round(duration * fps), halves rounded up, at least one frame."""
    return max(1, math.floor(duration * float(fps) + 0.5))


def frame_times(n_frames: int, fps: Fraction) -> np.ndarray:
    return np.arange(n_frames, dtype=np.float64) * (fps.denominator / fps.numerator)


def interpolate(values: np.ndarray, centres: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(N, P) values at segment centres -> (len(t), P), linear in between, held at the ends."""
    if len(centres) == 1:
        return np.repeat(values[:1], len(t), axis=0)
    j = np.clip(np.searchsorted(centres, t, side="right"), 1, len(centres) - 1)
    c0, c1 = centres[j - 1], centres[j]
    w = np.clip((t - c0) / (c1 - c0), 0.0, 1.0)[:, None]
    return values[j - 1] * (1.0 - w) + values[j] * w


def hold(values: np.ndarray, starts: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(N, P) -> (len(t), P): each frame takes the latest segment that has begun."""
    j = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
    return values[j]


def smooth(x: np.ndarray, dt: float, time_constant: float) -> np.ndarray:
    """Exponential moving average along axis 0 with time constant `time_constant` seconds.

    The input is taken as linear between samples and the low-pass filter solved exactly over
    each step, rather than stepping a per-frame factor: a per-frame EMA lags by about
    tau - dt/2, so renders at 30 and 60 fps would drift apart on every rise and fall.
    """
    if time_constant <= 0 or len(x) < 2:
        return x
    a = math.exp(-dt / time_constant)
    # y_n = a y_(n-1) + x_n - a x_(n-1) - (tau/dt)(1 - a)(x_n - x_(n-1))
    k = time_constant / dt * (1.0 - a)
    out = np.empty_like(x)
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = a * out[i - 1] + x[i] - a * x[i - 1] - k * (x[i] - x[i - 1])
    return out


def frame_values(
    values: np.ndarray,
    centres: np.ndarray,
    starts: np.ndarray,
    n_frames: int,
    fps: Fraction,
    interpolate_segments: bool = True,
    smoothing: float = 0.0,
) -> np.ndarray:
    """(N, P) per-segment values -> (n_frames, P) float32 per-frame values."""
    values = np.asarray(values, dtype=np.float64)
    t = frame_times(n_frames, fps)
    per_frame = interpolate(values, centres, t) if interpolate_segments else hold(values, starts, t)
    per_frame = smooth(per_frame, float(1 / fps), smoothing)
    return np.ascontiguousarray(per_frame, dtype=np.float32)
