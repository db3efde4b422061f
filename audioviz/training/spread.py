"""The spread term: a classifier's default feature layer should vary along many directions.

Trained only to name the few collections of its corpus, a classifier needs about as many
directions as it has classes, and keeps little else: the L15 of the first vgg16 bundled here
varied along about seven (analysis.baselines.effective_width), and on music it never heard its
features told collections apart less well than MFCC statistics. VICReg's variance and covariance terms (Bardes,
Ponce and LeCun, ICLR 2022) ask every feature to keep a standard deviation of at least 1 over the
batch and the features to be uncorrelated, so that the layer keeps directions the labels do not
need. What that buys on unseen music is measured in the README's "What they hear".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-4  # under the square root, so that a dead feature still has a gradient


def spread_loss(features: torch.Tensor) -> torch.Tensor:
    """VICReg's variance term (the mean hinge of each feature's batch standard deviation below 1)
    plus its covariance term (the off-diagonal batch covariances squared, summed, over the
    feature count), of (N, D) features."""
    f = features.float()
    f = f - f.mean(dim=0)
    variance = F.relu(1 - torch.sqrt(f.var(dim=0) + EPS)).mean()
    cov = f.T @ f / (len(f) - 1)
    off = cov - torch.diag(torch.diag(cov))
    return variance + off.pow(2).sum() / f.shape[1]
