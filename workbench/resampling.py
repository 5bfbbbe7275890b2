"""Sample-exact stream plumbing: a growable FIFO and a stateful polyphase resampler."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .config import ResamplerConfig

_DEFAULT = ResamplerConfig()


class SampleFifo:
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
        Pass- and stop-band edges relative to the lower of the two Nyquist frequencies
        (``ResamplerConfig.in_band_hz`` into the model rate, ``out_band_hz`` back).
    atten_db : float
        Stop-band attenuation.
    """

    def __init__(self, in_sr: int, out_sr: int, *, band_hz: tuple[float, float] = _DEFAULT.out_band_hz,
                 atten_db: float = _DEFAULT.atten_db):
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


__all__ = ["SampleFifo", "PolyphaseResampler"]
