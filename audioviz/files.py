"""The files audioviz reads and writes, checked before any work is done.

Inputs (audio, models, fitted mappings, scene files, metadata) must be regular files: a FIFO or
a device would be read forever. Outputs are written under a hidden temporary name beside the
target and renamed over it when complete, so that a failure never leaves half a file. Before
that, `output_file` refuses what a rename would destroy without the user meaning it:

- a device, FIFO or socket at the output path (renaming over `/dev/null` would replace the
  system's /dev/null with a regular file); audioviz writes only regular files;
- the input itself (`-o song.mp3` for `song.mp3`), also through links;
- an existing file, unless `overwrite` (the CLI's --overwrite, -y).

A symbolic link at the output path is followed: the file goes where the link points, and the
link stays a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import emergency
from .errors import AudiovizError, DiskFullError, InputError, OutputError

# bytes in one name, and in a whole path, on the filesystems audioviz meets (ext4, xfs, btrfs,
# tmpfs, NTFS and APFS all allow 255; Linux's PATH_MAX is 4096 with the final NUL)
NAME_MAX = 255
PATH_MAX = 4095


def _name_max(folder: Path) -> int:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return min(NAME_MAX, os.pathconf(folder, "PC_NAME_MAX"))
    return NAME_MAX


def _check_name(path: Path, error: type[AudiovizError]) -> None:
    """A name the filesystem can hold: no NUL byte, each part at most NAME_MAX bytes long."""
    text = str(path)
    if "\0" in text:
        raise error(f"{text!r}: is not a valid file name (it holds a NUL byte)")
    encoded = os.fsencode(path.absolute())
    if len(encoded) > PATH_MAX:
        raise error(f"{path}: the path is {len(encoded)} bytes long, more than the {PATH_MAX} a path may have")
    for part in path.parts:
        n = len(os.fsencode(part))
        if n > NAME_MAX:
            raise error(f"{path}: the name {part[:40]}... is {n} bytes long, more than the {NAME_MAX} a file name may have")


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def regular_file(
    path: str | os.PathLike, what: str = "file", error: type[AudiovizError] = InputError, *, missing: str = "",
) -> Path:
    """`path` as a Path when it names a regular file that can be read (through links), else
    `error` saying in words why not: missing ("no such `missing`", default `what`), a broken
    link, a folder, a device, pipe or socket (which would be read forever), a name too long,
    or no permission."""
    p = Path(path)
    _check_name(p, error)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"{p}: no such {missing or what}" + (" (a broken link)" if p.is_symlink() else "")) from None
    except PermissionError:
        raise error(f"{p}: cannot be read (permission denied on a folder above it)") from None
    except OSError as e:
        raise error(f"{p}: cannot be opened ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{p}: is a folder, not {_a(what)}")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{p}: is not a regular file (a device, pipe or socket); give {_a(what)}")
    try:
        # O_NONBLOCK: should it have become a FIFO since the stat, opening it does not wait
        os.close(os.open(p, os.O_RDONLY | os.O_NONBLOCK))
    except PermissionError:
        raise error(f"{p}: cannot be read (permission denied)") from None
    except OSError as e:
        raise error(f"{p}: cannot be read ({e.strerror})") from None
    return p


def fit_name(stem: str, suffix: str, limit: int = NAME_MAX) -> str:
    """`stem + suffix`, the stem shortened (at a character boundary) so that the name fits in
    `limit` bytes: default names made from a long song name must still be valid names."""
    room = limit - len(os.fsencode(suffix))
    encoded = os.fsencode(stem)
    if len(encoded) > room:
        stem = encoded[:room].decode("utf-8", "ignore") if room > 0 else ""
        while len(os.fsencode(stem)) > room:  # a surrogate-escaped byte takes more than one
            stem = stem[:-1]
    return stem + suffix


def default_output(audio: str | os.PathLike, suffix: str = ".mp4") -> Path:
    """song.mp3 -> ./song.mp4 (in the current folder, wherever the song is); `suffix` may add
    to the name (-compare.mp4). A long song name is shortened so the name stays valid."""
    return Path.cwd() / fit_name(Path(audio).stem, suffix)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def output_file(
    target: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
    what: str = "video",
) -> Path:
    """The path to write `target` to, checked before any work and never made (OutputError,
    one line, when it cannot work): not a folder, a device, pipe or socket; not one of
    `inputs`; not an existing file unless `overwrite`; in a folder that exists or can be made
    and that can be written; with a name the filesystem can hold. A symbolic link at `target`
    is followed, so the result is where the file will really be written."""
    target = Path(target)
    _check_name(target, OutputError)
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    for source in inputs:
        if _same_file(real, Path(source)):
            raise OutputError(f"{target}: is the input {source}; writing there would destroy it, give another name")
    try:
        st = real.stat()
    except (FileNotFoundError, NotADirectoryError):  # a file above it is explained below
        st = None
    except OSError as e:
        raise OutputError(f"{target}: cannot write there ({e.strerror})") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{target}: is a folder; give the {what}'s file name")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{target}: is not a regular file (a device, pipe or socket); audioviz writes only "
                              f"regular files, so give a file name for the {what}")
        if not overwrite:
            raise OutputError(f"{target}: already exists; use --overwrite (-y) to replace it")
    folder = real.absolute().parent
    while not os.path.lexists(folder) and folder != folder.parent:  # the folders still to be made
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{target}: cannot write there ({folder} is a file, not a folder)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: cannot write there (permission denied)")
    return real


def temporary_path(target: Path) -> Path:
    """A hidden name beside `target` (its folder made if missing), so that the final rename
    stays on one filesystem: `.<stem>.<8 hex>.tmp<suffix>`, the stem shortened to fit."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(f"{target}: no space left on its disk ({e.strerror})") from None
        raise OutputError(f"{target}: cannot write there ({e.strerror})") from None
    tail = f".{secrets.token_hex(4)}.tmp{target.suffix}"
    return target.with_name(fit_name("." + target.stem, tail, _name_max(target.parent)))


