"""Which class each labelled file of a data folder belongs to, and which split it is in: from
the folders (the first folder under the data folder names a file's class; a stable share of
each class's tracks is held out for validation) or from FMA's metadata (`track/genre_top`, with
FMA's own `set/split` column deciding training, validation and test tracks)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..config import LabelSource, resolved
from ..errors import TrainingError
from ..extract.corpus import find_audio
from .dataset import validation_tracks

LABEL_SOURCES = resolved(LabelSource)
SPLIT_NAMES = {"training": "train", "validation": "val", "test": "test"}


@dataclass
class Labels:
    files: list[Path]  # the labelled audio files, in a stable order
    labels: dict[str, str]  # path relative to the data folder -> class
    splits: dict[str, str]  # path -> train | val | test
    skipped: dict[str, int] = field(default_factory=dict)  # why -> how many files
    source: str = ""  # a sentence for the model card
    notes: list[str] = field(default_factory=list)  # anything else worth saying about them

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels.values()))


def folder_labels(root: Path, val_fraction: float, seed: int) -> Labels:
    """Each file's class is the first folder under `root` it sits in; a stable `val_fraction`
    of every class's tracks (at least one of a class with two or more) is held out."""
    files, labels, skipped = [], {}, Counter()
    for f in find_audio(root):
        rel = f.relative_to(root).as_posix()
        if "/" not in rel:
            skipped[f"directly in {root.name}/, so no folder names its class"] += 1
            continue
        files.append(f)
        labels[rel] = rel.split("/", 1)[0]
    splits = {}
    for cls in sorted(set(labels.values())):
        members = [r for r in labels if labels[r] == cls]
        val = validation_tracks(members, val_fraction, seed)
        splits |= {r: "val" if r in val else "train" for r in members}
    return Labels(files, labels, splits, dict(skipped),
                  f"the first folder under the data folder names each file's class; {val_fraction:.0%} of each "
                  f"class's tracks (at least one) held out for validation, chosen by a hash of the path (seed {seed})")


def fma_labels(root: Path, metadata_dir: str | os.PathLike, subset: str = "") -> Labels:
    """Classes from FMA's top genre, splits from FMA's own split column, for the FMA-named
    files under `root` (fma_small/000/000002.mp3 is track 2)."""
    from ..fma import fma_track_id, in_subset, read_tracks

    found = find_audio(root)
    ids = {f: fma_track_id(f) for f in found}
    meta = read_tracks(metadata_dir, {i for i in ids.values() if i is not None})
    if not meta.has_split:
        raise TrainingError(f"{meta.path}: no set/split column, so FMA's training/validation/test split is unknown")
    if subset and not meta.has_subset:
        raise TrainingError(f"{meta.path}: no set/subset column to pick the {subset} subset with")
    files, labels, splits, skipped = [], {}, {}, Counter()
    for f in found:
        track = meta.tracks.get(ids[f]) if ids[f] is not None else None
        why = (
            "not named by an FMA track id" if ids[f] is None
            else "not in tracks.csv" if track is None
            else f"not in the {subset} subset" if subset and not in_subset(track, subset)
            else "without a top genre" if not track.genre_top
            else "without a training/validation/test split" if not track.split
            else ""
        )
        if why:
            skipped[why] += 1
            continue
        rel = f.relative_to(root).as_posix()
        files.append(f)
        labels[rel] = track.genre_top
        splits[rel] = SPLIT_NAMES[track.split]
    notes = [f"{meta.malformed} malformed rows of tracks.csv were ignored"] if meta.malformed else []
    return Labels(files, labels, splits, dict(skipped),
                  f"FMA's top genre (track/genre_top) from {Path(meta.path).name}, FMA's own split (set/split)"
                  + (f", subset {subset}" if subset else ""), notes)
