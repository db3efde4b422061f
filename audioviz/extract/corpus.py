"""A folder of music: its audio files, found recursively in a stable order."""

from __future__ import annotations

import os
from pathlib import Path

from ..audio import AUDIO_EXTENSIONS
from ..errors import TrainingError


def find_audio(root: str | os.PathLike) -> list[Path]:
    """Audio files under `root`, recursively (through symlinked folders too), in a stable order."""
    root = Path(root)
    if not root.is_dir():
        raise TrainingError(f"{root}: not a folder")
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link back up the tree
            dirs.clear()
            continue
        seen.add(real)
        found += [Path(folder) / f for f in files if Path(f).suffix.lower() in AUDIO_EXTENSIONS]
    return sorted(p for p in found if p.is_file())
