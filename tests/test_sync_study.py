"""The words of analyze's sync study (analysis/sync.py) follow its figures."""

from __future__ import annotations

import pytest

from audioviz.analysis.sync import VARIANTS, SyncStudy, table_html, verdict


def study(model, paper, random, bands):
    r = dict(zip(VARIANTS, (model, paper, random, bands)))
    return SyncStudy("bar", 30.0, ["a.ogg"], {v: {"correlation": c, "onset_lift": 1.0, "quiet_ratio": None}
                                               for v, c in r.items()})


@pytest.mark.parametrize("random,says", [
    (0.30, "more than the best baseline (random features 0.30)"),
    (0.58, "about as much as the best baseline (random features 0.58): the sync comes from the motion"),
    (0.82, "less than random features (0.82)"),
])
def test_the_verdict_compares_the_model_with_the_best_baseline(random, says):
    text = verdict(study(0.57, 0.09, random, 0.20))
    assert text.startswith("Moved the paper's way, the model's features follow the music at 0.09; with the pulse "
                           "and energy, at 0.57.")
    assert says in text
    assert says in table_html(study(0.57, 0.09, random, 0.20)).replace("&#x27;", "'")


def test_no_correlation_no_verdict():
    assert verdict(study(None, None, None, None)) == "No track gave a correlation."
