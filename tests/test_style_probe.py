"""benchmarks/style_probe.py hears only music the bundled models never heard: its list of what
they heard must follow their cards and checkpoints, and it refuses a group it names."""

from __future__ import annotations

import importlib.util
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from audioviz.extract import checkpoint
from audioviz.extract.registry import MODELS

ROOT = Path(__file__).resolve().parent.parent


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def style_probe():
    return _benchmark("style_probe")


def test_heard_names_every_collection_a_bundled_model_was_trained_on(style_probe):
    for spec in MODELS.values():
        if spec.family == "classifier":  # its classes are the collections it learnt to tell apart
            classes = checkpoint.load(spec.weights)["config"]["classes"]
            assert set(classes) <= style_probe.HEARD, spec.name
        if spec.family in ("autoencoder", "classifier"):  # the card's command that fetched its corpus
            fetched = re.findall(r"music-corpus\.sh DEST ([^`]+)`", spec.card.read_text())
            assert fetched, f"{spec.card.name} gives no corpus command"
            assert set(" ".join(fetched).split()) <= style_probe.HEARD, spec.name


def test_a_group_the_models_heard_is_refused(style_probe, tmp_path):
    for name in ("flare-game", "wesnoth-1.16-music"):
        (tmp_path / "a" / name).mkdir(parents=True)
    with pytest.raises(SystemExit, match=r"wesnoth-1\.16-music: the models were trained on these"):
        style_probe.excerpts([tmp_path / "a"], tmp_path / "work", 20, 5, 60.0)
    assert not (tmp_path / "work").exists()


def test_a_trained_classifiers_classes_are_refused_too(style_probe, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    checkpoint.save({"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "arch": "classifier",
                     "config": {"classes": ["naev-data", "xmoto-data"]}}, run / "best.pt")
    assert style_probe.heard([str(run)]) == style_probe.HEARD | {"naev-data", "xmoto-data"}
    assert style_probe.heard(["ae", "ae@conv2", f"{run}@L6"]) == style_probe.HEARD | {"naev-data", "xmoto-data"}
    (tmp_path / "more" / "naev-data").mkdir(parents=True)
    (tmp_path / "more" / "supertux-data").mkdir()
    with pytest.raises(SystemExit, match="naev-data: the models were trained on these"):
        style_probe.excerpts([tmp_path / "more"], tmp_path / "work", 20, 5, 60.0, style_probe.heard([str(run)]))


def test_the_folders_a_trained_autoencoder_heard_are_refused(style_probe, tmp_path, capsys):
    ckpt = {"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "arch": "autoencoder", "config": {}}
    checkpoint.save({**ckpt, "meta": {"folders": ["naev-data", "warmux-data"]}}, tmp_path / "more.pt")
    assert style_probe.heard([f"{tmp_path / 'more.pt'}@conv1"]) == style_probe.HEARD | {"naev-data", "warmux-data"}
    assert capsys.readouterr().err == ""
    checkpoint.save({**ckpt, "meta": {}}, tmp_path / "old.pt")  # trained before runs named them
    assert style_probe.heard([str(tmp_path / "old.pt")]) == style_probe.HEARD
    assert "old.pt does not say which folders it was trained on" in capsys.readouterr().err


def test_groups_of_several_folders_are_pooled_and_must_differ(style_probe, tmp_path):
    for folder, name in (("a", "flare-game"), ("b", "flare-game"), ("b", "naev-data")):
        (tmp_path / folder / name).mkdir(parents=True)
    with pytest.raises(SystemExit, match="flare-game: a group in more than one of the folders"):
        style_probe.excerpts([tmp_path / "a", tmp_path / "b"], tmp_path / "work", 20, 5, 60.0)
    with pytest.raises(SystemExit, match="needs at least two sub-folders"):
        style_probe.excerpts([tmp_path / "a"], tmp_path / "work", 20, 5, 60.0)


@pytest.fixture(scope="module")
def heldout_music():
    return _benchmark("heldout_music")


def test_the_fetched_groups_are_music_no_bundled_model_heard(style_probe, heldout_music):
    packages = {p for group in heldout_music.GROUPS.values() for p in group}
    assert not (packages | set(heldout_music.GROUPS)) & style_probe.HEARD
    assert len(heldout_music.GROUPS) == 24


def _tone(path: Path, hz: float, amplitude: float, seconds: float = 1.0, rate: int = 44_100) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    samples = (amplitude * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return samples / 32767


def test_stems_are_mixed_into_one_track_and_a_name_is_kept_once(heldout_music, tmp_path):
    from audioviz.audio import decode

    tree = tmp_path / "deb"
    song = _tone(tree / "songs" / "Metal madness" / "song.wav", 220, 0.3)
    guitar = _tone(tree / "songs" / "Metal madness" / "guitar.wav", 330, 0.2)
    _tone(tree / "music" / "theme.wav", 440, 0.5)
    _tone(tree / "other" / "theme.wav", 550, 0.5)  # the same name again: an effect per level, left out
    _tone(tree / "lonely" / "song.wav", 660, 0.5)  # a song without stems is a file like any other
    (tree / "notes.txt").write_text("not audio")

    assert heldout_music.collect(tree, tmp_path / "out") == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["Metal_madness.flac", "song.wav", "theme.wav"]
    kept = decode(tmp_path / "out" / "theme.wav", 44_100).samples
    assert np.argmax(np.abs(np.fft.rfft(kept))) == 440  # the first in path order
    mixed = decode(tmp_path / "out" / "Metal_madness.flac", 44_100).samples
    assert mixed.shape == song.shape
    np.testing.assert_allclose(mixed, song + guitar, atol=2e-4)  # summed, not normalised
