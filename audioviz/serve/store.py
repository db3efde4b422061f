"""The work folder: every result (a preview, a render, a comparison) in a folder of its own
with its record, result.json, beside its files; and the uploaded songs. The records are the
results list, so it survives a reload of the page and a restart of the server.

The folder has a size cap: once a result is finished or a song uploaded, the results and
uploads used longest ago are removed until it fits, never one that a queued or running job
needs. Only names this module made (ids) are ever removed, whatever else the folder holds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import OutputError
from .errors import NotFoundError
from .security import check_id, new_id

log = logging.getLogger("audioviz.serve")

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ACTIVE = frozenset({QUEUED, RUNNING})
RECORD = "result.json"
INCOMING = ".incoming-"  # an upload being received; what a stopped server left of one is removed


@dataclass
class Result:
    id: str
    kind: str  # preview, render or compare
    song: dict  # {"music": path in the music folder} or {"upload": id}, and "name" to show
    options: dict  # as the page sent them, so that it can load them back
    settings: dict  # by the command line's option names (provenance.settings)
    command: str  # the `audioviz` command that makes the same file
    created: float
    status: str = QUEUED
    started: float | None = None
    finished: float | None = None
    error: str = ""
    warnings: list = field(default_factory=list)
    files: dict = field(default_factory=dict)  # "video", "preview", "curves" -> name in its folder
    info: dict = field(default_factory=dict)  # what the library said of it (frames, seconds, sync, ...)
    download: str = ""  # the name a downloaded video or sheet gets

    @classmethod
    def from_dict(cls, d: dict) -> Result:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


def folder_bytes(path: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(path):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    total += folder_bytes(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_size
    return total


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(f"{path}: cannot write it ({e.strerror})") from None


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Store:
    """The work folder at `root`, kept under `cap` bytes."""

    def __init__(self, root: Path, cap: int):
        self.root, self.cap = root, cap
        self.results_dir, self.uploads_dir = root / "results", root / "uploads"
        try:
            self.results_dir.mkdir(parents=True, exist_ok=True)
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{root}: cannot use it as the work folder ({e.strerror})") from None
        self._lock = threading.RLock()
        self._results: dict[str, Result] = {}
        self._uploads: dict[str, dict] = {}
        self._load()

    # -- loading --------------------------------------------------------------------------------

    def _load(self) -> None:
        """Read the records; what a server that stopped mid-job left is marked cancelled and its
        partial files removed, and what no record describes is removed."""
        for entry in self.results_dir.iterdir():
            if not _is_id(entry.name):
                continue
            data = _read_json(entry / RECORD)
            try:
                result = Result.from_dict(data) if data is not None else None
            except TypeError:
                result = None
            if result is None or result.id != entry.name:
                shutil.rmtree(entry, ignore_errors=True)
                continue
            if result.status in ACTIVE:
                result.status, result.error = CANCELLED, "the server stopped before it was done"
                result.finished = time.time()
                self._clear(result)
                _write_json(entry / RECORD, asdict(result))
            self._results[result.id] = result
        for entry in self.uploads_dir.iterdir():
            if entry.name.startswith(INCOMING):
                entry.unlink(missing_ok=True)
            elif entry.suffix == ".json" and _is_id(entry.stem):
                meta = _read_json(entry)
                if meta is None or not (self.uploads_dir / meta.get("file", "")).is_file():
                    entry.unlink(missing_ok=True)
                    continue
                self._uploads[entry.stem] = meta

    # -- results --------------------------------------------------------------------------------

    def add(self, kind: str, song: dict, options: dict, settings: dict, command: str, download: str) -> Result:
        result = Result(new_id(), kind, song, options, settings, command, time.time(), download=download)
        with self._lock:
            self.folder(result.id).mkdir()
            self._results[result.id] = result
            self._save(result)
        return result

    def folder(self, result_id: str) -> Path:
        return self.results_dir / check_id(result_id, "result")

    def get(self, result_id: str) -> Result:
        with self._lock:
            result = self._results.get(check_id(result_id, "result"))
        if result is None:
            raise NotFoundError("no such result (it may have been removed to keep the work folder under its cap)")
        return result

    def results(self) -> list[Result]:
        """Newest first."""
        with self._lock:
            return sorted(self._results.values(), key=lambda r: r.created, reverse=True)

    def update(self, result_id: str, **changes) -> Result:
        with self._lock:
            result = self.get(result_id)
            for key, value in changes.items():
                setattr(result, key, value)
            if result.status in (FAILED, CANCELLED):
                self._clear(result)
            self._save(result)
        return result

    def file(self, result_id: str, name: str) -> Path:
        """A finished result's file by the name its record gives it."""
        result = self.get(result_id)
        if result.status != DONE or name not in result.files.values():
            raise NotFoundError(f"result {result_id} has no file {name!r}")
        return self.folder(result_id) / name

    def remove(self, result_id: str) -> None:
        with self._lock:
            result = self.get(result_id)
            del self._results[result.id]
            shutil.rmtree(self.folder(result.id), ignore_errors=True)

    def _save(self, result: Result) -> None:
        _write_json(self.folder(result.id) / RECORD, asdict(result))

    def _clear(self, result: Result) -> None:
        """Remove what a job that did not finish left in its folder (its record stays)."""
        result.files = {}
        with contextlib.suppress(OSError):
            for entry in self.folder(result.id).iterdir():
                if entry.name != RECORD:
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink(missing_ok=True)

    # -- uploads --------------------------------------------------------------------------------

    def incoming(self) -> Path:
        """Where an upload is received before it is checked."""
        return self.uploads_dir / f"{INCOMING}{new_id()}"

    def add_upload(self, received: Path, name: str, suffix: str, described: dict) -> dict:
        """Keep the checked file `received` under a name of our own."""
        upload_id = new_id()
        meta = {"id": upload_id, "name": name, "file": upload_id + suffix, "created": time.time(),
                "bytes": received.stat().st_size, **described}
        with self._lock:
            os.replace(received, self.uploads_dir / meta["file"])
            _write_json(self.uploads_dir / f"{upload_id}.json", meta)
            self._uploads[upload_id] = meta
        return meta

    def upload(self, upload_id: str) -> dict:
        with self._lock:
            meta = self._uploads.get(check_id(upload_id, "upload"))
        if meta is None:
            raise NotFoundError("no such upload (it may have been removed to keep the work folder under its cap)")
        return meta

    def upload_path(self, upload_id: str) -> Path:
        return self.uploads_dir / self.upload(upload_id)["file"]

    def uploads(self) -> list[dict]:
        """Newest first."""
        with self._lock:
            return sorted(self._uploads.values(), key=lambda u: u["created"], reverse=True)

    # -- the cap --------------------------------------------------------------------------------

    def size(self) -> int:
        return folder_bytes(self.results_dir) + folder_bytes(self.uploads_dir)

    def trim(self) -> list[str]:
        """Remove the results and uploads used longest ago until the folder fits its cap; never
        a queued or running result, nor an upload one of them uses. Returns what went."""
        with self._lock:
            active = [r for r in self._results.values() if r.status in ACTIVE]
            needed = {r.song.get("upload") for r in active}
            last_use = {u: meta["created"] for u, meta in self._uploads.items()}
            for r in self._results.values():
                if (u := r.song.get("upload")) in last_use:
                    last_use[u] = max(last_use[u], r.created)
            items = [(r.finished or r.created, "result", r.id, folder_bytes(self.folder(r.id)))
                     for r in self._results.values() if r.status not in ACTIVE]
            items += [(used, "upload", u, self._upload_bytes(u)) for u, used in last_use.items() if u not in needed]
            total = self.size()
            removed = []
            for _, kind, item_id, size in sorted(items):
                if total <= self.cap:
                    break
                if kind == "result":
                    self.remove(item_id)
                else:
                    self._remove_upload(item_id)
                total -= size
                removed.append(f"{kind} {item_id}")
        if removed:
            log.info("removed %s to keep the work folder under %s", ", ".join(removed), human_bytes(self.cap))
        return removed

    def _upload_bytes(self, upload_id: str) -> int:
        meta = self._uploads[upload_id]
        return sum(p.stat().st_size for p in (self.uploads_dir / meta["file"], self.uploads_dir / f"{upload_id}.json")
                   if p.exists())

    def _remove_upload(self, upload_id: str) -> None:
        meta = self._uploads.pop(upload_id)
        (self.uploads_dir / meta["file"]).unlink(missing_ok=True)
        (self.uploads_dir / f"{upload_id}.json").unlink(missing_ok=True)


def _is_id(name: str) -> bool:
    try:
        check_id(name, "")
    except NotFoundError:
        return False
    return True


_UNITS = {"": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}


def parse_bytes(text: str, what: str) -> int:
    """'200M' -> 200_000_000: a size in bytes, with K, M, G or T (powers of 1000; KB, MB ... too)."""
    from ..errors import ConfigError

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", text, re.IGNORECASE)
    if not m or float(m.group(1)) * _UNITS[m.group(2).upper()] < 1:
        raise ConfigError(f"{what} {text!r} is not a size such as 500M or 2G")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def human_bytes(n: float) -> str:
    """200_000_000 -> '200.0 MB'."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            break
        n /= 1000
    return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
