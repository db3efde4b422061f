"""A study: Optuna's record of the trials (SQLite, `study.db` in the study folder), the
settings every trial shares, and the driver that asks Optuna for trials, runs them and tells
it how each ended.

The study folder holds `study.db`, `cache/` (the MFCC segments of the data, made once and
shared by the trials), `trials/NNNN/` (each trial's run folder: a normal `audioviz train` run)
and `best` (a link to the best complete trial's run folder, which `--model` loads).

- Resuming: running the same command again continues the study up to its number of trials.
  A trial whose process died (killed, crashed, Ctrl-C) is recorded as failed ("interrupted")
  and continued by a new trial with the same parameters in the same run folder: its training
  resumes from last.pt. `--trials` counts the trials that ended on their own (complete,
  pruned or failed), not those interrupted and continued.
- Several processes may share a study (each runs `audioviz tune` on the same folder): Optuna
  hands each its own trials, SQLite serialises their writes.
- The settings that define what a trial scores (model, preset, epochs, split, seed, the
  objective's floor) are fixed once a study has trials; the number of trials, the search
  space, the pruner and the device may change from one run to the next.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, MissingDependencyError, TuneError
from .objective import DEFAULT_MIN_CODE_STD, Objective, Outcome, TrialJob
from .space import Space, preset_values

INSTALL_HINT = "pip install 'audioviz[tune]'"
STUDY_NAME = "audioviz"
DB = "study.db"
RECORD = "audioviz"  # the study's user attribute that holds its settings
BEST = "best"
DEFAULT_TRIALS = 20
DEFAULT_STARTUP = 10  # trials sampled at random before TPE models the results
PRUNE_STARTUP = 5  # complete trials before the pruner judges any
PRUNERS = ("median", "none")
MAX_FAILED_IN_A_ROW = 5
# what makes a trial score what it scores: fixed once the study has trials
FIXED = ("model", "preset", "epochs", "val_fraction", "max_segments_per_track", "min_seconds", "seed",
         "min_code_std", "labels_from", "subset")


def optuna_module():
    try:
        import optuna
    except ImportError:
        raise MissingDependencyError(f"audioviz tune needs Optuna, which is not installed: {INSTALL_HINT}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def parse_duration(text: str) -> float:
    """Seconds of "90", "45s", "30m", "2h", "1h30m" or "1.5h": ConfigError otherwise."""
    t = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", t):
        seconds = float(t)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", t)
        if not parts or "".join(n + u for n, u in parts) != t or len({u for _, u in parts}) != len(parts):
            raise ConfigError(f"--timeout {text!r}: give a duration such as 90m, 2h, 1h30m or 3600 (seconds)")
        seconds = sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if not seconds > 0 or not math.isfinite(seconds):
        raise ConfigError(f"--timeout {text!r}: give a duration above 0")
    return seconds


# -- storage --------------------------------------------------------------------------------------

def open_storage(db: Path):
    """Optuna's SQLite storage at `db`: TuneError, one line, when the file is no such thing."""
    from urllib.parse import quote

    optuna = optuna_module()
    try:
        # several processes (or a Ray study's trials) write: wait for the lock, do not fail
        return optuna.storages.RDBStorage(f"sqlite:///{quote(str(db.absolute()))}",
                                          engine_kwargs={"connect_args": {"timeout": 120}})
    except Exception as e:  # noqa: BLE001 - sqlalchemy's and Optuna's errors alike
        why = " ".join(str(getattr(e, "orig", None) or e).split())[:200] or type(e).__name__
        raise TuneError(f"{db}: not a study database that this Optuna can open ({why})") from None


def make_sampler(seed: int, startup: int, trials_so_far: int):
    """TPE, seeded afresh by each process that runs the study: from the study's seed, the
    trials it holds and the process, so that a continued study, or two processes sharing
    one, never draw the same settings again."""
    import numpy as np

    optuna = optuna_module()
    entropy = np.random.SeedSequence([seed, trials_so_far, os.getpid()]).generate_state(1)[0]
    return optuna.samplers.TPESampler(seed=int(entropy), n_startup_trials=startup)


