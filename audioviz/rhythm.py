"""The music's short time scale, from the audio: onset strength, onsets, tempo, beats and
loudness every 10 ms, what the picture should move with, and a score of how well a video does.

Written here in numpy on the MFCC frontend's mel spectrogram, which audioviz computes anyway.
The usual libraries were weighed and left: librosa pulls numba/llvmlite, whose LLVM must not
share a process with Mesa's llvmpipe (triton's LLVM already segfaulted beside it here); madmom
has no wheels for current Pythons and its models are licensed for non-commercial use only;
aubio has no maintained wheels; essentia is AGPL and heavy.

The methods are the textbook ones, chosen because they are cheap and hold up on any music:
a log-mel spectral flux (the onset envelope of most beat trackers), peak picking against a
local mean, an autocorrelation tempo with a prior around 120 BPM, and Ellis's (2007)
dynamic-programming beat tracker. An hour of audio (360,000 frames) takes a few seconds.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

# Peak picking, in seconds. A peak must be the largest flux within +-30 ms (two drum hits closer
# than that are one event to the eye at 30-60 fps) and rise above the mean over +-100 ms (a busy
# passage raises the bar) by a margin.
PEAK_HALF_WIDTH = 0.03
MEAN_HALF_WIDTH = 0.10
MIN_ONSET_GAP = 0.05
# The margin: 7% of the track's strong peaks (librosa's relative delta), but never under 2 dB
# of mean rise over the 128 bands. White noise, whose bands' levels wander by a few dB frame
# to frame, peaks at most 1.3 dB above its local mean in a minute of it; a steady tone's flux
# is a thousandth of a dB; a drum hit in a mix rises by tens of dB.
RELATIVE_DELTA = 0.07
MIN_RISE_DB = 2.0
# The frames whose windows reach past either end of the audio see it reflected there, and the
# kink at the join (or a partial that the reflection cancels) reads as a broadband rise, so the
# flux within 30 ms of either end (more than half the frontend's 25 ms window) is dropped.
END_MARGIN = 0.03

# Loudness: RMS over a window of a whole number of hops each side of the frame, about 50 ms
LOUDNESS_HALF_WINDOW = 0.025
FLOOR_DB = -120.0

# Tempo: lags for 40-240 BPM, weighted by a log-normal prior at 120 BPM one octave wide
# (Ellis 2007; it settles the octave an autocorrelation cannot: 60, 120 and 240 BPM all fit a
# 120 BPM track). A periodicity below 0.1 of the envelope's variance is no steady beat
# (a click track scores 0.8-0.9, white noise under 0.05).
MIN_BPM, MAX_BPM = 40.0, 240.0
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.0
MIN_PERIODICITY = 0.1
MIN_BEAT_ONSETS = 4
# The envelope the tempo and beats follow: flux above its mean over +-0.5 s
NOVELTY_HALF_WIDTH = 0.5
# Beat tracking: score = sum of the (unit-variance) envelope at beats minus TIGHTNESS times
# the squared log-ratio of each interval to the period; 100 lets a beat move 10% off the
# period for a peak about one standard deviation higher (librosa's default tightness).
TIGHTNESS = 100.0
TRIM_FRACTION = 0.5  # leading and trailing beats under half the beats' RMS envelope are dropped

# Pulse: an onset within this of a beat is on the beat
ON_BEAT = 0.05


@dataclass(frozen=True, eq=False)
class Rhythm:
    """One track's rhythm; times in seconds, envelopes at `rate` frames a second."""

    rate: float  # envelope frames per second (sample_rate / hop_length)
    flux: np.ndarray  # (T,) float32 >= 0, mean rectified rise of the bands' dB from the frame before
    loudness: np.ndarray  # (T,) float32 dBFS, RMS over about 50 ms centred on each frame
    onsets: np.ndarray  # (K,) float64 seconds, ascending
    strengths: np.ndarray  # (K,) float32 in (0, 1], each onset's flux over the track's strong ones
    beats: np.ndarray  # (B,) float64 seconds, ascending
    tempo: float  # beats per minute; 0.0 where there is no steady beat
    duration: float  # seconds of audio

    @property
    def period(self) -> float:
        """Seconds per beat (0.0 without a tempo)."""
        return 60.0 / self.tempo if self.tempo > 0 else 0.0


