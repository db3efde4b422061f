"""A classifier's results by track: the majority vote of a track's segments (the paper's
"polled" accuracy), overall and per class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def majority_vote(pred: np.ndarray, tracks: np.ndarray, n_classes: int, probs: np.ndarray | None = None) -> dict[int, int]:
    """Track -> the class most of its segments were given. A tie goes to the tied class with
    the larger summed probability when `probs` (segments x classes) is given, else to the
    tied class listed first."""
    out = {}
    for t in np.unique(tracks):
        mine = tracks == t
        votes = np.bincount(pred[mine], minlength=n_classes).astype(np.float64)
        tied = votes == votes.max()
        if probs is not None and tied.sum() > 1:
            weight = np.where(tied, probs[mine].sum(axis=0), -np.inf)
            out[int(t)] = int(np.argmax(weight))
        else:
            out[int(t)] = int(np.argmax(votes))
    return out


def track_accuracy(pred: np.ndarray, tracks: np.ndarray, labels: dict[int, int], n_classes: int,
                   probs: np.ndarray | None = None) -> float:
    """Share of tracks whose majority vote is their label (the paper's "polled" accuracy)."""
    votes = majority_vote(pred, tracks, n_classes, probs)
    return float(np.mean([votes[t] == labels[t] for t in votes])) if votes else float("nan")


@dataclass
class Evaluation:
    loss: float
    accuracy: float  # segments
    track_accuracy: float
    votes: dict[int, int]  # track -> predicted class
    truth: dict[int, int]  # track -> class

    def per_class(self, n_classes: int) -> list[tuple[int, int]]:
        """(tracks right, tracks) per class."""
        out = [[0, 0] for _ in range(n_classes)]
        for t, y in self.truth.items():
            out[y][1] += 1
            out[y][0] += int(self.votes[t] == y)
        return [tuple(x) for x in out]

    @property
    def balanced_track_accuracy(self) -> float:
        recalls = [right / n for right, n in self.per_class(1 + max(self.truth.values(), default=0)) if n]
        return float(np.mean(recalls)) if recalls else float("nan")
