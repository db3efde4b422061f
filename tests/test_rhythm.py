import json
from fractions import Fraction

import numpy as np
import pytest

from audioviz import rhythm
from audioviz.extract.frontend import MFCCFrontend
from audioviz.rhythm import Rhythm

SR = 44_100
HOP = 441


@pytest.fixture(scope="module")
def fe():
    return MFCCFrontend()


def clicks(times, seconds: float, amps=0.5, seed: int = 0, under: np.ndarray | None = None) -> np.ndarray:
    """Clicks at `times`: 20 ms noise bursts decaying over 4 ms, on silence or on `under`."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(seconds * SR), np.float32) if under is None else under.astype(np.float32).copy()
    n = int(0.02 * SR)
    envelope = np.exp(-np.arange(n) / (0.004 * SR))
    for t, a in zip(times, np.broadcast_to(amps, np.shape(times))):
        s = int(round(t * SR))
        burst = (rng.standard_normal(n) * envelope * a).astype(np.float32)
        x[s : s + n] += burst[: x.size - s]
    return x


def sine(seconds: float, amp: float, hz: float = 440.0) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def analyse(fe, x) -> Rhythm:
    return rhythm.analyse(x, SR, fe.mel_db(x), HOP)


def made(onsets=(), strengths=None, beats=(), tempo=0.0, duration=10.0) -> Rhythm:
    """A Rhythm written by hand, for the per-frame functions."""
    onsets = np.asarray(onsets, dtype=np.float64)
    strengths = np.ones(onsets.size, np.float32) if strengths is None else np.asarray(strengths, np.float32)
    frames = int(duration * 100) + 1
    return Rhythm(100.0, np.zeros(frames, np.float32), np.full(frames, -20.0, np.float32), onsets, strengths,
                  np.asarray(beats, dtype=np.float64), tempo, duration)


def nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each of a, the distance to the nearest of b."""
    return np.abs(a[:, None] - b[None, :]).min(axis=1)


# --- onsets, tempo, beats, loudness -------------------------------------------------------------


