"""A loaded feature extractor: MFCC frontend, input normalisation and network, one batched pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..mapping.fitted import FittedMapping
from .frontend import FrontendConfig, MFCCFrontend, Segments


@dataclass(frozen=True)
class Features:
    values: np.ndarray  # (N, D) float32, one row per segment
    centres: np.ndarray  # (N,) seconds
    starts: np.ndarray  # (N,) seconds
    duration: float  # seconds of audio they cover
    names: tuple[str, ...] | None = None  # what each column is, where the layer names them (tags)


def resolve_device(device: str) -> torch.device:
    from ..errors import ConfigError

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but torch sees no CUDA GPU here")
    return torch.device(device)


# the statistics each kind of input normalisation carries, and what they must satisfy
NORM_KINDS = {"minmax": ("lo", "hi"), "standard": ("mean", "std")}
# a range or deviation below this (MFCCs span tens of dB) would blow inputs up to inf
MIN_NORM_SPREAD = 1e-6


def check_norm(norm, n_mfcc: int) -> dict:
    """A checkpoint's input normalisation, checked (ValueError naming what is wrong): a known
    kind whose statistics are finite float tensors of one value per MFCC coefficient, with
    lo < hi (minmax) or std > 0 (standard). Returns it as a plain dict."""
    if not isinstance(norm, dict):
        raise ValueError(f"input normalisation is a {type(norm).__name__}, not a dict")
    kind = norm.get("kind")
    if not isinstance(kind, str) or kind not in NORM_KINDS:
        raise ValueError(f"unknown input normalisation {kind!r} (known: {', '.join(NORM_KINDS)})")
    stats = {}
    for key in NORM_KINDS[kind]:
        t = norm.get(key)
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.layout != torch.strided:
            raise ValueError(f"input normalisation {kind} has no float tensor {key!r}")
        if tuple(t.shape) != (n_mfcc,):
            raise ValueError(f"input normalisation {key} has shape {tuple(t.shape)}, not ({n_mfcc},) for {n_mfcc} MFCCs")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"input normalisation {key} holds NaN or infinite values")
        stats[key] = t
    a, b = stats[NORM_KINDS[kind][0]], stats[NORM_KINDS[kind][1]]
    spread = (b - a) if kind == "minmax" else b
    if not bool((spread.double() >= MIN_NORM_SPREAD).all()):
        what = "hi is not above lo" if kind == "minmax" else "std is not positive"
        raise ValueError(f"input normalisation {kind}: {what} for every coefficient")
    return {"kind": kind, **stats}


def normalise(mfcc: torch.Tensor, norm: dict) -> torch.Tensor:
    """Apply the training corpus's input statistics (per MFCC coefficient)."""
    if norm["kind"] == "minmax":
        lo, hi = norm["lo"].to(mfcc)[:, None], norm["hi"].to(mfcc)[:, None]
        return ((mfcc - lo) / (hi - lo)).clamp_(0.0, 1.0)
    if norm["kind"] == "standard":
        mean, std = norm["mean"].to(mfcc)[:, None], norm["std"].to(mfcc)[:, None]
        return (mfcc - mean) / std
    raise ValueError(f"unknown input normalisation {norm['kind']!r}")


class FeatureExtractor:
    """What `load_model` returns: turns mono samples into per-segment features."""

    frontend_class = MFCCFrontend

    def __init__(
        self,
        name: str,
        net: torch.nn.Module,
        frontend: FrontendConfig,
        norm: dict,
        mapping: FittedMapping | None,
        meta: dict,
        device: torch.device,
        features_id: str = "",
        layer: str | None = None,
    ):
        self.name = name
        self.net = net.to(device).eval()
        # which of the network's feature layers this extractor reads (a classifier has several)
        self.layer = layer or net.default_layer
        self.frontend = self.frontend_class(frontend, device)
        self.norm = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in norm.items()}
        self.mapping = mapping
        self.meta = meta
        self.device = device
        # names exactly what decides the features: the key of fitted mappings and feature caches
        self.features_id = features_id

    @property
    def feature_size(self) -> int:
        return int(self.net.layers[self.layer])

    @property
    def title(self) -> str:
        """The name with the layer, where the network has more than one (not for an autoencoder's
        code): vgg16 layer L15."""
        return f"{self.name} layer {self.layer}" if self.layer_in_name else self.name

    @property
    def quoted(self) -> str:
        """The title for messages, the name quoted: 'vgg16' (layer L15)."""
        return f"{self.name!r} (layer {self.layer})" if self.layer_in_name else repr(self.name)

    @property
    def layer_in_name(self) -> bool:
        from .registry import layer_in_name

        return layer_in_name(self.net.layers, self.layer)

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        """What each feature is called, where the layer names them (a tagger's tags)."""
        return None

    @property
    def sample_rate(self) -> int:
        return self.frontend.config.sample_rate

    def hop_frames(self, hop: float | None) -> int | None:
        """A hop in seconds as frontend frames (None: back-to-back segments, the paper's grid);
        ConfigError where it is not between one frame and one segment."""
        if hop is None:
            return None
        c = self.frontend.config
        frame_s = c.hop_length / c.sample_rate
        frames = round(hop / frame_s)
        if not 1 <= frames <= c.frames_per_segment:
            from ..errors import ConfigError

            raise ConfigError(f"--hop {hop:g} s is out of range for model {self.quoted}: use {frame_s:g} s "
                              f"(one frame) to {c.segment_seconds:g} s (one segment)")
        return frames

    @torch.inference_mode()
    def encode_segments(self, segments: Segments, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """A track's raw MFCC segments -> (N, D) features, in batches that bound memory (64 is
        also the fastest on a CPU: 0.65 s for 10 minutes of ae_shared, 2.6 s in 512s)."""
        from ..progress import bar as progress_bar

        out = []
        with progress_bar(total=len(segments), desc="extract", unit="seg", disable=not progress, leave=False) as bar:
            for i in range(0, len(segments), batch_size):
                x = normalise(segments.batch(i, i + batch_size).to(self.device), self.norm)
                out.append(self.net.encode(x, self.layer).float().cpu())
                bar.update(len(x))
        return torch.cat(out).numpy()

    def segments(self, samples: np.ndarray, hop: int | None, mel_db: torch.Tensor | None = None) -> Segments:
        """The track's segments every `hop` frames (MFCCFrontend.segments); `mel_db`: its mel
        spectrogram where it is already made."""
        mfcc = None if mel_db is None else self.frontend.cepstrum(mel_db)
        return self.frontend.segments(samples, hop, mfcc=mfcc)

    def features(self, samples: np.ndarray, progress: bool = False, *, hop: float | None = None,
                 mel_db: torch.Tensor | None = None) -> Features:
        """Features of a segment every `hop` seconds (None: back to back). `mel_db`: the
        track's mel spectrogram (MFCCFrontend.mel_db) where it is already made."""
        seg = self.segments(samples, self.hop_frames(hop), mel_db)
        values = self.encode_segments(seg, progress=progress)
        if not np.isfinite(values).all():  # mapped, they would reach the scene as NaN
            from ..errors import ModelError

            raise ModelError(f"model {self.quoted} gives NaN or infinite features for this audio; "
                             "its weights or input statistics are unusable")
        return Features(values, seg.centres, seg.starts, len(samples) / self.sample_rate, self.feature_names)
