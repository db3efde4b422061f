"""Which group each track belongs to: its sub-folder, or its FMA genre.

Groups only label tracks for the per-group figures and the separation score; a track without
one still counts in every corpus and per-track statistic.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..fma import fma_track_id, read_tracks

if TYPE_CHECKING:  # annotations only: extract.collect imports torch
    from ..extract.collect import CorpusFeatures


def folder_groups(corpus: CorpusFeatures) -> dict[str, str]:
    """Track path -> its top sub-folder name; tracks at the corpus's top level get no group."""
    return {t.path: t.folder for t in corpus.tracks if t.folder}


def fma_genres(metadata_dir: str | os.PathLike, corpus: CorpusFeatures) -> dict[str, str]:
    """Track path -> FMA top genre, read from tracks.csv in FMA's metadata folder.

    Tracks whose name is not an FMA id, whose id is not in the file, or whose top genre is
    empty get no group. Only the rows of tracks in the corpus are kept (see `audioviz.fma`).
    """
    wanted: dict[int, list[str]] = {}
    for t in corpus.tracks:
        track_id = fma_track_id(t.path)
        if track_id is not None:
            wanted.setdefault(track_id, []).append(t.path)
    meta = read_tracks(metadata_dir, set(wanted))
    return {path: track.genre_top for track_id, track in meta.tracks.items() if track.genre_top
            for path in wanted[track_id]}
