"""The paper's MFCC frontend: 64 coefficients every 10 ms, cut into 0.96 s segments of 96 frames."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..errors import AudioTooShortError


@dataclass(frozen=True)
class FrontendConfig:
    sample_rate: int = 44_100
    n_mfcc: int = 64
    n_fft: int = 1_102  # 25 ms
    hop_length: int = 441  # 10 ms
    n_mels: int = 128
    frames_per_segment: int = 96
    top_db: float = 80.0

    @property
    def segment_seconds(self) -> float:
        return self.frames_per_segment * self.hop_length / self.sample_rate

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Segments:
    """Model inputs for one track and where each sits in time."""

    mfcc: torch.Tensor  # (N, 1, n_mfcc, frames_per_segment), not yet normalised
    centres: np.ndarray  # (N,) seconds: the middle of each segment
    starts: np.ndarray  # (N,) seconds: where each segment begins
    complete: int  # how many come first as consecutive segments; the rest is the tail segment


class MFCCFrontend:
    """librosa-style MFCC (slaney mel filters, power in dB with an 80 dB floor, ortho DCT-II).

    The whole track goes through in one pass; the STFT runs in chunks so that an hour of audio
    does not need gigabytes of spectrogram at once (the result is identical: frames are cut
    from the reflect-padded signal, as a centred STFT of the whole track would, without ever
    copying the whole padded track).
    """

    chunk_frames = 1_500  # 15 s of frames per STFT call: its frames and complex spectrum stay near 20 MB

    def __init__(self, config: FrontendConfig = FrontendConfig(), device: str | torch.device = "cpu"):
        import torchaudio

        self.config = c = config
        self.device = torch.device(device)
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=c.sample_rate, n_fft=c.n_fft, hop_length=c.hop_length, n_mels=c.n_mels,
            center=False, power=2.0, norm="slaney", mel_scale="slaney",
        ).to(self.device)
        self.dct = torchaudio.functional.create_dct(c.n_mfcc, c.n_mels, norm="ortho").to(self.device)

    def mfcc(self, samples: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(n_samples,) mono audio -> (n_mfcc, n_frames), n_frames = 1 + n_samples // hop."""
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
        db.clamp_(min=float(db.max()) - c.top_db)
        return self.dct.T @ db

    def segments(self, samples: np.ndarray | torch.Tensor) -> Segments:
        """Consecutive 96-frame segments, plus one more holding the track's last 0.96 s.

        The paper dropped the final partial segment; the extra segment (which overlaps the one
        before it) gives the tail real features, so the video covers the whole song.
        """
        c = self.config
        m = self.mfcc(samples)
        n_frames, seg = m.shape[1], c.frames_per_segment
        full = n_frames // seg
        if full == 0:
            seconds = (n_frames - 1) * c.hop_length / c.sample_rate
            raise AudioTooShortError(
                f"audio is {seconds:.2f} s long; it must last at least {c.segment_seconds:.2f} s "
                "(one analysis segment)"
            )
        starts = list(range(0, full * seg, seg))
        x = m[:, : full * seg].reshape(c.n_mfcc, full, seg).permute(1, 0, 2)
        if n_frames > full * seg:
            starts.append(n_frames - seg)
            x = torch.cat([x, m[None, :, n_frames - seg :]], dim=0)
        frame_s = c.hop_length / c.sample_rate
        starts_s = np.asarray(starts, dtype=np.float64) * frame_s
        centres = starts_s + (seg - 1) / 2 * frame_s
        return Segments(x[:, None].contiguous(), centres, starts_s, full)


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