def make_pruner(kind: str, startup: int, epochs: int):
    """Median pruning: after `min(startup, 5)` complete trials, a trial whose epoch scores
    worse than the median of the others' at the same epoch stops there; never in the first
    quarter of its epochs."""
    optuna = optuna_module()
    if kind == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=max(1, min(startup, PRUNE_STARTUP)),
                                       n_warmup_steps=epochs // 4)


class Reporter:
    """Records an epoch's score as the trial's intermediate value and asks the pruner whether
    the trial should stop (what `Trial.report` and `Trial.should_prune` do, for a trial known
    by its id: the driver's, or a Ray task's through the gate)."""

    def __init__(self, study):
        self.study = study

    def __call__(self, trial_id: int, epoch: int, value: float) -> bool:
        storage = self.study._storage
        if epoch not in storage.get_trial(trial_id).intermediate_values:
            storage.set_trial_intermediate_value(trial_id, epoch, float(value))
        return bool(self.study.pruner.prune(self.study, storage.get_trial(trial_id)))


# -- who runs a trial -----------------------------------------------------------------------------

def _boot_id() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return ""


def _start_time(pid: int) -> str:
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    return ""


def owner() -> dict:
    """This process, as a trial records who runs it."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "boot": _boot_id(), "start": _start_time(os.getpid())}


def owner_alive(o: dict) -> bool | None:
    """Whether the process a trial records is running: None when it ran on another machine."""
    if not isinstance(o, dict) or o.get("host") != socket.gethostname():
        return None
    if o.get("boot") and _boot_id() and o["boot"] != _boot_id():
        return False  # the machine restarted since
    pid = o.get("pid")
    if not isinstance(pid, int):
        return False
    if o.get("start") and Path("/proc").is_dir():
        return _start_time(pid) == o["start"]  # a pid taken by another process since is not it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- the study ------------------------------------------------------------------------------------

def counted(trial) -> bool:
    """Whether a trial counts towards --trials: it ended on its own."""
    from optuna.trial import TrialState

    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and not trial.user_attrs.get("interrupted")


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-12)
    return a == b


@dataclass
class Options:
    """What a `tune` call was given; None: the study's recorded value, or the default."""

    model: str | None = None
    trials: int | None = None
    preset: str | None = None
    epochs: int | None = None
    space: str | os.PathLike | None = None  # a space file
    min_code_std: float | None = None
    pruner: str | None = None
    startup_trials: int | None = None
    val_fraction: float | None = None
    max_segments_per_track: int | None = None
    min_seconds: float | None = None
    seed: int | None = None
    fma_metadata: str | os.PathLike | None = None
    subset: str | None = None
    labels_from: str | None = None
    device: str = "auto"