def analyse(samples: np.ndarray, sample_rate: int, mel_db, hop_length: int) -> Rhythm:
    """The rhythm of mono audio whose mel spectrogram in dB (n_mels, T), frame i centred at
    sample i * hop_length (`MFCCFrontend.mel_db`), is `mel_db`."""
    if sample_rate <= 0 or hop_length <= 0:
        raise ValueError(f"sample rate {sample_rate} and hop length {hop_length} must be positive")
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    mel = mel_db.detach().cpu().numpy() if hasattr(mel_db, "detach") else np.asarray(mel_db)
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2:
        raise ValueError(f"mel_db has shape {mel.shape}; expected (n_mels, frames)")
    n_frames = mel.shape[1]
    if n_frames != 1 + x.size // hop_length:
        raise ValueError(f"mel_db has {n_frames} frames, but {x.size} samples at a hop of {hop_length} "
                         f"make {1 + x.size // hop_length}: is it the mel of these samples?")
    rate = sample_rate / hop_length
    flux = spectral_flux(mel)
    margin = int(np.ceil(END_MARGIN * rate))
    flux[:margin] = 0.0
    flux[max(0, n_frames - margin):] = 0.0
    peaks = pick_peaks(flux, rate)
    heights = flux[peaks].astype(np.float64)
    strengths = np.zeros(0, np.float32)
    if peaks.size:
        strengths = np.clip(heights / np.percentile(heights, 95), 0.0, 1.0).astype(np.float32)
    onset_frames = onset_frame(flux, peaks)

    novelty = np.maximum(flux - running(flux.astype(np.float64), 2 * round(NOVELTY_HALF_WIDTH * rate) + 1, np.mean), 0.0)
    period = tempo_period(novelty, rate) if peaks.size >= MIN_BEAT_ONSETS else 0.0
    beat_frames = np.zeros(0, np.int64)
    if period > 0:
        beat_frames = track_beats(novelty, period)
        # a beat on a flux peak takes the frame an onset there would have, so the two coincide
        padded = np.concatenate([[0.0], flux, [0.0]])
        height = padded[beat_frames + 1]
        on_peak = (height > 0) & (height >= padded[beat_frames]) & (height >= padded[beat_frames + 2])
        beat_frames = np.where(on_peak, onset_frame(flux, beat_frames), beat_frames)
    return Rhythm(
        rate=float(rate),
        flux=flux,
        loudness=loudness_db(x, hop_length, n_frames, rate),
        onsets=onset_frames / rate,
        strengths=strengths,
        beats=np.unique(beat_frames) / rate,
        tempo=60.0 * rate / period if period > 0 and beat_frames.size else 0.0,
        duration=x.size / sample_rate,
    )


def spectral_flux(mel: np.ndarray, chunk: int = 32_768) -> np.ndarray:
    """(n_mels, T) dB -> (T,) mean over bands of the rise from the frame before (0 at frame 0).

    In dB a band that doubles counts the same loud or soft, so a quiet instrument's entry shows;
    the frontend's 80 dB floor keeps the rise out of silence bounded. Chunked: an hour's
    difference would be another 180 MB at once."""
    n_frames = mel.shape[1]
    flux = np.zeros(n_frames, np.float32)
    for a in range(1, n_frames, chunk):
        b = min(n_frames, a + chunk)
        rise = mel[:, a:b] - mel[:, a - 1 : b - 1]
        flux[a:b] = np.maximum(rise, 0.0, out=rise).mean(axis=0)
    return flux


