"""Render every song under a folder: FMA's `000/000002.mp3` layout mirrored, resumable, reported.

A batch is planned first (which files, in which order, where each video goes), and everything a
user can get wrong (options, model, scene, folders, metadata) is checked then, before any work.
Running it renders the tracks whose video is not complete yet, one worker per job; each worker
loads the model, the fitted mapping, the scene class and a GL context once and renders track
after track with them. One bad file never stops the run: its failure is recorded with the
reason, and the run ends with a report (CSV or JSON) of every track. A fault of the machine
(FATAL_ERRORS: no GL, no ffmpeg that encodes H.264, a full disk, OUT_DIR unusable) stops it
instead, at planning time or at the first track that meets it (BatchStoppedError), rather
than failing every track the same way.

Resuming relies on two things. A video appears at its final name only when complete (render/
video.py writes a hidden temporary file beside it and renames it at the end), and a file at the
final name is also checked to be a whole MP4 with all its frames, from its structure alone
(`mp4_complete`: top-level boxes that tile the file, every indexed frame inside `mdat`, video
as long as audio; about a millisecond a file). The temporary files that a killed run
left behind (ffmpeg even finishes them after its batch died) are deleted when the next run
starts; a lock on OUT_DIR keeps two batches from writing into one folder at once, so no live
temporary file is ever taken for a stale one.
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import functools
import hashlib
import io
import json
import os
import random
import re
import signal
import struct
import sys
import tempfile
import time
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .config import RenderConfig
from .errors import (
    AudiovizError,
    BatchStoppedError,
    CacheError,
    ConfigError,
    DiskFullError,
    FFmpegUnavailableError,
    GLUnavailableError,
    InputError,
    OutputError,
)
from .files import NAME_MAX, atomic_write, durable_bytes, fit_name, output_file, temporary_stem

if TYPE_CHECKING:  # torch loads with the first render session, not with this module
    from .session import Renderer

DONE, SKIPPED, FAILED, INTERRUPTED = "done", "skipped", "failed", "interrupted"
STATUSES = (DONE, SKIPPED, FAILED, INTERRUPTED)
REPORT_COLUMNS = ("input", "output", "status", "reason", "seconds", "audio_seconds")
LOCK_NAME = ".audioviz-batch.lock"
MAPPING_NAME = "mapping"  # --fit-on-batch writes OUT_DIR/mapping.npz and mapping.json
# Faults of the machine, not of one file: every later track would fail the same way, so a batch
# stops on the first instead of failing them all (the CLI's exit status 3)
FATAL_ERRORS = (GLUnavailableError, FFmpegUnavailableError, DiskFullError, BatchStoppedError)


def default_jobs() -> int:
    """Tracks rendered at once when --jobs is not given: half the cores, at least 2 (never more
    than there are cores), and no more than one per 1.5 GB of memory (a worker holds ~0.7 GB).

    Measured on 2 cores without a GPU (llvmpipe), six 30 s clips at 1280x720, scene bar: one
    track keeps 1.6 cores busy (decoding, the network and ffmpeg's final pass are serial), and
    2 jobs render the six in 104 s against 120 s for 1 job (13% more tracks per hour). Half the
    cores on bigger machines follows from the 1.6 cores a track uses; it was not measured there.
    """
    cores = os.cpu_count() or 1
    jobs = min(cores, max(2, cores // 2))
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        jobs = min(jobs, int(memory // (1.5 * 2**30)))
    return max(1, jobs)


# -- the plan: which files, where each video goes ------------------------------------------------


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
NAMINGS = 3  # a.mp3 -> a.mp4, else a.mp3.mp4, else a.mp3.<8 hex of its path>.mp4


def _naming(rel: str, level: int) -> str:
    """A song's video under its `level`th naming (see NAMINGS), relative to OUT_DIR."""
    folder, _, name = rel.rpartition("/")
    if level == 0:
        video = fit_name(name.rsplit(".", 1)[0], ".mp4", VIDEO_NAME_MAX)  # find_audio lists names with an extension
    elif level == 1:
        video = fit_name(name, ".mp4", VIDEO_NAME_MAX)
    else:
        digest = hashlib.sha1(rel.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        video = fit_name(name, f".{digest}.mp4", VIDEO_NAME_MAX)
    return f"{folder}/{video}" if folder else video


def _key(rel: str) -> str:
    """What names a file on every disk: case and Unicode normalisation ignored, as on macOS,
    Windows or an exFAT stick, where A.mp4 and a.mp4 are one file."""
    return unicodedata.normalize("NFC", rel).casefold()


def _folders(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _output_names(rels: list[str], reserved: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
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
    names = {r: _naming(r, 0) for r in rels}
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
                        names[r] = _naming(r, level[r])
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
) -> tuple[list[Track], int]:
    """(the tracks of the batch in render order, how many audio files the folder holds).

    The selection is deterministic: sorted paths, shuffled with `seed` when asked, then cut to
    `limit`; so a rerun of the same command picks the same sample and resumes it. `reserved`:
    the batch's own files inside OUT_DIR (relative path -> what it is), which no video may be.
    """
    from .extract.corpus import find_audio

    files = find_audio(in_dir)
    rels = [f.relative_to(in_dir).as_posix() for f in files]
    names, clashes = _output_names(rels, reserved or {})
    chosen = [r for r in rels if _matches(r, include)] if include else rels
    if shuffle:
        random.Random(seed).shuffle(chosen)
    if limit is not None:
        chosen = chosen[:limit]
    return [Track(r, names[r], in_dir / r, out_dir / names[r], clashes.get(r, "")) for r in chosen], len(rels)


# -- is a video there complete? ----------------------------------------------------------------


MAX_MOOV = 64 << 20  # an hour at 60 fps indexes in well under 2 MB; anything bigger is not ours
# the video and audio tracks of a video audioviz wrote last equally long (the audio is padded or
# cut to the frames); AAC's priming and last frame add under 50 ms
MAX_TRACK_MISMATCH = 0.25


def mp4_complete(path: str | os.PathLike) -> bool:
    """Whether `path` holds a whole MP4 whose frames are all there, checked from its structure
    alone (about a millisecond a file: resuming a batch of thousands stays quick):

    - the top-level boxes follow one another to exactly the end of the file and include ftyp,
      moov and mdat: a file cut short (a copy interrupted, a disk that filled up) ends inside a
      box, and ffmpeg killed before it finished never wrote `moov`;
    - every sample (frame) that moov's index lists lies inside an mdat box, and the index agrees
      with itself (sample counts, chunks): a file whose boxes were made whole again after its
      media was cut, or an index from a longer video, fails this;
    - it has a video track with frames, as long as its audio track (when there is one).

    What it cannot see without decoding every frame (0.3 s for 30 s of 720p; far too slow to
    resume thousands): bytes changed in place inside frames that are all there.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        seen, pos, moov, mdats = set(), 0, None, []
        with path.open("rb") as f:
            for _ in range(10_000):
                if pos == size:
                    break
                f.seek(pos)
                head = f.read(16)
                if len(head) < 8:
                    return False
                n, kind = struct.unpack(">I4s", head[:8])
                header = 8
                if n == 1:  # 64-bit size follows the type
                    if len(head) < 16:
                        return False
                    n, header = struct.unpack(">Q", head[8:16])[0], 16
                elif n == 0:  # the last box runs to the end of the file
                    n = size - pos
                if n < header or pos + n > size:
                    return False
                seen.add(kind)
                if kind == b"moov":
                    moov = (pos + header, pos + n)
                elif kind == b"mdat":
                    mdats.append((pos + header, pos + n))
                pos += n
            else:
                return False
            if pos != size or not {b"ftyp", b"moov", b"mdat"} <= seen or moov[1] - moov[0] > MAX_MOOV:
                return False
            f.seek(moov[0])
            index = f.read(moov[1] - moov[0])
    except OSError:
        return False
    try:
        return _frames_all_there(index, mdats)
    except (struct.error, ValueError, IndexError, TypeError):  # an index that does not parse
        return False


def _boxes(data: bytes, start: int, end: int) -> dict[bytes, list[tuple[int, int]]] | None:
    """The boxes that tile data[start:end], by type: (payload start, end); None if they do not."""
    out: dict[bytes, list[tuple[int, int]]] = {}
    pos = start
    while pos < end:
        n, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if n == 1:
            n, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif n == 0:
            n = end - pos
        if n < header or pos + n > end:
            return None
        out.setdefault(kind, []).append((pos + header, pos + n))
        pos += n
    return out


def _one(data: bytes, box: tuple[int, int] | None, *path: bytes) -> tuple[int, int] | None:
    """The payload of the first box along `path` inside `box`."""
    for kind in path:
        if box is None:
            return None
        found = (_boxes(data, *box) or {}).get(kind)
        box = found[0] if found else None
    return box


def _track(data: bytes, trak: tuple[int, int], mdats: list[tuple[int, int]]):
    """(handler, seconds) of one track whose samples all lie inside an mdat; None otherwise."""
    import numpy as np

    mdia = _one(data, trak, b"mdia")
    hdlr, mdhd, stbl = _one(data, mdia, b"hdlr"), _one(data, mdia, b"mdhd"), _one(data, mdia, b"minf", b"stbl")
    if hdlr is None or mdhd is None or stbl is None:
        return None
    handler = data[hdlr[0] + 8 : hdlr[0] + 12]
    if data[mdhd[0]] == 1:
        timescale, duration = struct.unpack_from(">IQ", data, mdhd[0] + 20)
    else:
        timescale, duration = struct.unpack_from(">II", data, mdhd[0] + 12)
    boxes = _boxes(data, *stbl) or {}
    stsz, stsc, stts = (boxes.get(k, [None])[0] for k in (b"stsz", b"stsc", b"stts"))
    stco, co64 = boxes.get(b"stco", [None])[0], boxes.get(b"co64", [None])[0]
    if stsz is None or stsc is None or stts is None or (stco or co64) is None or not timescale:
        return None
    uniform, n_samples = struct.unpack_from(">II", data, stsz[0] + 4)
    if uniform:
        sizes = np.full(n_samples, uniform, dtype=np.int64)
    else:
        sizes = np.frombuffer(data, ">u4", n_samples, stsz[0] + 12).astype(np.int64)
    (n_stts,) = struct.unpack_from(">I", data, stts[0] + 4)
    if n_samples == 0 or np.frombuffer(data, ">u4", 2 * n_stts, stts[0] + 8)[0::2].astype(np.int64).sum() != n_samples:
        return None
    box, dtype = (stco, ">u4") if stco is not None else (co64, ">u8")
    (n_chunks,) = struct.unpack_from(">I", data, box[0] + 4)
    offsets = np.frombuffer(data, dtype, n_chunks, box[0] + 8).astype(np.int64)
    (n_runs,) = struct.unpack_from(">I", data, stsc[0] + 4)
    runs = np.frombuffer(data, ">u4", 3 * n_runs, stsc[0] + 8).astype(np.int64).reshape(n_runs, 3)
    first = runs[:, 0]
    if n_runs == 0 or first[0] != 1 or np.any(np.diff(first) <= 0) or first[-1] > n_chunks:
        return None
    per_chunk = np.repeat(runs[:, 1], np.diff(np.append(first, n_chunks + 1)))
    if per_chunk.sum() != n_samples:
        return None
    ends = np.concatenate([[0], np.cumsum(sizes)])
    last = np.cumsum(per_chunk)
    chunk_ends = offsets + ends[last] - ends[last - per_chunk]
    starts = np.array([a for a, _ in mdats])
    which = np.searchsorted(starts, offsets, side="right") - 1  # the mdat each chunk starts in
    if np.any(which < 0) or np.any(chunk_ends > np.array([b for _, b in mdats])[which]):
        return None
    return handler, duration / timescale


def _frames_all_there(index: bytes, mdats: list[tuple[int, int]]) -> bool:
    moov = _boxes(index, 0, len(index))
    if moov is None:
        return False
    tracks = [_track(index, trak, sorted(mdats)) for trak in moov.get(b"trak", [])]
    if not tracks or None in tracks:
        return False
    seconds = {handler: s for handler, s in reversed(tracks)}  # the first track of each kind
    if b"vide" not in seconds:
        return False
    return b"soun" not in seconds or abs(seconds[b"vide"] - seconds[b"soun"]) <= MAX_TRACK_MISMATCH


def stale_temporaries(output: Path) -> list[Path]:
    """The hidden temporary files a render of `output` makes (files.temporary_path:
    .<stem>.<8 hex>.tmp.mp4 beside it) that are lying there."""
    pattern = re.compile(re.escape(f".{temporary_stem(output)}.") + r"[0-9a-f]{8}\.tmp\.mp4")
    try:
        return [p for p in output.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return []


def _finished_since(output: Path, since: float) -> bool:
    """A complete video put at `output` after `since` (wall clock): by this run, which was
    stopped between the video's rename and the worker saying so."""
    try:
        return output.stat().st_mtime >= since and mp4_complete(output)
    except OSError:
        return False


def _remove_stale(output: Path) -> int:
    n = 0
    for p in stale_temporaries(output):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n


_TEMPORARY = re.compile(r"\.(.+)\.[0-9a-f]{8}\.tmp\.mp4")


def remove_stale_temporaries(tracks: list[Track]) -> int:
    """Delete what killed runs left of these tracks' videos, reading each output folder once
    (an FMA folder holds a thousand tracks). Only safe while holding the folder's lock."""
    stems: dict[Path, set[str]] = {}
    for t in tracks:
        stems.setdefault(t.output.parent, set()).add(temporary_stem(t.output))
    n = 0
    for folder, wanted in stems.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            m = _TEMPORARY.fullmatch(e.name)
            if m and m.group(1) in wanted:
                with contextlib.suppress(OSError):
                    os.unlink(e.path)
                    n += 1
    return n


class FolderLock:
    """An exclusive lock on OUT_DIR for the length of a run (flock on a small file, released by
    the kernel whatever way the process ends), so two batches never share an output folder."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK_NAME
        self._file = None

    def __enter__(self) -> FolderLock:
        try:
            import fcntl
        except ImportError:  # not a POSIX system: no lock, resuming still works
            return self
        try:
            self._file = self.path.open("a")
        except OSError as e:
            raise BatchStoppedError(f"{self.path.parent}: cannot write there ({e.strerror}); nothing was rendered") from None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            self._file = None
            raise BatchStoppedError(f"{self.path.parent}: another batch is writing into this folder right now; "
                                    "nothing was rendered") from None
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock; the empty file stays (harmless)


# -- one worker: model, mapping, scene class and GL context loaded once ---------------------------


@dataclass
class TrackResult:
    input: str
    output: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    audio_seconds: float | None = None
    genre: str | None = None
    fatal: bool = field(default=False, repr=False)  # failed on a fault of the machine: stop the batch

    def row(self, with_genre: bool) -> dict:
        d = {k: getattr(self, k) for k in REPORT_COLUMNS}
        if with_genre:
            d["genre"] = self.genre or ""
        return d


def _reason(e: BaseException, source: Path) -> str:
    """The error's message without the file name in front (the report has it in its own column)."""
    text = str(e) if isinstance(e, AudiovizError) else f"unexpected {type(e).__name__}: {e}"
    for prefix in (f"{source}: ", f"{source.absolute()}: "):
        text = text.removeprefix(prefix)
    return " ".join(text.split())


def _output_root(track: Track) -> Path:
    """OUT_DIR, from a track's output path and its path relative to OUT_DIR."""
    root = track.output
    for _ in track.out_rel.split("/"):
        root = root.parent
    return root


def _folder_usable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def is_fatal(e: BaseException, track: Track) -> bool:
    """Whether a track's failure is the machine's (the batch stops) rather than the file's (the
    batch goes on): no GL, no working ffmpeg, a full disk, or OUT_DIR itself unusable."""
    if isinstance(e, FATAL_ERRORS):
        return True
    return isinstance(e, OutputError) and not _folder_usable(_output_root(track))


def render_track(renderer: Renderer, track: Track, progress: bool = False) -> TrackResult:
    """Render one track with the batch's render session, turning any failure into a FAILED
    result (Ctrl-C still interrupts); a failure that every later track would meet too is marked
    `fatal`. A device, FIFO or folder at the video's path is this track's failure (the session
    checks the output), never replaced."""
    t0 = time.perf_counter()
    try:
        result = renderer.render(track.source, track.output, overwrite=True, progress=progress)
    except Exception as e:  # one bad file must never stop the batch
        return TrackResult(track.rel, track.out_rel, FAILED, _reason(e, track.source), round(time.perf_counter() - t0, 2),
                           fatal=is_fatal(e, track))
    return TrackResult(track.rel, track.out_rel, DONE, "", round(time.perf_counter() - t0, 2),
                       round(result.audio_seconds, 3))


# -- worker processes (--jobs N) ---------------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGTERM to this worker when the batch process dies, even by
    SIGKILL, so that no orphan goes on rendering."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _imports_isolated():
    """Workers import only audioviz and what it needs, whatever folder the batch runs in. A
    spawned worker (and multiprocessing's resource tracker) starts as `python -c ...`, which
    puts the current folder first on sys.path before it imports multiprocessing: a signal.py or
    multiprocessing.py there would run in every worker. PYTHONSAFEPATH=1 (Python 3.11) keeps
    it out; the processes started meanwhile inherit it, and the batch's environment is restored."""
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before


def _stuck_frame(conn, current: list[Track], code: int, message: str) -> None:
    """A worker's frame of a user scene never finished (render/watchdog.py ends the process):
    the batch hears that the track failed on a fault every track of the scene meets, or, when
    the worker was being stopped anyway, nothing."""
    from .render.watchdog import hard_exit

    if code != 130 and current:
        track = current[0]
        result = TrackResult(track.rel, track.out_rel, FAILED, message.removeprefix("error: "), fatal=True)
        with contextlib.suppress(OSError, ValueError):
            conn.send(("done", result))
    hard_exit(0)


def _worker_main(config: RenderConfig, threads: int, conn) -> None:
    """A worker process: load once, then render each track the batch sends on `conn` until None,
    answering each with its result."""
    from .console import setup
    from .quick_exit import quick_exit
    from .render.watchdog import on_stuck
    from .signals import interrupt_once

    setup()  # a closed stderr (the batch piped into `head`) never stops a render
    current: list[Track] = []
    on_stuck(functools.partial(_stuck_frame, conn, current))
    signal.signal(signal.SIGTERM, interrupt_once)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a batch started with nohup or & keeps it ignored
        signal.signal(signal.SIGINT, interrupt_once)
    _die_with_parent()
    try:
        from .session import Renderer

        renderer = Renderer(config, threads=threads)
    except KeyboardInterrupt:
        quick_exit(0)  # nothing to clean up yet; the interpreter's teardown would only cost seconds
    except BaseException as e:
        with contextlib.suppress(OSError):
            conn.send(("fatal", str(e) if isinstance(e, AudiovizError) else f"{type(e).__name__}: {e}"))
        return
    try:
        conn.send(("ready", None))
        while (track := conn.recv()) is not None:
            current[:] = [track]
            conn.send(("done", render_track(renderer, track)))
    # stopped (its ffmpeg is stopped and its temporary file gone: render/video.py), or the batch
    # is gone (its end of the pipe closed), which reads nothing more from this worker
    except (KeyboardInterrupt, EOFError, OSError):
        renderer.close()
        quick_exit(0)
    renderer.close()


@dataclass
class _Worker:
    proc: object
    conn: object  # the batch's end of its pipe: tracks go out, results come back
    track: Track | None = None
    ready: bool = False


class _Pool:
    """N worker processes ('spawn': each a fresh interpreter, its own GL context and torch),
    one track each at a time; a worker that dies fails only its own track and is replaced.

    Each worker has a pipe of its own, and the batch waits on the pipes and the processes
    together: it wakes when a worker answers or dies, and Ctrl-C or SIGTERM ends any wait.
    Pipes, not queues: a queue holds named semaphores, which multiprocessing's resource
    tracker reports leaked (a line on stderr) when the batch is killed with -9."""

    MAX_START_FAILURES = 3
    STOP_SECONDS = 10  # for a worker to end on its own before it is killed

    def __init__(self, config: RenderConfig, jobs: int):
        import multiprocessing

        self.mp = multiprocessing.get_context("spawn")
        self.config = config
        self.threads = max(1, (os.cpu_count() or 1) // jobs)
        self.workers: list[_Worker] = []
        self._next_id = 0
        self.start_failures = 0

    def spawn(self) -> None:
        ours, theirs = self.mp.Pipe()
        proc = self.mp.Process(target=_worker_main, args=(self.config, self.threads, theirs),
                               name=f"audioviz-batch-{self._next_id}", daemon=True)
        self._next_id += 1
        with _imports_isolated():
            proc.start()
        theirs.close()  # the worker's copy is its own: when it dies, reading ours ends
        self.workers.append(_Worker(proc, ours))

    def run(self, todo: list[Track], jobs: int, record: Callable[[TrackResult], None]) -> None:
        from multiprocessing.connection import wait

        pending = deque(todo)
        remaining = {t.rel for t in todo}

        def finish(r: TrackResult) -> None:
            if r.input in remaining:  # once per track, whatever a dying worker managed to send
                remaining.discard(r.input)
                record(r)

        for _ in range(min(jobs, len(todo))):
            self.spawn()
        while remaining:
            ready = set(wait([w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers]))
            for w in [w for w in self.workers if w.conn in ready or w.proc.sentinel in ready]:
                self._serve(w, pending, finish)

    def _serve(self, w: _Worker, pending: deque, finish) -> None:
        """Answer what worker `w` sent; when it is gone, fail its track and replace it."""
        try:
            while w.conn.poll():
                self._answer(w, *w.conn.recv(), pending, finish)
            if w.proc.exitcode is None:
                return
        except (EOFError, OSError):  # its end of the pipe closed: it has ended, or is ending
            pass
        self._reap(w, pending, finish)

    def _answer(self, w: _Worker, kind: str, payload, pending: deque, finish) -> None:
        if kind == "fatal":  # what loaded in the batch itself fails to load in a worker
            raise BatchStoppedError(f"a batch worker cannot start: {payload}")
        if kind == "done":
            finish(payload)
        w.ready, self.start_failures = True, 0
        w.track = pending.popleft() if pending else None
        try:
            w.conn.send(w.track)  # None: nothing left, the worker ends
        except OSError:  # it died meanwhile: its track waits for another worker
            if w.track is not None:
                pending.appendleft(w.track)
            w.track = None

    def _reap(self, w: _Worker, pending: deque, finish) -> None:
        self._stop(w)
        self.workers.remove(w)
        code = w.proc.exitcode
        if w.track is not None:
            why = "it did not end" if code is None else f"signal {-code}" if code < 0 else f"exit status {code}"
            finish(TrackResult(w.track.rel, w.track.out_rel, FAILED, f"the worker rendering it died ({why})"))
        if not w.ready:
            self.start_failures += 1
            if self.start_failures >= self.MAX_START_FAILURES:
                raise BatchStoppedError(f"batch workers die while starting (exit status {code})")
        if pending:
            self.spawn()

    def _stop(self, w: _Worker, timeout: float = STOP_SECONDS) -> None:
        """Wait for `w` to end, at most `timeout` seconds, then kill it; what a worker killed
        outright leaves of its video is deleted."""
        w.proc.join(timeout)
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(self.STOP_SECONDS)
        w.conn.close()
        if w.track is not None:
            _remove_stale(w.track.output)

    def close(self, now: bool = False) -> None:
        """Stop the workers: idle ones at the end of a batch, every one at once when it was
        interrupted (on SIGTERM a worker deletes its temporary file and stops its ffmpeg)."""
        if now:
            for w in self.workers:
                if w.proc.is_alive():
                    w.proc.terminate()
        deadline = time.monotonic() + self.STOP_SECONDS
        for w in self.workers:
            self._stop(w, max(0.0, deadline - time.monotonic()))
        self.workers.clear()


# -- the batch ------------------------------------------------------------------------------


@dataclass
class BatchResult:
    in_dir: str
    out_dir: str
    report: str
    jobs: int
    seconds: float
    tracks: list[TrackResult] = field(default_factory=list)
    found: int = 0  # audio files under IN_DIR before --include and --limit
    mapping: str | None = None  # the fitted mapping --fit-on-batch used
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.tracks)

    @property
    def failed(self) -> list[TrackResult]:
        return [t for t in self.tracks if t.status == FAILED]

    def summary(self) -> dict:
        return {s: self.count(s) for s in STATUSES}

    def as_dict(self) -> dict:
        d = asdict(self)
        for t in d["tracks"]:
            del t["fatal"]
        d["summary"] = self.summary()
        return d


class Batch:
    """A planned batch. Making one checks everything a user can get wrong (ConfigError,
    InputError, ModelError, SceneError: usage errors) before any work; `run` does the work.

        result = Batch("fma_small", "videos", RenderConfig(scene="real"), limit=100).run()

    With more than one job the workers are started with multiprocessing's 'spawn', which imports
    the calling script again in each worker: a script must call `run` under
    `if __name__ == "__main__":`, as with any multiprocessing code.
    """

    def __init__(
        self,
        in_dir: str | os.PathLike,
        out_dir: str | os.PathLike,
        config: RenderConfig = RenderConfig(),
        jobs: int | None = None,
        overwrite: bool = False,
        fit_on_batch: bool = False,
        limit: int | None = None,
        shuffle: bool = False,
        include: tuple[str, ...] = (),
        fma_metadata: str | os.PathLike | None = None,
        report: str | os.PathLike | None = None,
        cache: bool = True,
    ):
        self.in_dir, self.out_dir = Path(in_dir), Path(out_dir)
        self.jobs = default_jobs() if jobs is None else jobs
        if self.jobs < 1:
            raise ConfigError(f"--jobs {jobs}: give 1 or more tracks at once")
        if limit is not None and limit < 1:
            raise ConfigError(f"--limit {limit}: give 1 or more tracks")
        if fit_on_batch and config.mapping.fit != "model":
            raise ConfigError(f"--fit-on-batch fits the mapping itself; it cannot be combined with --fit {config.mapping.fit}")
        if not self.in_dir.is_dir():
            raise InputError(f"{self.in_dir}: no such folder" if not self.in_dir.exists() else f"{self.in_dir}: not a folder")
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise InputError(f"{self.out_dir}: is a file; give a folder for the videos")
        self.report_path = Path(report) if report is not None else self.out_dir / "report.csv"
        if self.report_path.suffix.lower() not in (".csv", ".json"):
            raise ConfigError(f"report {self.report_path}: end the name in .csv or .json")
        if os.path.lexists(self.report_path):  # a folder, a device or a FIFO there is never replaced
            try:
                output_file(self.report_path, overwrite=True, what="report")
            except OutputError as e:
                raise ConfigError(str(e)) from None
        self.config, self.overwrite, self.fit_on_batch, self.cache = config, overwrite, fit_on_batch, cache
        self.tracks, self.found = plan_tracks(self.in_dir, self.out_dir, tuple(include), shuffle, config.seed, limit,
                                              self._own_files())
        if not self.found:
            raise InputError(f"{self.in_dir}: no audio files found")
        if not self.tracks:
            raise InputError(f"{self.in_dir}: none of its {self.found} audio files match --include {' '.join(include)}")
        self.genres = self._genres(fma_metadata) if fma_metadata is not None else None
        # an ffmpeg that cannot encode H.264 here (or is missing) is one message before any work
        # (FFmpegUnavailableError), not the same failure for every track; so is no GL, below
        from .render.encoder import resolve_codec

        config = replace(config, encoder=replace(config.encoder, codec=resolve_codec(config.encoder.codec)))
        self.config = config
        self.result: BatchResult | None = None  # the last run's, also when it was interrupted
        # load once here: a wrong model, scene or mapping is reported before any work, and with
        # --jobs 1 this very renderer renders the tracks
        preflight = replace(config, mapping=replace(config.mapping, fit="track")) if fit_on_batch else config
        from .session import Renderer

        self.renderer: Renderer | None = Renderer(preflight)

    def _own_files(self) -> dict[str, str]:
        """The files the batch itself writes inside OUT_DIR, by path relative to it: no video
        may be one of them, or go in a folder of that name."""
        own = {LOCK_NAME: "the batch's lock"}
        if self.fit_on_batch:
            own |= {f"{MAPPING_NAME}.npz": "the mapping --fit-on-batch fits",
                    f"{MAPPING_NAME}.json": "the mapping --fit-on-batch fits"}
        report, out = os.path.abspath(self.report_path), os.path.abspath(self.out_dir)
        if os.path.commonpath([report, out]) == out:
            own[Path(os.path.relpath(report, out)).as_posix()] = "the batch's report"
        return own

    def _genres(self, metadata_dir) -> dict[str, str]:
        """Track path -> FMA top genre ('' for tracks FMA gives none or that are not FMA names)."""
        try:
            from .fma import fma_track_id, read_tracks
        except ImportError:  # before FMA's reader moved out of analysis/
            from types import SimpleNamespace

            from .analysis.groups import fma_genres

            corpus = SimpleNamespace(tracks=[SimpleNamespace(path=t.rel) for t in self.tracks])
            return fma_genres(metadata_dir, corpus)
        ids = {t.rel: fma_track_id(t.rel) for t in self.tracks}
        meta = read_tracks(metadata_dir, {i for i in ids.values() if i is not None})
        return {rel: meta.tracks[i].genre_top for rel, i in ids.items() if i in meta.tracks}

    # -- running ------------------------------------------------------------------------------

    def run(self, progress: bool = False, on_track: Callable[[TrackResult], None] | None = None) -> BatchResult:
        """Render what is not done yet; a KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one)
        stops the workers, leaves only complete videos behind, writes the report and re-raises."""
        from tqdm import tqdm

        t0, started = time.perf_counter(), time.time()
        with contextlib.ExitStack() as held:
            try:
                self._prepare_output()
                held.enter_context(FolderLock(self.out_dir))
            except BatchStoppedError:  # nothing done, and another batch may own the report
                self._close_renderer()
                raise
            result = BatchResult(str(self.in_dir), str(self.out_dir), str(self.report_path), self.jobs, 0.0,
                                 found=self.found)
            self.result = result
            by_rel: dict[str, TrackResult] = {}
            remove_stale_temporaries(self.tracks)
            todo, clashed = [], []
            for t in self.tracks:
                if t.clash:  # its video has no name of its own: it fails, whatever is at that name
                    clashed.append(TrackResult(t.rel, t.out_rel, FAILED, t.clash))
                elif not self.overwrite and t.output.is_file() and mp4_complete(t.output):
                    by_rel[t.rel] = TrackResult(t.rel, t.out_rel, SKIPPED, "complete video already there")
                else:
                    todo.append(t)
            result.jobs = 1 if len(todo) <= 1 else min(self.jobs, len(todo))
            bar = tqdm(total=len(self.tracks), initial=len(by_rel), desc="batch", unit="track",
                       disable=not progress, dynamic_ncols=True)

            failed = 0
            not_done = "the batch stopped before it finished"

            def record(r: TrackResult) -> None:
                nonlocal failed, not_done
                by_rel[r.input] = r
                if r.status == FAILED:
                    failed += 1
                    bar.set_postfix_str(f"{failed} failed", refresh=False)
                bar.update(1)
                if r.fatal:  # the machine's fault: every later track would fail the same way
                    left = len(self.tracks) - len(by_rel)
                    not_done = f"not rendered: the batch stopped at {r.input}, on a fault that every track would meet"
                    raise BatchStoppedError(
                        f"batch stopped at {r.input}: {r.reason}; {left} more track(s) left undone. "
                        f"Fix that and run the same command again to resume (report: {self.report_path})")
                if on_track is not None:
                    on_track(r)

            try:
                with bar:
                    for r in clashed:
                        record(r)
                    if todo and self.fit_on_batch:
                        result.mapping = self._fit(progress)
                    if todo:
                        self._render(todo, record, progress)
            except KeyboardInterrupt:
                result.interrupted = True
                raise
            finally:
                in_flight = sys.exc_info()[1]
                for t in self.tracks:
                    if t.rel in by_rel:
                        continue
                    if _finished_since(t.output, started):  # its worker got there before the stop did
                        by_rel[t.rel] = TrackResult(t.rel, t.out_rel, DONE, "finished as the batch stopped")
                    else:
                        by_rel[t.rel] = TrackResult(t.rel, t.out_rel, INTERRUPTED, not_done)
                result.tracks = [by_rel[t.rel] for t in self.tracks]
                if self.genres is not None:
                    for r in result.tracks:
                        r.genre = self.genres.get(r.input, "")
                result.seconds = round(time.perf_counter() - t0, 2)
                self._close_renderer()
                try:
                    write_report(self.report_path, result, with_genre=self.genres is not None)
                except OutputError as e:
                    if in_flight is None:
                        raise
                    if isinstance(in_flight, AudiovizError):  # keep the first error; say the second too
                        in_flight.args = (f"{in_flight}; and {e}",)
        return result

    def _close_renderer(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None

    def _prepare_output(self) -> None:
        """Make OUT_DIR (and the report's folder) if missing; when either cannot be written the
        batch stops here, before any work (BatchStoppedError)."""
        for folder in dict.fromkeys((self.out_dir, self.report_path.parent)):
            why = ""
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                existing = folder.absolute()
                while not os.path.lexists(existing) and existing != existing.parent:
                    existing = existing.parent
                why = f"{existing} is a file, not a folder" if not existing.is_dir() else e.strerror
            if not why and not _folder_usable(folder):
                why = "permission denied"
            if why:
                raise BatchStoppedError(f"{folder}: cannot write there ({why}); nothing was rendered")

    def _fit(self, progress: bool) -> str:
        """--fit-on-batch: fit the mapping on the batch's own tracks (kept in OUT_DIR, so that a
        resumed batch renders with the very mapping it started with)."""
        from .pipeline import fit_folder

        target = self.out_dir / MAPPING_NAME
        npz = target.with_name(target.name + ".npz")
        c = self.config
        try:
            if npz.exists() and not self.overwrite:
                mapping = str(npz)
            elif len(self.tracks) == self.found:
                mapping = fit_folder(self.in_dir, target, model=c.model, layer=c.layer, seed=c.seed,
                                     device=c.device, cache=self.cache, progress=progress, overwrite=True).output
            else:  # a sample of the folder: fit on exactly the files selected, through links to them
                with tempfile.TemporaryDirectory(prefix="audioviz-batch-") as tmp:
                    root = Path(tmp) / self.in_dir.resolve().name
                    for t in self.tracks:
                        link = root / t.rel
                        link.parent.mkdir(parents=True, exist_ok=True)
                        link.symlink_to(t.source.resolve())
                    mapping = fit_folder(root, target, model=c.model, layer=c.layer, seed=c.seed, device=c.device,
                                         cache=self.cache, progress=progress, overwrite=True).output
        except CacheError as e:  # the machine's fault, met before any track: every track would meet it
            raise BatchStoppedError(f"{e}; nothing was rendered") from None
        self.config = replace(self.config, mapping=replace(self.config.mapping, fit=mapping))
        if self.renderer is not None:
            try:
                self.renderer.use_mapping(mapping)
            except ConfigError as e:
                raise ConfigError(f"{e}; or rerun with --overwrite to refit it and render again") from None
        return mapping

    def _render(self, todo: list[Track], record, progress: bool) -> None:
        from .scenes.user import is_user_scene

        # a user's scene renders in a worker even alone: should one of its frames never finish,
        # the worker ends and says so (render/watchdog.py), and the batch writes its report
        if (self.jobs == 1 or len(todo) == 1) and not is_user_scene(self.config.scene):
            for t in todo:
                record(render_track(self.renderer, t, progress))
            return
        self.renderer.close()  # the workers load their own
        self.renderer = None
        pool = _Pool(self.config, min(self.jobs, len(todo)))
        try:
            pool.run(todo, self.jobs, record)
        except BaseException:
            pool.close(now=True)
            raise
        pool.close()


# -- the report -------------------------------------------------------------------------------


def write_report(path: Path, result: BatchResult, with_genre: bool = False) -> Path:
    """CSV (one row per track) or JSON (the summary and the same rows), written atomically."""
    rows = [r.row(with_genre) for r in result.tracks]
    if path.suffix.lower() == ".json":
        d = {k: v for k, v in result.as_dict().items() if k != "tracks"}
        text = json.dumps({**d, "tracks": rows}, indent=1) + "\n"
    else:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(REPORT_COLUMNS) + (["genre"] if with_genre else []), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if v is None else v for k, v in r.items()})
        text = buf.getvalue()
    try:
        with atomic_write(output_file(path, overwrite=True, what="report"), "report") as tmp:
            durable_bytes(tmp, text.encode("utf-8"))
    except OSError as e:
        raise OutputError(f"{path}: cannot write the report there ({e.strerror})") from None
    return path


def read_report(path: str | os.PathLike) -> list[dict]:
    """The rows of a report written by `write_report` (CSV or JSON), as dicts of strings/values."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return json.loads(path.read_text(encoding="utf-8"))["tracks"]
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
