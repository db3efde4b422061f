"""What a batch did with each track, and its report: CSV (one row per track) or JSON."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import OutputError
from ..files import atomic_write, durable_bytes, output_file

DONE, SKIPPED, FAILED, INTERRUPTED = "done", "skipped", "failed", "interrupted"
STATUSES = (DONE, SKIPPED, FAILED, INTERRUPTED)
REPORT_COLUMNS = ("input", "output", "status", "reason", "seconds", "audio_seconds")


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
