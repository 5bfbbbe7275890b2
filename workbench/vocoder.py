"""A WORLD-style pulse/noise vocoder that renders frames as they arrive (the streaming synthesiser)."""

from __future__ import annotations

import numpy as np

from .config import FeatureConfig, SynthConfig


def _min_phase(log_amp: np.ndarray, n_fft: int) -> np.ndarray:
    """Minimum-phase spectra from log amplitudes ``(n, n_fft // 2 + 1)`` by cepstral folding."""
    c = np.fft.irfft(log_amp, n=n_fft, axis=-1)
    c[:, 1:n_fft // 2] *= 2.0
    c[:, n_fft // 2 + 1:] = 0.0
    return np.exp(np.fft.rfft(c, axis=-1))


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
    synth_cfg : SynthConfig
        ``fft_size``: length of each pulse response; the ``cfg.n_fft`` envelopes are sampled down to it
        (a smooth envelope loses nothing, and it halves the cost against WORLD's 1024). ``pre_samples``:
        this synthesiser's delay. ``unvoiced_f0_hz``: the pulse rate in unvoiced stretches.
    """

    def __init__(self, cfg: FeatureConfig = FeatureConfig(), *, seed: int = 0, synth_cfg: SynthConfig = SynthConfig()):
        self.cfg, self.seed, self.synth_cfg = cfg, seed, synth_cfg
        self.sr, self.hop = cfg.sr, cfg.hop_length
        self.n_fft = min(synth_cfg.fft_size, cfg.n_fft)
        self._step = cfg.n_fft // self.n_fft
        self.unvoiced_f0 = synth_cfg.unvoiced_f0_hz
        self.delay = synth_cfg.pre_samples  # output sample o renders time o - delay
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
        self._last: tuple | None = None  # the previous push's last sample: F0, voicing, envelope weights

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
        f0_s = np.where(vuv_s, f0_s, self.unvoiced_f0)

        phase = self._phase + np.cumsum(f0_s / sr)
        before = np.concatenate([[self._phase], phase[:-1]])
        crossing = np.flatnonzero(np.floor(phase) > np.floor(before))  # cycle ends between s - 1 and s
        self._phase = float(phase[-1] - np.floor(phase[-1]))

        out = np.zeros(n + n_fft)
        out[: len(self._tail)] += self._tail
        if len(crossing):
            s = crossing
            frac = (np.ceil(before[s]) - before[s]) / (phase[s] - before[s])  # crossing at s - 1 + frac
            # each pulse takes F0, voicing and envelope of the sample before its crossing (WORLD's pulse
            # index); for a crossing at this push's first sample that sample was the previous push's last,
            # kept in self._last, so the output does not depend on how frames are grouped into pushes
            i = np.maximum(s - 1, 0)
            f0_p, vuv_p, lo_p, w_p = f0_s[i], vuv_s[i], lo[i] + 1, w[i]
            sp_ext, ap_ext = np.vstack([sp[:1], sp]), np.vstack([ap[:1], ap])
            if self._last is not None and s[0] == 0:
                f0_p[0], vuv_p[0], w_p[0], sp_ext[0], ap_ext[0] = self._last
                lo_p[0] = 0
            self._add_pulses(out, s, frac, f0_p, vuv_p, lo_p, w_p, sp_ext, ap_ext)
        self._last = (f0_s[-1], vuv_s[-1], w[-1], sp[n_blocks - 1], ap[n_blocks - 1])
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
                      seed: int = 0, synth_cfg: SynthConfig = SynthConfig()) -> np.ndarray:
    """Render a whole utterance with ``PulseNoiseSynthesizer``, aligned like ``world_synthesize``.

    Returns
    -------
    np.ndarray, shape (hop * n_frames,), float32
    """
    synth = PulseNoiseSynthesizer(cfg, seed=seed, synth_cfg=synth_cfg)
    n = len(f0)
    pad = 2 + -(-synth.delay // cfg.hop_length)
    f0x = np.concatenate([f0, np.zeros(pad)])
    spx = np.vstack([sp, np.repeat(sp[-1:], pad, axis=0)])
    apx = np.vstack([ap, np.ones((pad, ap.shape[1]))])
    y = synth.push(f0x, spx, apx)
    return y[synth.delay:synth.delay + n * cfg.hop_length].astype(np.float32)



__all__ = ["PulseNoiseSynthesizer", "synthesize_frames"]