class StudyFolder:
    """The study folder and its study, opened (made when new) with its settings checked."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.db = self.path / DB
        self.cache = self.path / "cache"
        if self.path.exists() and not self.path.is_dir():
            raise TuneError(f"{self.path}: is a file; give -o a folder for the study")
        if self.path.is_dir() and not os.path.lexists(self.db) and any(self.path.iterdir()):
            raise TuneError(f"{self.path}: holds files but no {DB}, so it is not a study of audioviz tune; "
                            "use a new or empty folder")

    def exists(self) -> bool:
        return os.path.lexists(self.db)

    def load(self, sampler=None, pruner=None):
        """(the study in study.db, its record of settings): (None, None) when study.db holds
        no study yet (made, then stopped before its first); TuneError when it holds others'."""
        optuna = optuna_module()
        storage = open_storage(self.db)
        try:
            names = optuna.get_all_study_names(storage)
        except Exception as e:  # noqa: BLE001 - a damaged database
            raise TuneError(f"{self.db}: cannot read the study ({' '.join(str(e).split())[:200]})") from None
        if STUDY_NAME not in names:
            if names:
                raise TuneError(f"{self.path}: its {DB} holds no study of audioviz tune; use a new output folder")
            return None, None
        study = optuna.load_study(study_name=STUDY_NAME, storage=storage, sampler=sampler, pruner=pruner)
        record = study.user_attrs.get(RECORD)
        if record is None and not study.get_trials(deepcopy=False):
            return study, None  # made, then stopped before its settings were recorded
        if not isinstance(record, dict) or not isinstance(record.get("model"), str):
            raise TuneError(f"{self.path}: its {DB} holds no study of audioviz tune; use a new output folder")
        return study, record

    def create(self, direction: str, sampler, pruner):
        """A new study (replacing one without trials, whose direction may be another's)."""
        optuna = optuna_module()
        from ..training.run_folder import make_folder

        make_folder(self.path, "the study folder", ", not a folder; give -o a folder for the study")
        storage = open_storage(self.db)
        study = optuna.create_study(storage=storage, study_name=STUDY_NAME, direction=direction,
                                    sampler=sampler, pruner=pruner, load_if_exists=True)
        if study.direction.name.lower() != direction and not study.get_trials(deepcopy=False):
            optuna.delete_study(study_name=STUDY_NAME, storage=storage)  # another model's, never run
            study = optuna.create_study(storage=storage, study_name=STUDY_NAME, direction=direction,
                                        sampler=sampler, pruner=pruner, load_if_exists=True)
        return study

    def run_dir(self, number: int) -> str:
        return f"trials/{number:04d}"

    def point_best(self, run_dir: str) -> None:
        """`best` -> the run folder `run_dir` (relative to the study folder), replaced at once."""
        link = self.path / BEST
        with contextlib.suppress(OSError):
            if os.readlink(link) == run_dir:
                return
        tmp = self.path / f".{BEST}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            os.symlink(run_dir, tmp, target_is_directory=True)
            if link.is_dir() and not link.is_symlink():  # a copy, from a filesystem without links
                shutil.rmtree(link)
            os.replace(tmp, link)
        except OSError:  # no symbolic links here: a copy of the run's files
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            staged = self.path / f".{BEST}.copy.tmp"
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(self.path / run_dir, staged, ignore=shutil.ignore_patterns("last.pt", "cache"))
            if os.path.lexists(link):
                if link.is_dir() and not link.is_symlink():
                    shutil.rmtree(link)
                else:
                    link.unlink()
            os.replace(staged, link)


@dataclass
class TuneResult:
    folder: Path
    record: dict
    counts: dict[str, int]
    best: dict | None  # number, value, params, run_dir
    preset_trial: dict | None  # the preset's own settings: number, value
    stopped: str  # why this run ended: "done", "time limit"
    running_elsewhere: int

    def as_dict(self) -> dict:
        return {"study": str(self.folder), "model": self.record["model"], "objective": self.record["objective"],
                "direction": self.record["direction"], "trials": self.counts, "best": self.best,
                "preset_trial": self.preset_trial, "stopped": self.stopped,
                "best_link": str(self.folder / BEST) if self.best else None,
                **({"mean_baseline": self.record["baseline"]} if self.record.get("baseline") is not None else {})}


