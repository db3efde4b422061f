"""Probe and decode audio through ffmpeg into mono float32 at the analysis sample rate.

What audioviz knows about a file comes from output that ffmpeg writes itself, never from the
text it prints about the file: its info-level description prints tags verbatim, so a tag
whose key or value holds a newline and "Duration: 10:00:00.00" would read as the header.

- The stream's codec, sample rate and channel layout come from the header of ffmpeg's
  framecrc muxer, and where its audio ends from the timestamps of its last packets (a quick
  probe: one seek to a second before the end, no decoding).
- The duration is what the decoded samples add up to.
- ffmpeg logs at warning level, where it prints no tags: every line is its own.
"""

from __future__ import annotations

import functools
import math
import mmap
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import ffmpeg
from .config import check_clip
from .errors import DecoderError, FFmpegUnavailableError, InputError, SilentAudioError
from .files import regular_file

SAMPLE_RATE = 44_100
# peak below -80 dBFS: nothing a listener (or a feature extractor) would call sound
SILENCE_PEAK = 1e-4
# Decoding keeps the whole track in memory (44.1 kHz float32: 635 MB an hour), so a file that
# decodes to more than this is refused (a part of it can still be used: `max_seconds`, --duration)
MAX_SECONDS = 4 * 3600
# Below this an input sample rate is not sound but a broken header, and resampling it to 44.1 kHz
# turns a few kilobytes into hours of audio (every real format uses 8000 Hz or more)
MIN_SAMPLE_RATE = 1000
# the highest rate audioviz asks ffmpeg's resampler for (extract.frontend.SAMPLE_RATES)
MAX_SAMPLE_RATE = 768_000
# what folder scans (training, batch) pick up; a single file given by name may be anything
AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".m4a", ".aac", ".aif", ".aiff", ".wma"}
)
# A cut that leaves this much less than --duration asked for ran into the end of the song: a
# lossy codec's frames make an honest cut up to a few milliseconds short
SHORT_BY = 0.05
# seconds for ffmpeg runs that read a bounded part of a file (the probe, the check of a damaged
# end: its header and last second), and for a decoder to exit once its output has ended
PROBE_TIMEOUT = 120
EXIT_TIMEOUT = 30


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    duration: float  # seconds, to the end of the stream's last packet (0.0: not found)
    sample_rate: int
    channels: int  # 0: a layout ffmpeg describes without a channel count
    codec: str


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # mono float32 in [-1, 1]
    sample_rate: int
    path: Path
    # the decoded part held NaN or infinite samples (now 0 and +-1): an encoder reading the same
    # part of the file again must replace them too (ffmpeg.FINITE_AUDIO), or AAC fails on them
    nonfinite: bool = False

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def check_readable(path: str | os.PathLike) -> Path:
    """The file as a Path, or an InputError saying in words why it cannot be used.

    Only a regular file will do: a device or a pipe (/dev/zero, a FIFO) would be read forever.
    """
    p = regular_file(path, "audio file", InputError, missing="file")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: is empty (0 bytes)")
    return p


# `+level+warning`: every stderr line carries its level. Tags are printed at info level only,
# so nothing below comes from the file's own text
_LOGLEVEL = ["-loglevel", "+level+warning", "-nostats"]
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


def _errors(log: list[tuple[str, str]]) -> list[str]:
    return [msg for level, msg in log if level in ("panic", "fatal", "error")]


# what ffmpeg adds after a component's own error: the fallout, not the cause
_FALLOUT = ("Error opening input", "Error submitting", "Decoding error", "Error while decoding", "Task finished",
            "Terminating")


