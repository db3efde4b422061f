"""`audioviz tune --report STUDY`: what a study found, as text and figures in STUDY/report/.

- summary.txt: the study's settings and objective, the trials by how they ended, the best
  trial against the preset's own settings and the mean-segment baseline, the parameters'
  importances, the best trials, and why each failed trial failed (also printed);
- trials.csv: a row a trial (number, state, value, best epoch, seconds, settings, reason);
- history.png (each trial's value and the best so far), importances.png (fANOVA importance of
  each searched setting for the value), parallel.png (parallel coordinates of the settings of
  the complete trials, coloured by value) and epochs.png (each trial's score by epoch: where
  pruning stopped trials), drawn with matplotlib (the `analysis` extra).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingDependencyError, TuneError
from .study import BEST, StudyFolder, counted, optuna_module, summarise

FIGURES = ("history.png", "importances.png", "parallel.png", "epochs.png")
TOP = 10


@dataclass
class Report:
    folder: Path  # STUDY/report
    summary: str
    figures: list[Path]
    notes: list[str]  # figures that could not be drawn, and why

    def as_dict(self) -> dict:
        return {"report": str(self.folder), "summary": self.summary, "figures": [str(f) for f in self.figures],
                "notes": self.notes}


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _params(settings: dict, searched: list[str]) -> str:
    return ", ".join(f"{k} {_fmt(v)}" for k, v in settings.items() if k in searched) or "-"


def importances(study) -> tuple[dict[str, float], str]:
    """(fANOVA importance of each setting searched in every complete trial, "") or ({}, why
    there are none)."""
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}, "they need at least two complete trials"
    if len({t.value for t in complete}) < 2:
        return {}, "every complete trial scored the same"
    try:
        return get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0)), ""
    except (ValueError, RuntimeError, ZeroDivisionError) as e:
        return {}, " ".join(str(e).split())[:160] or type(e).__name__


def write_report(study_dir: str | os.PathLike) -> Report:
    """Write STUDY/report/ (see the module's docstring) and return what it holds."""
    from optuna.trial import TrialState

    optuna_module()
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("--report draws its figures with matplotlib, which is not installed: "
                                     "pip install 'audioviz[analysis]'") from None
    folder = StudyFolder(study_dir)
    if not folder.exists():
        raise TuneError(f"{folder.path}: no {'study.db'} there, so no study to report on")
    study, record = folder.load()
    if study is None or record is None:
        raise TuneError(f"{folder.path}: its study has no trials yet")
    result = summarise(folder, study, record)
    out = folder.path / "report"
    from ..training.run_folder import make_folder

    make_folder(out, "the report folder", ", not a folder; remove it")
    trials = study.get_trials(deepcopy=False)
    searched = [k for k, v in record["space"].items() if isinstance(v, (list, dict))]
    imp, no_imp = importances(study)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    minimise = record["direction"] == "minimize"
    complete.sort(key=lambda t: t.value if minimise else -t.value)

    # -- text -----------------------------------------------------------------------------
    c = result.counts
    epochs = f"{record['epochs']} epoch{'s' if record['epochs'] > 1 else ''}"
    lines = [
        (f"study {folder.path}: {record['model']} on {record['data_dir']} (preset {record['preset']}, {epochs} a "
         f"trial, seed {record['seed']}, validation share {record['val_fraction']:g})"),
        f"objective: {record['objective']}",
        (f"trials: {c['counted']} of {c['asked_for']} asked for: {c['complete']} complete, {c['pruned']} pruned, "
         f"{c['failed']} failed" + (f"; {c['interrupted']} interrupted and continued" if c["interrupted"] else "")
         + (f"; {c['running']} running" if c["running"] else "")),
    ]
    if record.get("baseline") is not None:
        lines.append(f"for scale: predicting the mean training segment scores {record['baseline']:.6f} on the same split")
        floor = record["min_code_std"]
        below = [t.number for t in complete if (t.user_attrs.get("figures") or {}).get("code_std", floor) < floor]
        if below:
            lines.append(f"{len(below)} of {len(complete)} complete trials kept an epoch whose code's spread is below "
                         f"{floor:g}, scored as the mean-segment baseline: trial{'s' if len(below) > 1 else ''} "
                         f"{', '.join(map(str, below))}")
    if result.best is not None:
        b = result.best
        lines.append(f"best: trial {b['number']}, {b['value']:.6f} at epoch {b['best_epoch']} "
                     f"({_params(b['params'] or {}, searched)}); run folder {b['run_dir']}, "
                     f"`--model {folder.path / BEST}`")
        if result.preset_trial is not None:
            p = result.preset_trial
            if p["number"] == b["number"]:
                lines.append(f"the preset's own settings (trial {p['number']}) are the best found so far")
            else:
                gain = (p["value"] - b["value"]) if minimise else (b["value"] - p["value"])
                rel = f" ({100 * gain / abs(p['value']):.1f} %)" if p["value"] else ""
                lines.append(f"the preset's own settings (trial {p['number']}): {p['value']:.6f}; the best is "
                             f"{'lower' if minimise else 'higher'} by {gain:.6f}{rel}")
        if "test_track_acc" in (study.best_trial.user_attrs or {}):
            lines.append(f"the best trial's test-split track accuracy (never used to choose): "
                         f"{study.best_trial.user_attrs['test_track_acc']:.4f}")
    else:
        lines.append("best: no trial is complete yet")
    if imp:
        lines.append("importance of each setting for the value (fANOVA, over the complete trials): "
                     + ", ".join(f"{k} {v:.2f}" for k, v in imp.items()))
    else:
        lines.append(f"importances: none ({no_imp})")
    if complete:
        lines.append(f"best {min(TOP, len(complete))} complete trials:")
        for t in complete[:TOP]:
            note = f" (continues trial {t.user_attrs['continues']})" if "continues" in t.user_attrs else ""
            lines.append(f"  trial {t.number}{note}: {t.value:.6f} at epoch {t.user_attrs.get('best_epoch')}: "
                         f"{_params(t.user_attrs.get('settings', t.params), searched)}")
    failed = [t for t in trials if t.state == TrialState.FAIL]
    if failed:
        by = {t.user_attrs["continues"]: t.number for t in trials if isinstance(t.user_attrs.get("continues"), int)}
        lines.append("failed trials:")
        for t in failed:
            settings = _params(t.user_attrs.get("settings", t.params), searched)
            if t.user_attrs.get("interrupted"):
                then = f"; continued by trial {by[t.number]}" if t.number in by else "; to be continued by the next run"
                lines.append(f"  trial {t.number}: {t.user_attrs['interrupted']}{then} ({settings})")
            else:
                lines.append(f"  trial {t.number}: {t.user_attrs.get('fail_reason', 'no reason recorded')} ({settings})")

    # -- trials.csv -----------------------------------------------------------------------
    keys = list(record["space"])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["trial", "state", "value", "best_epoch", "epochs_run", "seconds", *keys, "counted", "reason"])
    for t in trials:
        settings = t.user_attrs.get("settings", t.params)
        reason = t.user_attrs.get("interrupted") or t.user_attrs.get("fail_reason") or t.user_attrs.get("pruned", "")
        value = t.value if t.value is not None else t.user_attrs.get("value", "")
        w.writerow([t.number, t.state.name.lower(), value, t.user_attrs.get("best_epoch", ""),
                    t.user_attrs.get("epochs_run", ""), t.user_attrs.get("seconds", ""),
                    *(settings.get(k, "") for k in keys), int(counted(t)), reason])
    (out / "trials.csv").write_text(buf.getvalue())

    # -- figures --------------------------------------------------------------------------
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.visualization import matplotlib as ov

    name = "validation MSE from the code alone" if minimise else "held-out track accuracy"
    figures, notes = [], []
    draw = {
        "history.png": lambda: ov.plot_optimization_history(study, target_name=name),
        "importances.png": lambda: ov.plot_param_importances(
            study, evaluator=FanovaImportanceEvaluator(seed=0), target_name=name),
        "parallel.png": lambda: ov.plot_parallel_coordinate(study, target_name=name),
        "epochs.png": lambda: ov.plot_intermediate_values(study),
    }
    for fname, plot in draw.items():
        path = out / fname
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a figure of an earlier report that cannot be drawn now is not left to mislead
        if fname == "importances.png" and not imp:
            notes.append(f"{fname}: not drawn ({no_imp})")
            continue
        if fname == "parallel.png" and len(complete) < 2:
            notes.append(f"{fname}: needs at least two complete trials")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = plot()
            first = ax.flat[0] if hasattr(ax, "flat") else ax
            fig = first.figure
            if fname == "epochs.png":
                first.set_xlabel("epoch")
                first.set_ylabel(name)
                first.set_title("each trial's score by epoch (a pruned trial's line ends early)")
            elif fname == "parallel.png":
                fig.set_size_inches(max(8.0, 1.3 * (len(searched) + 1)), 5.5)
            fig.savefig(path, dpi=120, bbox_inches="tight")
            plt.close(fig)
            figures.append(path)
        except (ValueError, RuntimeError, KeyError, IndexError) as e:
            notes.append(f"{fname}: not drawn ({' '.join(str(e).split())[:160]})")
        finally:
            plt.close("all")
    lines.append("figures: " + ", ".join(f.name for f in figures) if figures else "figures: none")
    lines += [f"  {n}" for n in notes]
    summary = "\n".join(lines) + "\n"
    (out / "summary.txt").write_text(summary)
    return Report(out, summary, figures, notes)
