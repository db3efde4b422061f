"""`audioviz tune`: real Optuna studies (SQLite) of tiny models on a few seconds of music: the
search space and its file, a study of three trials whose best renders, one killed mid-trial
and continued, pruning, failed trials, a refused folder, the report, a classifier's study and
a study on a real two-node Ray cluster (tests/raycluster.py)."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from media import styled_track, write_audio
from typer.testing import CliRunner

from audioviz.cli import app
from audioviz.errors import ConfigError, TuneError
from audioviz.extract.registry import load_model

optuna = pytest.importorskip("optuna")

from audioviz.tune import Objective, Options, Space, parse_duration, tune
from audioviz.tune.space import preset_values
from audioviz.tune.study import STUDY_NAME

TINY = ["--preset", "tiny", "--quiet"]


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    """Six tracks of three seconds in two folders (two classes for the classifiers)."""
    root = tmp_path_factory.mktemp("music")
    for i in range(6):
        cls = ("calm", "loud")[i % 2]
        (root / cls).mkdir(exist_ok=True)
        write_audio(root / cls / f"t{i}.ogg", styled_track(3.0, i, cls == "loud"))
    return root


@pytest.fixture(scope="module")
def narrow(tmp_path_factory):
    """A space of small networks only, so that every trial takes a second or two."""
    path = tmp_path_factory.mktemp("space") / "narrow.toml"
    path.write_text("width = [2, 4]\nbatch_size = [8, 16]\n")
    return path


def load(out):
    return optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{out / 'study.db'}")


def states(study):
    return [t.state.name for t in study.get_trials(deepcopy=False)]


def log_rows(run):
    with open(run / "log.csv") as f:
        return list(csv.DictReader(f))


def invoke(*args):
    return CliRunner().invoke(app, ["tune", *map(str, args)])


# -- the search space -------------------------------------------------------------------------------

def test_the_default_spaces_hold_the_bundled_settings():
    ae, vgg = Space.default("ae_shared"), Space.default("vgg16")
    assert ae.searched() == ["lr", "batch_size", "optimizer", "momentum", "width", "code_norm", "bypass_dropout"]
    assert ae.fixed() == {"contrast": 0.0}
    assert vgg.searched() == ["lr", "batch_size", "optimizer", "momentum", "width_divisor", "dropout", "weight_decay"]
    assert vgg.fixed() == {"contrast": 0.0, "spread": 0.0}
    # the bundled models' settings lie in the default space: the study's first trial is theirs
    assert preset_values("ae_shared", "compact") == {"lr": 1e-3, "batch_size": 64, "optimizer": "adam", "momentum": 0.9,
                                                     "width": 8, "code_norm": True, "bypass_dropout": 0.5, "contrast": 0.0}
    assert ae.holds(preset_values("ae_shared", "compact")) == []
    assert vgg.holds(preset_values("vgg16", "compact")) == []
    assert vgg.holds(preset_values("vgg16", "tiny")) == ["width_divisor 32", "weight_decay 0"]
    assert "momentum: 0.5 to 0.99 (with optimizer sgd)" in ae.lines()


def test_a_space_file_narrows_widens_and_fixes(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text('lr = { low = 1e-4, high = 3e-3, log = true }\nwidth = { low = 8, high = 24, step = 4 }\n'
                    'batch_size = [32, 64, 32]\noptimizer = "adam"\ncontrast = { low = 0, high = 0.5 }\n')
    space = Space.from_file("ae", path)
    assert space.to_dict() == {
        "lr": {"low": 1e-4, "high": 3e-3, "log": True}, "batch_size": [32, 64], "optimizer": "adam",
        "momentum": {"low": 0.5, "high": 0.99, "log": False}, "width": {"low": 8, "high": 24, "log": False, "step": 4},
        "code_norm": [True, False], "bypass_dropout": {"low": 0.25, "high": 1.0, "log": False},
        "contrast": {"low": 0.0, "high": 0.5, "log": False}}
    assert Space.from_record("ae", space.to_dict()).to_dict() == space.to_dict()
    # momentum is sgd's: with adam fixed, no trial draws it
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    drawn = [space.suggest(study.ask()) for _ in range(20)]
    assert all("momentum" not in d and d["optimizer"] == "adam" and d["contrast"] <= 0.5 for d in drawn)
    assert {d["width"] for d in drawn} <= {8, 12, 16, 20, 24} and {d["batch_size"] for d in drawn} == {32, 64}
    assert all(1e-4 <= d["lr"] <= 3e-3 for d in drawn)


AE_KEYS = "lr, batch_size, optimizer, momentum, width, code_norm, bypass_dropout, contrast"


@pytest.mark.parametrize("text, message", [
    ("learning_rate = 0.1", f"unknown key 'learning_rate' for ae_shared (did you mean lr?); the keys are {AE_KEYS}"),
    ("dropout = 0.1", f"unknown key 'dropout' for ae_shared (a setting of the genre classifiers); the keys are {AE_KEYS}"),
    ("lr = { low = 0.01, high = 0.001 }", "lr: low 0.01 is above high 0.001"),
    ("lr = { low = 0.0, high = 0.1 }", "lr: low 0 is outside what lr can be (above 0 to 1)"),
    ("bypass_dropout = { low = 0.5, high = 1.5 }", "bypass_dropout: high 1.5 is outside what bypass_dropout can be (from 0 to 1)"),
    ("contrast = { low = 0, high = 1, log = true }", "contrast: a log range needs low above 0, not 0"),
    ("width = { low = 4, high = 16, step = 5 }", "width: step 5 does not divide the range 4 to 16"),
    ("width = { low = 4.5, high = 16 }", "width: low 4.5 is not a whole number"),
    ("lr = { low = 1e-4, high = 1e-2, max = 1 }", "lr: unknown entry 'max' in a range; give low and high, and optionally log or step"),
    ("lr = { low = 1e-4 }", "lr: a range needs both low and high"),
    ("batch_size = []", "batch_size: an empty list leaves nothing to try"),
    ("batch_size = [16, 0]", "batch_size: 0 is outside what batch_size can be (a whole number from 1 to 4096)"),
    ('optimizer = "rmsprop"', "optimizer: 'rmsprop' is not one of adam, sgd"),
    ("code_norm = { low = 0, high = 1 }", "code_norm: takes one value or a list (true, false), not a range"),
    ('lr = "fast"', "lr: 'fast' is not a number"),
    ("lr 0.1", "not valid TOML ({toml})"),
])
def test_space_file_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "space.toml"
    path.write_text(text + "\n")
    with pytest.raises(TuneError) as e:
        Space.from_file("ae_shared", path)
    if "{toml}" in message:  # tomllib's own words, whatever this Python's are
        import tomllib

        with pytest.raises(tomllib.TOMLDecodeError) as said:
            tomllib.loads(text + "\n")
        message = message.format(toml=str(said.value))
    assert str(e.value) == f"{path}: {message}"


def test_a_space_that_searches_nothing_or_a_classifiers_wrong_divisor_is_refused(tmp_path, music):
    path = tmp_path / "space.toml"
    path.write_text('lr = 0.001\nbatch_size = 16\noptimizer = "adam"\nwidth = 4\ncode_norm = true\nbypass_dropout = 0.5\n')
    with pytest.raises(TuneError, match="every setting is fixed; leave at least one a range or a list to search$"):
        Space.from_file("ae", path)
    path.write_text("width_divisor = [8, 3]\n")
    with pytest.raises(TuneError) as e:
        Space.from_file("vgg11", path)
    assert str(e.value) == f"{path}: width_divisor: 3 is not one of 1, 2, 4, 8, 16, 32, 64"
    # at the command line: one line, exit status 1, and no study folder
    r = invoke(music, "-o", tmp_path / "study", "--space", path, "--model", "vgg11")
    assert r.exit_code == 1 and r.stderr == f"error: {path}: width_divisor: 3 is not one of 1, 2, 4, 8, 16, 32, 64\n"
    assert not (tmp_path / "study").exists()


def test_the_objective_and_its_floor():
    ae = Objective("ae", min_code_std=0.05, baseline=0.031)
    assert ae.direction == "minimize" and ae.name == "validation MSE from the code alone"
    assert ae.score({"val_code_only": 0.026, "code_std": 0.19}) == 0.026
    # a code that collapsed scores no better than predicting the mean segment
    assert ae.score({"val_code_only": 0.020, "code_std": 0.01}) == 0.031
    assert ae.score({"val_code_only": 0.040, "code_std": 0.01}) == 0.040
    assert ae.score({"val_code_only": 0.020, "code_std": float("nan")}) == 0.031
    assert math.isnan(ae.score({"val_code_only": float("nan"), "code_std": 0.2}))
    assert "below 0.05 scores no better than predicting the mean training segment (0.031000)" in ae.describe()
    vgg = Objective("vgg16")
    assert vgg.direction == "maximize" and vgg.score({"val_track_acc": 0.75, "val_acc": 0.5}) == 0.75


def test_durations():
    assert [parse_duration(t) for t in ("90", "45s", "30m", "2h", "1h30m", "1.5h")] == [90, 45, 1800, 7200, 5400, 5400]
    for bad in ("2x", "h", "1h1h", "0", "-5m"):
        with pytest.raises(ConfigError, match="--timeout"):
            parse_duration(bad)


# -- a study ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def study3(tmp_path_factory, music, narrow):
    """A finished study of three trials of one epoch each."""
    out = tmp_path_factory.mktemp("tune") / "study"
    # codes of networks this small spread little: a floor of 0.001 lets their values differ
    r = invoke(music, "-o", out, *TINY, "--epochs", 1, "--trials", 3, "--space", narrow, "--min-code-std", 0.001,
               "--json")
    assert r.exit_code == 0, r.stderr
    return out, json.loads(r.stdout)


def test_a_tiny_study_leaves_runs_that_render_and_a_best(study3, music, song):
    out, result = study3
    study = load(out)
    assert states(study) == ["COMPLETE"] * 3
    trials = study.get_trials()
    assert trials[0].user_attrs["preset"] == "tiny"  # the preset's own settings come first
    assert trials[0].params == {"lr": 1e-3, "batch_size": 16, "optimizer": "adam", "width": 4, "code_norm": True,
                                "bypass_dropout": 0.5}
    assert result["trials"] == {"counted": 3, "complete": 3, "pruned": 0, "failed": 0, "interrupted": 0, "running": 0,
                                "waiting": 0, "asked_for": 3}
    assert result["direction"] == "minimize" and result["objective"].startswith(
        "minimise the validation MSE from the code alone")
    best = min(trials, key=lambda t: t.value)
    assert result["best"]["number"] == best.number and result["best"]["run_dir"] == f"trials/{best.number:04d}"
    assert os.readlink(out / "best") == f"trials/{best.number:04d}"
    for t in trials:
        run = out / t.user_attrs["run_dir"]
        # a trial's value is its best epoch's validation MSE from the code alone, as its log says
        row = log_rows(run)[t.user_attrs["best_epoch"] - 1]
        floor_ok = float(row["code_std"]) >= 0.001
        mse = float(row["val_code_only"])
        assert t.value == pytest.approx(mse if floor_ok else max(mse, result["mean_baseline"]), abs=2e-6)
        assert t.intermediate_values == {1: t.value}
        assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 1
        assert not (run / "cache").exists()  # the trials share the study's cache
    # any trial renders like a trained model; `--model STUDY/best` is the winner's
    model = load_model(out / "best", device="cpu")
    assert model.mapping is not None and model.meta["train"]["width"] == best.params["width"]
    from audioviz.audio import decode

    assert np.isfinite(model.features(decode(song).samples).values).all()


def test_a_finished_study_asked_for_more_goes_on(study3, music, tmp_path):
    import shutil

    out = tmp_path / "study"
    shutil.copytree(study3[0], out, symlinks=True)
    r = invoke("-o", out, "--json")  # the study's own data, settings and number of trials
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["trials"]["counted"] == 3 and len(load(out).trials) == 3
    r = invoke("-o", out, "--trials", 4, "--json")
    assert r.exit_code == 0, r.stderr
    study = load(out)
    assert states(study) == ["COMPLETE"] * 4 and (out / "trials" / "0003" / "best.pt").exists()
    assert study.trials[3].params["width"] in (2, 4)  # the recorded space, not the default
    # other music would make its trials' scores incomparable with the others'
    other = tmp_path / "other"
    shutil.copytree(music, other)
    (other / "loud" / "t5.ogg").unlink()
    r = invoke(other, "-o", out, "--trials", 5)
    assert r.exit_code == 1
    assert r.stderr.startswith(f"error: {other}: not the music this study's trials trained on (5 usable tracks, ")
    assert r.stderr.endswith("so their scores would not compare; use a new output folder\n")
    assert len(load(out).trials) == 4


def test_a_study_killed_mid_trial_continues_that_trial(tmp_path, music, narrow):
    out = tmp_path / "study"
    args = [sys.executable, "-m", "audioviz", "tune", str(music), "-o", str(out), "--preset", "tiny", "--epochs", "2",
            "--trials", "3", "--space", str(narrow)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    victim, deadline = None, time.monotonic() + 120
    try:
        while victim is None:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline
            for n in (1, 2):
                run = out / "trials" / f"{n:04d}"
                if (run / "last.pt").exists() and not (run / "model.md").exists():
                    proc.send_signal(signal.SIGSTOP)  # then look again: is it still mid-run?
                    if (run / "last.pt").exists() and not (run / "model.md").exists():
                        victim = n
                        break
                    proc.send_signal(signal.SIGCONT)
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.communicate()
    run = out / "trials" / f"{victim:04d}"
    before = log_rows(run)
    assert len(before) == 1
    assert load(out).trials[victim].state.name == "RUNNING"  # the killed process never told Optuna

    r = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == 0, r.stderr
    assert f"trial {victim} was interrupted (its process ended while it ran); a new trial continues it" in r.stderr
    study = load(out)
    killed = study.trials[victim]
    assert killed.state.name == "FAIL" and killed.user_attrs["interrupted"] == "its process ended while it ran"
    continued = [t for t in study.trials if t.user_attrs.get("continues") == victim]
    assert len(continued) == 1 and continued[0].state.name == "COMPLETE"
    assert continued[0].params == killed.params and continued[0].user_attrs["run_dir"] == f"trials/{victim:04d}"
    # its training resumed from last.pt: the epochs done before the kill were not run again
    after = log_rows(run)
    assert [row["epoch"] for row in after] == ["1", "2"] and after[0] == before[0]
    assert set(continued[0].intermediate_values) == {1, 2}
    # three trials ended on their own, as asked; the interrupted one is on record beside them
    assert sorted(states(study)) == ["COMPLETE"] * 3 + ["FAIL"]
    assert "3 of 3 trials (3 complete, 0 pruned, 0 failed)" in r.stderr
    assert os.readlink(out / "best") == min((t for t in study.trials if t.state.name == "COMPLETE"),
                                            key=lambda t: t.value).user_attrs["run_dir"]


def test_pruning_stops_a_trial_that_falls_behind(tmp_path, music, narrow):
    out = tmp_path / "study"
    opts = {"preset": "tiny", "epochs": 3, "space": narrow, "startup_trials": 1, "min_code_std": 0.0}
    first = tune(music, out, Options(trials=1, **opts))  # the preset's own settings, all three epochs
    assert first.counts["complete"] == 1
    # a learning rate that barely moves the weights: behind the first trial after one epoch
    study = load(out)
    study.enqueue_trial({"lr": 1e-4, "batch_size": 16, "optimizer": "sgd", "momentum": 0.5, "width": 4,
                         "code_norm": True, "bypass_dropout": 0.5})
    lines = []
    result = tune(None, out, Options(trials=2), say=lines.append)
    study = load(out)
    assert states(study) == ["COMPLETE", "PRUNED"]
    pruned = study.trials[1]
    assert pruned.intermediate_values.keys() == {1}
    assert pruned.intermediate_values[1] > study.trials[0].intermediate_values[1]
    assert pruned.user_attrs["pruned"] == "pruned after epoch 1 of 3"
    assert any(line.startswith("trial 1: pruned after epoch 1 of 3 (validation MSE from the code alone ") for line in lines)
    assert result.counts["pruned"] == 1 and result.best["number"] == 0
    # a pruned trial is a run that stopped early: finished as usual, so it renders too
    run = out / "trials" / "0001"
    assert [row["epoch"] for row in log_rows(run)] == ["1"] and (run / "model.md").exists()
    assert load_model(run, device="cpu").mapping is not None


def test_failed_trials_are_recorded_and_the_study_goes_on(tmp_path, music, narrow, monkeypatch):
    import torch

    from audioviz.training.autoencoder import Trainer

    real, calls = Trainer.train_step, {"n": 0}

    def out_of_memory_once(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real(self, *a, **k)

    monkeypatch.setattr(Trainer, "train_step", out_of_memory_once)
    out = tmp_path / "study"
    lines = []
    result = tune(music, out, Options(preset="tiny", epochs=1, trials=3, space=narrow), say=lines.append)
    study = load(out)
    assert states(study) == ["FAIL", "COMPLETE", "COMPLETE"]
    assert study.trials[0].user_attrs["fail_reason"] == "out of memory on the GPU (CUDA out of memory. Tried to allocate 20.00 GiB)"
    assert "trial 0 (the preset tiny's own settings): failed: out of memory on the GPU (CUDA out of memory. Tried to " \
           "allocate 20.00 GiB)" in lines
    assert result.counts["failed"] == 1 and result.counts["counted"] == 3

    # a fault every trial meets ends the study after five in a row, in one line
    def always(self, *a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(Trainer, "train_step", always)
    with pytest.raises(TuneError) as e:
        tune(None, out, Options(trials=20))
    assert str(e.value) == (f"the last 5 trials failed (the last: RuntimeError: boom); stopping the study: "
                            f"`audioviz tune --report {out}` lists why")
    assert states(load(out)) == ["FAIL", "COMPLETE", "COMPLETE"] + ["FAIL"] * 5


# -- refusals ---------------------------------------------------------------------------------------

def test_a_folder_of_another_study_or_no_study_is_refused(study3, music, tmp_path):
    out = study3[0]
    before = (out / "study.db").read_bytes()
    r = invoke(music, "-o", out, "--model", "ae_skip")
    assert r.exit_code == 1
    assert r.stderr == (f"error: {out} holds a study of ae_shared, not ae_skip; use a new output folder, or "
                        "--model ae_shared to continue it\n")
    r = invoke(music, "-o", out, "--epochs", 2, "--seed", 3, "--min-seconds", 2)
    assert r.stderr == (f"error: {out} holds a study with other settings (epochs 2, not 1; min_seconds 2.0, not 0.0; "
                        "seed 3, not 0); use a new output folder, or the same options to continue it\n")
    assert (out / "study.db").read_bytes() == before
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    r = invoke(music, "-o", run)
    assert r.stderr == (f"error: {run}: holds files but no study.db, so it is not a study of audioviz tune; use a new "
                        "or empty folder\n")
    r = invoke("-o", tmp_path / "new")
    assert r.stderr == "error: give the folder of music to tune on (DATA_DIR)\n"
    r = invoke(music, "-o", tmp_path / "new", "--jobs", 2)
    assert r.stderr == "error: --jobs applies to trials on a cluster only; add --cluster\n"


def test_an_empty_or_unusable_music_folder_is_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = invoke(empty, "-o", tmp_path / "out")
    assert r.exit_code == 1 and r.stderr.startswith(f"error: {empty}: no audio files found (looked for ")
    assert r.stderr.count("\n") == 1 and not (tmp_path / "out").exists()
    broken = tmp_path / "broken"
    broken.mkdir()
    for i in range(3):
        (broken / f"b{i}.mp3").write_bytes(b"not audio at all" * 100)
    r = invoke(broken, "-o", tmp_path / "out", *TINY)
    assert r.exit_code == 1
    assert r.stderr == f"error: {broken}: no usable training audio (every file failed or was too short)\n"
    # nothing ran: the folder takes a study of other settings, or data, next time
    assert load(tmp_path / "out").trials == []


# -- the report -------------------------------------------------------------------------------------

def test_the_report_writes_figures_a_table_and_a_summary(study3, tmp_path):
    out, result = study3
    r = invoke("--report", out)
    assert r.exit_code == 0, r.stderr
    report = out / "report"
    for name in ("history.png", "importances.png", "parallel.png", "epochs.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (report / "summary.txt").read_text()
    assert r.stdout == summary
    best = result["best"]
    assert "trials: 3 of 3 asked for: 3 complete, 0 pruned, 0 failed" in summary
    assert f"best: trial {best['number']}, {best['value']:.6f} at epoch 1 (" in summary
    assert f"for scale: predicting the mean training segment scores {result['mean_baseline']:.6f}" in summary
    assert "importance of each setting for the value (fANOVA" in summary
    with open(report / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["state"] for row in rows] == ["complete"] * 3
    assert [float(row["value"]) for row in rows] == pytest.approx([t.value for t in load(out).trials])
    r = invoke("--report", tmp_path)
    assert r.stderr == f"error: {tmp_path}: no study.db there, so no study to report on\n"
    r = invoke(out, "--report", out)
    assert r.stderr == "error: --report reads a study and runs nothing; give it alone: audioviz tune --report STUDY\n"


# -- a classifier -----------------------------------------------------------------------------------

def test_a_classifier_study_maximises_held_out_track_accuracy(tmp_path, music):
    space = tmp_path / "space.toml"
    space.write_text("width_divisor = 32\nbatch_size = [8, 16]\nweight_decay = [0, 1e-4]\n")
    out = tmp_path / "study"
    r = invoke(music, "-o", out, "--model", "alexnet", *TINY, "--epochs", 1, "--trials", 2, "--space", space, "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["direction"] == "maximize" and result["objective"].startswith(
        "maximise the held-out track-level accuracy")
    study = load(out)
    assert states(study) == ["COMPLETE"] * 2 and study.trials[0].user_attrs["preset"] == "tiny"
    for t in study.trials:
        row = log_rows(out / t.user_attrs["run_dir"])[0]
        assert t.value == pytest.approx(float(row["val_track_acc"]), abs=1e-4) and 0 <= t.value <= 1
        assert t.user_attrs["settings"]["width_divisor"] == 32 and 0 <= t.user_attrs["settings"]["dropout"] <= 0.7
    model = load_model(out / "best", device="cpu")
    assert model.meta["classes"] == ["calm", "loud"]


# -- on a Ray cluster -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    from raycluster import running_cluster

    with running_cluster() as c:
        yield c


def test_trials_as_ray_tasks_on_two_nodes(cluster, music, narrow, tmp_path):
    out = tmp_path / "study"
    args = [sys.executable, "-m", "audioviz", "tune", str(music), "-o", str(out), "--preset", "tiny", "--epochs", "2",
            "--trials", "3", "--space", str(narrow), "--cluster", cluster.address, "--cpus-per-job", "1", "--json"]
    r = cluster.run(args, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["trials"]["complete"] == 3
    assert "Ray cluster: 2 node(s), 2 CPUs, 0 GPUs; 2 trial(s) at a time" in r.stderr
    study = load(out)
    assert states(study) == ["COMPLETE"] * 3
    # two trials at a time, one on each node; each epoch reached study.db through the gate
    assert len({t.user_attrs["node"] for t in study.trials}) == 2
    assert all(set(t.intermediate_values) == {1, 2} and math.isfinite(t.value) for t in study.trials)
    assert os.readlink(out / "best") == min(study.trials, key=lambda t: t.value).user_attrs["run_dir"]
    assert not cluster.processes("remote_trial")