def _cause(errors: list[str]) -> str | None:
    """The most specific of ffmpeg's error lines (e.g. "moov atom not found", "invalid residual")."""
    return next((e for e in errors if not e.startswith(_FALLOUT)), errors[0] if errors else None)


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
    """Why ffmpeg could not read `path`, from its error lines."""
    if (what := _playlist(path)) is not None:
        return InputError(f"{path}: is {what}, not an audio file; audioviz reads only plain audio files and "
                          "never opens the files or URLs a playlist names")
    errors = _errors(_log(stderr))
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
    detail = _cause(errors) or "ffmpeg could not read it"
    # ffmpeg names the file again in its own words; the path is already in front
    detail = detail.replace(f"file:{path.absolute()}", "input").replace(str(path.absolute()), "input")
    return InputError(f"{path}: not audio that ffmpeg can decode ({detail})")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def _check_exit(path: Path, returncode: int, stderr: bytes, doing: str) -> None:
    """Raise for an ffmpeg that did not finish well: DecoderError when a signal stopped it (the
    file is not to blame), else the InputError that its error lines explain."""
    if returncode < 0:
        number = -returncode
        why = ", perhaps for lack of memory" if number == signal.SIGKILL else ""
        raise DecoderError(f"{path}: the ffmpeg {doing} it was killed by signal {number} ({_signal_name(number)})"
                           f"{why}; the file itself may be fine")
    # ffmpeg stops on SIGINT and SIGTERM by itself, with status 255 and nothing above info level
    if returncode == 255 and not _errors(_log(stderr)):
        raise DecoderError(f"{path}: the ffmpeg {doing} it was stopped by a signal (SIGINT or SIGTERM); "
                           "the file itself may be fine")
    if returncode != 0:
        raise _explain(path, stderr)


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ffmpeg to the end (killed on any exception, Ctrl-C included, or after `timeout`
    seconds: subprocess.TimeoutExpired)."""
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except OSError as e:
        raise _unavailable(cmd, e) from None


def _unavailable(cmd: list[str], e: OSError) -> FFmpegUnavailableError:
    return FFmpegUnavailableError(f"ffmpeg does not start ({cmd[0]}: {e.strerror or e}); reinstall imageio-ffmpeg "
                                  "(pip install --force-reinstall imageio-ffmpeg)")


@dataclass(frozen=True)
class _Stream:
    """The first audio stream, as ffmpeg's framecrc muxer describes it."""

    codec: str
    sample_rate: int
    layout: str  # ffmpeg's name for the channel layout: "stereo", "5.1(side)", "64 channels"
    end: float | None  # seconds from the file's start to the end of its last packet (None: none found)


_NOPTS = -(2**63)


def _stream_end(framecrc: str, tb: Fraction) -> float | None:
    """The end of the latest packet in framecrc's packet lines (stream, dts, pts, duration, ...)."""
    ends = []
    for line in framecrc.splitlines():
        fields = line.split(",")
        if line.startswith("#") or len(fields) < 4:
            continue
        pts, duration = int(fields[2]), int(fields[3])
        if pts != _NOPTS:
            ends.append(pts + max(duration, 0))
    return float(max(ends) * tb) if ends else None


