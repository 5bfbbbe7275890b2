"""The WORLD streaming engine: sliding-window analysis -> the kind's ``FrameMapper`` -> ``F0Transform`` ->
``PulseNoiseSynthesizer``, one 5 ms frame at a time, at the model's rate.

Pipeline per frame ``k`` (centred on sample ``k * hop``), run once the input reaches ``k * hop + lookahead``:

1. DIO (+ StoneMask) on the last ``window_ms``, extended past its end by repeating the last pitch period
   (or mirroring, when unvoiced): DIO otherwise zeroes its last 35 ms and truncates CheapTrick's window.
2. CheapTrick at frame ``k`` (its window sized by ``features.envelope_f0``) -> mel-cepstrum -> the mapper
   (its state carried across calls), which emits frame ``k - mapper.lookahead_frames``; its rows wait until frame ``k - L``, where ``L`` is the
   longer of that lookahead and ``AnalysisConfig.voicing_delay_frames``. The converter's per-frame
   ``postfilter`` then acts on each row as offline conversion does.
3. Frame ``k - L``'s F0 is re-estimated from the same, now longer, DIO run (its voicing onset is
   clearer ``L`` frames later; a frame either analysis calls voiced is voiced; a frame periodic at the
   next frame's period, just before a voiced one, is a voicing onset) and D4C measures its aperiodicity
   with a complete window.
4. ``PulseNoiseSynthesizer`` renders the samples between the last two converted frames.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from .config import AnalysisConfig, SynthConfig
from .features import envelope_f0, mcep_to_sp, sp_to_mcep
from .vocoder import PulseNoiseSynthesizer


class WorldEngine:
    """Frame-level conversion of a stream at the model's rate.

    ``push`` returns samples in multiples of the hop; ``fill`` zeros in front of them keep the output at
    least as long as the input, and output sample ``i`` (counting the fill) renders input sample
    ``i - delay``.

    Parameters
    ----------
    converter : VoiceConverter
        Supplies ``feature_cfg``, ``mapper`` (a ``FrameMapper``) and ``f0_transform``.
    analysis : AnalysisConfig
        Window, lookahead and DIO settings of the sliding analysis.
    synth_cfg : SynthConfig
        The vocoder's settings.
    seed : int
        Seed of the vocoder's noise.
    """

    reports_f0 = True

    def __init__(self, converter, *, analysis: AnalysisConfig = AnalysisConfig(),
                 synth_cfg: SynthConfig = SynthConfig(), seed: int = 0):
        import pyworld

        self._pw = pyworld
        self.analysis = analysis
        fc = self.fc = converter.feature_cfg
        self.sr, self.hop = fc.sr, fc.hop_length
        self.mapper = converter.mapper  # built here: nothing heavy in push()
        self.f0_transform = converter.f0_transform
        self.postfilter = converter.postfilter
        # frames between analysis and output: the mapper's lookahead, or longer for a clearer voicing decision
        self.model_delay = max(self.mapper.lookahead_frames, analysis.voicing_delay_frames)
        self._extra_delay = self.model_delay - self.mapper.lookahead_frames  # mapped rows wait this many frames
        self.la = int(round(analysis.lookahead_ms * self.sr / 1000.0))
        window = int(round(analysis.window_ms * self.sr / 1000.0))
        # samples before the frame centre in the analysis buffer: a whole number of hops, so DIO's
        # frame grid (0, hop, 2 hop, ... from the buffer start) lands on the stream's frame centres
        self.ctx = max(self.hop * (self.model_delay + 8), -(-(window - self.la - 1) // self.hop) * self.hop)
        self.extend = int(round(analysis.extend_ms * self.sr / 1000.0))
        self._tail = int(round(0.04 * self.sr))  # 40 ms: two periods of a 50 Hz voice
        self.synth = PulseNoiseSynthesizer(fc, seed=seed, synth_cfg=synth_cfg)
        # leak per frame of the running power sums that match the output's level to the source's
        self._level_leak = float(np.exp(-fc.hop_ms / 1000.0 / synth_cfg.level_time_s)) if synth_cfg.level_time_s else 0.0
        self.fill = self.la + self.hop * (self.model_delay + 1)
        self.delay = self.fill + self.synth.delay
        self.stage_s = dict.fromkeys(("analysis", "model", "synthesis"), 0.0)
        self.reset()

    def reset(self) -> None:
        L = self.model_delay
        self._x = np.zeros(self.ctx)  # samples from absolute index self._x0 on (zeros before the stream)
        self._x0 = -self.ctx
        self._n_in = 0
        self._k = 0  # next frame to analyse
        self._f0_hold = 0.0  # F0 of the last analysed frame (chooses the buffer extension)
        self._env_hold: float | None = None  # F0 sizing CheapTrick's window on unvoiced frames (features.envelope_f0)
        self._f0a = deque([0.0] * L, maxlen=L + 1)  # stage-A F0 of frames k - L .. k
        self._mc_src = deque(maxlen=L + 1)  # source mel-cepstra of frames k - L .. k
        self._map_state = self.mapper.initial_state()
        self._mapped_wait: np.ndarray | None = None  # mapped rows delayed by _extra_delay frames
        self._f0_state = self.f0_transform.initial_state()
        self.f0_hz = 0.0
        self.out_f0_hz = 0.0
        self._power = np.zeros(2)  # leaky sums of source and converted envelope power
        self.synth.reset()

    # --------------------------------------------------------------------------------- analysis
    def _periodicity(self, x: np.ndarray) -> tuple[float, int]:
        """Peak normalised autocorrelation of ``x`` over the lags of ``f0_floor..f0_ceil``, and its lag.

        Hand-written because neither librosa nor pyworld exposes this measure for a 40 ms buffer cheaply:
        ``librosa.yin`` frames and pads the signal, DIO only returns its final voicing decision.
        """
        x = x - x.mean()
        n = len(x)
        lo, hi = int(self.sr / self.fc.f0_ceil), min(int(self.sr / self.fc.f0_floor), n // 2)
        if hi <= lo:
            return 0.0, 0
        spec = np.fft.rfft(x, 2 * n)
        r = np.fft.irfft(spec * np.conj(spec))[: hi + 1]
        e = np.concatenate([[0.0], np.cumsum(x * x)])
        lags = np.arange(lo, hi + 1)
        # energies of the two overlapping parts x[L:] and x[:-L]
        norm = np.sqrt((e[n] - e[lags]) * e[n - lags])
        c = np.where(norm > 1e-12, r[lags] / np.maximum(norm, 1e-12), 0.0)
        i = int(np.argmax(c))
        return float(c[i]), int(lags[i])

    def _onset_f0(self, buf: np.ndarray, centre: int, f0_next: float) -> float:
        """F0 of a frame DIO calls unvoiced just before one it calls voiced, when the frame is periodic at
        the next frame's period (a voicing onset DIO confirms only once a whole segment follows); else 0."""
        half = self._tail // 2
        seg = buf[max(centre - half, 0):centre + half]
        c, lag = self._periodicity(seg)
        period = self.sr / f0_next
        if c >= self.analysis.onset_periodicity and abs(lag - period) <= 0.1 * period:
            return self.sr / lag
        return 0.0

    def _extended(self, seg: np.ndarray) -> np.ndarray:
        """The buffer plus a plausible continuation: the last pitch period repeated, or a mirror image.

        The period is the last frame's F0 or, at a voicing onset that DIO has not confirmed yet, the
        buffer tail's own autocorrelation peak (when above ``AnalysisConfig.onset_periodicity``): a mirror
        image of a voice onset reads as unvoiced for another 2-6 frames.
        """
        n = self.extend
        period = int(round(self.sr / self._f0_hold)) if self._f0_hold > 0 else 0
        if not period and self.analysis.onset_periodicity < 1.0:
            c, lag = self._periodicity(seg[-self._tail:])
            period = lag if c >= self.analysis.onset_periodicity else 0
        if period:
            tail = np.tile(seg[-period:], n // period + 1)[:n]
        else:
            tail = seg[-2:-n - 2:-1]
        return np.concatenate([seg, tail])

    def _analyse(self, k: int) -> tuple[np.ndarray, float, float, np.ndarray | None]:
        """Stage A for frame ``k`` (mel-cepstrum, F0) and stage B for frame ``j = k - L`` (F0, aperiodicity).

        D4C runs for every frame: measuring even frames only and averaging the odd ones (half the cost)
        raised the f0 baseline's streaming V/UV error by 0.013 (awb -> slt).
        """
        pw, fc, hop, L, an = self._pw, self.fc, self.hop, self.model_delay, self.analysis
        start = k * hop - self.ctx - self._x0
        seg = self._x[start:start + self.ctx + self.la + 1]
        buf = self._extended(seg)
        f0_dio, t = pw.dio(buf, self.sr, f0_floor=fc.f0_floor, f0_ceil=fc.f0_ceil, frame_period=fc.hop_ms,
                           speed=an.dio_speed, channels_in_octave=an.dio_channels)
        ia = self.ctx // hop
        j = k - L
        rows = [ia] if L == 0 else [ia, ia - L]
        f0_sm = pw.stonemask(buf, np.ascontiguousarray(f0_dio[rows]), np.ascontiguousarray(t[rows]), self.sr)
        fa = float(f0_sm[0])
        f_env = envelope_f0(f0_sm[:1], cfg=fc, hold=self._env_hold)
        self._env_hold = float(f_env[0]) if fc.envelope_f0 == "held" else None
        sp = pw.cheaptrick(buf, f_env, t[ia:ia + 1].copy(), self.sr, f0_floor=fc.f0_floor, fft_size=fc.n_fft)
        self._f0a.append(fa)  # now holds stage-A F0 of frames k - L .. k
        self._f0_hold = fa
        mc = sp_to_mcep(sp, cfg=fc)[0]
        if j < 0:
            return mc, fa, 0.0, None
        # either analysis calling frame j voiced makes it voiced
        fb = float(f0_sm[-1]) if f0_sm[-1] > 0 or self._f0a[0] <= 0 else self._f0a[0]
        if fb <= 0 and L and f0_dio[ia - L + 1] > 0 and an.onset_periodicity < 1.0:
            fb = self._onset_f0(buf, (ia - L) * hop, float(f0_dio[ia - L + 1]))
        row = ia - L
        ap = pw.d4c(buf, np.array([fb]), t[row:row + 1].copy(), self.sr, fft_size=fc.n_fft)[0]
        return mc, fa, fb, ap

    def _level_gain(self, p_src: np.ndarray, p_out: np.ndarray) -> np.ndarray:
        """Power gain per frame that matches the converted level to the source's over ``level_time_s``.

        c0 alone keeps the level only when the envelope's shape does not move power. Offline conversion
        rescales the whole utterance once; live, the ratio of two leaky power sums does the same over the
        last seconds, frame by frame (so it does not depend on how the stream is chunked) and leaves the
        loudness differences between phones as they are.
        """
        gain = np.empty(len(p_src))
        acc = self._power
        for i, (ps, po) in enumerate(zip(p_src, p_out)):
            acc = self._level_leak * acc + (ps, po)
            gain[i] = acc[0] / max(acc[1], 1e-30)
        self._power = acc
        return np.clip(gain, 1e-2, 1e2)

    # ------------------------------------------------------------------------------------- push
    def push(self, x: np.ndarray) -> np.ndarray:
        """Add samples at ``sr``; returns the newly rendered samples (a multiple of the hop)."""
        self._x = np.concatenate([self._x, np.asarray(x, dtype=np.float64)])
        self._n_in += len(x)
        hop = self.hop
        t0 = time.perf_counter()
        new_mc, new_fa, out_f0, out_ap, out_src = [], [], [], [], []
        while self._k * hop + self.la < self._n_in:
            mc, fa, fb, ap = self._analyse(self._k)
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
        mapped, self._map_state = self.mapper.map(np.array(new_mc), np.array(new_fa), self._map_state)
        if self._extra_delay:
            if self._mapped_wait is None:  # pre-stream rows (dropped below)
                self._mapped_wait = np.zeros((self._extra_delay, mapped.shape[1]))
            queue = np.vstack([self._mapped_wait, mapped])
            mapped, self._mapped_wait = queue[: len(mapped)], queue[len(mapped):]
        mapped = mapped[len(mapped) - len(out_f0):]  # rows of frames k - L >= 0
        t2 = time.perf_counter()
        self.stage_s["model"] += t2 - t1
        if not out_f0:
            return np.zeros(0)
        src = np.array(out_src)
        mc_out = self.postfilter.apply(np.concatenate([src[:, :1], mapped], axis=1))  # c0 (loudness) from the source
        sp = mcep_to_sp(np.vstack([mc_out, src]), cfg=self.fc)
        sp, sp_src = sp[: len(src)], sp[len(src):]
        gain = self._level_gain(sp_src.mean(axis=1), sp.mean(axis=1))
        f0_out, self._f0_state = self.f0_transform.apply(np.array(out_f0), self._f0_state)
        self.out_f0_hz = float(f0_out[-1])
        y = self.synth.push(f0_out, sp * gain[:, None], np.array(out_ap))
        self.stage_s["synthesis"] += time.perf_counter() - t2
        return y


__all__ = ["WorldEngine"]
