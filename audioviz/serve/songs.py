"""The songs the page can pick: the audio files of the music folder, by their path inside it,
and the uploads, checked by their contents as `render` checks a song."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath

from ..audio import AUDIO_EXTENSIONS
from .errors import NotFoundError
from .security import inside

NAME_CHARS = 120  # of an upload's name as the page shows it


class Music:
    """The music folder (None: the server has none, and songs come from uploads alone)."""

    def __init__(self, root: Path | None):
        self.root = root

    def songs(self) -> list[dict]:
        """Every audio file under the folder that lies inside it (a link that leads out of it is
        left out), by its path relative to the folder."""
        from ..extract.corpus import find_audio

        if self.root is None:
            return []
        out = []
        for p in find_audio(self.root):
            rel = p.relative_to(self.root).as_posix()
            try:
                inside(self.root, rel, "song")
            except NotFoundError:
                continue
            out.append({"path": rel, "name": p.name, "folder": PurePosixPath(rel).parent.as_posix().strip(".")})
        return out

    def resolve(self, relative: str) -> Path:
        """The audio file `relative` names in the folder (NotFoundError for anything else)."""
        if self.root is None:
            raise NotFoundError("this server has no music folder (start it with --music FOLDER); upload a song")
        path = inside(self.root, relative, "song in the music folder")
        if path.suffix.lower() not in AUDIO_EXTENSIONS:
            raise NotFoundError(f"{relative}: no such song in the music folder")
        return path

    def shown(self, relative: str) -> Path:
        """The path the reproducing command names: the one the user knows, under the folder
        as they gave it (the same file as `resolve`'s)."""
        return self.root / PurePosixPath(relative)


def upload_name(original: str) -> str:
    """What the page calls an upload: the last part of the name the browser sent, without
    control characters, shortened. It is only ever shown, never a path."""
    name = PurePosixPath(original.replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:NAME_CHARS] or "upload"


def stored_suffix(original: str) -> str:
    """The suffix of an upload's stored file: its own where it is an audio file's, else a
    neutral one (ffmpeg reads it by its contents either way)."""
    suffix = PurePosixPath(original.replace("\\", "/")).suffix.lower()
    return suffix if suffix in AUDIO_EXTENSIONS and re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".audio"


def describe(path: Path) -> dict:
    """An uploaded file's duration and tags; InputError in one line when it is not audio that
    `render` would take (the same format whitelist: no playlist, no image, no subtitles)."""
    from ..audio import probe
    from ..tags import read_tags

    info = probe(path)
    return {"duration": round(info.duration, 3), "tags": read_tags(path)}
