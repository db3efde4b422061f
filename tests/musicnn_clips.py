"""The synthetic clips the musicnn port is checked on, made the same way wherever they are
needed: by scripts/convert_musicnn.py, which runs the original musicnn on them (numpy only, so
that it imports in the TensorFlow environment too), and by tests/test_musicnn.py.

Each is 3.5 s at 16 kHz, float32, from a seeded generator and float64 arithmetic rounded once.
"""

from __future__ import annotations

import numpy as np

SR = 16_000
SECONDS = 3.5
# the original's patches: 187 frames every 30 (librosa.time_to_frames(0.5 s) at hop 256)
PATCH_STEP_S = 0.5


def _noise_chirp_clicks(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White noise, a linear chirp from 100 Hz to 6 kHz and a click every quarter second."""
    chirp = 0.3 * np.sin(2 * np.pi * (100 * t + (6000 - 100) / (2 * SECONDS) * t**2))
    clicks = np.zeros_like(t)
    clicks[:: SR // 4] = 0.8
    return 0.05 * rng.standard_normal(t.size) + chirp + clicks


def _chords_and_drums(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Four chords of three harmonic tones, a decaying 60 Hz kick every half second and
    noise hats on the off-beats."""
    roots = (220.0, 174.6, 261.6, 196.0)
    chord_of = np.minimum((t / (SECONDS / 4)).astype(int), 3)
    x = np.zeros_like(t)
    for i, root in enumerate(roots):
        on = chord_of == i
        for ratio in (1.0, 1.26, 1.5):
            for k in (1, 2, 3):
                x[on] += 0.08 / k * np.sin(2 * np.pi * root * ratio * k * t[on])
    beat = t % 0.5
    x += 0.6 * np.exp(-beat / 0.08) * np.sin(2 * np.pi * 60 * beat)
    off = np.abs(beat - 0.25) < 0.03
    x[off] += 0.15 * rng.standard_normal(int(off.sum()))
    return x


def _quiet_then_loud(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Digital silence, noise 60 dB down, then a loud buzz (a clipped sawtooth with noise),
    and silence again for the last 0.2 s: the spectrogram's full range and both zero-padded ends."""
    x = np.zeros_like(t)
    quiet = (t >= 0.5) & (t < 1.5)
    x[quiet] = 0.001 * rng.standard_normal(int(quiet.sum()))
    loud = (t >= 1.5) & (t < SECONDS - 0.2)
    saw = 2 * ((110 * t) % 1.0) - 1
    x[loud] = np.clip(1.5 * saw[loud], -0.9, 0.9) + 0.1 * rng.standard_normal(int(loud.sum()))
    return x


RECIPES = (("noise_chirp_clicks", _noise_chirp_clicks), ("chords_and_drums", _chords_and_drums),
           ("quiet_then_loud", _quiet_then_loud))


def clips() -> dict[str, np.ndarray]:
    """name -> (56000,) float32 mono samples at 16 kHz."""
    t = np.arange(int(SECONDS * SR)) / SR
    return {name: make(t, np.random.default_rng([16, i])).astype(np.float32) for i, (name, make) in enumerate(RECIPES)}
