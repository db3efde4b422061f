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


@pytest.mark.parametrize("seconds", [10.0, 9.83, 1.0])  # 9.83 s: the hop lands on the end
def test_a_sliding_hop_covers_the_song_to_its_last_frame(fe, rng, seconds):
    x = rng.standard_normal(int(seconds * 44_100)).astype(np.float32) * 0.1
    m = fe.mfcc(x)
    seg = fe.segments(x, 24, mfcc=m)
    first = seg.first.numpy()
    assert first[0] == 0 and np.all(np.diff(first[: seg.complete]) == 24)
    # the last window ends exactly at the last frame, whatever the hop leaves over
    assert first[-1] + 96 == m.shape[1]
    assert len(seg) == seg.complete + (1 if (m.shape[1] - 96) % 24 else 0)
    np.testing.assert_allclose(seg.centres, (first + 47.5) * 0.01)
    # every window is the frames it names, in the shape the networks take
    batch = seg.batch(0, len(seg))
    assert batch.shape == (len(seg), 1, 64, 96)
    for i in (0, len(seg) // 2, len(seg) - 1):
        torch.testing.assert_close(batch[i, 0], m[:, first[i] : first[i] + 96])


def test_a_hop_of_one_segment_is_the_papers_grid(fe, rng):
    x = rng.standard_normal(30 * 44_100).astype(np.float32) * 0.1
    torch.testing.assert_close(fe.segments(x, 96).mfcc, fe.segments(x).mfcc)


@pytest.mark.parametrize("hop", [0, 97])
def test_a_hop_outside_one_frame_to_one_segment_is_refused(fe, rng, hop):
    with pytest.raises(ValueError, match="hop of"):
        fe.segments(rng.standard_normal(44_100 * 2).astype(np.float32), hop)


def reference_mfcc(x: np.ndarray, sr=44_100, n_fft=1102, hop=441, n_mels=128, n_mfcc=64, top_db=80.0) -> np.ndarray:
    """The same MFCC written independently in numpy and scipy, as librosa defines it: a centred
    STFT (reflect padding) with a periodic Hann window, power spectrum, Slaney mel filters of
    unit area, power in dB with an 80 dB floor below the peak, orthonormal DCT-II."""
    from scipy.fft import dct

    padded = np.pad(x.astype(np.float64), n_fft // 2, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[i * hop: i * hop + n_fft] for i in range(n_frames)])
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2  # (frames, freqs)

    def mel(hz):
        hz = np.asarray(hz, dtype=np.float64)
        return np.where(hz < 1000, hz * 3 / 200, 15 + np.log(np.maximum(hz, 1e-9) / 1000) * 27 / np.log(6.4))

    def hz(m):
        return np.where(m < 15, m * 200 / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))

    edges = hz(np.linspace(mel(0), mel(sr / 2), n_mels + 2))
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    filters = np.zeros((n_mels, freqs.size))
    for i in range(n_mels):
        lo, mid, hi = edges[i: i + 3]
        filters[i] = np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid))) * 2 / (hi - lo)
    db = 10 * np.log10(np.maximum(filters @ power.T, 1e-10))
    db = np.maximum(db, db.max() - top_db)
    return dct(db, type=2, axis=0, norm="ortho")[:n_mfcc]


def test_matches_an_independent_reference_mfcc(fe, rng):
    x = rng.standard_normal(44_100 * 3).astype(np.float32) * 0.2
    np.testing.assert_allclose(fe.mfcc(x).numpy(), reference_mfcc(x), rtol=1e-4, atol=2e-3)


def test_the_bundled_models_still_hear_what_they_were_trained_on(fe):
    """Values the frontend gave when it was torchaudio's MelSpectrogram and create_dct (torch
    2.11, torchaudio 2.11.0), which the bundled weights were trained on: the frontend written
    here gives the same features to the last bit on that machine."""
    t = np.arange(44_100 * 2) / 44_100
    x = (0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    m = fe.mfcc(x)
    assert m.shape == (64, 201)
    np.testing.assert_allclose(m[:4, 50].numpy(), [-567.5449829, 47.3612671, 14.4915562, 31.9962597], rtol=1e-5)
    assert m[20, 100].item() == pytest.approx(44.0552444, rel=1e-5)


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
