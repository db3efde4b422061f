"""What a scene is given, frame by frame: the learned features' parameters, scene time and the
pulse, with the music's loudness and activity in all three.

The features set the look of each part of a song; what they cannot give is the short time
scale and the sense of loudness. So, from the audio itself (rhythm.py):

- the pulse: each onset kicks the scene on its own frame, beats more, decaying over ~0.1 s;
- loudness: a gain from the momentary loudness, 1 at the track's median and above, falling to
  0 15 dB below it and in silence (-60 dBFS). It scales the pulse, blends the parameters
  towards the scene's rest and slows scene time, so quiet passages move less, a drop after a
  breakdown shows, and silence stands still (settling over the SETTLE seconds before it);
- activity: how much the spectrum changes (the flux over half a second), ranked within the
  song, 0 at its calmest moment and 1 at its busiest. Scene time runs from a tenth of the
  clock's pace to twice it, the parameters follow the features at a rate of activity squared
  (they move on to the next section's look where the music moves, and hold still where it
  holds), and a pulse in a calm passage is a fifth of one in the busiest. Measured on held-out
  music (BENCHMARKS.md, section 9), letting the parameters move only as fast as the music is
  busy is what lifts the correlation of visual and musical change from about 0.3 to above
  0.5: the pulse marks single hits, but over half a second most of what the eye sees change
  is the parameters.

`--energy` (TimelineConfig.energy) sets how much of loudness and activity acts: at 0 values,
time and pulse are exactly what the features and onsets give.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .config import TimelineConfig
from .mapping.timeline import frame_times
from .rhythm import Rhythm, beat_phase, frame_of, loudness_at, pulse, ranks
from .scenes.base import Pulse, Scene

SILENCE_DB = -60.0  # at and below this a track is silent: the picture stands still
AUDIBLE_DB = 12.0  # dB above silence where the gain may reach 1
SPAN_DB = 15.0  # dB below the track's median loudness where the gain reaches 0
LOUDNESS_WINDOW = 0.4  # seconds: momentary loudness, not each drum hit
SETTLE = 0.4  # seconds over which the picture comes to rest before a silence
PULSE_DECAY = 0.12  # seconds for a pulse to fall to 1/e: gone within the next eighth note at 120 bpm
ACTIVITY_WINDOW = 0.5  # seconds of flux: a phrase's busyness, not each hit (the pulse shows those)
ACTIVITY_PACE = (0.1, 2.0)  # scene pace at the song's calmest and busiest moments
CALM_PULSE = 0.2  # a pulse at the song's calmest moment, as a share of one at its busiest


@dataclass(frozen=True)
class Motion:
    """Per-frame drive of one scene: F frames of everything it is given."""

    values: np.ndarray  # (F, 10) float32 parameters in [0, 1]
    time: np.ndarray  # (F,) scene time in seconds
    dt: np.ndarray  # (F,) scene seconds each frame
    pulse: np.ndarray  # (F,) float32 in [0, 1]
    beat: np.ndarray  # (F,) float32 in [0, 1)
    count: np.ndarray  # (F,) onsets so far
    energy: np.ndarray  # (F,) float32 in [0, 1]: the loudness gain

    def __len__(self) -> int:
        return len(self.values)

    def draw(self, scene: Scene, f: int) -> None:
        """Draw frame `f` of `scene`."""
        scene.pulse = Pulse(float(self.pulse[f]), float(self.beat[f]), int(self.count[f]))
        scene.draw(float(self.time[f]), float(self.dt[f]), self.values[f])

    def head(self, n: int) -> Motion:
        """The first `n` frames."""
        return Motion(*(getattr(self, k)[:n] for k in self.__dataclass_fields__))


def energy_gain(rhythm: Rhythm, times: np.ndarray) -> np.ndarray:
    """(len(times),) gain in [0, 1] from the momentary loudness at the frame times `times` (see
    the module's docstring). Before a silence it falls to 0 over SETTLE seconds, reaching it a
    frame early, so the picture stands still from its first silent frame on; after one it wakes
    with the music."""
    level = loudness_at(rhythm, times, LOUDNESS_WINDOW)
    audible = rhythm.loudness[rhythm.loudness > SILENCE_DB]
    if audible.size == 0:
        return np.zeros(len(times), np.float32)
    median = float(np.median(audible))
    relative = (level - (median - SPAN_DB)) / SPAN_DB
    absolute = (level - SILENCE_DB) / AUDIBLE_DB
    gain = np.minimum(relative, absolute)
    silent = np.flatnonzero(level <= SILENCE_DB)
    if silent.size and len(times) > 1:
        ahead = np.searchsorted(silent, np.arange(len(times)))  # the next silent frame's index in `silent`
        frames_to = np.where(ahead < silent.size, silent[np.minimum(ahead, silent.size - 1)] - np.arange(len(times)),
                             np.iinfo(np.int64).max)
        settle = SETTLE / float(times[1] - times[0])  # in frames
        gain = np.minimum(gain, (frames_to - 1) / settle)
    return np.clip(gain, 0.0, 1.0).astype(np.float32)


def activity(rhythm: Rhythm, times: np.ndarray) -> np.ndarray | None:
    """(len(times),) in [0, 1]: the mean flux over ACTIVITY_WINDOW around each time, as its rank
    among all of them (a song is compared with itself: a steady ambient track and a drum solo
    both use the whole range). None where the flux never changes: nothing to rank."""
    flux = rhythm.flux.astype(np.float64)
    if len(times) == 0 or flux.size == 0 or np.ptp(flux) == 0:
        return None
    half = max(1, round(ACTIVITY_WINDOW * rhythm.rate / 2))
    summed = np.concatenate([[0.0], np.cumsum(flux)])
    at = np.clip(np.rint(times * rhythm.rate).astype(np.int64), 0, flux.size - 1)
    lo, hi = np.maximum(at - half, 0), np.minimum(at + half + 1, flux.size)
    busy = (summed[hi] - summed[lo]) / (hi - lo)
    return ((ranks(busy) - 0.5) / len(busy)).astype(np.float32)


def follow(values: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """values[f] approached from the previous output by rate[f] of the way (1: taken as is)."""
    out = values.copy()
    for f in np.flatnonzero(rate < 1.0):
        if f:
            out[f] = out[f - 1] + rate[f] * (values[f] - out[f - 1])
    return out


def plan(values: np.ndarray, rhythm: Rhythm | None, fps: Fraction, timeline: TimelineConfig = TimelineConfig(),
         rest: float = Scene.rest) -> Motion:
    """The Motion of frames showing per-frame parameters `values` (F, 10) at `fps`, driven by
    `rhythm` as `timeline` says (None: no rhythm, features alone, as in the paper)."""
    n = len(values)
    spf = float(1 / fps)
    values = np.asarray(values, np.float32)
    if rhythm is None:
        gain = pace = np.ones(n, np.float32)
        kick, phase, count = np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.int64)
    else:
        times = frame_times(n, fps)
        loud, busy = energy_gain(rhythm, times), activity(rhythm, times)
        amount = np.float32(timeline.energy)
        gain = 1.0 - amount * (1.0 - loud)
        kick = pulse(rhythm, n, fps, PULSE_DECAY) * np.float32(timeline.pulse) * gain
        if busy is None:
            pace = gain
        else:
            slow, fast = ACTIVITY_PACE
            pace = 1.0 - amount * (1.0 - loud * (slow + (fast - slow) * busy))
            values = follow(values, 1.0 - amount * (1.0 - busy * busy))
            kick *= 1.0 - amount * (1.0 - CALM_PULSE) * (1.0 - busy)
        phase = beat_phase(rhythm, n, fps)
        count = np.searchsorted(frame_of(rhythm.onsets, fps), np.arange(n), side="right")
    # where the gain is 1 the values are left exactly as they are (rest + (v - rest) is not v in floats)
    values = np.where(gain[:, None] < 1.0, rest + (values - rest) * gain[:, None], values).astype(np.float32)
    dt = pace.astype(np.float64) * spf
    if (pace == 1.0).all():  # exactly f / fps, as without energy
        time = frame_times(n, fps)
    else:  # frame f shows what the frames before it moved
        time = np.concatenate([[0.0], np.cumsum(dt[:-1])])
    return Motion(values, time, dt, kick.astype(np.float32), phase.astype(np.float32), count,
                  gain.astype(np.float32))


def steady(values: np.ndarray, fps: Fraction) -> Motion:
    """Per-frame parameters alone, at `fps`: no pulse, time f / fps."""
    return plan(values, None, fps)
