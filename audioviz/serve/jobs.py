"""The job queue: worker processes that each hold a render session (worker.py), in lanes
that each take one kind of job from a queue of their own, so that a preview of seconds never
waits behind a render of minutes. The server stays responsive: requests only add to a queue,
and one thread of its own talks to the workers.

A worker starts when its lane has a job and no idle worker (the page asks for one of each
when it opens, so that the first preview finds one ready), and keeps running for the next
jobs; the pool's thread starts them all, as a worker ends with the thread that started it.
Each has a pipe of its own, as the batch's workers do (batch/executors.py), and the thread
waits on the pipes and the processes together: it wakes when a worker reports or dies.
A cancelled job stops at its next step (worker.py); one that does not within CANCEL_SECONDS
has its worker terminated (its cleanup still runs) and, STOP_SECONDS later, killed.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("audioviz.serve")

CANCEL_SECONDS = 10.0
STOP_SECONDS = 10.0
MAX_START_FAILURES = 3  # workers of a lane that die in a row before they are ready


@dataclass
class Job:
    id: str  # the result's it makes
    lane: str
    spec: dict  # what the worker runs (worker.JOBS)
    number: int = 0  # given by the pool: which run a cancel means, never an earlier one's


@dataclass
class _Worker:
    lane: str
    proc: object
    conn: object  # the server's end of its pipe
    cancel: object  # shared: the number of the job it is to stop
    job: Job | None = None
    ready: bool = False
    stop_at: float | None = None  # when a cancel not yet obeyed makes the pool step in
    terminated: bool = False


Event = tuple[str, str, object]  # (job id, what: started, progress, warning, done, failed, cancelled, detail)


class Pool:
    """Lanes of worker processes (`lanes`: name -> most workers at once), each worker with
    `threads` torch threads; `on_event(job_id, what, detail)` hears everything that happens to
    a job, from the pool's own thread."""

    def __init__(self, lanes: dict[str, int], threads: int, on_event: Callable[[str, str, object], None]):
        import multiprocessing

        self.mp = multiprocessing.get_context("spawn")
        self.lanes, self.threads, self.on_event = lanes, threads, on_event
        self.queues: dict[str, deque[Job]] = {lane: deque() for lane in lanes}
        self.workers: list[_Worker] = []
        self.start_failures = dict.fromkeys(lanes, 0)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._closing = False
        self._warm = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._loop, name="audioviz-serve-jobs", daemon=True)
        self._thread.start()

    # -- what the server asks ---------------------------------------------------------------

    def submit(self, job: Job) -> None:
        with self._lock:
            job.number = next(self._numbers)
            self.queues[job.lane].append(job)
        self._wake()

    def cancel(self, job_id: str) -> bool:
        """Stop the job: taken off its queue, or told to stop where it runs. False when the pool
        has no such job (it has ended)."""
        with self._lock:
            queued = next(((q, job) for q in self.queues.values() for job in q if job.id == job_id), None)
            if queued is not None:
                queued[0].remove(queued[1])
            else:
                w = next((w for w in self.workers if w.job is not None and w.job.id == job_id), None)
                if w is None:
                    return False
                w.cancel.value = w.job.number
                if w.stop_at is None:
                    w.stop_at = time.monotonic() + CANCEL_SECONDS
        if queued is not None:
            self.on_event(job_id, "cancelled", "")
        else:
            self._wake()
        return True

    def position(self, job_id: str) -> int | None:
        """How many jobs are ahead of this one in its queue (None: it is not queued)."""
        with self._lock:
            for queue in self.queues.values():
                for i, job in enumerate(queue):
                    if job.id == job_id:
                        return i
        return None

    def warm(self) -> None:
        """Start one worker in each lane that has none, so that the first job finds it ready."""
        with self._lock:
            self._warm = True
        self._wake()

    def close(self) -> None:
        """Stop every worker (a running job's ffmpeg stopped and its partial file removed by the
        worker itself, or by the server once it is killed) and end every job."""
        with self._lock:
            self._closing = True
            ended = [(job.id, "the server stopped before it started") for q in self.queues.values() for job in q]
            ended += [(w.job.id, "the server stopped before it was done") for w in self.workers if w.job]
            for q in self.queues.values():
                q.clear()
        self._wake()
        self._thread.join()
        for job_id, why in ended:
            self.on_event(job_id, "cancelled", why)
        self._wake_r.close()
        self._wake_w.close()

    def _stop_workers(self) -> None:
        """The pool thread's last act: idle workers told to end, busy ones terminated (each
        cleans up on SIGTERM), any still there after STOP_SECONDS killed."""
        for w in self.workers:
            with contextlib.suppress(OSError):
                if w.job is None:
                    w.conn.send(None)
                else:
                    w.proc.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for w in self.workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join()
            w.conn.close()
        self.workers.clear()

    # -- the pool's thread ----------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full: it is awake anyway; closed: it has ended
            self._wake_w.send(b".")

    def _loop(self) -> None:
        from multiprocessing.connection import wait

        while True:
            with self._lock:
                if self._closing:
                    self._stop_workers()
                    return
                waitables = [self._wake_r] + [w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers]
            ready = wait(waitables, timeout=1.0)
            events: list[Event] = []
            with self._lock:
                if self._wake_r in ready:
                    with contextlib.suppress(BlockingIOError):
                        self._wake_r.recv(4096)
                if self._closing:
                    self._stop_workers()
                    return
                for w in list(self.workers):
                    self._serve(w, events)
                self._step_in(events)
                self._dispatch(events)
                if self._warm:
                    self._warm = False
                    for lane in self.lanes:
                        if not any(w.lane == lane for w in self.workers):
                            self._spawn(lane)
            for event in events:
                try:
                    self.on_event(*event)
                except Exception as e:  # the server's bookkeeping failed: said once, the pool goes on
                    log.error("error: job %s: %s", event[0], e)

    def _spawn(self, lane: str) -> None:
        """Start a worker, from the pool's own thread only: a worker is sent SIGTERM when the
        thread that started it ends (PR_SET_PDEATHSIG), and a request's thread is one of a pool
        that ends idle threads."""
        from ..workers import imports_isolated
        from .worker import main

        ours, theirs = self.mp.Pipe()
        cancel = self.mp.RawValue("q", 0)  # no lock: one writer (this thread or a request), one reader
        proc = self.mp.Process(target=main, args=(theirs, cancel, self.threads), name=f"audioviz-serve-{lane}",
                               daemon=True)
        with imports_isolated():
            proc.start()
        theirs.close()  # the worker's copy is its own: when it dies, reading ours ends
        self.workers.append(_Worker(lane, proc, ours, cancel))

    def _serve(self, w: _Worker, events: list[Event]) -> None:
        """Take in what worker `w` sent; when it is gone, end its job and let it go."""
        try:
            while w.conn.poll():
                self._answer(w, w.conn.recv(), events)
            if w.proc.exitcode is None:
                return
        except (EOFError, OSError):  # its end of the pipe closed: it has ended, or is ending
            pass
        self._reap(w, events)

    def _answer(self, w: _Worker, message: tuple, events: list[Event]) -> None:
        what = message[0]
        if what == "ready":
            w.ready, self.start_failures[w.lane] = True, 0
            return
        number, detail = message[1], message[2] if len(message) > 2 else None
        if w.job is None or number != w.job.number:
            return  # about a job already ended here (cancelled while it finished)
        events.append((w.job.id, what, detail))
        if what in ("done", "failed", "cancelled"):
            w.job, w.stop_at, w.terminated = None, None, False

    def _reap(self, w: _Worker, events: list[Event]) -> None:
        w.proc.join(STOP_SECONDS)
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join()
        w.conn.close()
        self.workers.remove(w)
        code = w.proc.exitcode
        why = f"signal {-code}" if code < 0 else f"exit status {code}"
        if w.job is not None:
            if w.stop_at is not None:
                events.append((w.job.id, "cancelled", ""))
            else:
                events.append((w.job.id, "failed", f"the worker running it died ({why})"))
        if not w.ready:
            self.start_failures[w.lane] += 1
            if self.start_failures[w.lane] >= MAX_START_FAILURES:
                self.start_failures[w.lane] = 0
                message = f"the {w.lane} workers die while starting ({why}); see the server's log"
                queue = self.queues[w.lane]
                events += [(job.id, "failed", message) for job in queue]
                queue.clear()

    def _step_in(self, events: list[Event]) -> None:
        """Terminate the worker of a cancelled job that has not stopped in time; kill it when
        it has not ended STOP_SECONDS later."""
        now = time.monotonic()
        for w in self.workers:
            if w.stop_at is None or now < w.stop_at:
                continue
            if w.terminated:
                w.proc.kill()
            else:
                log.warning("warning: job %s did not stop in %g s; its worker is stopped", w.job.id, CANCEL_SECONDS)
                w.proc.terminate()
                w.terminated, w.stop_at = True, now + STOP_SECONDS

    def _dispatch(self, events: list[Event]) -> None:
        for lane, queue in self.queues.items():
            mine = [w for w in self.workers if w.lane == lane]
            for w in mine:
                if not queue:
                    break
                if w.ready and w.job is None and w.stop_at is None:
                    job = queue.popleft()
                    try:
                        w.conn.send((job.number, job.spec))
                    except OSError:  # it died meanwhile: the job waits for another worker
                        queue.appendleft(job)
                        continue
                    w.job = job
                    events.append((job.id, "started", None))
            starting = sum(not w.ready for w in mine)
            for _ in range(min(len(queue) - starting, self.lanes[lane] - len(mine))):
                self._spawn(lane)


def default_threads(workers: int) -> int:
    """torch threads per worker: the cores shared among the workers that may run at once."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


@dataclass
class Progress:
    """What the page shows of a running job: its stage, how far it is, and the time left
    (from the pace of the frames rendered so far)."""

    stage: str = "starting"
    done: float = 0
    total: float | None = None
    since: float = field(default_factory=time.monotonic)  # when the stage began

    def update(self, stage: str, done: float, total: float | None) -> None:
        if stage != self.stage:
            self.stage, self.since = stage, time.monotonic()
        self.done, self.total = done, total

    def as_dict(self) -> dict:
        eta = None
        fraction = None
        if self.total:
            fraction = min(1.0, self.done / self.total)
            elapsed = time.monotonic() - self.since
            if self.stage == "render" and self.done and elapsed > 0.5:
                eta = round((self.total - self.done) * elapsed / self.done, 1)
        return {"stage": self.stage, "done": self.done, "total": self.total, "fraction": fraction, "eta": eta}
