"""The track-contrastive term: two segments of the same track should have features closer to
each other than to the other tracks' segments in the batch.

A model trained only to reconstruct a 0.96 s segment, or to name the collection of the few
tracks it trained on, learns what varies within that second as much as what stays through a
song (timbre, instruments, production), and on music it never heard its features then tell
styles apart less well than the plain mean and spread of the MFCCs. Pulling together
segments of one track (InfoNCE over the batch, as in COLA, Saeed et al. 2021) asks the
features to carry what a track keeps, without any labels, for autoencoders and classifiers
alike. Whether that helps on unseen music is measured, not assumed: the README's Models
section gives the held-out figures. For `ae_shared` it raises the separation, but the code then
rebuilds the segment less well and moves less within a song, so the bundled models go without.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

TEMPERATURE = 0.1


def partners(segments: dict[int, np.ndarray], pairs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each (track, segment) of `pairs`, another training segment of the same track (the
    same one only for a track with a single segment). `segments`: track -> its training segments."""
    out = pairs.copy()
    for i, (track, seg) in enumerate(pairs):
        own = segments[int(track)]
        if len(own) > 1:
            pick = own[rng.integers(len(own) - 1)]
            out[i, 1] = own[-1] if pick == seg else pick
    return out


def training_segments(train_pairs: np.ndarray) -> dict[int, np.ndarray]:
    """track -> its segments in the training split."""
    order = np.argsort(train_pairs[:, 0], kind="stable")
    tracks, starts = np.unique(train_pairs[order, 0], return_index=True)
    return {int(t): s for t, s in zip(tracks, np.split(train_pairs[order, 1], starts[1:]))}


def track_contrast(anchor: torch.Tensor, partner: torch.Tensor, tracks: np.ndarray,
                   temperature: float = TEMPERATURE) -> torch.Tensor:
    """InfoNCE of (N, D) features: row i of `partner` (from the same track as row i of
    `anchor`) against every other row of the batch, both ways. Features are centred on the
    batch before the cosine, so that all-positive codes (a sigmoid, a ReLU) still spread;
    other segments of the same track are not counted as negatives."""
    both = torch.cat([anchor, partner]).float()
    both = F.normalize(both - both.mean(dim=0, keepdim=True), dim=1)
    a, p = both[: len(anchor)], both[len(anchor):]
    logits = a @ p.T / temperature
    t = torch.as_tensor(tracks, device=logits.device)
    same = (t[:, None] == t[None, :]) & ~torch.eye(len(t), dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(same, float("-inf"))
    target = torch.arange(len(t), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