def running(x: np.ndarray, width: int, reduce) -> np.ndarray:
    """`reduce` (np.mean, np.max) over `width` (odd) samples centred on each of 1-D `x`, the
    ends extended with the edge values (scipy.ndimage's mode "nearest", without its import:
    a render spends 0.2 s importing scipy.ndimage)."""
    half = width // 2
    padded = np.pad(np.asarray(x, np.float64), half, mode="edge")
    return reduce(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)


def ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of `x`, ties given their average rank (as scipy.stats.rankdata)."""
    x = np.asarray(x).reshape(-1)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # the highest rank each distinct value reaches
    return (last - (counts - 1) / 2.0)[inverse]


def pick_peaks(flux: np.ndarray, rate: float) -> np.ndarray:
    """Frames of the flux's onset peaks, ascending (see PEAK_HALF_WIDTH and RELATIVE_DELTA)."""
    f = flux.astype(np.float64)
    width = 2 * max(1, round(PEAK_HALF_WIDTH * rate)) + 1
    local_max = (f == running(f, width, np.max)) & (f > 0)
    if not local_max.any():
        return np.zeros(0, np.int64)
    delta = max(MIN_RISE_DB, RELATIVE_DELTA * float(np.percentile(f[local_max], 95)))
    local_mean = running(f, 2 * max(1, round(MEAN_HALF_WIDTH * rate)) + 1, np.mean)
    frames = np.flatnonzero(local_max & (f >= local_mean + delta))
    # equal neighbours (a plateau) are both local maxima: keep the stronger, then the earlier
    gap = max(1, round(MIN_ONSET_GAP * rate))
    return frames[greedy_apart(frames.astype(np.float64), f[frames], gap - 0.5)]


