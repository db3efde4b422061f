"""The paper's MFCC frontend: 64 coefficients every 10 ms, cut into 0.96 s segments of 96 frames."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from ..errors import AudioTooShortError

# What a checkpoint's frontend may ask for. The bounds are far beyond any sensible MFCC setting
# and only keep a crafted file from hanging the decoder (a rate of 0 Hz) or asking for
# gigabytes of filters (an n_fft of 10**9).
SAMPLE_RATES = (1_000, 768_000)  # Hz: what audio formats and ffmpeg's resampler handle
MAX_N_FFT = 1 << 16
MAX_N_MELS = 1_024
MAX_FRAMES_PER_SEGMENT = 4_096


def _int(name: str, value, lo: int, hi: int) -> None:
    # bool is an int to Python, and 96.0 or "96" would fail later in torch with a less useful message
    if type(value) is not int:
        raise ValueError(f"frontend {name} {value!r} is not a whole number")
    if not lo <= value <= hi:
        raise ValueError(f"frontend {name} {value} is out of range ({lo} to {hi})")


class FrontendSettings:
    """What every frontend's settings (a frozen dataclass) share: read from a checkpoint's dict,
    written back to one, and the length of one network input."""

    @classmethod
    def from_dict(cls, d):
        """The frontend a checkpoint describes; absent values take the defaults (ValueError for
        anything else: not a dict, unknown names, bad values)."""
        if not isinstance(d, dict):
            raise ValueError(f"frontend is a {type(d).__name__}, not a dict of settings")
        unknown = sorted(map(str, set(d) - {f.name for f in fields(cls)}))
        if unknown:
            raise ValueError(f"frontend has unknown settings {', '.join(unknown)}")
        return cls(**d)

    @property
    def segment_seconds(self) -> float:
        return self.frames_per_segment * self.hop_length / self.sample_rate

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FrontendConfig(FrontendSettings):
    sample_rate: int = 44_100
    n_mfcc: int = 64
    n_fft: int = 1_102  # 25 ms
    hop_length: int = 441  # 10 ms
    n_mels: int = 128
    frames_per_segment: int = 96
    top_db: float = 80.0

    def __post_init__(self) -> None:
        """Every value checked (ValueError naming it): a checkpoint carries these, so a crafted
        or damaged one is refused here, before any audio is decoded."""
        _int("sample_rate", self.sample_rate, *SAMPLE_RATES)
        _int("n_fft", self.n_fft, 16, MAX_N_FFT)
        _int("hop_length", self.hop_length, 1, self.n_fft)
        _int("n_mels", self.n_mels, 1, min(MAX_N_MELS, self.n_fft // 2 + 1))  # a filter needs FFT bins
        _int("n_mfcc", self.n_mfcc, 1, self.n_mels)  # the DCT keeps at most n_mels coefficients
        _int("frames_per_segment", self.frames_per_segment, 1, MAX_FRAMES_PER_SEGMENT)
        if type(self.top_db) not in (int, float) or not math.isfinite(self.top_db) or self.top_db <= 0:
            raise ValueError(f"frontend top_db {self.top_db!r} is not a positive number of decibels")



@dataclass(frozen=True)
class Segments:
    """Model inputs for one track and where each sits in time: windows of one MFCC matrix."""

    matrix: torch.Tensor  # (n_mfcc, n_frames) the track's MFCCs, not yet normalised
    first: torch.Tensor  # (N,) the frame each segment starts at
    length: int  # frames per segment
    centres: np.ndarray  # (N,) seconds: the middle of each segment
    starts: np.ndarray  # (N,) seconds: where each segment begins
    complete: int  # how many come first at the regular hop; the rest is the tail segment

    def __len__(self) -> int:
        return len(self.first)

    def batch(self, a: int, b: int) -> torch.Tensor:
        """Segments a to b as (b - a, 1, n_mfcc, length), copied out of the matrix."""
        windows = self.matrix.unfold(1, self.length, 1)  # every window, as a view: (n_mfcc, frames, length)
        return windows[:, self.first[a:b]].permute(1, 0, 2).unsqueeze(1).contiguous()

    @property
    def mfcc(self) -> torch.Tensor:
        """All segments, (N, 1, n_mfcc, length)."""
        return self.batch(0, len(self))


class MFCCFrontend:
    """librosa-style MFCC (slaney mel filters, power in dB with an 80 dB floor, ortho DCT-II).

    The whole track goes through in one pass; the STFT runs in chunks so that an hour of audio
    does not need gigabytes of spectrogram at once (the result is identical: frames are cut
    from the reflect-padded signal, as a centred STFT of the whole track would, without ever
    copying the whole padded track).
    """

    chunk_frames = 1_500  # 15 s of frames per STFT call: its frames and complex spectrum stay near 20 MB

    def __init__(self, config: FrontendConfig = FrontendConfig(), device: str | torch.device = "cpu"):
        self.config = c = config
        self.device = torch.device(device)
        self.window = torch.hann_window(c.n_fft, device=self.device)
        self.filters = mel_filters(c.sample_rate, c.n_fft, c.n_mels).to(self.device)  # (freqs, n_mels)
        if bool((self.filters.max(dim=0).values == 0).any()):
            # an empty filter gives -inf dB and a constant MFCC row
            raise ValueError(f"frontend n_mels {c.n_mels} is too many for n_fft {c.n_fft} at "
                             f"{c.sample_rate} Hz: some mel filters would hold no FFT bin")
        self.dct = dct_matrix(c.n_mfcc, c.n_mels).to(self.device)  # (n_mels, n_mfcc)

    def mel(self, x: torch.Tensor) -> torch.Tensor:
        """(n,) samples -> (n_mels, frames) mel power spectrogram of the frames that fit in x."""
        c = self.config
        spec = torch.stft(x, c.n_fft, c.hop_length, window=self.window, center=False, return_complex=True)
        return self.filters.T @ spec.abs().pow_(2.0)

    def mel_db(self, samples: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(n_samples,) mono audio -> (n_mels, n_frames) mel power in dB, floored top_db below
        its loudest; n_frames = 1 + n_samples // hop. What the MFCCs and the rhythm are made of."""
        c = self.config
        x = torch.as_tensor(samples, dtype=torch.float32, device=self.device)
        half = c.n_fft // 2
        if x.numel() <= half:
            raise AudioTooShortError(f"audio of {x.numel()} samples is too short for one MFCC frame")
        n_frames = 1 + x.numel() // c.hop_length
        # one spectrogram, filled chunk by chunk and turned into dB in place: a 10 minute track
        # then holds it once (31 MB) instead of as chunks, their concatenation and two dB copies
        db = torch.empty(c.n_mels, n_frames, device=self.device)
        for a in range(0, n_frames, self.chunk_frames):
            b = min(n_frames, a + self.chunk_frames)
            db[:, a:b] = self.mel(_reflected(x, a * c.hop_length - half, (b - 1) * c.hop_length + c.n_fft - half))
        db.clamp_(min=1e-10).log10_().mul_(10.0)
        return db.clamp_(min=float(db.max()) - c.top_db)

    def mfcc(self, samples: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(n_samples,) mono audio -> (n_mfcc, n_frames), n_frames = 1 + n_samples // hop."""
        return self.cepstrum(self.mel_db(samples))

    def cepstrum(self, mel_db: torch.Tensor) -> torch.Tensor:
        """(n_mels, n_frames) dB -> (n_mfcc, n_frames) MFCCs."""
        return self.dct.T @ mel_db

    def segments(self, samples: np.ndarray | torch.Tensor, hop: int | None = None, *,
                 mfcc: torch.Tensor | None = None) -> Segments:
        """Segments of 96 frames every `hop` frames (None: one segment length, so back to back),
        plus one more holding the track's last 0.96 s where they stop short of it. `mfcc`: the
        track's MFCCs where they are already made.

        The paper cut back-to-back segments and dropped the final partial one; the extra segment
        (which overlaps the one before it) gives the tail real features, so the video covers the
        whole song. A shorter hop slides the same window along: the networks hear what they were
        trained on, at several times the rate. The segments are views of one MFCC matrix (an
        hour at a 0.24 s hop is 1.4 GB as copies); `encode_segments` copies a batch at a time.
        """
        m = self.mfcc(samples) if mfcc is None else mfcc
        return cut_segments(m, self.config, hop)


def cut_segments(matrix: torch.Tensor, c, hop: int | None) -> Segments:
    """Windows of `c.frames_per_segment` frames of a (rows, n_frames) matrix every `hop` frames
    (None: back to back), plus one holding the last frames where they stop short of the end.
    `c` is a frontend's config (its frames_per_segment, hop_length, sample_rate and
    segment_seconds); AudioTooShortError where the matrix holds less than one window."""
    n_frames, seg = matrix.shape[1], c.frames_per_segment
    hop = seg if hop is None else hop
    if not 1 <= hop <= seg:
        raise ValueError(f"hop of {hop} frames is out of range; use 1 to {seg} (one segment)")
    if n_frames < seg:
        seconds = (n_frames - 1) * c.hop_length / c.sample_rate
        raise AudioTooShortError(
            f"audio is {seconds:.2f} s long; it must last at least {c.segment_seconds:.2f} s "
            "(one analysis segment)"
        )
    full = 1 + (n_frames - seg) // hop
    starts = list(range(0, full * hop, hop))
    if starts[-1] + seg < n_frames:
        starts.append(n_frames - seg)
    frame_s = c.hop_length / c.sample_rate
    starts_s = np.asarray(starts, dtype=np.float64) * frame_s
    centres = starts_s + (seg - 1) / 2 * frame_s
    return Segments(matrix, torch.as_tensor(starts), seg, centres, starts_s, full)


# Slaney's mel scale (the Auditory Toolbox's, librosa's default): linear below 1 kHz, logarithmic above
_MEL_HZ_PER_MEL = 200.0 / 3
_MEL_BREAK_HZ = 1000.0
_MEL_BREAK = _MEL_BREAK_HZ / _MEL_HZ_PER_MEL
_MEL_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(hz: float) -> float:
    if hz < _MEL_BREAK_HZ:
        return hz / _MEL_HZ_PER_MEL
    return _MEL_BREAK + math.log(hz / _MEL_BREAK_HZ) / _MEL_LOG_STEP


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return torch.where(mel >= _MEL_BREAK, _MEL_BREAK_HZ * torch.exp(_MEL_LOG_STEP * (mel - _MEL_BREAK)),
                       _MEL_HZ_PER_MEL * mel)


def mel_filters(sample_rate: int, n_fft: int, n_mels: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) triangular filters, evenly spaced in mels from 0 Hz to Nyquist,
    each scaled to unit area (Slaney's normalisation): librosa's and torchaudio's filter bank.
    librosa designs them in float64 (`dtype`) before it rounds them to float32."""
    freqs = torch.linspace(0, sample_rate // 2, n_fft // 2 + 1, dtype=dtype)
    edges = mel_to_hz(torch.linspace(hz_to_mel(0.0), hz_to_mel(float(sample_rate // 2)), n_mels + 2, dtype=dtype))
    widths = edges[1:] - edges[:-1]
    offsets = edges.unsqueeze(0) - freqs.unsqueeze(1)  # (freqs, n_mels + 2)
    rising = -offsets[:, :-2] / widths[:-1]
    falling = offsets[:, 2:] / widths[1:]
    triangles = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return triangles * (2.0 / (edges[2:] - edges[:-2])).unsqueeze(0)


def dct_matrix(n_mfcc: int, n_mels: int) -> torch.Tensor:
    """(n_mels, n_mfcc) orthonormal DCT-II: mel dB rows -> cepstral coefficients."""
    n = torch.arange(float(n_mels))
    k = torch.arange(float(n_mfcc)).unsqueeze(1)
    dct = torch.cos(math.pi / n_mels * (n + 0.5) * k)
    dct[0] *= 1.0 / math.sqrt(2.0)
    return (dct * math.sqrt(2.0 / n_mels)).T


def _reflected(x: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """x[lo:hi], reflected at both ends where the range runs past them (torch's "reflect" pad)."""
    n = x.numel()
    parts = []
    if lo < 0:
        parts.append(x[1 : 1 - lo].flip(0))
    parts.append(x[max(lo, 0) : min(hi, n)])
    if hi > n:
        parts.append(x[2 * n - 1 - hi : n - 1].flip(0))
    return parts[0] if len(parts) == 1 else torch.cat(parts)