class Tuner:
    """Runs a study's trials through an executor (local.LocalTrials or cluster.RayTrials) until
    the study holds its number of trials or the time is up."""

    def __init__(self, folder: StudyFolder, study, record: dict, space: Space, objective: Objective,
                 options: dict, device: str, deadline: float | None, say: Callable[[str], None]):
        self.folder, self.study, self.record, self.space = folder, study, record, space
        self.objective, self.options, self.device = objective, options, device
        self.deadline, self.say = deadline, say
        self.failed_in_a_row = 0
        self.stopped = "done"
        self.me = owner()

    # -- bookkeeping --------------------------------------------------------------------------
    def trials(self):
        return self.study.get_trials(deepcopy=False)

    def want_more(self) -> bool:
        """Whether to start another trial now."""
        from optuna.trial import TrialState

        trials = self.trials()
        busy = sum(1 for t in trials if t.state == TrialState.RUNNING)
        if sum(1 for t in trials if counted(t)) + busy >= self.record["trials"]:
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopped = "time limit"
            return False
        return True

    def continue_dead(self) -> list[int]:
        """Trials whose process died mid-run (on this machine): recorded as interrupted and
        continued by new trials of the same parameters in the same run folders."""
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        continued = []
        storage = self.study._storage
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if owner_alive(t.user_attrs.get("owner")) is not False:
                continue
            try:
                storage.set_trial_user_attr(t._trial_id, "interrupted", "its process ended while it ran")
                storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            except UpdateFinishedTrialError:  # another process got there first
                continue
            self._continue(t)
            continued.append(t.number)
        return continued

    def _continue(self, t) -> None:
        attrs = {"continues": t.number, "run_dir": t.user_attrs.get("run_dir", self.folder.run_dir(t.number))}
        if isinstance(t.user_attrs.get("settings"), dict):  # what its run folder was started with
            attrs["settings"] = t.user_attrs["settings"]
        if "preset" in t.user_attrs:
            attrs["preset"] = t.user_attrs["preset"]
        self.study.enqueue_trial(dict(t.params), user_attrs=attrs)

    def enqueue_preset(self) -> None:
        """The preset's own settings as the study's first trial: the hand-chosen point the
        search is measured against."""
        values = preset_values(self.record["model"], self.record["preset"])
        outside = self.space.holds(values)
        if outside:
            self.say(f"note: the preset's own settings lie outside the search space ({', '.join(outside)}); "
                     "no trial of them")
            return
        params = {k: values[k] for k in self.space.searched() if k in self.space.suggest(_Fixed(values))}
        self.study.enqueue_trial(params, user_attrs={"preset": self.record["preset"]}, skip_if_exists=True)

    # -- a trial ------------------------------------------------------------------------------
    def start_trial(self):
        """Ask Optuna for a trial: (its Optuna trial, what runs it)."""
        trial = self.study.ask()
        params = self.space.suggest(trial)
        if "continues" in trial.user_attrs and isinstance(trial.user_attrs.get("settings"), dict):
            params = dict(trial.user_attrs["settings"])  # its run folder's, whatever the space is now
        run_dir = trial.user_attrs.get("run_dir") or self.folder.run_dir(trial.number)
        trial.set_user_attr("owner", self.me)
        trial.set_user_attr("run_dir", run_dir)
        trial.set_user_attr("settings", params)
        options = {**self.options, **params, "device": self.device}
        job = TrialJob(trial.number, trial._trial_id, self.record["data_dir"], str(self.folder.path.absolute() / run_dir),
                       str(self.folder.cache.absolute()), self.record["model"], self.record["preset"], options,
                       self.objective)
        return trial, job

    def finish(self, job: TrialJob, outcome: Outcome) -> None:
        """Tell Optuna how a trial ended, say it, move `best`."""
        from optuna.trial import TrialState

        storage = self.study._storage
        attrs = dict(outcome.attrs)
        attrs["run_dir"] = self.trial_run_dir(job)
        for k, v in attrs.items():
            storage.set_trial_user_attr(job.trial_id, k, v)
        label = self.label(job)
        if outcome.state == "interrupted":
            storage.set_trial_user_attr(job.trial_id, "interrupted", outcome.reason or "interrupted")
            self.study.tell(job.number, state=TrialState.FAIL, skip_if_finished=True)
            self._continue(self.study._storage.get_trial(job.trial_id))
            self.say(f"{label}: interrupted; the next run continues it from its last epoch")
            return
        if outcome.state == "failed":
            storage.set_trial_user_attr(job.trial_id, "fail_reason", outcome.reason)
            self.study.tell(job.number, state=TrialState.FAIL, skip_if_finished=True)
            self.failed_in_a_row += 1
            self.say(f"{label}: failed: {outcome.reason}")
            if outcome.fatal:
                raise TuneError(f"trial {job.number} failed: {outcome.reason}; stopping the study (run the same "
                                "command again once that is fixed)")
            if self.failed_in_a_row >= MAX_FAILED_IN_A_ROW:
                raise TuneError(f"the last {self.failed_in_a_row} trials failed (the last: {outcome.reason}); "
                                f"stopping the study: `audioviz tune --report {self.folder.path}` lists why")
            return
        self.failed_in_a_row = 0
        storage.set_trial_user_attr(job.trial_id, "value", outcome.value)
        where = f"run folder {attrs['run_dir']}, in {attrs.get('seconds', 0) / 60:.1f} min"
        if outcome.state == "pruned":
            storage.set_trial_user_attr(job.trial_id, "pruned", outcome.reason)
            self.study.tell(job.number, state=TrialState.PRUNED, skip_if_finished=True)
            self.say(f"{label}: {outcome.reason} ({self.objective.name} {outcome.value:.6f}); {where}")
            return
        self.study.tell(job.number, outcome.value, skip_if_finished=True)
        best = self.update_best()
        mark = "; best so far" if best is not None and best.number == job.number else (
            f"; best so far: trial {best.number}, {best.value:.6f}" if best is not None else "")
        self.say(f"{label}: {self.objective.name} {outcome.value:.6f} at epoch {attrs.get('best_epoch')} of "
                 f"{job.epochs}; {where}{mark}")

    def trial_run_dir(self, job: TrialJob) -> str:
        return Path(job.run_dir).relative_to(self.folder.path.absolute()).as_posix()

    def label(self, job: TrialJob) -> str:
        t, number = self.study._storage.get_trial(job.trial_id), job.number
        extra = []
        if "preset" in t.user_attrs:
            extra.append(f"the preset {t.user_attrs['preset']}'s own settings")
        if "continues" in t.user_attrs:
            extra.append(f"continues trial {t.user_attrs['continues']}")
        return f"trial {number}" + (f" ({'; '.join(extra)})" if extra else "")

    def update_best(self):
        """Point `best` at the best complete trial's run folder; that trial (None when none)."""
        try:
            best = self.study.best_trial
        except ValueError:
            return None
        self.folder.point_best(best.user_attrs.get("run_dir", self.folder.run_dir(best.number)))
        return best

    def result(self) -> TuneResult:
        return summarise(self.folder, self.study, self.record, self.stopped)