def onset_frame(flux: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """The frame an onset at each flux peak is heard on.

    An abrupt sound raises the log-spectrum over the two frames whose 25 ms windows first reach
    it, most where the window's edge (with its small weights) lifts the band out of the floor,
    so the peak comes up to a frame early. Where the frame after the peak rose more than the one
    before, the rise is centred after the peak, and the onset is the frame after. Measured on
    clicks at every sub-frame offset, out of silence and over noise: the peak frame alone is
    11 ms early to 4 ms late; this is 6 ms early to 8 ms late."""
    if peaks.size == 0:
        return peaks.astype(np.int64)
    padded = np.concatenate([[0.0], flux, [0.0]])
    later = padded[peaks + 2] > padded[peaks]
    return np.minimum(peaks + later, flux.size - 1).astype(np.int64)


def greedy_apart(times: np.ndarray, weights: np.ndarray, gap: float) -> np.ndarray:
    """Indices (ascending) of the heaviest items kept greedily, no two closer than `gap`."""
    kept: list[float] = []
    chosen: list[int] = []
    slack = 1e-9 * max(1.0, gap)  # 0.25 s apart in floats must count as 0.25 s apart
    for i in np.argsort(-np.asarray(weights, dtype=np.float64), kind="stable"):
        t = float(times[i])
        j = bisect_left(kept, t)
        if (j == 0 or t - kept[j - 1] >= gap - slack) and (j == len(kept) or kept[j] - t >= gap - slack):
            kept.insert(j, t)
            chosen.append(int(i))
    return np.sort(np.asarray(chosen, dtype=np.int64))


def loudness_db(x: np.ndarray, hop: int, n_frames: int, rate: float) -> np.ndarray:
    """(T,) dBFS: RMS of the samples within a whole number of hops each side of every frame
    (3 at 10 ms hops: 60 ms, centred on the frame's sample), floored at FLOOR_DB.

    Sums of squares per hop, then per window by a sliding sum rather than a running total, which
    after an hour of loud music would swamp a quiet passage's few picowatts with rounding."""
    k = max(1, int(LOUDNESS_HALF_WINDOW * rate + 0.5))
    full = x.size // hop
    blocks = x[: full * hop].reshape(full, hop)
    energy = np.einsum("ij,ij->i", blocks, blocks).astype(np.float64)
    count = np.full(full, float(hop))
    if x.size > full * hop:  # the last, partial hop
        tail = x[full * hop :].astype(np.float64)
        energy = np.append(energy, np.dot(tail, tail))
        count = np.append(count, float(tail.size))
    # frame i is centred on the boundary before hop i: hops i-k .. i+k-1
    width = 2 * k
    size = n_frames + width - 1
    e = np.zeros(size)
    c = np.zeros(size)
    e[k : k + energy.size] = energy[: size - k]
    c[k : k + count.size] = count[: size - k]
    windows = np.lib.stride_tricks.sliding_window_view
    power = windows(e, width).sum(axis=1) / np.maximum(windows(c, width).sum(axis=1), 1.0)
    return to_db(power)


def to_db(power: np.ndarray) -> np.ndarray:
    """Mean square -> dBFS (float32), floored at FLOOR_DB."""
    return (10.0 * np.log10(np.maximum(power, 10.0 ** (FLOOR_DB / 10.0)))).astype(np.float32)


def tempo_period(novelty: np.ndarray, rate: float) -> float:
    """The beat period in (fractional) envelope frames, or 0.0 where nothing repeats steadily.

    The autocorrelation of the envelope (unbiased, over its variance) at every lag for 40-240
    BPM, weighted by the prior, picks the lag; the peaks near its multiples then refine it,
    each to a fraction of a frame, as the slope of a line through them: the k-th multiple pins
    the period k times more finely than the first alone."""
    o = novelty - novelty.mean()
    n = o.size
    lo = max(1, int(np.floor(60.0 * rate / MAX_BPM)))
    hi = min(int(np.ceil(60.0 * rate / MIN_BPM)), n // 2)  # at least two periods of overlap
    if hi <= lo + 2 or not np.any(o):
        return 0.0
    size = 1 << int(np.ceil(np.log2(2 * n)))  # no wrap-around
    spectrum = np.fft.rfft(o, size)
    acf = np.fft.irfft(spectrum * spectrum.conj(), size)[: n // 2 + 3]
    acf /= n - np.arange(acf.size)
    if acf[0] <= 0:
        return 0.0
    # smoothed, so that a period between two frames shows as one peak to interpolate
    acf = np.convolve(acf / acf[0], np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0, mode="same")
    lags = np.arange(lo, hi + 1)
    prior = np.exp(-0.5 * (np.log2(60.0 * rate / lags / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    lag = int(lags[np.argmax(acf[lags] * prior)])
    if acf[lag] < MIN_PERIODICITY:
        return 0.0
    period, num, den = float(lag), 0.0, 0.0
    for k in range(1, 5):
        centre = int(round(k * period))
        if centre + 3 >= acf.size:
            break
        a = max(1, centre - 2)
        j = a + int(np.argmax(acf[a : centre + 3]))
        if acf[j] < 0.5 * acf[lag]:  # a weak multiple (a swung or changing beat) only adds noise
            break
        y0, y1, y2 = acf[j - 1 : j + 2]
        curve = y0 - 2.0 * y1 + y2
        peak = j + (0.5 * (y0 - y2) / curve if curve < 0 else 0.0)
        num, den = num + k * peak, den + k * k
        period = num / den
    return period


def track_beats(novelty: np.ndarray, period: float) -> np.ndarray:
    """Beat frames (ascending) by Ellis's dynamic programme: the best chain of beats, scored by
    the envelope at each beat less TIGHTNESS * log(interval / period)^2 per interval, with
    weak beats at either end trimmed.

    Each frame's best predecessor lies between half and twice the period before it, so a block
    of half a period of frames depends only on frames before the block: the programme runs a
    block at a time as one array operation (an hour at 120 BPM is 12,000 blocks)."""
    n = novelty.size
    o = novelty / novelty.std()
    lo = max(1, int(round(period / 2)))
    lags = np.arange(lo, max(lo, int(round(2 * period))) + 1)
    penalty = TIGHTNESS * np.log(lags / period) ** 2
    score = np.zeros(n)
    back = np.full(n, -1, dtype=np.int64)
    for a in range(0, n, lo):
        t = np.arange(a, min(a + lo, n))
        before = t[:, None] - lags[None, :]
        gain = np.where(before >= 0, score[np.maximum(before, 0)] - penalty, -np.inf)
        best = gain.argmax(axis=1)
        rows = np.arange(t.size)
        linked = gain[rows, best] > 0  # else a chain starts here
        score[t] = o[t] + np.where(linked, gain[rows, best], 0.0)
        back[t] = np.where(linked, before[rows, best], -1)
    last = max(0, n - int(round(period)))
    beat = last + int(np.argmax(score[last:]))
    chain = [beat]
    while back[beat] >= 0:
        beat = int(back[beat])
        chain.append(beat)
    frames = np.asarray(chain[::-1], dtype=np.int64)
    # where the music starts late or stops early the chain runs on through the silence
    padded = np.concatenate([[0.0], o, [0.0]])
    level = np.maximum(np.maximum(padded[frames], padded[frames + 1]), padded[frames + 2])
    strong = np.flatnonzero(level >= TRIM_FRACTION * np.sqrt(np.mean(level**2)))
    return frames[strong[0] : strong[-1] + 1] if strong.size else frames[:0]


def frame_of(t: np.ndarray | float, fps) -> np.ndarray:
    """Video frame showing audio time t (seconds): round(t * fps), halves up (int64).

    A hair (1e-9 frame) is added so that a time meant to fall on a half frame, which a float
    can hold a little below it, still rounds up."""
    scaled = np.asarray(t, dtype=np.float64)
    if isinstance(fps, Fraction):
        scaled = scaled * fps.numerator / fps.denominator
    else:
        scaled = scaled * float(fps)
    return np.floor(scaled + 0.5 + 1e-9).astype(np.int64)


def _near(times: np.ndarray, targets: np.ndarray, within: float) -> np.ndarray:
    """For each time, whether some target lies within `within` seconds of it."""
    if targets.size == 0:
        return np.zeros(times.size, dtype=bool)
    j = np.searchsorted(targets, times)
    left = np.abs(times - targets[np.maximum(j - 1, 0)])
    right = np.abs(targets[np.minimum(j, targets.size - 1)] - times)
    return np.minimum(left, right) <= within + 1e-9


def pulse(r: Rhythm, n_frames: int, fps, decay: float = 0.18, beat_weight: float = 0.5) -> np.ndarray:
    """(n_frames,) float32 in [0, 1]: a kick on every onset that dies away over `decay` seconds.

    Onset k peaks at level_k on frame round(t_k * fps) and falls as exp(-(t - t_frame) / decay)
    after it; overlapping kicks combine by max. level_k is the onset's strength s, raised to
    s + beat_weight * (1 - s) where it falls within 50 ms of a beat (the beat is what a dancer
    moves to, so even a soft hit on it counts); a beat with no onset near it (a rest the music
    implies) kicks at 0.5 * beat_weight."""
    if decay <= 0:
        raise ValueError(f"pulse decay {decay} must be positive")
    if not 0.0 <= beat_weight <= 1.0:
        raise ValueError(f"pulse beat_weight {beat_weight} must be within 0 to 1")
    on_beat = _near(r.onsets, r.beats, ON_BEAT)
    s = r.strengths.astype(np.float64)
    levels = np.where(on_beat, s + beat_weight * (1.0 - s), s)
    rests = r.beats[~_near(r.beats, r.onsets, ON_BEAT)]
    times = np.concatenate([r.onsets, rests])
    levels = np.concatenate([levels, np.full(rests.size, 0.5 * beat_weight)])
    frames = frame_of(times, fps)
    keep = (frames >= 0) & (frames < n_frames) & (levels > 0)
    out = np.zeros(n_frames, np.float32)
    if not keep.any():
        return out
    # max_k level_k * exp(-(f - f_k) / tau) = exp(max_k (log level_k + f_k / tau) - f / tau):
    # a running max in the log domain, exact and free of overflow over hours of frames
    tau = float(fps) * decay
    top = np.full(n_frames, -np.inf)
    np.maximum.at(top, frames[keep], np.log(levels[keep]) + frames[keep] / tau)
    np.maximum.accumulate(top, out=top)
    out[:] = np.exp(top - np.arange(n_frames) / tau)
    return np.clip(out, 0.0, 1.0, out=out)


def beat_phase(r: Rhythm, n_frames: int, fps) -> np.ndarray:
    """(n_frames,) float32 in [0, 1): how far each frame is from the last beat to the next, by
    the beats' frames (0 on a beat's frame); the tempo's period carries it on before the first
    beat and after the last. Zeros without beats."""
    out = np.zeros(n_frames, np.float32)
    beats = np.unique(frame_of(r.beats, fps))
    if beats.size == 0:
        return out
    if r.tempo > 0:
        period = float(fps) * 60.0 / r.tempo
    elif beats.size > 1:
        period = float(np.median(np.diff(beats)))
    else:
        return out
    f = np.arange(n_frames, dtype=np.float64)
    j = np.searchsorted(beats, f, side="right") - 1
    inside = (j >= 0) & (j < beats.size - 1)
    ji = np.clip(j, 0, max(0, beats.size - 2))
    between = (f - beats[ji]) / np.maximum(beats[np.minimum(ji + 1, beats.size - 1)] - beats[ji], 1)
    outside = np.mod((f - np.where(j < 0, beats[0], beats[-1])) / period, 1.0)
    phase = np.where(inside, between, outside).astype(np.float32)
    return np.minimum(phase, np.float32(np.nextafter(np.float32(1.0), np.float32(0.0))))


def strong_onsets(r: Rhythm, top: float = 0.10, min_gap: float = 0.25) -> np.ndarray:
    """Seconds (ascending) of the onsets whose flux peak is in the top `top` of all the track's
    flux values, the strongest kept first, no two closer than `min_gap`."""
    if r.onsets.size == 0:
        return np.zeros(0)
    frames = np.rint(r.onsets * r.rate).astype(np.int64)
    # an onset sits on its flux peak or on the frame after it (onset_frame)
    height = np.maximum(r.flux[frames], r.flux[np.maximum(frames - 1, 0)]).astype(np.float64)
    strong = height > np.quantile(r.flux, 1.0 - top)
    times, height = r.onsets[strong], height[strong]
    return times[greedy_apart(times, height, min_gap)]


def loudness_at(r: Rhythm, times: np.ndarray, window: float = 0.4) -> np.ndarray:
    """dBFS at `times` (seconds): the power mean of the loudness over `window` seconds centred on
    each (on the nearest envelope frame), a momentary loudness. Float32."""
    power = 10.0 ** (r.loudness.astype(np.float64) / 10.0)
    n = power.size
    half = max(0, int(round(window * r.rate / 2)))
    padded = np.concatenate([np.zeros(half), power, np.zeros(half)])
    sums = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1).sum(axis=1)
    i = np.arange(n)
    mean = sums / (np.minimum(i + half, n - 1) - np.maximum(i - half, 0) + 1)
    at = np.clip(np.rint(np.asarray(times, dtype=np.float64) * r.rate).astype(np.int64), 0, n - 1)
    return to_db(mean[at])


# Sync score
CORRELATION_WINDOW = 0.5  # seconds: the scale of phrases the eye follows, beyond a single hit
LIFT_FRAMES = 3  # the onset's frame and two more: a response a frame late still counts
QUIET_BELOW = 12.0  # dB under the median loudness: a quiet passage
LOUD_WITHIN = 3.0  # dB under the median, or louder: a loud one
SILENCE_DB = -60.0


@dataclass(frozen=True)
class SyncScore:
    """How well a video's picture moves with its music."""

    correlation: float  # Spearman, over 0.5 s windows, of mean visual change and mean flux
    onset_lift: float  # visual change just after strong onsets over the median change; 1.0 is chance
    onsets: int  # strong onsets behind onset_lift
    quiet_ratio: float | None  # mean change in quiet passages over that in loud ones
    silence_change: float | None  # mean change over frames below -60 dBFS

    def as_dict(self) -> dict:
        """Rounded to 3 decimals, for JSON."""
        def rounded(v):
            return None if v is None else round(float(v), 3)

        return {"correlation": rounded(self.correlation), "onset_lift": rounded(self.onset_lift),
                "onsets": int(self.onsets), "quiet_ratio": rounded(self.quiet_ratio),
                "silence_change": rounded(self.silence_change)}


def _window_means(values: np.ndarray, windows: np.ndarray, n: int) -> np.ndarray:
    keep = windows < n
    total = np.bincount(windows[keep], weights=values[keep], minlength=n)
    count = np.bincount(windows[keep], minlength=n)
    return total / np.maximum(count, 1)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho with ties averaged; 0.0 where either side is constant or too short."""
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    ra, rb = ranks(a) - (a.size + 1) / 2, ranks(b) - (b.size + 1) / 2
    return float(np.dot(ra, rb) / np.sqrt(np.dot(ra, ra) * np.dot(rb, rb)))


def sync_score(change: np.ndarray, fps, r: Rhythm) -> SyncScore:
    """Score a video's per-frame visual change (`change[f]`: mean absolute grey difference of
    frame f from frame f-1; change[0] is taken as change[1]) against the music's rhythm.

    Windows and onsets past the end of the video, or frames past the end of the audio, are left
    out. onset_lift divides by the median change; where that is 0 (a still picture with a few
    jumps) by the mean change instead, and where nothing moves at all, or there is no strong
    onset, it is 1.0 (chance). quiet_ratio is None without quiet or loud frames, or where the
    loud frames do not move at all (no ratio says anything then)."""
    change = np.asarray(change, dtype=np.float64).reshape(-1).copy()
    n = change.size
    if n > 1:
        change[0] = change[1]
    times = np.arange(n) / float(fps)

    def window(t: np.ndarray) -> np.ndarray:  # the hair keeps a frame on a boundary in the later window
        return np.floor(t / CORRELATION_WINDOW + 1e-9).astype(np.int64)

    n_windows = int(min(n / float(fps), r.duration) / CORRELATION_WINDOW + 1e-9)  # whole windows only
    correlation = _spearman(_window_means(change, window(times), n_windows),
                            _window_means(r.flux.astype(np.float64), window(np.arange(r.flux.size) / r.rate),
                                          n_windows))

    starts = frame_of(strong_onsets(r), fps)
    starts = starts[starts + LIFT_FRAMES <= n]
    typical = float(np.median(change)) if n else 0.0
    if typical == 0.0:
        typical = float(change.mean()) if n else 0.0
    lift = 1.0
    if starts.size and typical > 0:
        after = change[starts[:, None] + np.arange(LIFT_FRAMES)[None, :]].mean(axis=1)
        lift = float(after.mean() / typical)

    heard = times <= r.duration
    level = loudness_at(r, times[heard]).astype(np.float64)
    moved = change[heard]
    quiet_ratio = silence_change = None
    if level.size:
        median = float(np.median(level))
        quiet, loud = level <= median - QUIET_BELOW, level >= median - LOUD_WITHIN
        if quiet.any() and loud.any() and moved[loud].mean() > 0:
            quiet_ratio = float(moved[quiet].mean() / moved[loud].mean())
        silent = level < SILENCE_DB
        if silent.any():
            silence_change = float(moved[silent].mean())
    return SyncScore(correlation, lift, int(starts.size), quiet_ratio, silence_change)
