"""Trials on a Ray cluster (`audioviz tune --cluster`): each trial a Ray task that takes
`--cpus-per-job` CPUs and `--gpus-per-job` GPUs (0.25: four trials share a GPU), connected as
`audioviz batch --cluster` connects (batch/cluster.py, docs/cluster.md).

The driver (the machine that runs `audioviz tune`) asks Optuna for each trial, starts its task
and tells Optuna how it ended: only the driver's machine opens study.db, through one small
actor (the gate) placed on its node, which records each epoch's score as the tasks report it
and answers whether the trial should stop. SQLite is not safe on a network filesystem; the
run folders and the shared cache are, as for a batch's videos: the study folder must be on a
filesystem that every node mounts at the same path.

A task whose worker dies (killed, out of memory, its node gone) fails its trial with Ray's
reason. Ctrl-C or a killed driver ends the tasks (Ray ends a dead driver's); the next run
continues their trials from their last epochs.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

from .objective import INTERRUPTED, Outcome, TrialJob, run_trial


class TrialGate:
    """A Ray actor on the driver's node: the trials' reports go through it into study.db."""

    def __init__(self, db: str, pruner: str, startup: int, epochs: int):
        from .study import STUDY_NAME, Reporter, make_pruner, open_storage, optuna_module

        optuna = optuna_module()
        study = optuna.load_study(study_name=STUDY_NAME, storage=open_storage(Path(db)),
                                  pruner=make_pruner(pruner, startup, epochs))
        self.report_epoch = Reporter(study)

    def report(self, trial_id: int, epoch: int, value: float) -> bool:
        return self.report_epoch(trial_id, epoch, value)


def remote_trial(job: TrialJob, gate, threads: int) -> Outcome:
    """A trial in a Ray task."""
    import ray
    import torch

    torch.set_num_threads(threads)
    outcome = run_trial(job, lambda epoch, value: ray.get(gate.report.remote(job.trial_id, epoch, value)))
    with contextlib.suppress(Exception):
        outcome.attrs["node"] = f"{socket.gethostname()} ({ray.get_runtime_context().get_node_id()[:8]})"
    return outcome


class RayTrials:
    """Runs a study's trials as Ray tasks, `jobs` at a time."""

    def __init__(self, config, jobs: int | None, db: Path, settings: dict, say):
        from ..batch.cluster import Cluster, _quiet_driver, _ray

        ray = self.ray = _ray()
        self.cluster = Cluster(config)
        self.say = say
        self.jobs = jobs or self.cluster.room
        try:
            _quiet_driver()
            placement = {}
            with contextlib.suppress(Exception):  # through the Ray client the driver has no node
                from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

                placement = {"scheduling_strategy": NodeAffinitySchedulingStrategy(
                    ray.get_runtime_context().get_node_id(), soft=False)}
            self.gate = ray.remote(TrialGate).options(num_cpus=0, max_restarts=-1, **placement).remote(
                str(Path(db).absolute()), settings["pruner"], settings["startup_trials"], settings["epochs"])
            self.task = ray.remote(remote_trial).options(num_cpus=config.cpus_per_job, num_gpus=config.gpus_per_job,
                                                          max_retries=0)
            self.threads = max(1, int(config.cpus_per_job))
        except BaseException:
            self.cluster.close()
            raise
        say(f"Ray cluster: {self.cluster.describe()}; {self.jobs} trial(s) at a time")

    def run(self, tuner) -> None:
        from ..batch.cluster import _why_dead

        ray = self.ray
        inflight: dict = {}
        try:
            while True:
                while len(inflight) < self.jobs and tuner.want_more():
                    _, job = tuner.start_trial()
                    inflight[self.task.remote(job, self.gate, self.threads)] = job
                if not inflight:
                    return
                done, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
                for ref in done:
                    job = inflight.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.RayTaskError as e:
                        outcome = Outcome("failed", reason=f"unexpected error in its Ray task: {_why_dead(e)}")
                    except ray.exceptions.RayError as e:  # the worker or its node is gone
                        outcome = Outcome("failed", reason=f"its Ray worker died ({_why_dead(e)})")
                    tuner.finish(job, outcome)
        except KeyboardInterrupt:
            for ref, job in inflight.items():
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
                with contextlib.suppress(Exception):
                    tuner.finish(job, Outcome("interrupted", reason=INTERRUPTED))
            raise
        finally:
            with contextlib.suppress(Exception):
                ray.kill(self.gate)
            self.cluster.close()