class _Fixed:
    """Stands in for an Optuna trial in `Space.suggest`: gives given values (which settings a
    trial of them would suggest, conditional ones included)."""

    def __init__(self, values: dict):
        self.values = values

    def suggest_categorical(self, name, choices):
        return self.values[name]

    def suggest_int(self, name, *a, **k):
        return self.values[name]

    def suggest_float(self, name, *a, **k):
        return self.values[name]


def summarise(folder: StudyFolder, study, record: dict, stopped: str = "done") -> TuneResult:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {"counted": sum(1 for t in trials if counted(t)),
              "complete": sum(1 for t in trials if t.state == TrialState.COMPLETE),
              "pruned": sum(1 for t in trials if t.state == TrialState.PRUNED),
              "failed": sum(1 for t in trials if t.state == TrialState.FAIL and not t.user_attrs.get("interrupted")),
              "interrupted": sum(1 for t in trials if t.state == TrialState.FAIL and t.user_attrs.get("interrupted")),
              "running": sum(1 for t in trials if t.state == TrialState.RUNNING),
              "waiting": sum(1 for t in trials if t.state == TrialState.WAITING),
              "asked_for": record["trials"]}
    best = None
    with contextlib.suppress(ValueError):
        b = study.best_trial
        best = {"number": b.number, "value": b.value, "params": b.user_attrs.get("settings", b.params),
                "run_dir": b.user_attrs.get("run_dir"), "best_epoch": b.user_attrs.get("best_epoch"),
                "figures": b.user_attrs.get("figures")}
    preset = next(({"number": t.number, "value": t.value} for t in trials
                   if t.user_attrs.get("preset") and t.state == TrialState.COMPLETE), None)
    running = sum(1 for t in trials if t.state == TrialState.RUNNING and owner_alive(t.user_attrs.get("owner")) is not False)
    return TuneResult(folder.path, record, counts, best, preset, stopped, running)


# -- the entry point ------------------------------------------------------------------------------

