"""The Free Music Archive's metadata: top genre, split and subset of each track, from tracks.csv.

FMA names its audio files by zero-padded track id (fma_small/000/000002.mp3 is track 2) and
describes the tracks in `fma_metadata/tracks.csv`, whose header spans two rows (a column group,
then the column: `track,genre_top`, `set,split`, `set,subset`) plus a third that names the
index column (`track_id,,,...`). The file is about 250 MB for fma_full and has free-text fields
with commas, quotes and line breaks; it is streamed, and only the rows of wanted tracks kept.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .config import Subset, resolved
from .errors import InputError

TRACKS_CSV = "tracks.csv"
GENRE_COLUMN = ("track", "genre_top")
SPLIT_COLUMN = ("set", "split")
SUBSET_COLUMN = ("set", "subset")
SPLITS = ("training", "validation", "test")
# each subset holds the smaller ones: fma_medium's folder has fma_small's tracks too
SUBSETS = resolved(Subset)
_FMA_NAME = re.compile(r"^\d+$")
# some free-text fields (artist bios) are longer than the csv module's default limit
_FIELD_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class FMATrack:
    track_id: int
    genre_top: str  # "" when FMA gives none (many tracks of fma_large)
    split: str  # training | validation | test, or "" when absent or not one of them
    subset: str  # small | medium | large, or "" when absent or not one of them


@dataclass
class FMAMetadata:
    path: Path
    tracks: dict[int, FMATrack] = field(default_factory=dict)
    malformed: int = 0  # data rows without an integer track id, or too short for a wanted column
    has_split: bool = False  # the file has the set/split column
    has_subset: bool = False


def fma_track_id(path: str | os.PathLike) -> int | None:
    """The FMA track id a file name encodes, or None when it is not an FMA name."""
    stem = Path(path).stem
    return int(stem) if _FMA_NAME.match(stem) else None


def tracks_csv(metadata_dir: str | os.PathLike) -> Path:
    """FMA's tracks.csv in `metadata_dir` (or `metadata_dir` itself when it names the file)."""
    from .files import regular_file

    metadata_dir = Path(metadata_dir)
    path = metadata_dir if metadata_dir.name == TRACKS_CSV else metadata_dir / TRACKS_CSV
    if not metadata_dir.exists():
        raise InputError(f"{metadata_dir}: no such FMA metadata folder (unpack fma_metadata.zip and point at it).")
    if not os.path.lexists(path):
        raise InputError(f"{metadata_dir}: no {TRACKS_CSV} in it, so it is not FMA's metadata folder.")
    return regular_file(path, TRACKS_CSV)  # a FIFO would be read forever


@contextmanager
def _long_fields() -> Iterator[None]:
    old = csv.field_size_limit(_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _find(header: list[list[str]], column: tuple[str, str]) -> int | None:
    top, second = header
    for i, (a, b) in enumerate(zip(top, second)):
        if (a.strip(), b.strip()) == column:
            return i
    return None


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def read_tracks(metadata_dir: str | os.PathLike, wanted: Iterable[int] | None = None) -> FMAMetadata:
    """Genre, split and subset of the `wanted` track ids (all tracks when None).

    Rows whose first field is not an integer id, or that end before a column this reader needs,
    are counted in `malformed` and left out; a repeated id keeps its first row. Reading stops
    as soon as every wanted id has been seen.
    """
    path = tracks_csv(metadata_dir)
    remaining = None if wanted is None else set(wanted)
    meta = FMAMetadata(path)
    try:
        with _long_fields(), path.open(newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            header = [next(rows, []), next(rows, [])]
            genre = _find(header, GENRE_COLUMN)
            if genre is None:
                raise InputError(
                    f"{path}: no track/genre_top column in its two header rows, so it is not FMA's tracks.csv."
                )
            split, subset = _find(header, SPLIT_COLUMN), _find(header, SUBSET_COLUMN)
            meta.has_split, meta.has_subset = split is not None, subset is not None
            needed = max(i for i in (genre, split, subset) if i is not None)
            next(rows, None)  # the third header row names the index column: track_id,,,...
            for row in rows:
                if remaining is not None and not remaining:
                    break  # every wanted track found: no need to read the rest of the file
                track_id = _int_or_none(row[0]) if row else None
                if track_id is None or len(row) <= needed:
                    meta.malformed += 1
                    continue
                if (remaining is not None and track_id not in remaining) or track_id in meta.tracks:
                    continue
                if remaining is not None:
                    remaining.discard(track_id)
                s = row[split].strip() if split is not None else ""
                u = row[subset].strip() if subset is not None else ""
                meta.tracks[track_id] = FMATrack(
                    track_id, row[genre].strip(), s if s in SPLITS else "", u if u in SUBSETS else ""
                )
    except (csv.Error, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a readable FMA tracks.csv ({e}).") from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e}).") from None
    return meta


def in_subset(track: FMATrack, subset: str | None) -> bool:
    """Whether `track` belongs to `subset` (None: any); medium includes small, large both."""
    if subset is None:
        return True
    if subset not in SUBSETS:
        raise InputError(f"FMA subset {subset!r} is not one of: {', '.join(SUBSETS)}")
    return track.subset in SUBSETS[: SUBSETS.index(subset) + 1]
