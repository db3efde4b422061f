"""The musicnn taggers' frontend: a 96-band log-mel spectrogram at 16 kHz, cut into 3 s patches.

What the taggers were trained on, reproduced value for value: librosa's power mel spectrogram
(a centred STFT of 512 samples every 256, a periodic Hann window, Slaney's mel filters, the
signal padded with zeros at both ends as librosa 0.10 and later pad it), rounded to float16 as
musicnn stores it, then compressed as log10(1 + 10000 x). The rounding is kept because it is
part of the input: without it the log-mel differs by up to 2e-4, and on real music the tag
probabilities by up to 6e-5, most of the 1e-4 the port is held to (with it: 2e-6).

The STFT runs in float64, as numpy's FFT does for librosa, and is rounded to complex64 where
librosa stores it; only the sum over each mel filter's bins is float32, as in librosa.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import AudioTooShortError
from .frontend import SAMPLE_RATES, FrontendSettings, Segments, cut_segments, mel_filters

MAX_N_FFT = 1 << 14
MAX_N_MELS = 512
MAX_FRAMES_PER_SEGMENT = 4_096


def _int(name: str, value, lo: int, hi: int) -> None:
    if type(value) is not int:  # bool is an int to Python; 96.0 would fail later, less clearly
        raise ValueError(f"frontend {name} {value!r} is not a whole number")
    if not lo <= value <= hi:
        raise ValueError(f"frontend {name} {value} is out of range ({lo} to {hi})")


@dataclass(frozen=True)
class LogMelConfig(FrontendSettings):
    sample_rate: int = 16_000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 96
    frames_per_segment: int = 187  # 3 s: librosa.time_to_frames(3) + 1, musicnn's patch
    top_db: float = 80.0  # floor of `mel_db`, the spectrogram the rhythm is found in

    def __post_init__(self) -> None:
        """Every value checked (ValueError naming it): a checkpoint carries these."""
        _int("sample_rate", self.sample_rate, *SAMPLE_RATES)
        _int("n_fft", self.n_fft, 16, MAX_N_FFT)
        _int("hop_length", self.hop_length, 1, self.n_fft)
        _int("n_mels", self.n_mels, 1, min(MAX_N_MELS, self.n_fft // 2 + 1))
        _int("frames_per_segment", self.frames_per_segment, 1, MAX_FRAMES_PER_SEGMENT)
        if type(self.top_db) not in (int, float) or not math.isfinite(self.top_db) or self.top_db <= 0:
            raise ValueError(f"frontend top_db {self.top_db!r} is not a positive number of decibels")

    @property
    def input_shape(self) -> tuple[int, int]:
        """(rows, frames) of one network input."""
        return self.n_mels, self.frames_per_segment


def compress(power: torch.Tensor) -> torch.Tensor:
    """Mel power -> what musicnn's networks hear: log10(1 + 10000 x) of x rounded to float16
    (musicnn casts the spectrogram to float16 first; numpy 1.x then computes the log in float32)."""
    return torch.log10(power.half().float() * 10_000.0 + 1.0)


class LogMelFrontend:
    """Mel power, its dB form for the rhythm, and the networks' 3 s patches of one track.

    The STFT runs in chunks (`chunk_frames`), so that an hour of audio never needs its whole
    complex spectrum at once; a frame's samples are the same as in one centred STFT of the
    whole zero-padded track, so the result is too.
    """

    chunk_frames = 2_000  # 32 s: its float64 spectrum stays near 8 MB

    def __init__(self, config: LogMelConfig = LogMelConfig(), device: str | torch.device = "cpu"):
        self.config = c = config
        self.device = torch.device(device)
        self.window = torch.hann_window(c.n_fft, periodic=True, dtype=torch.float64, device=self.device)
        filters = mel_filters(c.sample_rate, c.n_fft, c.n_mels, dtype=torch.float64)
        if bool((filters.max(dim=0).values == 0).any()):
            raise ValueError(f"frontend n_mels {c.n_mels} is too many for n_fft {c.n_fft} at "
                             f"{c.sample_rate} Hz: some mel filters would hold no FFT bin")
        self.filters = filters.float().to(self.device)  # (freqs, n_mels)

    def power(self, samples: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(n_samples,) mono audio -> (n_mels, n_frames) mel power, n_frames = 1 + n // hop."""
        c = self.config
        x = torch.as_tensor(samples, dtype=torch.float32, device=self.device)
        half = c.n_fft // 2
        if x.numel() <= half:
            raise AudioTooShortError(f"audio of {x.numel()} samples is too short for one spectrogram frame")
        n_frames = 1 + x.numel() // c.hop_length
        out = torch.empty(c.n_mels, n_frames, device=self.device)
        for a in range(0, n_frames, self.chunk_frames):
            b = min(n_frames, a + self.chunk_frames)
            part = _zero_padded(x, a * c.hop_length - half, (b - 1) * c.hop_length + c.n_fft - half)
            spec = torch.stft(part.double(), c.n_fft, c.hop_length, window=self.window, center=False,
                              return_complex=True)
            out[:, a:b] = self.filters.T @ spec.to(torch.complex64).abs().square()
        return out

    def mel_db(self, samples: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(n_mels, n_frames) mel power in dB, floored top_db below its loudest: the form the
        rhythm analysis reads (as the MFCC frontend's `mel_db`)."""
        db = self.power(samples).clamp_(min=1e-10).log10_().mul_(10.0)
        return db.clamp_(min=float(db.max()) - self.config.top_db)

    def log_mel(self, samples: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(n_mels, n_frames): the spectrogram the networks hear."""
        return compress(self.power(samples))

    def segments(self, samples: np.ndarray | torch.Tensor, hop: int | None = None) -> Segments:
        """Patches of 3 s every `hop` frames (None: back to back, as musicnn cuts a song), plus
        one ending at the song's end where they stop short of it (musicnn drops that tail).
        Audio shorter than one patch is an AudioTooShortError, as for every other model."""
        return cut_segments(self.log_mel(samples), self.config, hop)


def _zero_padded(x: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """x[lo:hi], with zeros where the range runs past either end."""
    n = x.numel()
    before, after = max(0, -lo), max(0, hi - n)
    inner = x[max(lo, 0) : min(hi, n)]
    if not before and not after:
        return inner
    return torch.nn.functional.pad(inner, (before, after))
