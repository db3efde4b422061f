"""The plan of a batch: which files, in which order, and where each one's video goes."""

from __future__ import annotations

import fnmatch
import hashlib
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..files import NAME_MAX, fit_name


@dataclass(frozen=True)
class Track:
    """One file of the batch: paths relative to the batch's input and output folders."""

    rel: str  # relative to IN_DIR, forward slashes
    out_rel: str  # relative to OUT_DIR
    source: Path
    output: Path
    clash: str = ""  # why its video cannot have a name of its own: it fails without rendering


# a video's temporary name (files.temporary_path: ".<stem>.<8 hex>.tmp.mp4") must fit in a name
# too, unshortened, so that the temporaries of two videos never look alike
VIDEO_NAME_MAX = NAME_MAX - len(".") - len(".01234567.tmp")
NAMINGS = 3  # a.mp3 -> a.mp4, else a.mp3.mp4, else a.mp3.<8 hex of its path>.mp4 (.mov for prores)


def _naming(rel: str, level: int, suffix: str) -> str:
    """A song's video under its `level`th naming (see NAMINGS), relative to OUT_DIR."""
    folder, _, name = rel.rpartition("/")
    if level == 0:
        video = fit_name(name.rsplit(".", 1)[0], suffix, VIDEO_NAME_MAX)  # find_audio lists names with an extension
    elif level == 1:
        video = fit_name(name, suffix, VIDEO_NAME_MAX)
    else:
        digest = hashlib.sha1(rel.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        video = fit_name(name, f".{digest}{suffix}", VIDEO_NAME_MAX)
    return f"{folder}/{video}" if folder else video


def _key(rel: str) -> str:
    """What names a file on every disk: case and Unicode normalisation ignored, as on macOS,
    Windows or an exFAT stick, where A.mp4 and a.mp4 are one file."""
    return unicodedata.normalize("NFC", rel).casefold()


def _folders(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _output_names(rels: list[str], reserved: dict[str, str],
                  suffix: str) -> tuple[dict[str, str], dict[str, str]]:
    """(the video of each song, relative to OUT_DIR; why a song's video has no name of its own).

    Every song is tried in NAMINGS' order: one that would share its video with another
    song (a.mp3 beside a.ogg, A.mp3 beside a.mp3), be a folder the batch writes videos into
    (a.ogg beside a folder a.mp4/ of songs), or be one of the batch's own files (`reserved`:
    its path relative to OUT_DIR -> what it is) takes its next naming, the one at the earliest
    naming in a group first. Made from the whole folder, so that a run of a sample (--include,
    --limit) names every video as a run of the whole folder does."""
    folders: dict[str, str] = {}  # a folder of videos -> a song whose video goes in it
    for r in rels:
        for f in _folders(r):
            folders.setdefault(_key(f), r)
    reserved = {_key(k): f"{k} ({what})" for k, what in reserved.items()}
    level = dict.fromkeys(rels, 0)
    names = {r: _naming(r, 0, suffix) for r in rels}
    while True:
        groups: dict[str, list[str]] = {}
        for r in rels:
            groups.setdefault(_key(names[r]), []).append(r)
        moved = False
        for key, group in groups.items():
            if len(group) > 1 or key in folders or key in reserved:
                first = min(level[r] for r in group)
                for r in group:
                    if level[r] == first < NAMINGS - 1:
                        level[r] += 1
                        names[r] = _naming(r, level[r], suffix)
                        moved = True
        if not moved:
            break
    clashes = {}
    for key, group in groups.items():
        for r in group:
            inside = next((reserved[_key(f)] for f in _folders(r) if _key(f) in reserved), None)
            if inside is not None:
                clashes[r] = f"its video would go inside {inside}; rename that folder"
            elif len(group) > 1:
                other = next(o for o in group if o != r)
                clashes[r] = (f"its video {names[r]} would be the same file as the video of {other}; "
                              "rename one of the two")
            elif key in folders:
                clashes[r] = (f"its video {names[r]} would be the folder that the video of {folders[key]} goes in; "
                              "rename one of the two")
            elif key in reserved:
                clashes[r] = f"its video would be {reserved[key]}; rename it"
    return names, clashes


def _matches(rel: str, patterns: tuple[str, ...]) -> bool:
    """A glob matches the file name ('*.mp3') or, when it names folders, the relative path ('000/*')."""
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel if "/" in p else name, p) for p in patterns)


def plan_tracks(
    in_dir: Path,
    out_dir: Path,
    include: tuple[str, ...] = (),
    shuffle: bool = False,
    seed: int = 0,
    limit: int | None = None,
    reserved: dict[str, str] | None = None,
    suffix: str = ".mp4",
) -> tuple[list[Track], int]:
    """(the tracks of the batch in render order, how many audio files the folder holds).

    The selection is deterministic: sorted paths, shuffled with `seed` when asked, then cut to
    `limit`; so a rerun of the same command picks the same sample and resumes it. `reserved`:
    the batch's own files inside OUT_DIR (relative path -> what it is), which no video may be.
    `suffix`: the videos' (mp4.batch_suffix of the codec).
    """
    from ..extract.corpus import find_audio

    files = find_audio(in_dir)
    rels = [f.relative_to(in_dir).as_posix() for f in files]
    names, clashes = _output_names(rels, reserved or {}, suffix)
    chosen = [r for r in rels if _matches(r, include)] if include else rels
    if shuffle:
        random.Random(seed).shuffle(chosen)
    if limit is not None:
        chosen = chosen[:limit]
    return [Track(r, names[r], in_dir / r, out_dir / names[r], clashes.get(r, "")) for r in chosen], len(rels)