def temporary_stem(output: Path) -> str:
    """The stem part of the temporary names `temporary_path` makes for `output` (without the
    leading dot): what a batch looks for when it removes what a killed run left behind."""
    tail = f".{'0' * 8}.tmp{output.suffix}"
    return fit_name("." + output.stem, tail)[1:-len(tail)]


@contextlib.contextmanager
def atomic_write(target: Path, what: str = "file",
                 publish: Callable[[Path, Path], None] | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `target` to write; when the block ends without an error
    it is renamed over `target` (an OutputError if that fails), and in any case it is gone.
    `publish(tmp, target)` puts it in place instead, where several writers may race for one
    target (batch/publish.py)."""
    tmp = temporary_path(target)
    try:
        with emergency.cleanup(lambda: tmp.unlink(missing_ok=True)):
            yield tmp
        try:
            if publish is not None:
                publish(tmp, target)
            else:
                os.replace(tmp, target)
        except OSError as e:
            raise OutputError(f"{target}: cannot put the finished {what} there ({e.strerror})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


# an image sequence's name: frames/%06d.png (printf's %d, zero-padded or not)
_SEQUENCE = re.compile(r"[^%]*%0?\d*d[^%]*\.png", re.IGNORECASE)


def is_sequence(path: str | os.PathLike) -> bool:
    return bool(_SEQUENCE.fullmatch(Path(path).name))


def sequence_files(pattern: Path) -> list[Path]:
    """The files in `pattern`'s folder that its name matches (frame 0, 1, ... of a sequence)."""
    m = re.fullmatch(r"(.*)%(0?)(\d*)d(.*)", pattern.name)
    head, zero, width, tail = m.groups()
    digits = rf"\d{{{int(width)},}}" if zero and width else r"\d+"
    name = re.compile(re.escape(head) + digits + re.escape(tail))
    try:
        return sorted(p for p in pattern.parent.iterdir() if name.fullmatch(p.name))
    except OSError:
        return []


def sequence_target(pattern: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """An image sequence's name pattern, checked before any work: its folder can be made and
    written, and holds no frames of that name unless `overwrite` (they are replaced)."""
    pattern = Path(pattern)
    output_file(pattern.parent / pattern.name.replace("%", "pct"), overwrite=True, what="frames")
    existing = sequence_files(pattern)
    if existing and not overwrite:
        raise OutputError(f"{pattern}: {len(existing)} frames of that name already exist (first {existing[0].name}); "
                          "use --overwrite (-y) to replace them")
    return pattern


@contextlib.contextmanager
def atomic_sequence(pattern: Path, what: str = "frames") -> Iterator[Path]:
    """Yield a pattern in a hidden folder beside the sequence's; when the block ends without
    an error, the frames move into place (older frames of that name removed first), and in
    any case the hidden folder is gone."""
    pattern.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".audioviz-frames.", suffix=".tmp", dir=pattern.parent))
    try:
        with emergency.cleanup(lambda: shutil.rmtree(tmp, ignore_errors=True)):
            yield tmp / pattern.name
        try:
            for old in sequence_files(pattern):
                old.unlink()
            for f in sorted(tmp.iterdir()):
                os.replace(f, pattern.parent / f.name)
        except OSError as e:
            raise OutputError(f"{pattern}: cannot put the finished {what} there ({e.strerror})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def durable_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` and fsync it: what is renamed into place afterwards is complete
    on disk even if the machine stops right after the rename."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
