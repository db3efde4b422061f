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
                    progress: bool = False, width: int | None = None) -> dict:
    """Baseline kind -> its CorpusStats over `folder` (raw features and the stages meant for
    rendering, each with the probe and silhouette), mapped by a mapping fitted on the folder.
    With `width` (a model's `effective_width`) under MFCC statistics' 128 features:
    `narrowed_kind(width)` too, MFCC statistics cut to that many (`narrowed`)."""
    from ..extract.collect import collect

    out = {}
    for kind in KINDS:
        extractor = Baseline(kind, seed)
        corpus = collect(folder, extractor, cache=cache, progress=progress)
        if not corpus.tracks:
            continue
        out[kind] = measured(corpus, folder, groups, seed)
        if kind == "mfcc-stats" and width is not None and 0 < width < min(extractor.feature_size, corpus.segments):
            out[narrowed_kind(width)] = measured(narrowed(corpus, width, seed), folder, groups, seed)
    return out


def effective_width(values: np.ndarray) -> int:
    """About how many independent directions (N, D) features vary along: the participation
    ratio (sum of eigenvalues)^2 / sum of squared eigenvalues of their correlation matrix,
    rounded; 0 for features that never vary. D features that all vary alike and apart count D;
    copies of one feature count once. Correlations, because the mapping scales each feature to
    unit variance before PCA and K-Means."""
    x = np.asarray(values, np.float64)
    x = x[:, x.std(axis=0) > 1e-12]
    if len(x) < 2 or not x.shape[1]:
        return 0
    eig = np.clip(np.linalg.eigvalsh(np.corrcoef(x, rowvar=False).reshape(x.shape[1], x.shape[1])), 0, None)
    return int(round(eig.sum() ** 2 / (eig**2).sum()))


def narrowed_kind(width: int) -> str:
    return f"mfcc-stats-{width}"


def narrowed(corpus, width: int, seed: int = 0):
    """`corpus`'s MFCC statistics cut to their first `width` principal components (after
    standard scaling; both fitted on the corpus): the most of them that `width` linear features
    keep. Features that vary along few directions (an autoencoder's ten-number code, a
    classifier's layer collapsed onto its classes) cannot hold all 128 statistics; beside this
    reference, cut to their `effective_width`, a model's figures say whether it lost more than
    that narrowness must."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from ..extract.collect import CorpusFeatures, TrackFeatures

    stacked = corpus.stacked()
    scaler = StandardScaler().fit(stacked)
    pca = PCA(width, random_state=seed).fit(scaler.transform(stacked))
    tracks = [TrackFeatures(t.path, pca.transform(scaler.transform(t.values)).astype(np.float32)) for t in corpus.tracks]
    return CorpusFeatures(corpus.root, narrowed_kind(width), tracks)


def measured(corpus, folder: str | os.PathLike, groups, seed: int = 0):
    """A baseline's CorpusStats: its features mapped by a mapping fitted on them, as `analyze`
    maps a model's by default. `groups`: track path -> group (None: the top sub-folders)."""
    from ..mapping.fitted import FittedMapping
    from .groups import folder_groups
    from .stats import Stage, compute_stats, default_stages

    mapping = FittedMapping.fit(corpus.stacked(), seed, model=corpus.model, fitted_on=Path(folder).resolve().name)
    stages = [s for s in default_stages(mapping.methods) if s.primary or s == Stage("raw")]
    return compute_stats(corpus, mapping, folder_groups(corpus) if groups is None else groups, stages, seed)
