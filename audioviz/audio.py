"""Probe and decode audio through ffmpeg into mono float32 at the analysis sample rate."""

from __future__ import annotations

import math
import os
import re
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ffmpeg
from .errors import FFmpegUnavailableError, InputError, SilentAudioError

SAMPLE_RATE = 44_100
# peak below -80 dBFS: nothing a listener (or a feature extractor) would call sound
SILENCE_PEAK = 1e-4
# Decoding keeps the whole track in memory (44.1 kHz float32: 635 MB an hour), so a file that
# decodes to more than this is refused (a part of it can still be used: `max_seconds`, --duration)
MAX_SECONDS = 4 * 3600
# Below this an input sample rate is not sound but a broken header, and resampling it to 44.1 kHz
# turns a few kilobytes into hours of audio (every real format uses 8000 Hz or more)
MIN_SAMPLE_RATE = 1000
# what folder scans (training, batch) pick up; a single file given by name may be anything
AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".m4a", ".aac", ".aif", ".aiff", ".wma"}
)


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    duration: float  # seconds, as the container reports it (may be absent: 0.0)
    sample_rate: int
    channels: int
    codec: str


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # mono float32 in [-1, 1]
    sample_rate: int
    path: Path

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def check_readable(path: str | os.PathLike) -> Path:
    """The file as a Path, or an InputError saying in words why it cannot be used.

    Only a regular file will do: a device or a pipe (/dev/zero, a FIFO) would be read forever.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{p}: no such file" + (" (a broken link)" if p.is_symlink() else "")) from None
    except PermissionError:
        raise InputError(f"{p}: cannot be read (permission denied on a folder above it)") from None
    except ValueError:  # a NUL in the name
        raise InputError(f"{str(p)!r}: is not a valid file name") from None
    except OSError as e:
        raise InputError(f"{p}: cannot be opened ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{p}: is a folder, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{p}: is not a regular file (a device, pipe or socket); give an audio file")
    try:
        with open(p, "rb"):
            pass
    except PermissionError:
        raise InputError(f"{p}: cannot be read (permission denied)") from None
    except OSError as e:
        raise InputError(f"{p}: cannot be read ({e.strerror})") from None
    if st.st_size == 0:
        raise InputError(f"{p}: is empty (0 bytes)")
    return p


# `-loglevel +level+info`: every stderr line carries its level, so errors can be told from the
# stream description (duration, streams) that comes at info level
_LOGLEVEL = ["-loglevel", "+level+info", "-nostats"]
_LEVEL = re.compile(r"\[(panic|fatal|error|warning|info|verbose|debug|trace)\] ?(.*)")


def _log(stderr: bytes | str) -> list[tuple[str, str]]:
    """ffmpeg's stderr as (level, message) pairs; lines without a level count as errors."""
    out = []
    for line in ffmpeg.messages(stderr):
        if line.startswith("Last message repeated"):
            continue
        m = _LEVEL.search(line)
        out.append((m.group(1), m.group(2).strip()) if m else ("error", line))
    return [(level, msg) for level, msg in out if msg]


_PLAYLISTS = ((b"#EXTM3U", "an HLS playlist"), (b"ffconcat", "an ffconcat playlist"), (b"[playlist]", "a PLS playlist"),
              (b"<?xml", "an XML document (a DASH manifest or playlist?)"), (b"#EXTINF", "an M3U playlist"))


