"""Render every song under a folder: FMA's `000/000002.mp3` layout mirrored, resumable, reported.

A batch is planned first (which files, in which order, where each video goes: plan.py), and
everything a user can get wrong (options, model, scene, folders, metadata) is checked then,
before any work. Running it (run.py) renders the tracks whose video is not complete yet
through an executor (executors.py): in this process, or in worker processes that each load
the model, the fitted mapping, the scene and a GL context once and render track after track
with them, or in Ray actors that do the same across a cluster's nodes (cluster.py, with
--cluster). One bad file never stops the run: its failure is recorded with the reason, and the
run ends with a report (report.py) of every track. A fault of the machine (tracks.py's
FATAL_ERRORS: no GL, no ffmpeg that encodes H.264, a full disk, OUT_DIR unusable) stops it
instead, at planning time or at the first track that meets it (BatchStoppedError), rather
than failing every track the same way.

Resuming relies on two things. A video appears at its final name only when complete (the frame
loop writes a hidden temporary file beside it and renames it at the end), and a file at the
final name is also checked to be a whole MP4 (for ProRes a QuickTime .mov, built the same way)
with all its frames, from its structure alone (mp4.py). The temporary files that a killed run
left behind (ffmpeg even finishes them after its batch died) are deleted when the next run
starts; a lock on OUT_DIR (folder.py) keeps two batches from writing into one folder at once,
so no live temporary file is ever taken for a stale one.
"""

from .executors import Executor, InProcess, LocalPool, default_jobs
from .folder import LOCK_NAME, FolderLock, remove_stale_temporaries, stale_temporaries
from .mp4 import mp4_complete
from .plan import Track, plan_tracks
from .report import (
    DONE,
    FAILED,
    INTERRUPTED,
    SKIPPED,
    STATUSES,
    BatchResult,
    TrackResult,
    read_report,
    write_report,
)
from .run import MAPPING_NAME, Batch
from .tracks import FATAL_ERRORS, render_track

__all__ = [
    "Batch", "BatchResult", "DONE", "Executor", "FAILED", "FATAL_ERRORS", "FolderLock", "INTERRUPTED", "InProcess",
    "LOCK_NAME", "LocalPool", "MAPPING_NAME", "SKIPPED", "STATUSES", "Track", "TrackResult", "default_jobs",
    "mp4_complete", "plan_tracks", "read_report", "remove_stale_temporaries", "render_track", "stale_temporaries",
    "write_report",
]
