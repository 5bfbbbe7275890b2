"""Real-time conversion: ``StreamingConverter(converter).process(chunk)``, chunk by chunk, at any stream rate.

A stream (48 kHz from WebRTC, or any rate) is resampled to the model's rate (16 kHz) by a stateful
polyphase FIR, converted frame by frame (5 ms hop), and resampled back. Every stage keeps its state
between calls, so the output is the same whatever the chunk sizes are, and it is the input delayed by
a fixed, known number of samples (``latency_ms``).

Where the delay comes from (default bundle: 4 frames of model lookahead, 48 kHz stream)::

    resampler in  (linear-phase FIR, 177 taps at 48 kHz)            1.83 ms
    analysis lookahead (future samples a frame waits for)          15.00 ms
    model lookahead (4 frames x 5 ms)                              20.00 ms
    frame hop (synthesis interpolates between two frames)           5.00 ms
    synthesis (room for the pulses' fractional-delay ringing)       0.50 ms
    resampler out (89 taps at 48 kHz)                               0.92 ms
    total                                                          43.25 ms

The ``f0``/pitch-shift baseline has no model lookahead (23.25 ms); the anonymizer needs one 20 ms frame
(22.69 ms); the passthrough none (0 ms).

Pipeline per 5 ms frame ``k`` (centred on sample ``k * hop``), run once the input reaches
``k * hop + lookahead``:

1. DIO (+ StoneMask) on the last ~120 ms, extended past its end by repeating the last pitch period
   (or mirroring, when unvoiced): DIO otherwise zeroes its last 35 ms and truncates CheapTrick's window.
2. CheapTrick at frame ``k`` -> mel-cepstrum -> model input (log-F0 held over unvoiced frames, causally).
3. The model (``NumpyMapper``, LSTM state carried across calls) emits frame ``k - lookahead_frames``.
4. That older frame's F0 is re-estimated from the same, now longer, DIO run (its voicing onset is
   clearer 20 ms later; a frame either analysis calls voiced is voiced) and D4C measures its
   aperiodicity with a complete window (every other frame; odd frames average their neighbours).
5. ``PulseNoiseSynthesizer`` renders the samples between the last two converted frames.

The ``anonymize`` engine is the VoicePrivacy McAdams-coefficient baseline (LPC pole angles ``phi ->
phi ** alpha``), streamed with 20 ms frames and a 10 ms hop.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np

from .audio import dbfs, validate_audio
from .config import FeatureConfig, StreamConfig
from .data import NormStats
from .errors import AudioError, ConfigError
from .features import mcep_to_sp, sp_to_mcep
from .inference import VoiceConverter

# Tunables of the real-time path. They would live in ``StreamConfig`` (config.py); until then, here.
ANALYSIS_LOOKAHEAD_MS = 15.0  # future audio a frame waits for before it is analysed
DIO_SPEED = 8  # DIO decimates to sr / 8 (2 kHz): F0 <= 500 Hz is kept, StoneMask refines at full rate
DIO_CHANNELS = 2.0  # DIO's band-pass channels per octave
EXTEND_MS = 40.0  # synthetic continuation appended to the analysis buffer (> DIO's 35 ms edge zone)
GMM_CONTEXT_FRAMES = 4  # GMM deltas (width 9) need 4 future frames
SYNTH_PRE_SAMPLES = 8  # the synthesizer's own delay: keeps the fractional-delay pre-ringing causal
SYNTH_FFT = 512  # pulse responses are 32 ms long at 16 kHz; envelopes are sampled at every other bin
RESAMPLER_ATTEN_DB = 60.0
# Into the model rate the pass band must reach ~Nyquist: the models saw full-band 16 kHz mel-cepstra, and a
# filter that rolls off from 7.5 kHz raised the bundle's MCD from 5.35 to 6.27 dB (offline, same input).
# A pass band to Nyquist (aliasing only what lies 8..9 kHz) changed the mel-cepstra of a 16 kHz file by 0.1 dB.
RESAMPLER_IN_BAND_HZ = (0.0, 1_000.0)  # pass / stop edge relative to the model's Nyquist (8..9 kHz)
RESAMPLER_OUT_BAND_HZ = (-1_000.0, 1_000.0)  # back to the stream rate (7..9 kHz: only images to remove)
MCADAMS_DEFAULT = 0.8
MCADAMS_RANGE = (0.5, 1.5)
STATS_WINDOW = 1_000  # chunks kept for median / p99 / RTF
ADAPT_PRIOR_FRAMES = 50  # voiced frames before a new speaker's own mean log-F0 outweighs the training mean
CROSSFADE_MS = 10.0  # bypass on/off ramp
STAGES = ("resample_in", "analysis", "model", "synthesis", "resample_out")


# ============================================================================================ helpers

class _Fifo:
    """A growable first-in first-out sample queue (numpy, amortised O(1) per sample)."""

    def __init__(self, prefill: int = 0, dtype=np.float32):
        self._buf = np.zeros(max(64, 2 * prefill), dtype=dtype)
        self._start, self._end = 0, prefill

    def __len__(self) -> int:
        return self._end - self._start

    def push(self, x: np.ndarray) -> None:
        n = len(x)
        if self._end + n > len(self._buf):
            live = self._buf[self._start:self._end].copy()
            if len(live) + n > len(self._buf):
                self._buf = np.zeros(2 * (len(live) + n), dtype=self._buf.dtype)
            self._buf[: len(live)] = live
            self._start, self._end = 0, len(live)
        self._buf[self._end:self._end + n] = x
        self._end += n

    def pop(self, n: int) -> np.ndarray:
        """The next ``n`` samples; zeros stand in for any that are missing (never happens when sized right)."""
        take = min(n, len(self))
        out = self._buf[self._start:self._start + take].copy()
        self._start += take
        if take < n:
            out = np.concatenate([out, np.zeros(n - take, dtype=self._buf.dtype)])
        return out


class PolyphaseResampler:
    """Stateful rational resampler: upsample by ``L``, linear-phase FIR low-pass, downsample by ``M``.

    soxr's ``ResampleStream`` was measured first (48 -> 16 kHz, 20 ms chunks): HQ releases output every
    other chunk (0, 490, 0, 489 samples), i.e. holds back up to ~30 ms; MQ and VHQ hold back more, LQ
    100 samples (6 ms), and only the cubic QQ mode does not (it aliases). This filter runs sample-exact: after
    ``n`` input samples exactly ``ceil(n * L / M)`` outputs exist, and output ``j`` is the input at time
    ``j * M / L`` delayed by ``delay`` input samples, whatever the chunk sizes.

    Parameters
    ----------
    in_sr, out_sr : int
        Rates in Hz.
    band_hz : (float, float)
        Pass- and stop-band edges relative to the lower of the two Nyquist frequencies.
    atten_db : float
        Stop-band attenuation.
    """

    def __init__(self, in_sr: int, out_sr: int, *, band_hz: tuple[float, float] = RESAMPLER_OUT_BAND_HZ,
                 atten_db: float = RESAMPLER_ATTEN_DB):
        from scipy.signal import firwin, kaiserord

        ratio = Fraction(int(out_sr), int(in_sr))
        self.in_sr, self.out_sr = int(in_sr), int(out_sr)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.identity = self.up == self.down == 1
        if self.identity:
            self.n_taps, self.delay = 1, 0.0
            self.reset()
            return
        fs_up = self.up * self.in_sr
        nyquist = min(self.in_sr, self.out_sr) / 2.0
        cutoff = nyquist + (band_hz[0] + band_hz[1]) / 2.0
        n_taps, beta = kaiserord(atten_db, (band_hz[1] - band_hz[0]) / (fs_up / 2.0))
        n_taps |= 1  # odd: an integer group delay at the upsampled rate
        h = firwin(n_taps, cutoff, window=("kaiser", beta), fs=fs_up) * self.up
        self.n_taps = n_taps
        self.k = -(-n_taps // self.up)  # taps per phase
        h = np.pad(h, (0, self.k * self.up - n_taps))
        self._phases = h.reshape(self.k, self.up).T.astype(np.float64)  # [phase, r] = h[phase + r * up]
        self.delay = (n_taps - 1) / 2.0 / self.up  # in input samples
        self.reset()

    @property
    def delay_s(self) -> float:
        """Group delay in seconds."""
        return self.delay / self.in_sr

    def reset(self) -> None:
        self._n_in = 0  # input samples so far
        self._n_out = 0  # output samples so far
        self._hist = np.zeros(max(0, getattr(self, "k", 1) - 1))  # the last k - 1 inputs (zeros before the stream)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Resample the next block; returns every output sample that its inputs now determine."""
        if self.identity:
            return np.asarray(x, dtype=np.float32)
        x = np.asarray(x, dtype=np.float64)
        n_total = self._n_in + len(x)
        n_out_total = -(-n_total * self.up // self.down)
        j = np.arange(self._n_out, n_out_total)
        buf = np.concatenate([self._hist, x])
        base = self._n_in - (self.k - 1)  # global index of buf[0]
        if len(j) == 0:
            y = np.zeros(0)
        elif self.up == 1:  # decimation: one dot product per output, on strided windows
            windows = np.lib.stride_tricks.sliding_window_view(buf, self.k)  # windows[i] = buf[i : i + k]
            first = j[0] * self.down - (self.k - 1) - base
            y = windows[first:first + len(j) * self.down:self.down] @ self._phases[0, ::-1]
        elif self.down == 1:  # interpolation: every input sample yields `up` outputs, one per phase
            windows = np.lib.stride_tricks.sliding_window_view(buf, self.k)
            q0 = j[0] // self.up
            y = (windows[q0 - base - (self.k - 1):] @ self._phases[:, ::-1].T).reshape(-1)
            y = y[j[0] - q0 * self.up:][: len(j)]
        else:
            pos = j * self.down
            newest = pos // self.up - base
            idx = newest[:, None] - np.arange(self.k)[None, :]
            y = np.einsum("jr,jr->j", self._phases[pos % self.up], buf[idx])
        self._hist = buf[len(buf) - (self.k - 1):] if self.k > 1 else np.zeros(0)
        self._n_in, self._n_out = n_total, n_out_total
        return y.astype(np.float32)


def _min_phase(log_amp: np.ndarray, n_fft: int) -> np.ndarray:
    """Minimum-phase spectra from log amplitudes ``(n, n_fft // 2 + 1)`` by cepstral folding."""
    c = np.fft.irfft(log_amp, n=n_fft, axis=-1)
    c[:, 1:n_fft // 2] *= 2.0
    c[:, n_fft // 2 + 1:] = 0.0
    return np.exp(np.fft.rfft(c, axis=-1))


# ======================================================================================= synthesizer
class PulseNoiseSynthesizer:
    """A WORLD-style vocoder that renders frames as they arrive, keeping its state between calls.

    pyworld only exposes WORLD's whole-utterance ``synthesize`` (the C library's real-time synthesizer is
    not wrapped), so this is the same algorithm written for streaming: per-sample F0 and voicing are
    interpolated between frames; a pulse falls where the accumulated F0 phase crosses a cycle (every
    2 ms in unvoiced stretches). Each pulse adds the minimum-phase response of ``sp * (1 - ap**2)``
    (voiced only, with a fractional delay and DC removal) plus a pulse-interval of white noise shaped
    by ``sp * ap**2`` (``sp`` when unvoiced), each response overlap-added into a tail that carries
    over to the next call. Gains follow WORLD, so levels match ``pyworld.synthesize`` for the same
    features.

    Parameters
    ----------
    cfg : FeatureConfig
        ``sr``, ``hop_length`` and ``n_fft`` of the frames.
    seed : int
        Seed of the noise source (``reset`` restarts it).
    fft_size : int
        Length of each pulse response; the ``cfg.n_fft`` envelopes are sampled down to it (a smooth
        envelope loses nothing, and it halves the cost against WORLD's 1024).
    """

    UNVOICED_F0 = 500.0  # WORLD's kDefaultF0: pulse rate in unvoiced stretches

    def __init__(self, cfg: FeatureConfig = FeatureConfig(), *, seed: int = 0, fft_size: int = SYNTH_FFT):
        self.cfg, self.seed = cfg, seed
        self.sr, self.hop = cfg.sr, cfg.hop_length
        self.n_fft = min(fft_size, cfg.n_fft)
        self._step = cfg.n_fft // self.n_fft
        self.delay = SYNTH_PRE_SAMPLES  # output sample o renders time o - delay
        self.lowest_f0 = self.sr / cfg.n_fft + 1.0
        dc = np.hanning(self.n_fft + 2)[1:-1]
        self._dc_window = dc / dc.sum()
        self._k = np.arange(self.n_fft // 2 + 1)
        self.reset()

    def reset(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._prev: tuple[float, np.ndarray, np.ndarray] | None = None
        self._phase = 0.0  # accumulated F0 phase in cycles, at the last rendered sample
        self._tail = np.zeros(self.n_fft + self.hop)

    def push(self, f0: np.ndarray, sp: np.ndarray, ap: np.ndarray) -> np.ndarray:
        """Add frames; returns ``hop`` samples per frame (none for the very first frame).

        Parameters
        ----------
        f0 : np.ndarray, shape (n,), Hz, 0 when unvoiced
        sp, ap : np.ndarray, shape (n, n_fft // 2 + 1)
            Power spectral envelope and aperiodicity, as from WORLD.

        Returns
        -------
        np.ndarray, shape (hop * n,) (``hop * (n - 1)`` on the first call), float64
        """
        f0 = np.asarray(f0, dtype=np.float64)
        if len(f0) == 0:
            return np.zeros(0)
        sp = np.asarray(sp, dtype=np.float64)[:, :: self._step]
        ap = np.asarray(ap, dtype=np.float64)[:, :: self._step]
        if self._prev is None:
            self._prev = (float(f0[0]), sp[0], ap[0])
            f0, sp, ap = f0[1:], sp[1:], ap[1:]
            if len(f0) == 0:
                return np.zeros(0)
        pf0, psp, pap = self._prev
        f0_all = np.concatenate([[pf0], f0])
        sp_all = np.vstack([psp[None], sp])
        ap_all = np.vstack([pap[None], ap])
        self._prev = (float(f0[-1]), sp[-1], ap[-1])
        return self._render(f0_all, sp_all, ap_all)

    def _render(self, f0: np.ndarray, sp: np.ndarray, ap: np.ndarray) -> np.ndarray:
        hop, n_fft, sr = self.hop, self.n_fft, self.sr
        n_blocks = len(f0) - 1
        n = n_blocks * hop
        pos = np.arange(n) / hop
        lo = np.minimum(pos.astype(int), n_blocks - 1)
        w = pos - lo
        coarse = np.where(f0 < self.lowest_f0, 0.0, f0)
        vuv_frames = (coarse > 0).astype(np.float64)
        f0_s = (1.0 - w) * coarse[lo] + w * coarse[lo + 1]
        vuv_s = ((1.0 - w) * vuv_frames[lo] + w * vuv_frames[lo + 1]) > 0.5
        f0_s = np.where(vuv_s, f0_s, self.UNVOICED_F0)

        phase = self._phase + np.cumsum(f0_s / sr)
        before = np.concatenate([[self._phase], phase[:-1]])
        crossing = np.flatnonzero(np.floor(phase) > np.floor(before))  # cycle ends between s - 1 and s
        self._phase = float(phase[-1] - np.floor(phase[-1]))

        out = np.zeros(n + n_fft)
        out[: len(self._tail)] += self._tail
        if len(crossing):
            s = crossing
            frac = (np.ceil(before[s]) - before[s]) / (phase[s] - before[s])  # crossing at s - 1 + frac
            i = np.maximum(s - 1, 0)  # the sample before the crossing (WORLD's pulse index)
            self._add_pulses(out, s, frac, f0_s[i], vuv_s[i], lo[i], w[i], sp, ap)
        self._tail = out[n:].copy()
        return out[:n]

    def _add_pulses(self, out, s, frac, f0_p, vuv_p, lo, w, sp, ap) -> None:
        n_fft, sr = self.n_fft, self.sr
        sp_p = (1.0 - w)[:, None] * sp[lo] + w[:, None] * sp[lo + 1]
        ap_p = (1.0 - w)[:, None] * ap[lo] + w[:, None] * ap[lo + 1]
        ratio = np.clip(ap_p, 0.001, 0.999999999999) ** 2
        sp_p = np.maximum(sp_p, 1e-16)
        noise_size = np.minimum(np.maximum(np.round(sr / f0_p).astype(int), 1), n_fft - 1)

        # aperiodic part: a pulse interval of zero-mean white noise through the min-phase envelope
        noise_amp = np.where(vuv_p[:, None], sp_p * ratio, sp_p)
        h_ap = _min_phase(0.5 * np.log(noise_amp), n_fft)
        mask = np.arange(n_fft)[None, :] < noise_size[:, None]
        noise = np.zeros((len(s), n_fft))
        noise[mask] = self._rng.standard_normal(int(noise_size.sum()))
        noise -= (noise.sum(axis=1) / noise_size)[:, None] * mask
        resp = np.fft.irfft(np.fft.rfft(noise, axis=-1) * h_ap, n=n_fft, axis=-1)

        # periodic part (voiced pulses whose first band is not fully aperiodic)
        periodic = vuv_p & (ratio[:, 0] <= 0.999)
        if periodic.any():
            idx = np.flatnonzero(periodic)
            h = _min_phase(0.5 * np.log(sp_p[idx] * (1.0 - ratio[idx]) + 1e-12), n_fft)
            h *= np.exp(-2j * np.pi * self._k[None, :] * frac[idx, None] / n_fft)
            pulse = np.fft.irfft(h, n=n_fft, axis=-1)
            pulse -= pulse.sum(axis=1, keepdims=True) * self._dc_window[None, :]  # no DC from the pulse train
            resp[idx] += pulse * np.sqrt(noise_size[idx])[:, None]

        # As in WORLD, a response starts one sample after the phase crossing: time 0 is at s + frac.
        # Output sample o renders time o - delay, so the rolled response (its last delay - 1 samples,
        # the fractional delay's pre-ringing, first) is added from o = s + 1 on.
        resp = np.roll(resp, self.delay - 1, axis=1)
        for row, start in zip(resp, s + 1):
            out[start:start + n_fft] += row


def synthesize_frames(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, *, cfg: FeatureConfig = FeatureConfig(),
                      seed: int = 0) -> np.ndarray:
    """Render a whole utterance with ``PulseNoiseSynthesizer``, aligned like ``world_synthesize``.

    Returns
    -------
    np.ndarray, shape (hop * n_frames,), float32
    """
    synth = PulseNoiseSynthesizer(cfg, seed=seed)
    n = len(f0)
    pad = 2 + -(-synth.delay // cfg.hop_length)
    f0x = np.concatenate([f0, np.zeros(pad)])
    spx = np.vstack([sp, np.repeat(sp[-1:], pad, axis=0)])
    apx = np.vstack([ap, np.ones((pad, ap.shape[1]))])
    y = synth.push(f0x, spx, apx)
    return y[synth.delay:synth.delay + n * cfg.hop_length].astype(np.float32)


# =========================================================================================== engines
class _Engine:
    """Frame-level conversion at the model's rate. ``push`` returns samples in multiples of its hop;
    ``fill`` zeros in front of them keep the output at least as long as the input, and output sample
    ``i`` (counting the fill) renders input sample ``i - delay``."""

    sr: int
    fill: int
    delay: int

    def __init__(self) -> None:
        self.stage_s = dict.fromkeys(("analysis", "model", "synthesis"), 0.0)
        self.f0_hz = 0.0
        self.out_f0_hz = 0.0

    def push(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class _WorldEngine(_Engine):
    """WORLD analysis -> mapping model -> ``PulseNoiseSynthesizer``, one 5 ms frame at a time."""

    def __init__(self, converter: VoiceConverter, *, analysis_ms: float, lookahead_ms: float, seed: int = 0):
        super().__init__()
        import pyworld

        self._pw = pyworld
        self.conv = converter
        fc = self.fc = converter.feature_cfg
        self.sr, self.hop = fc.sr, fc.hop_length
        self.kind = converter.kind
        if self.kind in ("lstm", "gan"):
            self.model_delay = converter.lookahead_frames
            meta = converter.meta
            self.mapper = converter.mapper  # built here: no Keras in process()
            self.in_norm: NormStats = meta.input_norm
            self.out_norm: NormStats = meta.output_norm
            self.use_f0 = meta.use_f0_input
            self.lf0_init = float(meta.source_f0.mean)
        elif self.kind == "gmm":
            self.model_delay = GMM_CONTEXT_FRAMES
        elif self.kind == "f0":
            self.model_delay = 0
        else:
            raise ConfigError(f"Model kind {self.kind!r} cannot stream; use an lstm, gan or gmm bundle, or 'f0'.")
        self.la = int(round(lookahead_ms * self.sr / 1000.0))
        window = int(round(analysis_ms * self.sr / 1000.0))
        # samples before the frame centre in the analysis buffer: a whole number of hops, so DIO's
        # frame grid (0, hop, 2 hop, ... from the buffer start) lands on the stream's frame centres
        self.ctx = max(self.hop * (self.model_delay + 8), -(-(window - self.la - 1) // self.hop) * self.hop)
        self.extend = int(round(EXTEND_MS * self.sr / 1000.0))
        self.synth = PulseNoiseSynthesizer(fc, seed=seed)
        self.fill = self.la + self.hop * (self.model_delay + 1)
        self.delay = self.fill + self.synth.delay
        self.reset()

    def reset(self) -> None:
        L = self.model_delay
        self._x = np.zeros(self.ctx)  # samples from absolute index self._x0 on (zeros before the stream)
        self._x0 = -self.ctx
        self._n_in = 0
        self._k = 0  # next frame to analyse
        self._f0_hold = 0.0  # F0 of the last analysed frame (chooses the buffer extension)
        self._f0a = deque([0.0] * L, maxlen=L + 1)  # stage-A F0 of frames k - L .. k
        self._mc_src = deque(maxlen=L + 1)  # source mel-cepstra of frames k - L .. k
        self._lf0 = self.lf0_init if self.kind in ("lstm", "gan") else 0.0
        self._lf0_sum, self._lf0_n = 0.0, 0  # running log-F0 sum/count of voiced frames (adaptive F0)
        self._state = self.mapper.initial_state() if self.kind in ("lstm", "gan") else None
        self._gmm_hist: np.ndarray | None = None
        self._ap_prev: np.ndarray | None = None  # D4C of the last even frame
        self._ap_next: np.ndarray | None = None  # D4C of the next even frame, measured early
        self.synth.reset()

    # --------------------------------------------------------------------------------- analysis
    def _extended(self, seg: np.ndarray) -> np.ndarray:
        """The buffer plus a plausible continuation: the last pitch period repeated, or a mirror image."""
        n = self.extend
        if self._f0_hold > 0:
            period = int(round(self.sr / self._f0_hold))
            tail = np.tile(seg[-period:], n // period + 1)[:n]
        else:
            tail = seg[-2:-n - 2:-1]
        return np.concatenate([seg, tail])

    def _analyse(self, k: int) -> tuple[np.ndarray, float, float, np.ndarray | None]:
        """Stage A for frame ``k`` (mel-cepstrum, F0) and stage B for frame ``j = k - L`` (F0, aperiodicity).

        With a model lookahead, D4C (the costliest call) runs for even frames only: an odd frame ``j``
        measures frame ``j + 1`` early (30 ms of lookahead is plenty) and takes the mean of its neighbours.
        """
        pw, fc, hop, L = self._pw, self.fc, self.hop, self.model_delay
        start = k * hop - self.ctx - self._x0
        seg = self._x[start:start + self.ctx + self.la + 1]
        buf = self._extended(seg)
        f0_dio, t = pw.dio(buf, self.sr, f0_floor=fc.f0_floor, f0_ceil=fc.f0_ceil, frame_period=fc.hop_ms,
                           speed=DIO_SPEED, channels_in_octave=DIO_CHANNELS)
        ia = self.ctx // hop
        j = k - L
        odd = L > 0 and j % 2 == 1
        rows = [ia] if L == 0 else ([ia, ia - L, ia - L + 1] if odd else [ia, ia - L])
        f0_sm = pw.stonemask(buf, np.ascontiguousarray(f0_dio[rows]), np.ascontiguousarray(t[rows]), self.sr)
        fa = float(f0_sm[0])
        sp = pw.cheaptrick(buf, f0_sm[:1].copy(), t[ia:ia + 1].copy(), self.sr, f0_floor=fc.f0_floor,
                           fft_size=fc.n_fft)
        self._f0a.append(fa)  # now holds stage-A F0 of frames k - L .. k
        self._f0_hold = fa
        mc = sp_to_mcep(sp, cfg=fc)[0]
        if j < 0:
            return mc, fa, 0.0, None

        def union(f0_b: float, f0_a: float) -> float:  # either analysis calling it voiced makes it voiced
            return f0_b if f0_b > 0 or f0_a <= 0 else f0_a

        def d4c(f0_hz: float, row: int) -> np.ndarray:
            return pw.d4c(buf, np.array([f0_hz]), t[row:row + 1].copy(), self.sr, fft_size=fc.n_fft)[0]

        fb = union(float(f0_sm[1 if L else 0]), self._f0a[0])
        if L == 0:
            ap = d4c(fb, ia)
        elif not odd:
            ap = self._ap_next if self._ap_next is not None else d4c(fb, ia - L)
            self._ap_prev, self._ap_next = ap, None
        else:
            self._ap_next = d4c(union(float(f0_sm[2]), self._f0a[1]), ia - L + 1)
            ap = self._ap_next if self._ap_prev is None else 0.5 * (self._ap_prev + self._ap_next)
        return mc, fa, fb, ap

    def _model_inputs(self, mc: np.ndarray, f0: np.ndarray) -> np.ndarray:
        parts = [mc[:, 1:]]
        if self.use_f0:
            lf0 = np.empty(len(f0))
            for i, v in enumerate(f0):  # causal: hold the last voiced log-F0
                if v > 0:
                    self._lf0 = math.log(v)
                lf0[i] = self._lf0
            parts += [lf0[:, None], (f0 > 0).astype(np.float64)[:, None]]
        return np.concatenate(parts, axis=1).astype(np.float32)

    def _map(self, mc: np.ndarray, f0: np.ndarray) -> np.ndarray:
        """Mapped ``c_1..c_M`` of frames ``k - L`` for the new frames ``k`` (first rows may be pre-stream)."""
        if self.kind in ("lstm", "gan"):
            x = self.in_norm.apply(self._model_inputs(mc, f0))
            out, self._state = self.mapper.run(x, self._state)
            return self.out_norm.invert(out).astype(np.float64)
        if self.kind == "gmm":
            ctx = 2 * GMM_CONTEXT_FRAMES
            if self._gmm_hist is None:
                self._gmm_hist = np.repeat(mc[:1, 1:], ctx, axis=0)
            window = np.vstack([self._gmm_hist, mc[:, 1:]])
            self._gmm_hist = window[-ctx:]
            y = self.conv.model.convert(window)
            return np.asarray(y[GMM_CONTEXT_FRAMES:GMM_CONTEXT_FRAMES + len(mc)], dtype=np.float64)
        return mc[:, 1:]

    # ------------------------------------------------------------------------------------- push
    def push(self, x: np.ndarray) -> np.ndarray:
        self._x = np.concatenate([self._x, np.asarray(x, dtype=np.float64)])
        self._n_in += len(x)
        hop = self.hop
        t0 = time.perf_counter()
        new_mc, new_fa, out_f0, out_ap, out_src = [], [], [], [], []
        while self._k * hop + self.la < self._n_in:
            k = self._k
            mc, fa, fb, ap = self._analyse(k)
            self._mc_src.append(mc)
            new_mc.append(mc)
            new_fa.append(fa)
            if ap is not None:
                out_f0.append(fb)
                out_ap.append(ap)
                out_src.append(self._mc_src[0])  # source frame k - L (the deque holds frames k - L .. k)
            self._k += 1
        # keep the samples the next frame's buffer starts from
        drop = self._k * hop - self.ctx - self._x0
        if drop > 0:
            self._x, self._x0 = self._x[drop:], self._x0 + drop
        t1 = time.perf_counter()
        self.stage_s["analysis"] += t1 - t0
        if not new_mc:
            return np.zeros(0)
        self.f0_hz = new_fa[-1]
        mapped = self._map(np.array(new_mc), np.array(new_fa))
        mapped = mapped[len(mapped) - len(out_f0):]  # rows of frames k - L >= 0
        t2 = time.perf_counter()
        self.stage_s["model"] += t2 - t1
        if not out_f0:
            return np.zeros(0)
        src = np.array(out_src)
        mc_out = np.concatenate([src[:, :1], mapped], axis=1)  # c0 (loudness) from the source
        sp = mcep_to_sp(np.vstack([mc_out, src]), cfg=self.fc)
        sp, sp_src = sp[: len(src)], sp[len(src):]
        # c0 alone keeps the level only when the envelope's shape does not move power; rescale each frame
        # to the source frame's envelope power (offline conversion normalises the whole utterance instead)
        gain = np.clip(sp_src.mean(axis=1) / np.maximum(sp.mean(axis=1), 1e-30), 1e-2, 1e2)
        f0_in = np.array(out_f0)
        source_mean = None
        if self.conv.adaptive_f0:  # many-to-one: track this speaker's mean log-F0 as the stream goes
            voiced = f0_in[f0_in > 0]
            self._lf0_sum += float(np.log(voiced).sum())
            self._lf0_n += voiced.size
            prior = self.conv.meta.source_f0.mean
            source_mean = (prior * ADAPT_PRIOR_FRAMES + self._lf0_sum) / (ADAPT_PRIOR_FRAMES + self._lf0_n)
        f0_out = self.conv.convert_f0(f0_in, source_mean=source_mean)
        self.out_f0_hz = float(f0_out[-1])
        y = self.synth.push(f0_out, sp * gain[:, None], np.array(out_ap))
        self.stage_s["synthesis"] += time.perf_counter() - t2
        return y


class _McAdamsEngine(_Engine):
    """The VoicePrivacy McAdams anonymizer, streamed: per 20 ms frame (10 ms hop) LPC analysis, pole
    angles ``phi -> phi ** alpha``, the frame's LPC residual filtered through the new poles, overlap-add.

    Windows are square-root periodic Hann at 50 % overlap, so ``alpha = 1`` returns the input exactly
    (delayed); each frame's output is scaled to its input frame's energy, which replaces the offline
    recipe's whole-utterance peak normalisation.
    """

    SR = 16_000
    FRAME, HOP, ORDER = 320, 160, 20

    def __init__(self, alpha: float):
        super().__init__()
        import librosa
        from scipy.signal import get_window, lfilter

        self._lpc, self._lfilter = librosa.lpc, lfilter
        self.sr = self.SR
        self.alpha = alpha
        self.win = np.sqrt(get_window("hann", self.FRAME))  # periodic: win**2 sums to 1 at a 50 % hop
        self.fill = self.FRAME - 1
        self.delay = self.fill
        self._lpc(np.random.default_rng(0).standard_normal((1, self.FRAME)), order=self.ORDER, axis=-1)  # JIT now
        self.reset()

    def reset(self) -> None:
        self._x = np.zeros(self.FRAME - self.HOP)  # frame m covers [m * HOP - HOP, m * HOP + HOP)
        self._x0 = -(self.FRAME - self.HOP)
        self._n_in = 0
        self._m = 0
        self._tail = np.zeros(self.FRAME - self.HOP)
        self._skip = self.HOP  # frame 0 starts one hop before the stream: its first hop is pre-stream

    @staticmethod
    def _warp(a: np.ndarray, alpha: float) -> np.ndarray:
        """LPC polynomial with every complex pole's angle ``phi`` moved to ``phi ** alpha`` (conjugates follow)."""
        poles = np.roots(a)
        cplx = np.abs(poles.imag) > 1e-12
        phi = np.abs(np.angle(poles[cplx]))
        new_phi = np.minimum(phi**alpha, np.pi - 1e-3) * np.sign(poles[cplx].imag)
        poles[cplx] = np.abs(poles[cplx]) * np.exp(1j * new_phi)
        return np.real(np.poly(poles))

    def push(self, x: np.ndarray) -> np.ndarray:
        self._x = np.concatenate([self._x, np.asarray(x, dtype=np.float64)])
        self._n_in += len(x)
        F, H = self.FRAME, self.HOP
        t0 = time.perf_counter()
        starts = []
        while self._m * H + H <= self._n_in:
            starts.append(self._m * H - H - self._x0)
            self._m += 1
        if not starts:
            return np.zeros(0)
        frames = np.stack([self._x[s:s + F] for s in starts]) * self.win[None, :]
        energy = np.sum(frames**2, axis=1)
        active = energy > 1e-10
        coefs = np.zeros((len(frames), self.ORDER + 1))
        coefs[:, 0] = 1.0
        if active.any():
            coefs[active] = self._lpc(frames[active] + 1e-9, order=self.ORDER, axis=-1)
        t1 = time.perf_counter()
        alpha = self.alpha
        warped = [self._warp(a, alpha) if on else a for a, on in zip(coefs, active)]
        t2 = time.perf_counter()
        out = np.zeros(len(starts) * H + F - H)
        out[: F - H] = self._tail
        for i, (frame, a, a_new, on) in enumerate(zip(frames, coefs, warped, active)):
            rec = frame
            if on:
                rec = self._lfilter([1.0], a_new, self._lfilter(a, [1.0], frame))
                e_rec = float(np.sum(rec**2))
                if e_rec > 0 and np.isfinite(e_rec):
                    rec = rec * min(4.0, math.sqrt(energy[i] / e_rec))
                else:
                    rec = frame
            out[i * H:i * H + F] += rec * self.win
        n = len(starts) * H
        self._tail = out[n:].copy()
        drop = self._m * H - H - self._x0
        self._x, self._x0 = self._x[drop:], self._x0 + drop
        skip, self._skip = self._skip, 0
        self.stage_s["analysis"] += t1 - t0
        self.stage_s["model"] += t2 - t1
        self.stage_s["synthesis"] += time.perf_counter() - t2
        return out[skip:n]


# ============================================================================================= stats
@dataclass(frozen=True)
class StreamStats:
    """What ``StreamingConverter.snapshot()`` reports (times in ms, over the last ``STATS_WINDOW`` chunks).

    ``rtf`` is compute time / audio time; ``stages_ms`` is the mean compute time per chunk of each stage
    (``resample_in``, ``analysis``, ``model``, ``synthesis``, ``resample_out``) for a stacked bar.
    ``f0_hz`` is the input's F0 at the newest analysed frame and ``out_f0_hz`` the output's (0 when
    unvoiced; NaN for engines without F0). ``n_sanitized`` counts chunks whose NaN/inf samples were zeroed.
    """

    n_chunks: int = 0
    last_ms: float = 0.0
    median_ms: float = 0.0
    p99_ms: float = 0.0
    rtf: float = 0.0
    input_dbfs: float = -120.0
    f0_hz: float = float("nan")
    out_f0_hz: float = float("nan")
    latency_ms: float = 0.0
    bypass: bool = False
    n_sanitized: int = 0
    stages_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# ================================================================================ StreamingConverter
class StreamingConverter:
    """Converts a live stream chunk by chunk: ``process(chunk) -> chunk`` of the same length.

    Parameters
    ----------
    converter : VoiceConverter
        A loaded bundle (``lstm``, ``gan``, ``gmm``) or a baseline: ``identity`` streams as a passthrough
        (no delay), ``f0`` as WORLD resynthesis with the converter's F0 transform.
    cfg : StreamConfig
        ``stream_sr`` is the rate of the chunks; ``analysis_ms`` the F0 analysis window.
    lookahead_ms : float
        Future audio each frame waits for before it is analysed (latency against accuracy).
    seed : int
        Seed of the synthesizer's noise; ``reset()`` restarts it, so a re-run repeats exactly.

    Attributes
    ----------
    bypass : bool
        When set, the output is the dry input delayed by ``latency_ms`` (conversion keeps running, and a
        10 ms crossfade avoids clicks), for A/B listening. Safe to flip from any thread.

    Notes
    -----
    ``process`` and ``reset`` hold one lock and ``snapshot`` another, so a UI thread may read stats, flip
    ``bypass`` or set ``mcadams`` while an audio thread processes. Bad chunks: non-float dtypes and
    anything but a 1-D array raise ``AudioError`` (mix down with ``audio.to_mono`` first); NaN/inf
    samples are replaced by 0 and counted in ``snapshot().n_sanitized`` so one bad packet cannot
    stop a stream.
    """

    def __init__(self, converter: VoiceConverter, *, cfg: StreamConfig = StreamConfig(),
                 lookahead_ms: float = ANALYSIS_LOOKAHEAD_MS, seed: int = 0):
        if not 0.0 <= lookahead_ms <= 50.0:
            raise ConfigError(f"lookahead_ms={lookahead_ms} must be in 0..50 ms; 15 ms suits the 50 ms budget.")
        engine = None
        if converter.kind != "identity":
            engine = _WorldEngine(converter, analysis_ms=cfg.analysis_ms, lookahead_ms=lookahead_ms, seed=seed)
        self._setup(engine, cfg, name=converter.name, description=converter.description)

    # ------------------------------------------------------------------------------- constructors
    @classmethod
    def passthrough(cls, *, cfg: StreamConfig = StreamConfig()) -> StreamingConverter:
        """The input, unchanged and undelayed (the ``identity`` baseline)."""
        return cls(VoiceConverter.load("identity"), cfg=cfg)

    @classmethod
    def pitch_shift(cls, *, semitones: float | None = None, ratio: float | None = None,
                    cfg: StreamConfig = StreamConfig()) -> StreamingConverter:
        """WORLD resynthesis with F0 scaled by ``ratio`` (or ``2 ** (semitones / 12)``)."""
        if ratio is None:
            ratio = 2.0 ** ((semitones or 0.0) / 12.0)
        if not 0.25 <= ratio <= 4.0:
            raise ConfigError(f"Pitch ratio {ratio:g} is outside 0.25..4 (two octaves); choose a smaller shift.")
        return cls(VoiceConverter.load("f0", pitch_ratio=ratio), cfg=cfg)

    @classmethod
    def anonymize(cls, *, mcadams: float = MCADAMS_DEFAULT, cfg: StreamConfig = StreamConfig()) -> StreamingConverter:
        """The VoicePrivacy McAdams-coefficient anonymizer; ``mcadams`` can be changed while streaming."""
        _check_mcadams(mcadams)
        obj = cls.__new__(cls)
        obj._setup(_McAdamsEngine(mcadams), cfg, name="anonymize",
                   description=f"McAdams anonymizer (alpha {mcadams:g})")
        return obj

    def _setup(self, engine: _Engine | None, cfg: StreamConfig, *, name: str, description: str) -> None:
        self.cfg, self.name, self.description = cfg, name, description
        self._engine = engine
        self._proc_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self.bypass = False
        sr = cfg.stream_sr
        if engine is None:
            self._down = self._up = None
            self._delay = 0.0
        else:
            self._down = PolyphaseResampler(sr, engine.sr, band_hz=RESAMPLER_IN_BAND_HZ)
            self._up = PolyphaseResampler(engine.sr, sr, band_hz=RESAMPLER_OUT_BAND_HZ)
            # stream time of output sample e is e - delay: resamplers' group delays plus the engine's
            self._delay = self._down.delay + self._up.delay * sr / engine.sr + engine.delay * sr / engine.sr
        self._delay_samples = int(round(self._delay))
        self.reset()

    # -------------------------------------------------------------------------------- properties
    @property
    def latency_ms(self) -> float:
        """Algorithmic delay between input and output, in ms (0 for the passthrough)."""
        return 1000.0 * self._delay / self.cfg.stream_sr

    @property
    def latency_samples(self) -> int:
        """``latency_ms`` in stream samples, rounded."""
        return self._delay_samples

    @property
    def mcadams(self) -> float:
        """The anonymizer's McAdams coefficient (NaN for other engines)."""
        return self._engine.alpha if isinstance(self._engine, _McAdamsEngine) else float("nan")

    @mcadams.setter
    def mcadams(self, alpha: float) -> None:
        if not isinstance(self._engine, _McAdamsEngine):
            raise ConfigError(f"{self.name} is not the anonymizer; build one with StreamingConverter.anonymize().")
        _check_mcadams(alpha)
        with self._stats_lock:
            self._engine.alpha = float(alpha)
            self.description = f"McAdams anonymizer (alpha {alpha:g})"

    # ------------------------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget all audio: buffers, model state, synthesis tail and stats; the next chunk starts a new stream."""
        with self._proc_lock:
            if self._engine is not None:
                self._engine.reset()
                self._down.reset()
                self._up.reset()
                self._fifo_int = _Fifo(self._engine.fill, dtype=np.float64)
                self._fifo_out = _Fifo(0)
            self._dry = _Fifo(self._delay_samples)
            self._mix = 1.0 if self.bypass else 0.0
            with self._stats_lock:
                self._times: deque[float] = deque(maxlen=STATS_WINDOW)
                self._audio_s: deque[float] = deque(maxlen=STATS_WINDOW)
                self._stage_hist = {s: deque(maxlen=STATS_WINDOW) for s in STAGES}
                self._n_chunks = 0
                self._n_sanitized = 0
                self._level = -120.0

    def snapshot(self) -> StreamStats:
        """Current statistics, read under a lock (safe from any thread)."""
        with self._stats_lock:
            times = np.array(self._times)
            audio = float(np.sum(self._audio_s)) if self._audio_s else 0.0
            stages = {s: (1000.0 * float(np.mean(h)) if h else 0.0) for s, h in self._stage_hist.items()}
            eng = self._engine
            has_f0 = isinstance(eng, _WorldEngine)
            return StreamStats(
                n_chunks=self._n_chunks,
                last_ms=1000.0 * float(times[-1]) if times.size else 0.0,
                median_ms=1000.0 * float(np.median(times)) if times.size else 0.0,
                p99_ms=1000.0 * float(np.percentile(times, 99)) if times.size else 0.0,
                rtf=float(times.sum()) / audio if audio > 0 else 0.0,
                input_dbfs=float(self._level),
                f0_hz=eng.f0_hz if has_f0 else float("nan"),
                out_f0_hz=eng.out_f0_hz if has_f0 else float("nan"),
                latency_ms=self.latency_ms,
                bypass=bool(self.bypass),
                n_sanitized=self._n_sanitized,
                stages_ms=stages,
            )

    # ---------------------------------------------------------------------------------- process
    def _check(self, chunk: np.ndarray) -> tuple[np.ndarray, bool]:
        if not isinstance(chunk, np.ndarray):
            chunk = np.asarray(chunk)
        if chunk.ndim != 1:
            raise AudioError(
                f"Expected a mono chunk of shape (n_samples,), got shape {chunk.shape}; mix it down with "
                "audio.to_mono(chunk) (WebRTC frames: frame_to_mono) first."
            )
        if chunk.dtype.kind != "f":
            raise AudioError(
                f"Expected float samples in [-1, 1], got {chunk.dtype}; convert with audio.to_mono(chunk) first."
            )
        x = chunk.astype(np.float32, copy=True)
        finite = np.isfinite(x)
        if not finite.all():
            x[~finite] = 0.0
            return x, True
        return x, False

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Convert the next chunk of the stream.

        Parameters
        ----------
        chunk : np.ndarray, shape (n_samples,), float32, at ``cfg.stream_sr``
            Any length (20 ms = 960 samples at 48 kHz is typical).

        Returns
        -------
        np.ndarray, shape (n_samples,), float32
            Converted audio, ``latency_ms`` behind the input.

        Raises
        ------
        AudioError
            When the chunk is not a 1-D float array.
        """
        x, sanitized = self._check(chunk)
        n = len(x)
        if n == 0:
            return x
        with self._proc_lock:
            t_start = time.perf_counter()
            stage = dict.fromkeys(STAGES, 0.0)
            eng = self._engine
            if eng is None:
                y = x.copy()
            else:
                for key in eng.stage_s:
                    eng.stage_s[key] = 0.0
                xi = self._down.process(x)
                t1 = time.perf_counter()
                self._fifo_int.push(eng.push(xi))
                t2 = time.perf_counter()
                self._fifo_out.push(self._up.process(self._fifo_int.pop(len(xi))))
                y = self._fifo_out.pop(n)
                t3 = time.perf_counter()
                stage.update(eng.stage_s)
                stage["resample_in"] = t1 - t_start
                stage["resample_out"] = t3 - t2
            self._dry.push(x)
            dry = self._dry.pop(n)
            y = self._mix_bypass(y, dry)
            elapsed = time.perf_counter() - t_start
            level = dbfs(x)
            with self._stats_lock:
                self._times.append(elapsed)
                self._audio_s.append(n / self.cfg.stream_sr)
                for s in STAGES:
                    self._stage_hist[s].append(stage[s])
                self._n_chunks += 1
                self._n_sanitized += int(sanitized)
                self._level = max(-120.0, float(level))
        return y

    def _mix_bypass(self, wet: np.ndarray, dry: np.ndarray) -> np.ndarray:
        target = 1.0 if self.bypass else 0.0
        if self._mix == target:
            return (dry if target == 1.0 else wet).astype(np.float32)
        step = 1000.0 / (CROSSFADE_MS * self.cfg.stream_sr)
        g = np.clip(self._mix + np.sign(target - self._mix) * step * np.arange(1, len(wet) + 1), 0.0, 1.0)
        self._mix = float(g[-1])
        return ((1.0 - g) * wet + g * dry).astype(np.float32)


def _check_mcadams(alpha: float) -> None:
    lo, hi = MCADAMS_RANGE
    if not lo <= float(alpha) <= hi:
        raise ConfigError(f"McAdams coefficient {alpha} is outside {lo}..{hi}; VoicePrivacy uses 0.8.")


# ========================================================================================== offline
def convert_streaming(converter: VoiceConverter, y: np.ndarray, sr: int, *,
                      cfg: StreamConfig = StreamConfig()) -> tuple[np.ndarray, int]:
    """Convert a whole signal through the real-time path, in ``cfg.chunk_ms`` chunks at ``cfg.stream_sr``.

    The signal is resampled to the stream rate, fed to a fresh ``StreamingConverter`` chunk by chunk,
    flushed with silence for the latency, and the first ``latency_samples`` output samples are dropped,
    so the result lines up with the input (same length).

    Returns
    -------
    y_out : np.ndarray, shape (round(len(y) * cfg.stream_sr / sr),), float32
    sr_out : int
        ``cfg.stream_sr``.

    Raises
    ------
    AudioError
        When ``y`` is not usable speech.
    """
    validate_audio(y, sr)
    x = y.astype(np.float32)
    if sr != cfg.stream_sr:
        # FFT resampling keeps the whole band, as a microphone at the stream rate would; soxr_hq stops
        # at ~91 % of Nyquist, which alone moved a 16 kHz file's mel-cepstra by 3.6 dB MCD.
        import librosa

        x = librosa.resample(x, orig_sr=sr, target_sr=cfg.stream_sr, res_type="fft").astype(np.float32)
    stream = StreamingConverter(converter, cfg=cfg)
    d = stream.latency_samples
    step = cfg.chunk_samples
    padded = np.concatenate([x, np.zeros(d + step, dtype=np.float32)])
    out = np.concatenate([stream.process(padded[i:i + step]) for i in range(0, len(padded), step)])
    return out[d:d + len(x)].astype(np.float32), cfg.stream_sr


__all__ = ["StreamingConverter", "StreamStats", "PulseNoiseSynthesizer", "PolyphaseResampler",
           "convert_streaming", "synthesize_frames"]
