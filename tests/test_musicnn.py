"""The musicnn taggers ported to torch: the same numbers as the original, its layers and tags,
and `--order` naming tags in a real render."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from media import frames, music_like, one_error_line, video_stream, write_audio
from musicnn_clips import clips
from typer.testing import CliRunner

from audioviz.cli import app
from audioviz.errors import AudioTooShortError, ConfigError, ModelError
from audioviz.extract import checkpoint
from audioviz.extract.logmel import LogMelFrontend, compress
from audioviz.extract.registry import MODELS, check_model, from_checkpoint, load_model
from audioviz.mapping.order import tag_columns

REFERENCE = Path(__file__).parent / "data" / "musicnn_reference.npz"
TAGGERS = ("musicnn", "musicnn_vgg")
runner = CliRunner()


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE, allow_pickle=False) as z:
        return dict(z)


@pytest.fixture(scope="module")
def synthetic():
    return clips()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("name", TAGGERS)
def test_the_port_gives_the_originals_tags_and_embedding(name, reference, synthetic):
    """The stored reference is the original musicnn (TensorFlow, librosa) on the same samples:
    two 3 s patches of each clip, 0.5 s apart."""
    for layer in ("tags", "embedding"):
        model = load_model(name, device="cpu", layer=layer)
        for clip, samples in synthetic.items():
            # 30 frames of 16 ms: the original steps librosa.time_to_frames(0.5 s) frames
            feats = model.features(samples, hop=0.48)
            np.testing.assert_allclose(feats.starts[:2], [0.0, 0.48])
            want = reference[f"{layer}.{name}.{clip}"]
            assert want.shape == (2, model.feature_size)
            np.testing.assert_allclose(feats.values[:2], want, atol=1e-4, rtol=0, err_msg=f"{name} {layer} {clip}")
    # the clips are not all alike to the network, or the comparison would prove little
    tags = [reference[f"tags.{name}.{clip}"][0] for clip in synthetic]
    assert min(np.abs(a - b).max() for i, a in enumerate(tags) for b in tags[i + 1:]) > 0.1


def test_the_frontend_gives_musicnns_spectrogram(reference, synthetic):
    """musicnn's float16 mel power, bin for bin: an STFT summed in another order may round a
    rare bin to the neighbouring float16 value, never further."""
    frontend = LogMelFrontend()
    lows, highs = [], []
    for clip, samples in synthetic.items():
        want = reference[f"mel16.{clip}"]
        power = frontend.power(samples)
        assert power.shape == want.shape == (96, 1 + len(samples) // 256)
        got = power.half().numpy()
        differ = got != want
        assert differ.mean() < 1e-3, f"{clip}: {differ.sum()} of {differ.size} bins differ"
        steps = np.abs(got.astype(np.float32) - want.astype(np.float32))[differ]
        assert (steps <= np.spacing(np.maximum(got, want)[differ]).astype(np.float32) * 1.01).all()
        log_mel = compress(power).numpy()
        assert np.abs(log_mel - np.log10(10_000 * want.astype(np.float32) + 1)).max() < 5e-4
        lows.append(log_mel.min())
        highs.append(log_mel.max())
    assert max(highs) > 5 and min(lows) == 0.0  # loud bins and digital silence both checked


def test_the_taggers_layers_tags_and_mapping(reference):
    for name in TAGGERS:
        spec = MODELS[name]
        model = load_model(name, device="cpu")
        assert spec.family == "tagger" and model.layer == spec.default_layer == "tags"
        assert model.feature_size == 50 and model.feature_names == spec.tags == model.tags
        assert list(spec.tags) == [str(t) for t in reference[f"labels.{name}"]]
        assert model.sample_rate == 16_000 and model.frontend.config.frames_per_segment == 187
        embedding = load_model(name, device="cpu", layer="embedding")
        assert embedding.feature_names is None and embedding.features_id != model.features_id
        assert [(lay.name, lay.size) for lay in spec.layers] == list(model.net.layers.items())
        for m in (model, embedding):
            assert m.mapping is not None and m.mapping.feature_size == m.feature_size
            assert set(m.mapping.methods) == {"pca", "kmeans", "kmeans-pca"}
    assert MODELS["musicnn"].layers[0].size == 200 and MODELS["musicnn_vgg"].layers[0].size == 256
    with pytest.raises(ModelError, match=r"no feature layer 'L15'; its layers are embedding \(200 features\), tags"):
        check_model("musicnn", "L15")


def test_windows_hop_and_short_audio():
    model = load_model("musicnn", device="cpu")
    samples = music_like(4.0, sr=16_000)[:, 0]
    feats = model.features(samples, hop=1.0)  # 62 frames of 16 ms
    # 3 s patches every 0.992 s, and one more ending at the song's end (251 frames)
    np.testing.assert_allclose(feats.starts, [0, 0.992, 1.024], atol=1e-9)
    np.testing.assert_allclose(feats.centres - feats.starts, 93 * 0.016)
    assert feats.values.shape == (3, 50) and feats.names == model.tags and (feats.values >= 0).all()
    # overlapping windows share the whole track's convolutions, and give what each window alone gives
    seg = model.frontend.segments(samples, 62)
    with torch.inference_mode():
        alone = model.net.encode(seg.batch(0, len(seg)), "tags").numpy()
    np.testing.assert_allclose(feats.values, alone, atol=1e-6, rtol=0)
    with pytest.raises(ConfigError, match=r"--hop 4 s is out of range for model 'musicnn' \(layer tags\): use "
                                          r"0.016 s \(one frame\) to 2.992 s"):
        model.hop_frames(4.0)
    with pytest.raises(AudioTooShortError, match="audio is 2.00 s long; it must last at least 2.99 s"):
        model.features(samples[:32_000])


def test_order_names_tags():
    tags = MODELS["musicnn"].tags
    assert tag_columns("rock, Electronic,hip-hop", tags, "'musicnn'", 10) == (0, 4, 33)
    assert tag_columns("bar1,bar2", tags, "'musicnn'", 10) == () and tag_columns("random", tags, "'musicnn'", 10) == ()
    for order, message in (("rock,rokc", r"'rokc', which is not a tag of 'musicnn'; close ones: 'rock'"),
                           ("rock,piano", r"'piano', which is not a tag of 'musicnn'; its tags include rock, pop"),
                           ("rock,bar3", r"\(--order names either tags or scene parameters\)"),
                           ("jazz,Jazz", "'jazz' more than once"),
                           (",".join(tags[:11]), "names 11 tags; a scene has 10 parameters")):
        with pytest.raises(ConfigError, match=message):
            tag_columns(order, tags, "'musicnn'", 10)


def test_render_with_tags_driving_the_scene(tmp_path):
    """--model musicnn --layer tags --order rock,electronic: an MP4 whose most important
    parameter is the song's 'rock' probability, scaled by its fitted mean and spread."""
    from audioviz.scenes.registry import scene_class

    song = write_audio(tmp_path / "song.ogg", music_like(5.0, seed=3))
    out = tmp_path / "song.mp4"
    order = ["--model", "musicnn", "--layer", "tags", "--order", "rock,electronic", "--hop", "0.5"]
    r = run("render", song, "-o", out, *order, "--size", "64x36", "--fps", 10, "--json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["mapping"]["order"] == "rock,electronic" and summary["frames"] == 50
    assert (video_stream(out)["width"], video_stream(out)["height"]) == (64, 36) and len(frames(out)) == 50

    r = run("extract", song, "-o", tmp_path / "tags.csv", "--model", "musicnn", "--hop", "0.5", "--quiet")
    assert r.exit_code == 0, r.stderr
    header = (tmp_path / "tags.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["start", "centre", "rock", "pop", "alternative"] and len(header) == 52
    tags = np.loadtxt(tmp_path / "tags.csv", delimiter=",", skiprows=1)[:, 2:]
    r = run("extract", song, "-o", tmp_path / "p.csv", *order, "--mapped", "--quiet")
    assert r.exit_code == 0, r.stderr
    params = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)[:, 2:]
    scene = scene_class("bar")
    first, second = (scene.param_names().index(p) for p in scene.importance_order()[:2])
    mapping = load_model("musicnn", device="cpu").mapping
    for column, tag in ((first, 0), (second, 4)):
        z = (tags[:, tag] - mapping.arrays["input.mean"][tag]) / mapping.arrays["input.scale"][tag]
        np.testing.assert_allclose(params[:, column], np.clip(0.5 + 0.4 * z, 0, 1), atol=2e-6)

    r = run("render", song, "-o", tmp_path / "x.mp4", "--model", "musicnn", "--order", "rock,rokc", "--quiet")
    assert r.exit_code == 1 and not (tmp_path / "x.mp4").exists()
    assert one_error_line(r.stderr) == ("error: --order names 'rokc', which is not a tag of 'musicnn' (layer tags); "
                                        "close ones: 'rock' (--order names either tags or scene parameters)")
    r = run("render", song, "-o", tmp_path / "x.mp4", "--model", "musicnn", "--order", "piano", "--quiet")
    assert r.exit_code == 1 and one_error_line(r.stderr).endswith(
        "which the scene does not have; its parameters are: bar1, bar2, bar3, bar4, bar5, bar6, bar7, bar8, bar9, "
        "bar10; or name tags of the model (`audioviz models -v` lists them)")
    r = run("render", song, "-o", tmp_path / "x.mp4", "--model", "musicnn", "--layer", "embedding",
            "--order", "rock", "--quiet")
    assert r.exit_code == 1 and "which only the tags layer gives: use --model musicnn --layer tags" in r.stderr


def _bundled():
    return checkpoint.load(MODELS["musicnn"].weights)


@pytest.mark.parametrize("damage,message", [
    (lambda c: c["config"].update(tags=c["config"]["tags"][:49]), "weight out.weight has shape (50, 200)"),
    (lambda c: c["state_dict"]["timbral.0.conv.weight"].view(-1)[7].fill_(float("nan")), "holds NaN"),
    (lambda c: c.update(norm={"kind": "standard"}), "input normalisation of a tagger must be none"),
    (lambda c: c["frontend"].update(n_mels=64), "its frontend gives 64 mel bands x 187 frames"),
    (lambda c: c["frontend"].update(hop_length=0), "frontend hop_length 0 is out of range"),
    (lambda c: c["config"].update(variant="resnet"), "variant 'resnet' is not one of"),
    (lambda c: c["state_dict"].pop("dense_bn.running_var"), "1 missing (dense_bn.running_var"),
])
def test_a_damaged_tagger_checkpoint_is_refused(damage, message):
    ckpt = _bundled()
    damage(ckpt)
    with pytest.raises(ModelError, match=r"model 'musicnn': checkpoint does not describe a usable network \(.*"
                       + message.replace("(", r"\(").replace(")", r"\)")):
        from_checkpoint(ckpt, "musicnn", torch.device("cpu"))