def _probe(path: Path) -> _Stream:
    """Describe the first audio stream of `path` (InputError when there is none to decode).

    The packets are copied, not decoded, from one second before the end that the container
    states (-sseof), with their own timestamps (-copyts): the last one ends where the audio
    does. A container that states no end is read through, which only costs time."""
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", *_LOGLEVEL, "-sseof", "-1", "-copyts", "-start_at_zero",
           *ffmpeg.input_args(path), "-map", "0:a:0", "-c", "copy", "-f", "framecrc", "pipe:1"]
    try:
        proc = _run(cmd, PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise InputError(f"{path}: ffmpeg took more than {PROBE_TIMEOUT} s to find its audio stream and where it "
                         "ends; the file may be damaged, or its disk too slow") from None
    _check_exit(path, proc.returncode, proc.stderr, "reading")
    text = proc.stdout.decode("ascii", "replace")
    header: dict[str, str] = {}
    for key, value in re.findall(r"^#(\w+) 0: (.*)$", text, re.M):
        header.setdefault(key, value)  # ffmpeg's own come first
    try:
        tb = Fraction(header["tb"])
        return _Stream(header["codec_id"], int(header["sample_rate"]), header.get("channel_layout_name", ""),
                       _stream_end(text, tb))
    except (KeyError, ValueError, ZeroDivisionError):
        raise InputError(f"{path}: not audio that ffmpeg can decode (it describes no audio stream)") from None


@functools.cache
def _standard_layouts() -> dict[str, int]:
    """ffmpeg's named channel layouts and their channel counts, from `ffmpeg -layouts`."""
    try:
        proc = _run([ffmpeg.executable(), "-hide_banner", "-layouts"], PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {}
    text = proc.stdout.decode("ascii", "replace").partition("Standard channel layouts:")[2]
    return {name: len(channels.split("+")) for name, channels in re.findall(r"^(\S+)\s+(\S+)$", text, re.M)
            if name != "NAME"}


def _channels(layout: str) -> int:
    m = re.match(r"(\d+) channels", layout)  # a layout without a name: "64 channels", "2 channels (FL+LFE)"
    return int(m.group(1)) if m else _standard_layouts().get(layout, 0)


def probe(path: str | os.PathLike) -> AudioInfo:
    """Duration, sample rate, channels and codec of the first audio stream."""
    p = check_readable(path)
    s = _probe(p)
    return AudioInfo(p, s.end or 0.0, s.sample_rate, _channels(s.layout), s.codec)


def _too_long(path: Path, seconds: float) -> InputError:
    return InputError(f"{path}: lasts {seconds / 3600:.1f} hours, more than the {MAX_SECONDS // 3600} hours "
                      "audioviz decodes at once; use --start and --duration to take a part of it")


def _nothing_after(path: Path, start: float, end: float | None) -> InputError:
    if end is None:
        return InputError(f"{path}: holds no audio samples after {start:g} s")
    return InputError(f"{path}: starting at {start:g} s leaves nothing: it lasts {end:.2f} s")


def _check_stream(path: Path, s: _Stream, start: float, max_seconds: float | None) -> None:
    """Refuse, before decoding it, a stream that the probe shows to be unusable."""
    if s.sample_rate < MIN_SAMPLE_RATE:
        raise InputError(f"{path}: has a sample rate of {s.sample_rate} Hz, far below any audio format's "
                         "(8000 Hz and up); its header is broken")
    if s.end is None:
        return  # the decoder's own bound applies
    if start and start >= s.end:
        raise _nothing_after(path, start, s.end)
    wanted = s.end - start if max_seconds is None else min(s.end - start, max_seconds)
    if wanted > MAX_SECONDS:
        raise _too_long(path, s.end)


class _Samples:
    """Decoded float32 bytes read straight into one anonymous memory mapping that grows in
    place (mremap moves its pages and copies nothing), so that a track of unknown length is
    never held twice, as a growing buffer and its final copy would be (635 MB each for an hour
    at 44.1 kHz). Pages nothing was read into cost no memory, so the room can be generous."""

    def __init__(self, capacity: int = 1 << 26):
        self._map = mmap.mmap(-1, capacity, flags=mmap.MAP_PRIVATE)
        self.nbytes = 0

    def read_from(self, stream, most: int) -> int:
        """Read up to `most` bytes from `stream` (a binary file) into the mapping: how many came."""
        if self.nbytes + most > len(self._map):
            self._map.resize(max(2 * len(self._map), self.nbytes + most))
        # released before the mapping may grow again (a mapping with a view into it cannot)
        with memoryview(self._map)[self.nbytes: self.nbytes + most] as window:
            got = stream.readinto(window) or 0
        self.nbytes += got
        return got

    def samples(self) -> np.ndarray:
        n = self.nbytes // 4
        if n == 0:
            return np.empty(0, np.float32)
        self._map.resize(4 * n)  # the room beyond the audio goes back
        return np.frombuffer(self._map, np.float32)


# bytes per read: fixed, so that the read loop goes on to the end of the output whatever the rate
_CHUNK = 1 << 20


def _read_decoder(path: Path, cmd: list[str], limit: int, on_read) -> tuple[_Samples, bytes]:
    """Run the decoder `cmd` and read its float32 output whole (at most `limit` bytes, or an
    InputError), calling `on_read(nbytes)` as it comes; its stderr goes to a file, as a corrupt
    file can print more than a pipe holds."""
    buf = _Samples()
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        except OSError as e:
            raise _unavailable(cmd, e) from None
        with proc:
            try:
                while got := buf.read_from(proc.stdout, _CHUNK):
                    on_read(got)
                    if buf.nbytes > limit:
                        raise InputError(f"{path}: decodes to more than the {MAX_SECONDS // 3600} hours of audio "
                                         "that audioviz decodes at once; use --start and --duration to take a part "
                                         "of it")
                proc.wait(timeout=EXIT_TIMEOUT)  # its output has ended: it has nothing left to do
            except subprocess.TimeoutExpired:
                proc.kill()
                raise DecoderError(f"{path}: the ffmpeg decoding it did not exit within {EXIT_TIMEOUT} s of "
                                   "finishing its output; the file itself may be fine") from None
            except BaseException:  # Ctrl-C, SIGTERM, too long: ffmpeg stops now, not at the end of the file
                proc.kill()
                raise
        err.seek(0)
        stderr = err.read()
    _check_exit(path, proc.returncode, stderr, "decoding")
    return buf, stderr


def _cut_short(log: list[tuple[str, str]]) -> str | None:
    """ffmpeg's own evidence that the file stops before its structure says it does: why, or None."""
    for level, msg in log:
        if msg.startswith("filesize and duration do not match"):  # an MP3's Xing or Info header counts its bytes
            return "the file is smaller than its header says"
        if level == "error" and (msg == "File ended prematurely" or msg.endswith(": partial file")):  # MKV; MP4
            return msg
    return None


def _decoding_fails_at_end(path: Path, end: float) -> str | None:
    """The decoder's error when the audio from a second before `end` (seconds into the file)
    on is decoded again (None: it decodes cleanly): damage where the file stops, a cut, rather
    than a glitch in the middle. The demuxer's own lines do not count, as a seek may read
    pages anywhere in the file (Ogg bisects)."""
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", *_LOGLEVEL, "-copyts", "-start_at_zero",
           *ffmpeg.input_args(path, max(0.0, end - 1)), "-map", "0:a:0", "-f", "null", "-"]
    try:
        proc = _run(cmd, PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None  # cannot tell: the audio is kept, with the warning that it is damaged
    decoding = b"\n".join(ln for ln in proc.stderr.splitlines() if not ln.startswith(b"[in#"))  # in#N: a demuxer
    return _cause(_errors(_log(decoding)))


def _truncated(path: Path, end: float, why: str) -> InputError:
    return InputError(f"{path}: is truncated or damaged: the audio breaks off after {end:.1f} s ({why}); "
                      "use a complete copy of the file")


def _check_complete(path: Path, log: list[tuple[str, str]], decoded_to: float, packets_end: float | None,
                    ran_to_end: bool) -> str | None:
    """Refuse a file that ffmpeg shows to be cut short, when the decoding (which went on to
    `decoded_to` seconds into the file) ran into its end; a warning for damage elsewhere
    (ffmpeg skips what it cannot decode, and the rest is used)."""
    errors = _errors(log)
    if ran_to_end:
        if why := _cut_short(log):
            raise _truncated(path, decoded_to, why)
        # from where the packets end, as what was skipped in the middle shortens the decoded audio
        if errors and (why := _decoding_fails_at_end(path, packets_end or decoded_to)):
            raise _truncated(path, decoded_to, why)
    if errors:
        return f"{path}: is damaged: ffmpeg could not decode all of it ({_cause(errors)}); the rest is used"
    return None


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
    empty, not audio, no audio stream, truncated (ffmpeg finds it cut short), a broken sample
    rate, longer than MAX_SECONDS (unless `max_seconds` cuts it), or nothing left after
    `start`; SilentAudioError when it is all silence; DecoderError when ffmpeg is killed.
    A `max_seconds` that runs past the end gets what there is, and a `warning: ` line on stderr.
    """
    if type(sample_rate) is not int or not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ValueError(f"cannot decode to {sample_rate!r} Hz; give a whole number from {MIN_SAMPLE_RATE} to "
                         f"{MAX_SAMPLE_RATE}")
    check_clip(start, max_seconds)
    p = check_readable(path)
    stream = _probe(p)
    _check_stream(p, stream, start, max_seconds)
    # -copyts: timestamps stay the file's own, so the cut at `start` is made on them; a demuxer
    # that seeks past the end back to the start (Ogg does) then yields nothing, not the song's start
    seek = ["-copyts", "-start_at_zero"] if start else []
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", *_LOGLEVEL, *seek,
           *ffmpeg.input_args(p, start, max_seconds), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate),
           "-f", "f32le", "pipe:1"]
    limit = (min(MAX_SECONDS, max_seconds or math.inf) + 1) * 4 * sample_rate
    from .progress import bar as progress_bar

    with progress_bar(desc="decode", unit="s", disable=not progress, leave=False,
              bar_format="{desc}: {n:.0f} s of audio [{elapsed}]") as bar:
        buf, stderr = _read_decoder(p, cmd, limit, lambda nbytes: bar.update(nbytes / (4 * sample_rate)))
    samples = buf.samples()
    if samples.size == 0:
        raise _nothing_after(p, start, stream.end) if start else InputError(f"{p}: holds no audio samples")
    got = samples.size / sample_rate
    ran_to_end = max_seconds is None or got < max_seconds - SHORT_BY
    warnings = [_check_complete(p, _log(stderr), start + got, stream.end, ran_to_end)]
    if max_seconds is not None and ran_to_end:
        warnings.append(f"{p}: --duration {max_seconds:g} s runs past its end (it lasts {start + got:.2f} s); "
                        f"using the {got:.2f} s from {start:g} s on")
    # the extremes show NaN and inf too, without a mask or |x| copy as large as the track
    lo, hi = float(samples.min()), float(samples.max())
    nonfinite = not (math.isfinite(lo) and math.isfinite(hi))
    if nonfinite:
        np.nan_to_num(samples, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        lo, hi = float(samples.min()), float(samples.max())
    if max(hi, -lo) < SILENCE_PEAK:
        raise SilentAudioError(f"{p}: is silent (peak below -80 dBFS); nothing to visualise")
    for text in filter(None, warnings):  # once nothing is left to refuse
        print(f"warning: {text}", file=sys.stderr)
    return Audio(samples, sample_rate, p, nonfinite)
