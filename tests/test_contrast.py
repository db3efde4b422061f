"""The track-contrastive training term: its partners, its loss, and both families trained with it
(and a classifier trained with the spread term, whose own checks are in test_spread.py)."""

import numpy as np
import pytest
import torch
from media import music_like, write_audio

from audioviz.errors import TrainingError
from audioviz.extract.classifiers import ClassifierConfig, GenreClassifier
from audioviz.training import make_trainer
from audioviz.training.contrast import partners, track_contrast, training_segments


def test_partners_come_from_the_same_track_and_differ_from_the_anchor():
    train = np.array([[0, s] for s in range(5)] + [[3, 7]] + [[9, s] for s in (2, 4)])
    segments = training_segments(train)
    assert {k: v.tolist() for k, v in segments.items()} == {0: [0, 1, 2, 3, 4], 3: [7], 9: [2, 4]}
    rng = np.random.default_rng(0)
    for _ in range(50):
        other = partners(segments, train, rng)
        assert (other[:, 0] == train[:, 0]).all()
        assert (other[:, 1] != train[:, 1])[[0, 1, 2, 3, 4, 6, 7]].all()
        assert other[5].tolist() == [3, 7]  # a one-segment track pairs with itself
        assert all(s in segments[t] for t, s in other)
    drawn = np.stack([partners(segments, train[:1], rng)[0, 1] for _ in range(400)])
    assert set(drawn.tolist()) == {1, 2, 3, 4}  # every other segment, never the anchor


def test_the_loss_is_low_when_partners_match_and_high_when_they_do_not():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(32, 16, generator=g)
    tracks = np.arange(32)
    matched = track_contrast(a, a + 0.01 * torch.randn(32, 16, generator=g), tracks).item()
    shuffled = track_contrast(a, a[torch.randperm(32, generator=g)], tracks).item()
    assert matched < 0.05 and shuffled > np.log(32) - 0.5
    # all-positive features (a sigmoid's) are centred first, so a shared offset does not hide them
    assert abs(track_contrast(a + 50, a + 50, tracks).item() - track_contrast(a, a, tracks).item()) < 1e-3
    # other segments of an anchor's track are not negatives: two rows of one track that look alike cost nothing
    same = torch.cat([a[:1], a[:1], a[2:]])
    # (as negatives, each of the two costs log 2 each way: 2 log 2 / 32 over the batch and both ways)
    masked, unmasked = track_contrast(same, same, np.r_[0, 0, tracks[2:]]).item(), track_contrast(same, same, tracks).item()
    assert unmasked - masked == pytest.approx(2 * np.log(2) / 32, abs=0.005)


def test_forward_features_gives_the_logits_and_encode_in_one_pass():
    torch.manual_seed(0)
    for arch, layers in (("vgg13", ["L10"]), ("vgg16", ["L13", "L14", "L15"]), ("alexnet", ["L6"])):
        net = GenreClassifier(ClassifierConfig(arch, ("a", "b", "c"), 16, 0.5)).eval()
        x = torch.randn(3, 1, 64, 96)
        for layer in layers:
            logits, features = net.forward_features(x, layer)
            assert torch.allclose(logits, net(x)) and torch.allclose(features, net.encode(x, layer), atol=1e-6)
        assert net.forward_features(x, None)[1] is None


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for i, genre in enumerate(["a", "a", "b", "b"]):
        (root / genre).mkdir(exist_ok=True)
        write_audio(root / genre / f"t{i}.wav", music_like(5.0, seed=i))
    return root


@pytest.mark.parametrize("model, term, said", [
    ("ae_shared", "contrast", None),
    ("vgg11", "contrast", "plus 0.5 x the track-contrastive term on L8"),
    ("vgg11", "spread", "plus 0.5 x the spread term (VICReg's variance and covariance) on L8"),
])
def test_training_with_the_term_changes_the_features_and_is_reproducible(tmp_path, corpus, model, term, said):
    def train(run, weight):
        trainer = make_trainer(corpus, tmp_path / run, model, "tiny", progress=False, epochs=1, **{term: weight})
        trainer.run()
        return torch.load(tmp_path / run / "best.pt", weights_only=True)["state_dict"], trainer.config

    plain, _ = train("plain", 0.0)
    with_term, cfg = train("with", 0.5)
    again, _ = train("again", 0.5)
    assert getattr(cfg, term) == 0.5
    assert any(not torch.equal(plain[k], with_term[k]) for k in plain if plain[k].is_floating_point())
    assert all(torch.equal(with_term[k], again[k]) for k in with_term)
    card = (tmp_path / "with" / "model.md").read_text()
    assert f"--{term} 0.5" in card and (said is None or said in card)


def test_a_bad_weight_is_refused(tmp_path, corpus):
    with pytest.raises(TrainingError, match="--contrast must be a number at least 0 and at most 100, not -1"):
        make_trainer(corpus, tmp_path / "run", "ae", "tiny", contrast=-1.0)
