"""A song's own title, artist and cover art, as its file carries them, read by ffmpeg.

Tags sit in the container (MP3's ID3, FLAC, MP4) or on the audio stream (Ogg's Vorbis
comments): the container's win. Cover art is the stream marked as an attached picture.
"""

from __future__ import annotations

import os
import re
import subprocess

from . import ffmpeg

TIMEOUT = 60  # seconds: a tag or a picture is read from the start of the file


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error", *args],
                          capture_output=True, timeout=TIMEOUT)


def ffmetadata_value(text: str, key: str) -> str | None:
    """`key`'s value in ffmpeg's ffmetadata output, its escapes undone (a backslash before
    = ; # \\ or a newline that belongs to the value)."""
    m = re.search(rf"^{re.escape(key)}=", text, re.MULTILINE | re.IGNORECASE)
    if m is None:
        return None
    out, escaped = [], False
    for ch in text[m.end():]:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "\n":
            break
        else:
            out.append(ch)
    return "".join(out)


def read_tags(path: str | os.PathLike, keys: tuple[str, ...] = ("title", "artist")) -> dict[str, str]:
    """The song's tags of `keys` that it has and that are not blank (raw: render/text.py
    cleans them for drawing)."""
    found: dict[str, str] = {}
    for where in ("0", "0:s:a:0"):  # the container's, then the audio stream's
        run = _run([*ffmpeg.input_args(path), "-map_metadata", where, "-f", "ffmetadata", "-"])
        text = run.stdout.decode("utf-8", "replace") if run.returncode == 0 else ""
        for key in keys:
            value = ffmetadata_value(text, key)
            if key not in found and value and value.strip():
                found[key] = value
    return found


def cover_art(path: str | os.PathLike) -> bytes | None:
    """The song's embedded picture as PNG bytes, or None where it carries none."""
    run = _run([*ffmpeg.input_args(path), "-map", "0:disp:attached_pic", "-frames:v", "1", "-c:v", "png",
                "-f", "image2pipe", "pipe:1"])
    return run.stdout if run.returncode == 0 and run.stdout else None