def _settings(folder: StudyFolder, data_dir, opts: Options, record: dict | None, has_trials: bool) -> dict:
    """The study's settings from the options given and the study's record: TuneError when a
    study with trials is asked for other ones."""
    given = {"model": opts.model, "preset": opts.preset, "epochs": opts.epochs, "val_fraction": opts.val_fraction,
             "max_segments_per_track": opts.max_segments_per_track, "min_seconds": opts.min_seconds, "seed": opts.seed,
             "min_code_std": opts.min_code_std, "labels_from": opts.labels_from, "subset": opts.subset}
    if record is not None and has_trials:
        if opts.model is not None and opts.model != record["model"]:
            raise TuneError(f"{folder.path} holds a study of {record['model']}, not {opts.model}; use a new output "
                            f"folder, or --model {record['model']} to continue it")
        diff = [f"{k} {v}, not {record.get(k)}" for k, v in given.items()
                if v is not None and not _same(v, record.get(k)) and k in FIXED]
        if diff:
            raise TuneError(f"{folder.path} holds a study with other settings ({'; '.join(diff)}); use a new output "
                            "folder, or the same options to continue it")
        base = dict(record)
    else:
        base = {}
    settings = {k: (v if v is not None else base.get(k)) for k, v in given.items()}
    settings["model"] = settings["model"] or "ae_shared"
    settings["preset"] = settings["preset"] or "compact"
    if data_dir is not None:
        settings["data_dir"] = str(Path(data_dir).absolute())
    elif record is not None and record.get("data_dir"):
        settings["data_dir"] = record["data_dir"]
    else:
        raise TuneError("give the folder of music to tune on (DATA_DIR)")
    settings["fma_metadata"] = str(Path(opts.fma_metadata).absolute()) if opts.fma_metadata is not None else (
        base.get("fma_metadata") if record is not None else None)
    settings["trials"] = opts.trials or (record or {}).get("trials") or DEFAULT_TRIALS
    settings["pruner"] = opts.pruner or (record or {}).get("pruner") or "median"
    settings["startup_trials"] = opts.startup_trials or (record or {}).get("startup_trials") or DEFAULT_STARTUP
    if settings["pruner"] not in PRUNERS:
        raise TuneError(f"--pruner {settings['pruner']!r}: choose {' or '.join(PRUNERS)}")
    for name, value in (("--trials", settings["trials"]), ("--startup-trials", settings["startup_trials"])):
        if type(value) is not int or not 1 <= value <= 1_000_000:
            raise TuneError(f"{name} must be a whole number from 1 to 1000000, not {value!r}")
    return settings


def _trainer_options(settings: dict) -> dict:
    keys = ("epochs", "val_fraction", "max_segments_per_track", "min_seconds", "seed", "fma_metadata", "subset",
            "labels_from")
    return {k: settings[k] for k in keys if settings.get(k) is not None}


def data_record(corpus) -> dict:
    """What a study's trials train and judge on: its usable tracks, their splits and segments."""
    import hashlib
    import json

    usable = sorted((t.path, t.split, t.segments) for t in corpus.tracks if t.segments)
    return {"tracks": len(usable), "segments": sum(n for _, _, n in usable),
            "digest": hashlib.sha256(json.dumps(usable).encode()).hexdigest()[:16]}


def _check_split(corpus, data_dir: str) -> None:
    if not len(corpus.indices("val")):
        raise TuneError(f"{data_dir}: no held-out track has usable audio, so no trial could be judged; add tracks "
                        "or raise --val-fraction")
    if not len(corpus.indices("train")):
        raise TuneError(f"{data_dir}: no training track has usable audio")


