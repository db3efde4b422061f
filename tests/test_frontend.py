import numpy as np
import pytest
import torch

from audioviz.errors import AudioTooShortError
from audioviz.extract.frontend import FrontendConfig, MFCCFrontend


@pytest.fixture(scope="module")
def fe():
    return MFCCFrontend()


def test_thirty_seconds_give_31_segments_plus_the_tail(fe, rng):
    seg = fe.segments(rng.standard_normal(30 * 44_100).astype(np.float32) * 0.1)
    assert seg.mfcc.shape == (32, 1, 64, 96)
    assert seg.complete == 31
    np.testing.assert_allclose(seg.starts[:3], [0.0, 0.96, 1.92])
    # the extra segment holds the last 0.96 s, so it ends where the audio ends
    assert seg.starts[-1] + 0.96 == pytest.approx(30.0, abs=0.011)
    assert np.all(np.diff(seg.centres) > 0)


def test_exactly_one_segment_has_no_tail(fe, rng):
    n = 95 * 441  # 1 + n // hop = 96 frames
    seg = fe.segments(rng.standard_normal(n).astype(np.float32) * 0.1)
    assert seg.mfcc.shape[0] == 1 and seg.complete == 1


def test_shorter_than_a_segment_is_an_error(fe, rng):
    with pytest.raises(AudioTooShortError, match="at least 0.96 s"):
        fe.segments(rng.standard_normal(44_100 // 2).astype(np.float32))


def test_matches_torchaudio_mfcc_with_librosa_settings(fe, rng):
    import torchaudio

    x = rng.standard_normal(44_100 * 3).astype(np.float32) * 0.2
    ref = torchaudio.transforms.MFCC(
        44_100, 64, log_mels=False,
        melkwargs=dict(n_fft=1102, hop_length=441, n_mels=128, norm="slaney", mel_scale="slaney"),
    )(torch.from_numpy(x))
    torch.testing.assert_close(fe.mfcc(x), ref, rtol=1e-4, atol=1e-3)


def test_chunked_stft_equals_one_pass(rng):
    x = rng.standard_normal(44_100 * 5).astype(np.float32)
    small = MFCCFrontend()
    small.chunk_frames = 37  # many chunks with ragged edges
    torch.testing.assert_close(small.mfcc(x), MFCCFrontend().mfcc(x), rtol=1e-5, atol=1e-4)


def test_a_tone_and_noise_differ_where_expected(fe, rng):
    t = np.arange(44_100 * 2) / 44_100
    tone = fe.mfcc(0.5 * np.sin(2 * np.pi * 440 * t).astype(np.float32))
    noise = fe.mfcc(rng.standard_normal(t.size).astype(np.float32) * 0.5)
    # a pure tone has a peaky mel spectrum, so far more energy in the higher cepstral coefficients
    assert tone[10:].abs().mean() > 2 * noise[10:].abs().mean()
    assert FrontendConfig().segment_seconds == pytest.approx(0.96)