def _playlist(path: Path) -> str | None:
    """What kind of playlist the file is, by its first bytes (None: not one)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return None
    return next((name for magic, name in _PLAYLISTS if head.startswith(magic)), None)


def _explain(path: Path, stderr: bytes | str) -> InputError:
    if (what := _playlist(path)) is not None:
        return InputError(f"{path}: is {what}, not an audio file; audioviz reads only plain audio files and "
                          "never opens the files or URLs a playlist names")
    log = _log(stderr)
    errors = [msg for level, msg in log if level in ("panic", "fatal", "error")]
    text = "\n".join(errors)
    if "Format not on whitelist" in text:  # ffmpeg recognised a format outside ffmpeg.AUDIO_FORMATS
        return InputError(f"{path}: not audio that ffmpeg can decode (its contents are in a format that is not an "
                          "audio format audioviz reads, such as a playlist, an image or subtitles)")
    if "matches no streams" in text or "does not contain any stream" in text:
        return InputError(f"{path}: has no audio stream")
    m = re.search(r"Rematrix is needed between (\d+) channels", text)
    if m:
        return InputError(f"{path}: has {m.group(1)} audio channels in no known layout, which cannot be mixed down; "
                          "convert it to stereo first (e.g. ffmpeg -i IN -ac 2 OUT.flac)")
    # the most specific line comes first (e.g. "moov atom not found"); what follows is the fallout
    first = next((e for e in errors if not e.startswith(("Error opening input", "Task finished", "Terminating"))), None)
    detail = first or (errors[-1] if errors else "ffmpeg could not read it")
    # ffmpeg names the file again in its own words; the path is already in front
    detail = detail.replace(f"file:{path.absolute()}", "input").replace(str(path.absolute()), "input")
    return InputError(f"{path}: not audio that ffmpeg can decode ({detail})")


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (\w+)[^,]*, (\d+) Hz, ([^,]+)")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def _header(log: list[tuple[str, str]]) -> list[str]:
    """The info lines that describe the input (before ffmpeg describes its output)."""
    lines = []
    for level, msg in log:
        if msg.startswith(("Stream mapping", "Output #")):
            break
        if level == "info":
            lines.append(msg)
    return lines


def _declared_duration(log: list[tuple[str, str]]) -> float | None:
    """The audio's duration as its container states it, when that can be trusted to measure
    the audio: not estimated from the bitrate, and no video stream that may last longer."""
    header = _header(log)
    d = next((m for m in map(_DURATION.search, header) if m), None)
    if d is None:
        return None
    if any("Estimating duration" in msg for _, msg in log):
        return None
    if any(": Video: " in ln and "attached pic" not in ln for ln in header):
        return None
    return int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3))


def probe(path: str | os.PathLike) -> AudioInfo:
    """Duration, sample rate, channels and codec of the first audio stream."""
    p = check_readable(path)
    proc = subprocess.run(
        [ffmpeg.executable(), "-hide_banner", "-nostdin", *_LOGLEVEL, *ffmpeg.input_args(p)],
        capture_output=True, timeout=60,
    )
    log = _log(proc.stderr)
    header = "\n".join(_header(log))
    audio = _AUDIO.search(header)
    if audio is None:
        if "Stream #" in header:
            raise InputError(f"{p}: has no audio stream")
        raise _explain(p, proc.stderr)
    d = _DURATION.search(header)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else 0.0
    layout = audio.group(3).strip()
    m = re.match(r"(\d+) channels", layout)
    channels = int(m.group(1)) if m else _LAYOUT_CHANNELS.get(layout.split("(")[0], 2)
    return AudioInfo(p, duration, int(audio.group(2)), channels, audio.group(1))


def _check_stream(path: Path, log: list[tuple[str, str]], start: float, max_seconds: float | None) -> None:
    """Refuse, before decoding it, a stream whose header promises something unusable."""
    audio = _AUDIO.search("\n".join(_header(log)))
    if audio is not None and int(audio.group(2)) < MIN_SAMPLE_RATE:
        raise InputError(f"{path}: has a sample rate of {audio.group(2)} Hz, far below any audio format's "
                         "(8000 Hz and up); its header is broken")
    declared = _declared_duration(log)
    if max_seconds is None and declared is not None and declared - start > MAX_SECONDS:
        raise InputError(f"{path}: lasts {declared / 3600:.1f} hours, more than the {MAX_SECONDS // 3600} hours "
                         "audioviz decodes at once; use --start and --duration to take a part of it")


def _start_ffmpeg(cmd: list[str], err) -> subprocess.Popen:
    try:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
    except OSError as e:
        raise FFmpegUnavailableError(
            f"ffmpeg does not start ({cmd[0]}: {e.strerror or e}); reinstall imageio-ffmpeg "
            "(pip install --force-reinstall imageio-ffmpeg)") from None


def _expected_seconds(log: list[tuple[str, str]], start: float, max_seconds: float | None) -> float | None:
    """How much audio the decode should give, from the header (None: it does not say)."""
    declared = _declared_duration(log)
    if declared is None:
        return max_seconds
    return max(0.0, declared - start) if max_seconds is None else min(max(0.0, declared - start), max_seconds)


class _Samples:
    """Decoded float32 bytes read straight into one array: sized once from the header's
    duration where it has one, grown by half otherwise. A growing bytearray and a final
    conversion would briefly hold an hour's audio twice (635 MB each at 44.1 kHz)."""

    def __init__(self, capacity: int):
        self._array = np.empty(capacity // 4, np.float32)
        self.nbytes = 0

    def reserve(self, nbytes: int) -> None:
        if nbytes > self._array.nbytes:
            grown = np.empty(-(-nbytes // 4), np.float32)
            grown.view(np.uint8)[: self.nbytes] = self._array.view(np.uint8)[: self.nbytes]
            self._array = grown

    def read_from(self, stream, most: int) -> int:
        """Read up to `most` bytes from `stream` (a binary file) into the array: how many came."""
        if self.nbytes == self._array.nbytes:  # full: the header said less, or nothing
            self.reserve(max(self.nbytes + most, self._array.nbytes * 3 // 2))
        end = min(self.nbytes + most, self._array.nbytes)
        got = stream.readinto(self._array.view(np.uint8)[self.nbytes: end]) or 0
        self.nbytes += got
        return got

    def samples(self) -> np.ndarray:
        n = self.nbytes // 4
        if self._array.size - n > max(n // 10, 1 << 20):  # much more room than audio: give it back
            return self._array[:n].copy()
        return self._array[:n]


def decode(
    path: str | os.PathLike,
    sample_rate: int = SAMPLE_RATE,
    max_seconds: float | None = None,
    progress: bool = False,
    start: float = 0.0,
) -> Audio:
    """Decode the first audio stream to mono float32 at `sample_rate`: from `start` seconds on,
    at most `max_seconds` of it (ffmpeg seeks, so the rest of a long file is never decoded).

    Raises InputError (in words) for anything that is not usable audio: missing, unreadable,
    empty, not audio, no audio stream, truncated (decodes to much less than its header
    declares), a broken sample rate, longer than MAX_SECONDS (unless `max_seconds` cuts it), or
    nothing left after `start`; SilentAudioError when it is all silence.
    """
    p = check_readable(path)
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", *_LOGLEVEL, *ffmpeg.input_args(p, start, max_seconds),
           "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1"]
    from tqdm import tqdm

    chunk = sample_rate * 4 * 10  # ten seconds at a time
    buf = _Samples(chunk)
    # stderr goes to a file: a corrupt mp3 can print more than a pipe holds and stall ffmpeg
    with tempfile.TemporaryFile() as err, _start_ffmpeg(cmd, err) as proc, tqdm(
        desc="decode", unit="s", disable=not progress, leave=False,
        bar_format="{desc}: {n:.0f} s of audio [{elapsed}]",
    ) as bar:
        limit = (MAX_SECONDS if max_seconds is None else max_seconds + 1) * 4 * sample_rate
        try:
            while got := buf.read_from(proc.stdout, chunk):
                if buf.nbytes == got:  # ffmpeg has described the input by now; pread leaves its file offset alone
                    log = _log(os.pread(err.fileno(), 1 << 20, 0))
                    _check_stream(p, log, start, max_seconds)
                    expected = _expected_seconds(log, start, max_seconds)
                    if expected is not None:  # one array of the right size, not a growing copy
                        buf.reserve(int((expected + 1) * sample_rate) * 4)
                bar.update(got / (4 * sample_rate))
                if buf.nbytes > limit:
                    raise InputError(f"{p}: decodes to more than the {MAX_SECONDS // 3600} hours of audio that "
                                     "audioviz decodes at once; use --start and --duration to take a part of it")
            proc.wait()
        except BaseException:
            proc.kill()
            raise
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0:
        raise _explain(p, stderr)
    samples = buf.samples()
    log = _log(stderr)
    declared = _declared_duration(log)
    if samples.size == 0:
        if start and declared is not None and start >= declared:
            raise InputError(f"{p}: starting at {start:g} s leaves nothing: it lasts {declared:.2f} s")
        raise InputError(f"{p}: holds no audio samples" + (f" after {start:g} s" if start else ""))
    if declared is not None:
        expected = _expected_seconds(log, start, max_seconds)
        got = samples.size / sample_rate
        if expected - got > max(1.0, 0.05 * expected):
            raise InputError(
                f"{p}: is truncated or damaged: its header declares {declared:.1f} s but the audio ends after "
                f"{start + got:.1f} s; use a complete copy of the file"
            )
    # the extremes show NaN and inf too, without a mask or |x| copy as large as the track
    lo, hi = float(samples.min()), float(samples.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        np.nan_to_num(samples, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        lo, hi = float(samples.min()), float(samples.max())
    if max(hi, -lo) < SILENCE_PEAK:
        raise SilentAudioError(f"{p}: is silent (peak below -80 dBFS); nothing to visualise")
    return Audio(samples, sample_rate, p)
