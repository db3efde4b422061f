"""The ffmpeg binary that imageio-ffmpeg ships, and the safe way to hand it a user's file."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path


@functools.cache
def executable() -> str:
    import imageio_ffmpeg  # light, but only needed once something runs ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def input_args(path: str | os.PathLike) -> list[str]:
    """Arguments that open `path` as one plain local file.

    The `file:` prefix keeps a name such as `-x.mp3` or `http:x` from being read as an option
    or a URL, and the protocol whitelist stops a playlist disguised as audio from making
    ffmpeg open other files or the network.
    """
    return ["-protocol_whitelist", "file", "-i", "file:" + str(Path(path).absolute())]


def messages(stderr: bytes | str) -> list[str]:
    """ffmpeg's non-empty stderr lines, without the "[component @ 0x55d7...] " prefixes
    (addresses mean nothing to a user)."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    return [re.sub(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*", "", ln.strip()) for ln in stderr.splitlines() if ln.strip()]


def last_lines(stderr: bytes | str, n: int = 3) -> str:
    """ffmpeg's last few meaningful stderr lines, joined for a one-line error message."""
    return " | ".join(messages(stderr)[-n:])
