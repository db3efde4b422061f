"""Hyper-parameter search for the feature extractors (`audioviz tune`), with Optuna.

A study searches the training settings of one model (space.py: learning rate, batch size,
width, optimiser and momentum; the autoencoders' code normalisation and bypass-closing share;
the classifiers' dropout and weight decay) with a TPE sampler and a median pruner. Each trial
is a run of `audioviz train`'s loop in a run folder of its own (objective.py), judged after
every epoch; the study lives in SQLite in its folder and resumes after a crash (study.py);
trials run here one after another (local.py) or as Ray tasks (cluster.py); `--report` draws
what the study found (report.py). Optuna is the optional `tune` extra.
"""

from .objective import Objective
from .space import Space
from .study import Options, TuneResult, parse_duration, tune

__all__ = ["Objective", "Options", "Space", "TuneResult", "parse_duration", "tune"]