def test_an_onset_within_a_frame_of_every_click_and_no_other(fe):
    # every sub-frame offset: the rise of a click spreads over two frames either side of it
    times = 0.5 + 0.5 * np.arange(19) + np.linspace(0.0, 0.0099, 19)
    r = analyse(fe, clicks(times, 10.0))
    assert r.onsets.size == times.size
    assert np.all(nearest(times, r.onsets) <= 0.010 + 1e-9)
    assert np.all(np.diff(r.onsets) > 0) and r.onsets.dtype == np.float64
    assert np.all((r.strengths > 0) & (r.strengths <= 1)) and r.strengths.dtype == np.float32
    assert r.flux.shape == r.loudness.shape == (1 + 10 * SR // HOP,) and r.rate == 100.0
    assert r.duration == pytest.approx(10.0) and r.flux.min() >= 0


@pytest.mark.parametrize("bpm", [90, 120, 150])
def test_tempo_and_beats_of_a_click_track(fe, bpm):
    times = np.arange(0.37, 9.9, 60.0 / bpm)
    r = analyse(fe, clicks(times, 10.0))
    assert r.tempo == pytest.approx(bpm, abs=2.0)
    assert r.period == pytest.approx(60.0 / bpm, rel=0.02)
    assert r.beats.size and np.all(np.diff(r.beats) > 0)
    assert np.all(nearest(r.beats, times) <= 0.030)  # every beat is on a click
    assert np.mean(nearest(times, r.beats) <= 0.030) >= 0.9  # and the clicks have beats


def test_silence_a_tone_and_a_single_hit_have_no_beat(fe):
    silent = analyse(fe, np.zeros(5 * SR, np.float32))
    assert silent.onsets.size == silent.beats.size == silent.strengths.size == 0 and silent.tempo == 0.0
    assert silent.loudness.max() <= -100.0 and np.all(silent.flux == 0)
    square = np.where(sine(5.0, 1.0, 100.0) >= 0, 1.0, -1.0).astype(np.float32)
    for tone, level in ((sine(10.0, 0.1), -23.0), (square, 0.0)):
        r = analyse(fe, tone)
        assert r.onsets.size == r.beats.size == 0 and r.tempo == 0.0
        np.testing.assert_allclose(r.loudness, level, atol=0.1)  # within 1 dB asked; 0.1 holds
    hit = analyse(fe, clicks([3.0], 8.0))
    assert hit.onsets.size == 1 and abs(hit.onsets[0] - 3.0) <= 0.01
    assert hit.tempo == 0.0 and hit.beats.size == 0 and hit.strengths[0] == 1.0


def test_a_quiet_onset_is_weaker_and_loudness_follows_the_level(fe):
    times = np.arange(0.5, 9.5, 0.5)
    amps = np.where(np.arange(times.size) % 2 == 0, 0.5, 0.005)  # 40 dB apart
    r = analyse(fe, clicks(times, 10.0, amps, under=sine(10.0, 0.001)))
    assert r.onsets.size == times.size
    loud, soft = r.strengths[::2], r.strengths[1::2]
    assert loud.min() > 0.9 and soft.max() < 0.8 * loud.min()
    # a 20 ms burst of amplitude 0.5 decaying over 4 ms, in a 60 ms window: 0.5^2 * 0.002 / 0.06
    at = np.rint(times[::2] * r.rate).astype(int) + 1
    np.testing.assert_allclose(r.loudness[at], 10 * np.log10(0.25 * 0.002 / 0.06), atol=2.0)


def test_mel_of_other_audio_is_refused(fe):
    x = sine(2.0, 0.1)
    with pytest.raises(ValueError, match="frames"):
        rhythm.analyse(x[:-HOP], SR, fe.mel_db(x), HOP)


# --- per-frame functions ------------------------------------------------------------------------


def test_frame_of_rounds_halves_up():
    np.testing.assert_array_equal(rhythm.frame_of(np.array([0.0, 0.05, 1 / 60, 1.017, 1.0166]), 30),
                                  [0, 2, 1, 31, 30])
    assert rhythm.frame_of(1.0, Fraction(30000, 1001)) == 30  # 29.97
    assert rhythm.frame_of(1.0, Fraction(30000, 1001)).dtype == np.int64


def test_pulse_peaks_on_the_onsets_frame_and_decays():
    fps, decay = Fraction(30), 0.2  # 6 frames
    # 1.017 s * 30 = 30.51: frame 31, between two envelope frames
    p = rhythm.pulse(made([0.5, 1.017], [0.6, 0.8]), 60, fps, decay=decay, beat_weight=0.5)
    assert p.dtype == np.float32 and p.shape == (60,)
    assert p[:15].max() == 0.0 and p[15] == pytest.approx(0.6)
    # the frame before the new peak carries only the older onset's tail
    assert p[30] == pytest.approx(0.6 * np.exp(-15 / 6), rel=1e-5)
    assert p[31] == pytest.approx(0.8, rel=1e-6) and p.argmax() == 31
    assert p[31 + 6] == pytest.approx(0.8 * np.exp(-1.0), rel=1e-4)  # e^-1 after `decay`
    assert np.all(np.diff(p[31:]) < 0)


def test_pulse_combines_by_max_and_lifts_beats():
    fps = 30
    r = made([1.0, 1.1, 2.0], [0.9, 0.3, 0.4], beats=[2.02, 3.0], tempo=60.0)
    p = rhythm.pulse(r, 120, fps, decay=0.1, beat_weight=0.5)
    assert p[33] == pytest.approx(0.9 * np.exp(-3 / 3), rel=1e-5)  # 0.33 > 0.3: the older one wins
    assert p[60] == pytest.approx(0.4 + 0.5 * 0.6)  # on the beat 20 ms away: raised towards 1
    assert p[90] == pytest.approx(0.25)  # a beat with no onset: half the beat weight
    assert 0.0 <= p.min() and p.max() <= 1.0
    plain = rhythm.pulse(r, 120, fps, decay=0.1, beat_weight=0.0)
    assert plain[60] == pytest.approx(0.4) and plain[90] == pytest.approx(0.4 * np.exp(-10.0), rel=1e-4)


def test_pulse_of_a_click_track_peaks_on_the_clicks(fe):
    times = np.arange(0.5, 9.5, 0.5) + 0.013
    r = analyse(fe, clicks(times, 10.0))
    p = rhythm.pulse(r, 300, 30)
    assert 0.0 <= p.min() and p.max() <= 1.0
    peaks = np.flatnonzero((p[1:-1] > p[:-2]) & (p[1:-1] >= p[2:])) + 1
    np.testing.assert_array_equal(peaks, rhythm.frame_of(r.onsets, 30))
    assert np.all(np.abs(peaks - times * 30) <= 0.5 + 0.3)  # the onset is within 10 ms, 0.3 frame


def test_beat_phase_runs_from_beat_to_beat():
    r = made(beats=[1.0, 1.5, 2.0, 2.5], tempo=120.0)
    ph = rhythm.beat_phase(r, 120, 30)  # beats on frames 30, 45, 60, 75
    assert ph.dtype == np.float32 and np.all((0 <= ph) & (ph < 1))
    assert np.all(ph[[0, 15, 30, 45, 60, 75, 90, 105]] == 0.0)  # the period carries on either side
    assert ph[37] == pytest.approx(7 / 15) and ph[29] == pytest.approx(14 / 15) and ph[80] == pytest.approx(5 / 15)
    assert all(np.all(np.diff(ph[a : a + 15]) > 0) for a in (30, 45, 60))
    assert not rhythm.beat_phase(made(), 50, 30).any()


def test_beat_phase_of_a_click_track_is_zero_on_its_beats(fe):
    r = analyse(fe, clicks(np.arange(0.4, 9.9, 0.5), 10.0))
    ph = rhythm.beat_phase(r, 300, Fraction(30))
    beat_frames = rhythm.frame_of(r.beats, 30)
    assert np.all(ph[beat_frames] == 0.0) and np.all((0 <= ph) & (ph < 1))
    assert beat_frames.size == 19 and np.count_nonzero(ph == 0.0) >= 19
    # before the first beat the measured tempo's period (15 frames and a hair) carries on
    assert min(ph[beat_frames[0] - 15], 1 - ph[beat_frames[0] - 15]) < 1e-3
    assert ph[beat_frames[0] - 1] == pytest.approx(14 / 15, abs=1e-3)


def test_strong_onsets_keep_the_loud_clicks_apart(fe):
    loud = np.arange(0.5, 9.5, 0.5)
    soft = loud + 0.15  # within the gap: one of each pair can stay
    times = np.sort(np.concatenate([loud, soft]))
    amps = np.where(np.isin(times, loud), 0.5, 0.02)
    r = analyse(fe, clicks(times, 10.0, amps))
    assert r.onsets.size == times.size
    strong = rhythm.strong_onsets(r)
    assert strong.size == loud.size and np.all(nearest(strong, loud) <= 0.010)
    assert np.all(np.diff(strong) >= 0.25)
    sparse = rhythm.strong_onsets(r, min_gap=1.2)
    # greedy: kept strongest first, so every click left out is too near one kept
    assert np.all(np.diff(sparse) >= 1.2 - 1e-9) and np.all(nearest(sparse, loud) <= 0.010)
    assert np.all(nearest(loud, sparse) < 1.2)
    assert rhythm.strong_onsets(analyse(fe, np.zeros(SR, np.float32))).size == 0


def test_loudness_at_is_a_power_mean(fe):
    x = np.concatenate([sine(5.0, 0.1), sine(5.0, 0.01)])
    r = analyse(fe, x)
    level = rhythm.loudness_at(r, np.array([2.5, 7.5, 5.0]), window=0.4)
    np.testing.assert_allclose(level[:2], [-23.0, -43.0], atol=0.2)
    assert level[2] == pytest.approx(10 * np.log10((0.005 + 0.00005) / 2), abs=0.3)


# --- the sync score ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy(fe) -> Rhythm:
    """30 s of clicks at random times and levels, with some quiet stretches."""
    rng = np.random.default_rng(7)
    times = np.sort(rng.uniform(0.2, 29.5, 90))
    times = times[np.concatenate([[True], np.diff(times) > 0.08])]
    return analyse(fe, clicks(times, 30.0, rng.uniform(0.02, 0.6, times.size), under=sine(30.0, 0.002)))


def resampled_flux(r: Rhythm, n: int, fps) -> np.ndarray:
    """The flux at the frame rate: each frame takes the largest flux of the 10 ms frames it shows."""
    frame = rhythm.frame_of(np.arange(r.flux.size) / r.rate, fps)
    out = np.zeros(n)
    np.maximum.at(out, frame[frame < n], r.flux[frame < n])
    return out


def test_a_picture_that_follows_the_flux_scores_high(busy):
    rng = np.random.default_rng(1)
    n = 900
    change = resampled_flux(busy, n, 30) * 0.5 + rng.uniform(0, 0.5, n)
    s = rhythm.sync_score(change, Fraction(30), busy)
    assert s.correlation > 0.8 and s.onset_lift > 2.0 and s.onsets > 20


def test_spikes_on_the_strong_onsets_lift_exactly():
    r = made(np.arange(0.5, 9.5, 0.5), duration=10.0)
    r.flux[np.rint(r.onsets * 100).astype(int)] = 30.0
    change = np.ones(300)
    change[rhythm.frame_of(rhythm.strong_onsets(r), 30)] = 31.0
    s = rhythm.sync_score(change, 30, r)
    assert s.onsets == 18 and s.onset_lift == pytest.approx((31 + 1 + 1) / 3)
    half = rhythm.sync_score(change[:150], 30, r)  # onsets past the video's end are left out
    assert half.onsets == 9


def test_a_still_or_random_picture_scores_chance(busy):
    still = rhythm.sync_score(np.full(900, 4.0), 30, busy)
    assert still.correlation == 0.0 and still.onset_lift == 1.0
    frozen = rhythm.sync_score(np.zeros(900), 30, busy)
    assert frozen.correlation == 0.0 and frozen.onset_lift == 1.0
    noisy = rhythm.sync_score(np.random.default_rng(3).uniform(0, 10, 900), 30, busy)
    assert abs(noisy.correlation) < 0.3 and 0.7 <= noisy.onset_lift <= 1.4


def test_a_picture_that_calms_with_the_music_has_a_low_quiet_ratio(fe):
    amp = np.where(np.arange(10 * SR) < 6 * SR, 0.3, 0.03)  # 6 s loud, then 4 s 20 dB quieter
    times = np.arange(0.25, 9.8, 0.5)
    r = analyse(fe, clicks(times, 10.0, amp[(times * SR).astype(int)], under=sine(10.0, 1.0) * amp))
    change = np.where(np.arange(300) < 180, 0.3, 0.03) * 20
    s = rhythm.sync_score(change, 30, r)
    assert s.quiet_ratio == pytest.approx(0.1, abs=0.01) and s.silence_change is None
    assert rhythm.sync_score(np.ones(300), 30, r).quiet_ratio == pytest.approx(1.0)


def test_silence_change_is_the_change_where_nothing_sounds(fe):
    x = np.concatenate([sine(4.0, 0.1), np.zeros(4 * SR, np.float32), sine(2.0, 0.1)])
    r = analyse(fe, x)
    change = np.where((np.arange(300) >= 120) & (np.arange(300) < 240), 7.0, 1.0)
    s = rhythm.sync_score(change, 30, r)
    assert s.silence_change == 7.0  # the silent frames lie within 4 s to 8 s
    silent = analyse(fe, np.zeros(10 * SR, np.float32))
    change = np.random.default_rng(0).uniform(0, 5, 330)  # the video runs on 1 s past the audio
    s = rhythm.sync_score(change, 30, silent)
    assert s.silence_change == pytest.approx(np.r_[change[1], change[1:301]].mean())
    assert s.quiet_ratio is None and s.onsets == 0 and s.onset_lift == 1.0


def test_the_score_reads_as_json(busy):
    s = rhythm.sync_score(np.random.default_rng(4).uniform(0, 3, 900), 30, busy)
    d = json.loads(json.dumps(s.as_dict()))
    assert set(d) == {"correlation", "onset_lift", "onsets", "quiet_ratio", "silence_change"}
    assert d["correlation"] == round(s.correlation, 3) and d["onset_lift"] == round(s.onset_lift, 3)
    assert d["onsets"] == s.onsets and d["silence_change"] is None


# --- frames -----------------------------------------------------------------------------------


def test_ranks_average_ties_and_running_extends_the_edges():
    from audioviz.rhythm import ranks, running

    np.testing.assert_array_equal(ranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])), [4.0, 1.0, 4.0, 2.0, 4.0])
    x = np.array([5.0, 1.0, 1.0, 1.0, 9.0])
    np.testing.assert_array_equal(running(x, 3, np.max), [5.0, 5.0, 1.0, 9.0, 9.0])
    np.testing.assert_allclose(running(x, 3, np.mean), [11 / 3, 7 / 3, 1.0, 11 / 3, 9.0 * 2 / 3 + 1 / 3])
