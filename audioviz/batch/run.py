"""A batch from its plan to its report: checks before any work, the lock, resuming, the
executor, stopping on a fault of the machine, and the report whatever way the run ends."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import RenderConfig
from ..errors import (
    AudiovizError,
    BatchStoppedError,
    CacheError,
    ConfigError,
    InputError,
    OutputError,
)
from ..files import output_file
from .estimate import record_throughput
from .executors import Executor, InProcess, LocalPool, default_jobs
from .folder import LOCK_NAME, FolderLock, finished_since, folder_usable, remove_stale_temporaries
from .mp4 import batch_suffix, mp4_complete
from .plan import Track, plan_tracks
from .publish import CLAIMS_NAME, remove_stale_claims
from .report import DONE, FAILED, INTERRUPTED, SKIPPED, BatchResult, TrackResult, write_report

if TYPE_CHECKING:
    from ..session import Renderer
    from .cluster import Cluster, ClusterConfig
    from .estimate import Estimate

MAPPING_NAME = "mapping"  # --fit-on-batch writes OUT_DIR/mapping.npz and mapping.json


class Batch:
    """A planned batch. Making one checks everything a user can get wrong (ConfigError,
    InputError, ModelError, SceneError: usage errors) before any work; `run` does the work.

        result = Batch("fma_small", "videos", RenderConfig(scene="real"), limit=100).run()

    With more than one job the workers are started with multiprocessing's 'spawn', which imports
    the calling script again in each worker: a script must call `run` under
    `if __name__ == "__main__":`, as with any multiprocessing code.
    """

    def __init__(
        self,
        in_dir: str | os.PathLike,
        out_dir: str | os.PathLike,
        config: RenderConfig = RenderConfig(),
        jobs: int | None = None,
        overwrite: bool = False,
        fit_on_batch: bool = False,
        limit: int | None = None,
        shuffle: bool = False,
        include: tuple[str, ...] = (),
        fma_metadata: str | os.PathLike | None = None,
        report: str | os.PathLike | None = None,
        cache: bool = True,
        cluster: ClusterConfig | None = None,
    ):
        self.in_dir, self.out_dir = Path(in_dir), Path(out_dir)
        self.jobs = default_jobs() if jobs is None and cluster is None else jobs
        if self.jobs is not None and self.jobs < 1:
            raise ConfigError(f"--jobs {jobs}: give 1 or more tracks at once")
        if limit is not None and limit < 1:
            raise ConfigError(f"--limit {limit}: give 1 or more tracks")
        if fit_on_batch and config.mapping.fit != "model":
            raise ConfigError(f"--fit-on-batch fits the mapping itself; it cannot be combined with --fit {config.mapping.fit}")
        if not self.in_dir.is_dir():
            raise InputError(f"{self.in_dir}: no such folder" if not self.in_dir.exists() else f"{self.in_dir}: not a folder")
        from ..render.titles import check_images

        check_images(config.titles)  # a missing logo is one message, not a failure of every track
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise InputError(f"{self.out_dir}: is a file; give a folder for the videos")
        self.report_path = Path(report) if report is not None else self.out_dir / "report.csv"
        if self.report_path.suffix.lower() not in (".csv", ".json"):
            raise ConfigError(f"report {self.report_path}: end the name in .csv or .json")
        if os.path.lexists(self.report_path):  # a folder, a device or a FIFO there is never replaced
            try:
                output_file(self.report_path, overwrite=True, what="report")
            except OutputError as e:
                raise ConfigError(str(e)) from None
        self.config, self.overwrite, self.fit_on_batch, self.cache = config, overwrite, fit_on_batch, cache
        self.tracks, self.found = plan_tracks(self.in_dir, self.out_dir, tuple(include), shuffle, config.seed, limit,
                                              self._own_files(), batch_suffix(config.encoder.video_codec, config.encoder.alpha))
        if not self.found:
            raise InputError(f"{self.in_dir}: no audio files found")
        if not self.tracks:
            raise InputError(f"{self.in_dir}: none of its {self.found} audio files match --include {' '.join(include)}")
        self.genres = self._genres(fma_metadata) if fma_metadata is not None else None
        # an ffmpeg that cannot encode the codec here (or is missing) is one message before any
        # work (FFmpegUnavailableError), not the same failure for every track; so is no GL, below
        from ..render.encoder import resolve_codec

        enc = config.encoder
        config = replace(config, encoder=replace(enc, codec=resolve_codec(enc.codec, enc.video_codec)))
        self.config = config
        self.result: BatchResult | None = None  # the last run's, also when it was interrupted
        # load once here: a wrong model, scene or mapping is reported before any work, and with
        # --jobs 1 this very renderer renders the tracks
        preflight = replace(config, mapping=replace(config.mapping, fit="track")) if fit_on_batch else config
        from ..session import Renderer

        self.renderer: Renderer | None = Renderer(preflight)
        from ..render.context import renderer as gl_renderer

        self.gl_renderer = gl_renderer(self.renderer.ctx)
        self.cluster: Cluster | None = None
        if cluster is not None:
            from .cluster import Cluster

            try:
                self.cluster = Cluster(cluster)
            except BaseException:
                self._close_renderer()
                raise
            if self.jobs is None:  # as many as the cluster holds now
                self.jobs = self.cluster.room

    def _own_files(self) -> dict[str, str]:
        """The files the batch itself writes inside OUT_DIR, by path relative to it: no video
        may be one of them, or go in a folder of that name."""
        own = {LOCK_NAME: "the batch's lock", CLAIMS_NAME: "the batch's claims"}
        if self.fit_on_batch:
            own |= {f"{MAPPING_NAME}.npz": "the mapping --fit-on-batch fits",
                    f"{MAPPING_NAME}.json": "the mapping --fit-on-batch fits"}
        report, out = os.path.abspath(self.report_path), os.path.abspath(self.out_dir)
        if os.path.commonpath([report, out]) == out:
            own[Path(os.path.relpath(report, out)).as_posix()] = "the batch's report"
        return own

    def _genres(self, metadata_dir) -> dict[str, str]:
        """Track path -> FMA top genre ('' for tracks FMA gives none or that are not FMA names)."""
        try:
            from ..fma import fma_track_id, read_tracks
        except ImportError:  # before FMA's reader moved out of analysis/
            from types import SimpleNamespace

            from ..analysis.groups import fma_genres

            corpus = SimpleNamespace(tracks=[SimpleNamespace(path=t.rel) for t in self.tracks])
            return fma_genres(metadata_dir, corpus)
        ids = {t.rel: fma_track_id(t.rel) for t in self.tracks}
        meta = read_tracks(metadata_dir, {i for i in ids.values() if i is not None})
        return {rel: meta.tracks[i].genre_top for rel, i in ids.items() if i in meta.tracks}

    # -- running ------------------------------------------------------------------------------

    def run(self, progress: bool = False, on_track: Callable[[TrackResult], None] | None = None) -> BatchResult:
        """Render what is not done yet; a KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one)
        stops the workers, leaves only complete videos behind, writes the report and re-raises."""
        from ..progress import bar as progress_bar

        t0, started = time.perf_counter(), time.time()
        cluster = self.cluster is not None
        with contextlib.ExitStack() as held:
            try:
                self._prepare_output()
                held.enter_context(FolderLock(self.out_dir))
            except BatchStoppedError:  # nothing done, and another batch may own the report
                self.close()
                raise
            result = BatchResult(str(self.in_dir), str(self.out_dir), str(self.report_path), self.jobs, 0.0,
                                 found=self.found)
            self.result = result
            by_rel: dict[str, TrackResult] = {}
            remove_stale_temporaries(self.tracks)
            remove_stale_claims(self.out_dir)
            todo, clashed, complete = self._todo()
            by_rel |= {t.rel: TrackResult(t.rel, t.out_rel, SKIPPED, "complete video already there") for t in complete}
            result.jobs = 1 if len(todo) <= 1 else min(self.jobs, len(todo))
            bar = progress_bar(total=len(self.tracks), initial=len(by_rel), desc="batch", unit="track",
                               disable=not progress, dynamic_ncols=True)

            failed = 0
            not_done = "the batch stopped before it finished"

            def record(r: TrackResult) -> None:
                nonlocal failed, not_done
                by_rel[r.input] = r
                if r.status == FAILED:
                    failed += 1
                    bar.set_postfix_str(f"{failed} failed", refresh=False)
                bar.update(1)
                if r.fatal:  # the machine's fault: every later track would fail the same way
                    left = len(self.tracks) - len(by_rel)
                    not_done = f"not rendered: the batch stopped at {r.input}, on a fault that every track would meet"
                    raise BatchStoppedError(
                        f"batch stopped at {r.input}: {r.reason}; {left} more track(s) left undone. "
                        f"Fix that and run the same command again to resume (report: {self.report_path})")
                if on_track is not None:
                    on_track(r)

            try:
                with bar:
                    for r in clashed:
                        record(r)
                    if todo and self.fit_on_batch:
                        result.mapping = self._fit(progress)
                    if todo:
                        self._render(todo, record, progress)
            except KeyboardInterrupt:
                result.interrupted = True
                raise
            finally:
                in_flight = sys.exc_info()[1]
                for t in self.tracks:
                    if t.rel in by_rel:
                        continue
                    if finished_since(t.output, started):  # its worker got there before the stop did
                        by_rel[t.rel] = TrackResult(t.rel, t.out_rel, DONE, "finished as the batch stopped")
                    else:
                        by_rel[t.rel] = TrackResult(t.rel, t.out_rel, INTERRUPTED, not_done)
                result.tracks = [by_rel[t.rel] for t in self.tracks]
                if self.genres is not None:
                    for r in result.tracks:
                        r.genre = self.genres.get(r.input, "")
                result.seconds = round(time.perf_counter() - t0, 2)
                self.close()
                try:
                    write_report(self.report_path, result, with_genre=self.genres is not None)
                except OutputError as e:
                    if in_flight is None:
                        raise
                    if isinstance(in_flight, AudiovizError):  # keep the first error; say the second too
                        in_flight.args = (f"{in_flight}; and {e}",)
        if not cluster:
            record_throughput(result, self.config, self.gl_renderer)
        return result

    def _todo(self) -> tuple[list[Track], list[TrackResult], list[Track]]:
        """(the tracks to render, the failures of those whose video has no name of its own,
        the tracks whose video is complete already and is kept)."""
        todo, clashed, complete = [], [], []
        for t in self.tracks:
            if t.clash:  # its video has no name of its own: it fails, whatever is at that name
                clashed.append(TrackResult(t.rel, t.out_rel, FAILED, t.clash))
            elif not self.overwrite and t.output.is_file() and mp4_complete(t.output):
                complete.append(t)
            else:
                todo.append(t)
        return todo, clashed, complete

    def dry_run(self, throughput: float | None = None) -> Estimate:
        """The plan without rendering anything: the tracks to do, their audio, and how long they
        will take at `throughput` (x real time per job; default: what batches measured here)."""
        from .estimate import Throughput, estimate, stored_throughput

        try:
            if throughput is not None:
                if not throughput > 0:
                    raise ConfigError(f"--throughput {throughput}: give the seconds of audio one job renders per second, above 0")
                rate = Throughput(throughput, 0, 0, "", "given with --throughput")
            else:
                rate = stored_throughput(self.config, self.gl_renderer)
            where = self.cluster.describe() if self.cluster is not None else "this machine"
            return estimate(self._todo()[0], len(self.tracks), self.config, self.jobs, where, rate, self.config.seed)
        finally:
            self.close()

    def close(self) -> None:
        """Let go of what the batch holds: its render session, and its cluster connection."""
        self._close_renderer()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def _close_renderer(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None

    def _prepare_output(self) -> None:
        """Make OUT_DIR (and the report's folder) if missing; when either cannot be written the
        batch stops here, before any work (BatchStoppedError)."""
        for folder in dict.fromkeys((self.out_dir, self.report_path.parent)):
            why = ""
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                existing = folder.absolute()
                while not os.path.lexists(existing) and existing != existing.parent:
                    existing = existing.parent
                why = f"{existing} is a file, not a folder" if not existing.is_dir() else e.strerror
            if not why and not folder_usable(folder):
                why = "permission denied"
            if why:
                raise BatchStoppedError(f"{folder}: cannot write there ({why}); nothing was rendered")

    def _fit(self, progress: bool) -> str:
        """--fit-on-batch: fit the mapping on the batch's own tracks (kept in OUT_DIR, so that a
        resumed batch renders with the very mapping it started with)."""
        from ..pipeline import fit_folder

        target = self.out_dir / MAPPING_NAME
        npz = target.with_name(target.name + ".npz")
        c = self.config
        try:
            if npz.exists() and not self.overwrite:
                mapping = str(npz)
            elif len(self.tracks) == self.found:
                mapping = fit_folder(self.in_dir, target, model=c.model, layer=c.layer, seed=c.seed,
                                     device=c.device, cache=self.cache, progress=progress, overwrite=True).output
            else:  # a sample of the folder: fit on exactly the files selected, through links to them
                with tempfile.TemporaryDirectory(prefix="audioviz-batch-") as tmp:
                    root = Path(tmp) / self.in_dir.resolve().name
                    for t in self.tracks:
                        link = root / t.rel
                        link.parent.mkdir(parents=True, exist_ok=True)
                        link.symlink_to(t.source.resolve())
                    mapping = fit_folder(root, target, model=c.model, layer=c.layer, seed=c.seed, device=c.device,
                                         cache=self.cache, progress=progress, overwrite=True).output
        except CacheError as e:  # the machine's fault, met before any track: every track would meet it
            raise BatchStoppedError(f"{e}; nothing was rendered") from None
        self.config = replace(self.config, mapping=replace(self.config.mapping, fit=mapping))
        if self.renderer is not None:
            try:
                self.renderer.use_mapping(mapping)
            except ConfigError as e:
                raise ConfigError(f"{e}; or rerun with --overwrite to refit it and render again") from None
        return mapping

    def _render(self, todo: list[Track], record, progress: bool) -> None:
        with contextlib.ExitStack() as held:
            executor = self._executor(todo, progress, held)
            try:
                executor.run(todo, record)
            except BaseException:
                executor.close(now=True)
                raise
            executor.close()

    def _executor(self, todo: list[Track], progress: bool, held: contextlib.ExitStack) -> Executor:
        """Ray actors on a cluster; else this process for one job, else worker processes
        (which load their own session)."""
        from ..scenes.user import is_user_scene

        if self.cluster is not None:
            from .cluster import RayExecutor
            from .publish import Publisher

            self._close_renderer()
            publisher = Publisher.for_run(self.out_dir, self.overwrite)
            held.callback(publisher.close)
            return RayExecutor(self.cluster, self.config, min(self.jobs, len(todo)), publisher)

        # a user's scene renders in a worker even alone: should one of its frames never finish,
        # the worker ends and says so (render/watchdog.py), and the batch writes its report
        if (self.jobs == 1 or len(todo) == 1) and not is_user_scene(self.config.scene):
            return InProcess(self.renderer, progress)
        self._close_renderer()
        return LocalPool(self.config, min(self.jobs, len(todo)))
