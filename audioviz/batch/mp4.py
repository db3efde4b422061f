"""Whether a video at a batch's output path is complete, from its structure alone: an MP4's or
a QuickTime .mov's, which are built of the same boxes."""

from __future__ import annotations

import os
import struct
from pathlib import Path

MAX_MOOV = 64 << 20  # an hour at 60 fps indexes in well under 2 MB; anything bigger is not ours
# the video and audio tracks of a video audioviz wrote last equally long (the audio is padded or
# cut to the frames); AAC's priming and last frame add under 50 ms
MAX_TRACK_MISMATCH = 0.25
BOXED = ("mp4", "mov")  # the muxers (render/encoder.py CONTAINERS) whose files mp4_complete reads


def batch_suffix(video_codec: str, alpha: bool = False) -> str:
    """The file a batch writes `video_codec` into (with an `alpha` channel): the first of the
    codec's own (render/encoder.py CODECS) that is built of boxes, so that a resumed batch can
    tell a complete one (.mp4 for h264, hevc, av1 and vp9; .mov for prores). ConfigError
    where there is none."""
    from ..errors import ConfigError
    from ..render.encoder import CODECS, CONTAINERS

    spec = CODECS[video_codec]
    boxed = [s for s in (spec.alpha_suffixes if alpha else spec.suffixes) if CONTAINERS[s] in BOXED]
    if not boxed:
        raise ConfigError(f"--alpha: a batch writes MP4 or QuickTime files, which can tell it a video is complete, "
                          f"and {spec.name} keeps its alpha in {', '.join(spec.alpha_suffixes) or 'none'}; "
                          "use --codec prores (.mov, ProRes 4444)")
    return boxed[0]


def mp4_complete(path: str | os.PathLike) -> bool:
    """Whether `path` holds a whole MP4 (or .mov) whose frames are all there, checked from its
    structure alone (about a millisecond a file: resuming a batch of thousands stays quick):

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
