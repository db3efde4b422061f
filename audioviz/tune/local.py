"""Trials on this machine, one after another, in this process."""

from __future__ import annotations

from .objective import run_trial
from .study import Reporter


class LocalTrials:
    def __init__(self, progress: bool = False):
        self.progress = progress

    def run(self, tuner) -> None:
        report = Reporter(tuner.study)
        while tuner.want_more():
            _, job = tuner.start_trial()
            outcome = run_trial(job, lambda epoch, value, trial_id=job.trial_id: report(trial_id, epoch, value),
                                self.progress)
            tuner.finish(job, outcome)
            if outcome.state == "interrupted":
                raise KeyboardInterrupt
