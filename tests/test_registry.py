"""The bundled models: present, small, documented, safe to load, and hearing the music."""

import pickle
import shutil

import numpy as np
import pytest
from media import music_like

from audioviz.errors import ModelError
from audioviz.extract import registry
from audioviz.extract.registry import MODELS, available_models, load_model
from audioviz.pipeline import map_features
from audioviz.scenes.registry import scene_class


@pytest.mark.parametrize("name", list(MODELS))
def test_bundled_weights_are_small_and_carded(name):
    spec = MODELS[name]
    assert spec.weights.stat().st_size <= 8 * 1024 * 1024
    card = spec.card.read_text()
    for must in ("## Training", "validation MSE", "audioviz train", "## Data"):
        assert must in card, f"{spec.card.name} lacks {must!r}"


@pytest.mark.parametrize("name", list(MODELS))
def test_bundled_models_hear_different_music_differently(name):
    model = load_model(name, device="cpu")
    assert model.feature_size == 10 and model.mapping is not None
    samples = music_like(12.0, seed=1)[:, 0]
    feats = model.features(samples)
    assert feats.values.shape == (13, 10)
    params = map_features(feats.values, model.mapping, scene_class("bar"))
    assert params.min() >= 0 and params.max() <= 1
    # the three sections of the clip (tone, noise bursts, chords) must not map to one picture
    thirds = [params[i * 4 : i * 4 + 4].mean(axis=0) for i in range(3)]
    assert max(np.abs(thirds[0] - thirds[1]).max(), np.abs(thirds[1] - thirds[2]).max()) > 0.1


def test_listing_needs_no_torch():
    import subprocess
    import sys

    code = "import audioviz.extract.registry as r, sys; r.available_models(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    assert [m.name for m in available_models()] == ["ae", "ae_shared", "ae_skip"]


def test_an_altered_bundled_file_is_refused(tmp_path, monkeypatch):
    src = MODELS["ae"].weights
    shutil.copy(src, tmp_path / src.name)
    with open(tmp_path / src.name, "r+b") as f:
        f.seek(-10, 2)
        f.write(b"0123456789")
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(ModelError, match="checksum does not match"):
        load_model("ae", device="cpu")


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_crafted_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": "audioviz.checkpoint", "x": Payload()}))
    with pytest.raises(ModelError, match="refused, not a plain weights-only checkpoint"):
        load_model(path, device="cpu")
    assert "must never run" not in capsys.readouterr().out


def test_a_checkpoint_of_something_else_is_refused(tmp_path):
    import torch

    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not an audioviz checkpoint"):
        load_model(tmp_path / "other.pt", device="cpu")
    with pytest.raises(ModelError, match="no such model file"):
        load_model(tmp_path / "missing.pt", device="cpu")
