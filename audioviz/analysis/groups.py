"""Which group each track belongs to: its sub-folder, or its FMA genre.

Groups only label tracks for the per-group figures and the separation score; a track without
one still counts in every corpus and per-track statistic.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:  # annotations only: extract.collect imports torch
    from ..extract.collect import CorpusFeatures

TRACKS_CSV = "tracks.csv"
GENRE_COLUMN = ("track", "genre_top")
# FMA names its audio files by zero-padded track id: fma_small/000/000002.mp3 is track 2
_FMA_NAME = re.compile(r"^\d+$")
# some FMA free-text fields (artist bios) are longer than the csv module's default limit
_FIELD_LIMIT = 64 * 1024 * 1024


def folder_groups(corpus: CorpusFeatures) -> dict[str, str]:
    """Track path -> its top sub-folder name; tracks at the corpus's top level get no group."""
    return {t.path: t.folder for t in corpus.tracks if t.folder}


def fma_track_id(path: str) -> int | None:
    """The FMA track id a file name encodes, or None when it is not an FMA name."""
    stem = Path(path).stem
    return int(stem) if _FMA_NAME.match(stem) else None


def fma_genres(metadata_dir: str | os.PathLike, corpus: CorpusFeatures) -> dict[str, str]:
    """Track path -> FMA top genre, read from tracks.csv in FMA's metadata folder.

    Tracks whose name is not an FMA id, whose id is not in the file, or whose top genre is
    empty get no group. The file (about 250 MB for fma_full) is streamed and only the rows of
    tracks in the corpus are kept.
    """
    csv_path = _tracks_csv(Path(metadata_dir))
    wanted: dict[int, list[str]] = {}
    for t in corpus.tracks:
        track_id = fma_track_id(t.path)
        if track_id is not None:
            wanted.setdefault(track_id, []).append(t.path)
    out: dict[str, str] = {}
    for track_id, genre in _read_genres(csv_path, set(wanted)):
        for path in wanted[track_id]:
            out[path] = genre
    return out


def _tracks_csv(metadata_dir: Path) -> Path:
    # accept the file itself too: pointing at tracks.csv is an easy slip
    path = metadata_dir if metadata_dir.name == TRACKS_CSV else metadata_dir / TRACKS_CSV
    if not metadata_dir.exists():
        raise InputError(f"{metadata_dir}: no such FMA metadata folder (unpack fma_metadata.zip and point at it).")
    if not path.is_file():
        raise InputError(f"{metadata_dir}: no {TRACKS_CSV} in it, so it is not FMA's metadata folder.")
    return path


@contextmanager
def _long_fields() -> Iterator[None]:
    old = csv.field_size_limit(_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _read_genres(path: Path, wanted: set[int]) -> Iterator[tuple[int, str]]:
    """(track id, top genre) for the wanted ids with a non-empty genre, streaming the file."""
    try:
        with _long_fields(), path.open(newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            column = _genre_column(path, [next(rows, []), next(rows, [])])
            next(rows, None)  # the third header row names the index column: track_id,,,...
            remaining = set(wanted)
            for row in rows:
                if not remaining:
                    break  # every corpus track found: no need to read the rest of the file
                track_id = _int_or_none(row[0]) if row else None
                if track_id not in remaining:
                    continue
                remaining.discard(track_id)
                genre = row[column].strip() if column < len(row) else ""
                if genre:
                    yield track_id, genre
    except (csv.Error, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a readable FMA tracks.csv ({e}).") from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e}).") from None


def _genre_column(path: Path, header: list[list[str]]) -> int:
    top, second = header
    for i, (a, b) in enumerate(zip(top, second)):
        if (a.strip(), b.strip()) == GENRE_COLUMN:
            return i
    raise InputError(
        f"{path}: no track/genre_top column in its two header rows, so it is not FMA's tracks.csv."
    )


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
