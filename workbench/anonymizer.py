"""The VoicePrivacy McAdams-coefficient anonymizer, streamed (LPC pole angles ``phi -> phi ** alpha``)."""

from __future__ import annotations

import math
import time

import numpy as np

from .config import McAdamsConfig
from .errors import ConfigError


def check_mcadams(alpha: float, cfg: McAdamsConfig = McAdamsConfig()) -> float:
    """``alpha`` as a float, when it lies in ``cfg.alpha_range``.

    Raises
    ------
    ConfigError
        When it does not.
    """
    lo, hi = cfg.alpha_range
    if not lo <= float(alpha) <= hi:
        raise ConfigError(f"McAdams coefficient {alpha} is outside {lo}..{hi}; VoicePrivacy uses 0.8.")
    return float(alpha)


class McAdamsEngine:
    """The VoicePrivacy McAdams anonymizer, streamed: per 20 ms frame (10 ms hop) LPC analysis, pole
    angles ``phi -> phi ** alpha``, the frame's LPC residual filtered through the new poles, overlap-add.

    Sample rate, frame length (the hop is half of it), LPC order, the starting coefficient and the
    per-frame gain limit come from ``McAdamsConfig``; ``alpha`` may be changed between calls.

    Windows are square-root periodic Hann at 50 % overlap, so ``alpha = 1`` returns the input exactly
    (delayed); each frame's output is scaled to its input frame's energy, which replaces the offline
    recipe's whole-utterance peak normalisation.
    """

    reports_f0 = False

    def __init__(self, cfg: McAdamsConfig = McAdamsConfig(), *, alpha: float | None = None):
        import librosa
        from scipy.signal import get_window, lfilter

        self._lpc, self._lfilter = librosa.lpc, lfilter
        self.cfg = cfg
        self.sr = cfg.sr
        self.FRAME, self.HOP, self.ORDER = cfg.frame_length, cfg.frame_length // 2, cfg.lpc_order
        self.alpha = cfg.alpha if alpha is None else check_mcadams(alpha, cfg)
        self.stage_s = dict.fromkeys(("analysis", "model", "synthesis"), 0.0)
        self.f0_hz = self.out_f0_hz = float("nan")
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
                    rec = rec * min(self.cfg.max_gain, math.sqrt(energy[i] / e_rec))
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




__all__ = ["McAdamsEngine", "check_mcadams"]
