"""The ffmpeg binary that imageio-ffmpeg ships, and the safe way to hand it a user's file."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

ENV = "AUDIOVIZ_FFMPEG"


@functools.cache
def executable() -> str:
    """AUDIOVIZ_FFMPEG when set (a system ffmpeg: say one whose NVENC matches an older driver
    than the bundled one needs), else the ffmpeg that imageio-ffmpeg ships."""
    chosen = os.environ.get(ENV)
    if chosen:
        from .errors import FFmpegUnavailableError

        path = Path(chosen).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise FFmpegUnavailableError(f"{ENV}={chosen}: not an executable file; point it at an ffmpeg, "
                                         "or unset it to use the bundled one")
        return str(path.absolute())
    import imageio_ffmpeg  # light, but only needed once something runs ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# The demuxers ffmpeg may use on a user's file: containers that hold music, and nothing that
# refers to other files or URLs (hls, dash, concat, image sequences, sdp, ...), reads text as
# media (playlists, subtitles) or runs a script (avisynth). ffmpeg guesses the format from the
# contents, not the name, so a playlist named .mp3 would otherwise be opened as a playlist.
AUDIO_FORMATS = (
    "mp3", "ogg", "flac", "wav", "w64", "mov", "aac", "loas", "ac3", "eac3", "dts", "dtshd", "truehd", "mlp",
    "aiff", "caf", "au", "asf", "matroska", "ape", "wv", "tta", "tak", "mpc", "mpc8", "shn", "dsf", "iff",
    "amr", "amrnb", "amrwb", "gsm", "voc", "rm", "avi", "flv", "mpeg", "mpegts", "nut", "oma", "xwma", "ircam",
    "sox", "nistsphere", "qcp",
)


# An audio filter that turns NaN and infinite samples into silence, as the AAC encoder refuses
# them ("Input contains (near) NaN/+-Inf"). It evaluates an expression per sample: about 0.8 s
# of CPU for four minutes of 44.1 kHz stereo, so it is used only on audio known to need it.
FINITE_AUDIO = "aeval=if(isnan(val(ch))+isinf(val(ch))\\,0\\,val(ch)):c=same"


def input_args(path: str | os.PathLike, start: float = 0.0, duration: float | None = None) -> list[str]:
    """Arguments that open `path` as one plain local file in an audio format, from `start`
    seconds on and for at most `duration` seconds (None: to the end).

    The `file:` prefix keeps a name such as `-x.mp3` or `http:x` from being read as an option
    or a URL; the protocol whitelist and the format whitelist (AUDIO_FORMATS) stop a playlist
    disguised as audio from making ffmpeg open other files or the network. Seeking happens
    before decoding (input options), so a long file costs only the part that is used.
    """
    cut = []
    if start:
        cut += ["-ss", f"{start:.6f}"]
    if duration is not None:
        cut += ["-t", f"{duration:.6f}"]
    return [*cut, "-protocol_whitelist", "file", "-format_whitelist", ",".join(AUDIO_FORMATS),
            "-i", "file:" + str(Path(path).absolute())]


def messages(stderr: bytes | str) -> list[str]:
    """ffmpeg's non-empty stderr lines, without the "[component @ 0x55d7...] " prefixes
    (addresses mean nothing to a user)."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    return [re.sub(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*", "", ln.strip()) for ln in stderr.splitlines() if ln.strip()]


def last_lines(stderr: bytes | str, n: int = 3) -> str:
    """ffmpeg's last few meaningful stderr lines, joined for a one-line error message."""
    return " | ".join(messages(stderr)[-n:])
