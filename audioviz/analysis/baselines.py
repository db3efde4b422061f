"""Reference features that no network learned, put through the same mapping as a model's.

A network earns its place in a video only where it hears more than trivial statistics of the
same input. Two references are cut from the MFCC segments the bundled networks see (64 MFCCs x
96 frames, 0.96 s):
- `mfcc-stats`: the mean and standard deviation of each MFCC over the segment (128 values);
- `random-projection`: the segment, normalised as the autoencoders normalise it, projected on
  256 fixed random directions (a seeded Gaussian matrix).
Each is extracted, cached and mapped exactly as a model's features are, so its figures sit on
the same scale as the model's. The third reference, random labels, is computed in probe.py.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KINDS = {
    "mfcc-stats": "MFCC statistics (mean and standard deviation of each of 64 MFCCs over the segment)",
    "random-projection": "a random projection of the normalised MFCC segment to 256 values",
}
PROJECTED = 256
VERSION = 1  # part of the cache key: bump when what a baseline computes changes


@dataclass(frozen=True)
class BaselineFeatures:
    values: np.ndarray  # (N, D) float32


class Baseline:
    """An extractor (in collect.py's sense) of one reference kind."""

    def __init__(self, kind: str, seed: int = 0):
        import torch

        from ..extract.frontend import FrontendConfig, MFCCFrontend

        if kind not in KINDS:
            raise ValueError(f"unknown baseline {kind!r}; known: {', '.join(KINDS)}")
        self.kind, self.name, self.layer = kind, kind, None
        self.frontend = MFCCFrontend(FrontendConfig())
        config = self.frontend.config
        self.norm = _autoencoder_norm() if kind == "random-projection" else None
        width = config.n_mfcc * config.frames_per_segment
        if kind == "random-projection":
            generator = torch.Generator().manual_seed(seed)
            self.projection = torch.randn(width, PROJECTED, generator=generator) / width**0.5
        key = {"kind": kind, "version": VERSION, "frontend": config.to_dict(),
               "seed": seed if kind == "random-projection" else None,
               "norm": None if self.norm is None else [self.norm[k].tolist() for k in ("lo", "hi")]}
        self.features_id = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    @property
    def feature_size(self) -> int:
        return 2 * self.frontend.config.n_mfcc if self.kind == "mfcc-stats" else PROJECTED

    @property
    def sample_rate(self) -> int:
        return self.frontend.config.sample_rate

    def features(self, samples: np.ndarray) -> BaselineFeatures:
        import torch

        from ..extract.features import normalise

        segments = self.frontend.segments(samples)
        out = []
        with torch.inference_mode():
            for i in range(0, len(segments), 256):
                x = segments.batch(i, i + 256)[:, 0]  # (B, n_mfcc, frames)
                if self.kind == "mfcc-stats":
                    out.append(torch.cat([x.mean(dim=2), x.std(dim=2, correction=0)], dim=1))
                else:
                    out.append(normalise(x, self.norm).flatten(1) @ self.projection)
        return BaselineFeatures(torch.cat(out).numpy().astype(np.float32))


def _autoencoder_norm() -> dict:
    """The bundled autoencoders' input normalisation (per-MFCC percentiles of their training
    music): the scale every coefficient of a projected segment is put on."""
    from ..extract import checkpoint
    from ..extract.features import check_norm
    from ..extract.registry import MODELS

    ckpt = checkpoint.load(MODELS["ae_shared"].weights)
    return check_norm(ckpt["norm"], len(ckpt["norm"]["lo"]))


def reference_stats(folder: str | os.PathLike, groups, seed: int = 0, cache: bool = True,
                    progress: bool = False) -> dict:
    """Baseline kind -> its CorpusStats over `folder` (raw features and the stages meant for
    rendering, each with the probe and silhouette), mapped by a mapping fitted on the folder."""
    from ..extract.collect import collect
    from ..mapping.fitted import FittedMapping
    from .groups import folder_groups
    from .stats import Stage, compute_stats, default_stages

    out = {}
    for kind in KINDS:
        extractor = Baseline(kind, seed)
        corpus = collect(folder, extractor, cache=cache, progress=progress)
        if not corpus.tracks:
            continue
        mapping = FittedMapping.fit(corpus.stacked(), seed, model=kind, fitted_on=Path(folder).resolve().name)
        stages = [s for s in default_stages(mapping.methods) if s.primary or s == Stage("raw")]
        out[kind] = compute_stats(corpus, mapping, folder_groups(corpus) if groups is None else groups, stages, seed)
    return out