def tune(data_dir: str | os.PathLike | None, out: str | os.PathLike, opts: Options | None = None, *,
         timeout: float | None = None, cluster=None, jobs: int | None = None, progress: bool = False,
         say: Callable[[str], None] = lambda line: None) -> TuneResult:
    """Run (or continue) the study in `out` on the music in `data_dir` (None: the study's own).
    `cluster` (a batch.cluster.ClusterConfig) runs the trials as Ray tasks, `jobs` at a time
    (default: as many as the cluster holds). Returns the study's state when this run ends."""
    from ..training import make_trainer
    from ..training.dataset import audio_files

    opts = opts or Options()
    optuna_module()
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise ConfigError(f"--timeout {timeout}: give a duration above 0")
    start = time.monotonic()
    folder = StudyFolder(out)
    record = study = None
    if folder.exists():
        study, record = folder.load()
    has_trials = study is not None and len(study.get_trials(deepcopy=False)) > 0
    settings = _settings(folder, data_dir, opts, record, has_trials)
    model = settings["model"]
    # the space: a file given now, else the study's, else the family's default
    if opts.space is not None:
        space = Space.from_file(model, opts.space)
    elif record is not None and has_trials and isinstance(record.get("space"), dict):
        space = Space.from_record(model, record["space"])
    else:
        space = Space.default(model)
    # options checked by the trainer's own settings before anything is written
    base = make_trainer(settings["data_dir"], folder.path / "trials", model, settings["preset"], progress=progress,
                        device=opts.device, **_trainer_options(settings))
    cfg = base.config
    settings.update(epochs=cfg.epochs, val_fraction=cfg.val_fraction, max_segments_per_track=cfg.max_segments_per_track,
                    min_seconds=cfg.min_seconds, seed=cfg.seed)
    if settings["min_code_std"] is None:
        settings["min_code_std"] = DEFAULT_MIN_CODE_STD
    if not (isinstance(settings["min_code_std"], (int, float)) and 0 <= settings["min_code_std"] < 0.5):
        raise TuneError(f"--min-code-std must be a number from 0 to below 0.5 (a sigmoid's largest spread), "
                        f"not {settings['min_code_std']!r}")
    audio_files(settings["data_dir"])  # no audio: said before the study folder is made
    sampler = make_sampler(settings["seed"], settings["startup_trials"],
                           len(study.get_trials(deepcopy=False)) if study is not None else 0)
    pruner = make_pruner(settings["pruner"], settings["startup_trials"], settings["epochs"])
    objective = Objective(model, settings["min_code_std"])
    if has_trials:
        study, _ = folder.load(sampler, pruner)
        old = Space.from_record(model, record["space"]) if isinstance(record.get("space"), dict) else None
        if old is not None and space.differences(old):
            say(f"note: the search space differs from the study's until now in {', '.join(space.differences(old))}; "
                "the next trials search the new one")
    else:
        study = folder.create(objective.direction, sampler, pruner)
    previous = record if has_trials else {}
    baseline = previous.get("baseline")
    record = {**settings, "version": 1, "space": space.to_dict(), "direction": objective.direction,
              "objective": objective.describe(), "baseline": baseline, "data": previous.get("data")}
    if not has_trials:
        study.set_user_attr(RECORD, record)  # the folder is this study's from now on
    # the data, cached once for every trial
    base.cache_dir = folder.cache
    corpus = base.cache_corpus()
    _check_split(corpus, settings["data_dir"])
    data = data_record(corpus)
    old = previous.get("data")
    if isinstance(old, dict) and old.get("digest") != data["digest"]:
        raise TuneError(f"{settings['data_dir']}: not the music this study's trials trained on ({data['tracks']} usable "
                        f"tracks, {data['segments']} segments now; {old.get('tracks')} and {old.get('segments')} then), "
                        "so their scores would not compare; use a new output folder")
    record["data"] = data
    if objective.autoencoder and baseline is None:
        baseline = base.mean_baseline(corpus)
    objective = Objective(model, settings["min_code_std"], baseline if baseline is not None else math.nan)
    record.update(objective=objective.describe(), baseline=baseline)
    study.set_user_attr(RECORD, record)
    deadline = None if timeout is None else start + timeout
    tuner = Tuner(folder, study, record, space, objective, _trainer_options(settings), opts.device, deadline, say)
    say(f"study {folder.path}: {model}, {settings['epochs']} epoch{'s' if settings['epochs'] > 1 else ''} a trial, "
        f"{record['trials']} trials; objective: {objective.describe()}")
    if not has_trials:
        tuner.enqueue_preset()
    for n in tuner.continue_dead():
        say(f"trial {n} was interrupted (its process ended while it ran); a new trial continues it")
    tuner.update_best()
    if cluster is not None:
        from .cluster import RayTrials

        executor = RayTrials(cluster, jobs, folder.db, settings, say)
    else:
        from .local import LocalTrials

        executor = LocalTrials(progress)
    executor.run(tuner)
    tuner.update_best()
    return tuner.result()
