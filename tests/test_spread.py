"""The spread training term: its value on features whose answer is known, what minimising it
does, and the settings it is refused with (a classifier trained with it: test_contrast.py)."""

import pytest
import torch

from audioviz.analysis.baselines import effective_width
from audioviz.errors import TrainingError
from audioviz.training import make_trainer
from audioviz.training.spread import spread_loss


def test_the_term_is_zero_for_spread_uncorrelated_features_and_counts_what_is_missing():
    g = torch.Generator().manual_seed(0)
    # exactly uncorrelated columns of standard deviation 2 (centred, then orthonormalised, then
    # scaled; orthonormalising keeps them centred): nothing to pay
    x = torch.randn(256, 8, generator=g, dtype=torch.float64)
    q, _ = torch.linalg.qr(x - x.mean(0))
    wide = q * 2 * 255 ** 0.5
    assert spread_loss(wide).item() < 1e-3
    # a constant feature misses the whole unit of standard deviation: 1 / 8 of the variance term
    dead = wide.clone()
    dead[:, 0] = 3.0
    assert spread_loss(dead).item() == pytest.approx(1 / 8, abs=2e-3)
    # eight copies of one unit-variance column: every off-diagonal covariance is 1, 56 of them over 8
    one = torch.randn(256, 1, generator=g, dtype=torch.float64)
    copies = ((one - one.mean()) / one.std()).repeat(1, 8)
    assert spread_loss(copies).item() == pytest.approx(56 / 8, rel=1e-3)


def test_minimising_the_term_widens_features():
    """Gradient steps on the term alone turn features that vary along about two directions into
    ones that vary along all six."""
    g = torch.Generator().manual_seed(1)
    source = torch.randn(512, 1, generator=g) @ torch.randn(1, 6, generator=g) + 0.3 * torch.randn(512, 6, generator=g)
    mix = torch.eye(6, requires_grad=True)
    optimiser = torch.optim.Adam([mix], lr=0.05)
    before = effective_width(source.numpy())
    for _ in range(1000):
        optimiser.zero_grad()
        spread_loss(source @ mix).backward()
        optimiser.step()
    after = effective_width((source @ mix).detach().numpy())
    assert before == 2 and after == 6


def test_a_bad_weight_or_an_autoencoder_is_refused(tmp_path):
    with pytest.raises(TrainingError, match="--spread must be a number at least 0 and at most 100, not -1"):
        make_trainer(tmp_path, tmp_path / "run", "vgg11", "tiny", spread=-1.0)
    with pytest.raises(TrainingError, match="--spread only applies to the genre classifiers"):
        make_trainer(tmp_path, tmp_path / "run", "ae", "tiny", spread=1.0)
    assert not (tmp_path / "run").exists()
