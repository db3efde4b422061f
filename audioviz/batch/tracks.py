"""One track of a batch rendered with the batch's render session, its failure told apart:
the file's (the batch goes on) or the machine's (FATAL_ERRORS: the batch stops)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import (
    AudiovizError,
    BatchStoppedError,
    DiskFullError,
    FFmpegUnavailableError,
    GLUnavailableError,
    OutputError,
    PublishedElsewhereError,
)
from .folder import folder_usable
from .plan import Track
from .report import DONE, FAILED, TrackResult

if TYPE_CHECKING:  # torch loads with the first render session, not with this module
    from ..session import Renderer
    from .publish import Publisher

# Faults of the machine, not of one file: every later track would fail the same way, so a batch
# stops on the first instead of failing them all (the CLI's exit status 3)
FATAL_ERRORS = (GLUnavailableError, FFmpegUnavailableError, DiskFullError, BatchStoppedError)


def _reason(e: BaseException, source: Path) -> str:
    """The error's message without the file name in front (the report has it in its own column)."""
    text = str(e) if isinstance(e, AudiovizError) else f"unexpected {type(e).__name__}: {e}"
    for prefix in (f"{source}: ", f"{source.absolute()}: "):
        text = text.removeprefix(prefix)
    return " ".join(text.split())


def _output_root(track: Track) -> Path:
    """OUT_DIR, from a track's output path and its path relative to OUT_DIR."""
    root = track.output
    for _ in track.out_rel.split("/"):
        root = root.parent
    return root


def is_fatal(e: BaseException, track: Track) -> bool:
    """Whether a track's failure is the machine's (the batch stops) rather than the file's (the
    batch goes on): no GL, no working ffmpeg, a full disk, or OUT_DIR itself unusable."""
    if isinstance(e, FATAL_ERRORS):
        return True
    return isinstance(e, OutputError) and not folder_usable(_output_root(track))


def render_track(renderer: Renderer, track: Track, progress: bool = False,
                 publish: Publisher | None = None) -> TrackResult:
    """Render one track with the batch's render session, turning any failure into a FAILED
    result (Ctrl-C still interrupts); a failure that every later track would meet too is marked
    `fatal`. A device, FIFO or folder at the video's path is this track's failure (the session
    checks the output), never replaced. `publish`: where attempts may race (a cluster)."""
    t0 = time.perf_counter()
    try:
        result = renderer.render(track.source, track.output, overwrite=True, progress=progress, publish=publish)
    except PublishedElsewhereError:
        return TrackResult(track.rel, track.out_rel, DONE, "another attempt at it finished first",
                           round(time.perf_counter() - t0, 2))
    except Exception as e:  # one bad file must never stop the batch
        return TrackResult(track.rel, track.out_rel, FAILED, _reason(e, track.source), round(time.perf_counter() - t0, 2),
                           fatal=is_fatal(e, track))
    return TrackResult(track.rel, track.out_rel, DONE, "", round(time.perf_counter() - t0, 2),
                       round(result.audio_seconds, 3))
