"""Synthesise examples/demo.ogg: 32 s of music in four sections, made here so it needs no licence.

    python examples/make_demo.py            # writes examples/demo.ogg

Intro pads, a groove with drums and bass, a breakdown of plucked arpeggios with a noise riser,
and a full climax: sections that sound different should look different in the video.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

SR = 44_100
BPM = 120
BEAT = 60 / BPM
LENGTH = 32.0
rng = np.random.default_rng(7)
t_all = np.arange(int(SR * LENGTH)) / SR


def note_hz(n: float) -> float:
    return 440.0 * 2 ** ((n - 69) / 12)


def envelope(n: int, attack: float, release: float) -> np.ndarray:
    t = np.arange(n) / SR
    env = np.minimum(1.0, t / max(attack, 1e-4))
    return env * np.exp(-t / release)


def place(track: np.ndarray, start: float, sound: np.ndarray, gain: float = 1.0) -> None:
    i = int(start * SR)
    j = min(len(track), i + len(sound))
    if i < j:
        track[i:j] += gain * sound[: j - i]


def pad(freqs, dur):
    t = np.arange(int(dur * SR)) / SR
    s = sum(np.sin(2 * np.pi * f * t + np.sin(2 * np.pi * 0.3 * t)) + 0.3 * np.sin(4 * np.pi * f * t) for f in freqs)
    fade = np.minimum(1, t / 0.8) * np.minimum(1, (dur - t) / 0.6)
    return s * fade / len(freqs)


def kick():
    t = np.arange(int(0.35 * SR)) / SR
    f = 45 + 90 * np.exp(-t * 30)
    return np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t * 9)


def snare():
    n = int(0.25 * SR)
    t = np.arange(n) / SR
    return (0.7 * rng.standard_normal(n) + 0.5 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 18)


def hat():
    n = int(0.06 * SR)
    noise = np.diff(rng.standard_normal(n + 1))  # a crude high-pass
    return noise * np.exp(-np.arange(n) / SR * 70) * 0.5


def pluck(freq, dur=0.4):
    n = int(dur * SR)
    t = np.arange(n) / SR
    saw = 2 * ((freq * t) % 1.0) - 1
    return (0.6 * saw + 0.4 * np.sin(2 * np.pi * freq * t)) * envelope(n, 0.003, 0.12)


def bass(freq, dur):
    n = int(dur * SR)
    t = np.arange(n) / SR
    return np.tanh(2.5 * np.sin(2 * np.pi * freq * t)) * envelope(n, 0.005, 0.35)


def synthesise() -> np.ndarray:
    left, right = np.zeros_like(t_all), np.zeros_like(t_all)
    chords = [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)]  # Am F C G
    bar = 4 * BEAT
    for k in range(int(LENGTH / bar)):
        start = k * bar
        section = "intro" if start < 8 else "groove" if start < 16 else "break" if start < 22 else "climax" if start < 30 else "outro"
        root = chords[k % 4]
        if section in ("intro", "climax", "outro"):
            p = pad([note_hz(n) for n in root], bar)
            place(left, start, p, 0.22)
            place(right, start, p, 0.18)
        for b in range(4):
            beat = start + b * BEAT
            if section in ("groove", "climax"):
                place(left, beat, kick(), 0.9)
                place(right, beat, kick(), 0.9)
                for e in (0, 0.5):
                    place(left, beat + e * BEAT, hat(), 0.25)
                    place(right, beat + (e + 0.02) * BEAT, hat(), 0.3)
                place(left, beat + 0.5 * BEAT, bass(note_hz(root[0] - 24), 0.45), 0.35)
                place(right, beat + 0.5 * BEAT, bass(note_hz(root[0] - 24), 0.45), 0.35)
            if section == "climax" and b in (1, 3):
                place(left, beat, snare(), 0.45)
                place(right, beat, snare(), 0.45)
            if section in ("break", "climax"):
                for s, n in enumerate((0, 1, 2, 1)):
                    f = note_hz(root[n] + 12 + (12 if section == "climax" and s % 2 else 0))
                    place(left if s % 2 else right, beat + s * BEAT / 4, pluck(f), 0.22)
        if section == "break":  # a noise riser into the climax
            n = int(bar * SR)
            ramp = np.linspace(0, 1, n) ** 3
            riser = np.diff(rng.standard_normal(n + 1)) * ramp * 0.08
            place(left, start, riser)
            place(right, start, riser)
    stereo = np.stack([left, right], axis=1)
    fade = np.minimum(1.0, (LENGTH - t_all) / 2.0)[:, None]
    stereo *= fade
    return stereo / np.abs(stereo).max() * 0.89


def main(out: Path) -> None:
    import imageio_ffmpeg

    pcm = synthesise().astype("<f4").tobytes()
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "f32le", "-ar", str(SR), "-ac", "2",
         "-i", "pipe:0", "-c:a", "libvorbis", "-q:a", "3", "-map_metadata", "-1", "-fflags", "+bitexact",
         str(out)],
        input=pcm, check=True,
    )
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB, {LENGTH:.0f} s)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("demo.ogg"))
