"""WebRTC audio frames <-> mono float32 samples: the only place that knows about ``av.AudioFrame`` layouts.

Browsers send Opus, which aiortc decodes to 48 kHz, packed (interleaved) ``s16``, stereo frames of 960
samples: ``frame.to_ndarray()`` then has shape ``(1, 1920)`` (L R L R ...), even from a mono microphone.
Other sources can deliver planar formats (``fltp``, ``s16p``: shape ``(channels, samples)``), mono, other
rates or other frame sizes. ``frame_to_mono`` reads any of them into ``(n_samples,)`` float32 in [-1, 1];
``mono_to_frame`` writes samples back into a new frame with exactly the format, layout, rate, size and
timestamps of the frame it answers, which is what the WebRTC sender expects.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from .audio import to_mono
from .errors import AudioError

# sample formats (planar or packed) -> numpy dtype; integers are scaled by their full-scale value
_DTYPES = {"s16": np.int16, "s32": np.int32, "flt": np.float32, "dbl": np.float64}


def _base_format(frame: av.AudioFrame) -> str:
    return frame.format.name.rstrip("p")  # 's16p' -> 's16', 'fltp' -> 'flt'


def _resample(y: np.ndarray, orig_sr: int, target_sr: int, n_out: int | None = None) -> np.ndarray:
    """Stateless polyphase resampling of one frame (only used when a source sends an unusual rate)."""
    if orig_sr != target_sr and len(y):
        from scipy.signal import resample_poly

        ratio = Fraction(int(target_sr), int(orig_sr))
        y = resample_poly(y.astype(np.float64), ratio.numerator, ratio.denominator)
    if n_out is not None and len(y) != n_out:  # rounding: pad with the last sample or trim
        y = np.pad(y, (0, max(0, n_out - len(y))), mode="edge" if len(y) else "constant")[:n_out]
    return np.asarray(y, dtype=np.float32)


def frame_to_mono(frame: av.AudioFrame, *, sr: int | None = None) -> tuple[np.ndarray, int]:
    """Mix an audio frame down to mono float32.

    Parameters
    ----------
    frame : av.AudioFrame
        Packed (``s16``, ``flt``, ...) or planar (``s16p``, ``fltp``, ...) samples, any channel count,
        rate and size.
    sr : int, optional
        Resample to this rate (per frame, without state: meant for rare odd-rate sources). By default
        the frame's own rate is kept.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32, in [-1, 1]
    sr : int
        Rate of ``y`` in Hz.

    Raises
    ------
    AudioError
        When the frame's sample format is not one numpy can hold.
    """
    n_ch = len(frame.layout.channels)
    base = _base_format(frame)
    if base not in _DTYPES:
        raise AudioError(f"Expected an audio frame in s16, s32, flt or dbl, got {frame.format.name}; "
                         "resample it with av.AudioResampler(format='s16') first.")
    a = frame.to_ndarray()
    if frame.format.is_planar:
        a = a.reshape(n_ch, -1)  # (channels, samples)
    else:
        a = a.reshape(-1, n_ch).T  # interleaved (1, samples * channels) -> (channels, samples)
    y = to_mono(a, channels_first=True) if n_ch > 1 else to_mono(a[0])
    frame_sr = int(frame.sample_rate)
    if sr is not None and sr != frame_sr:
        return _resample(y, frame_sr, sr), int(sr)
    return y, frame_sr


def mono_to_frame(y: np.ndarray, sr: int, like: av.AudioFrame) -> av.AudioFrame:
    """Write mono samples into a new frame shaped like ``like``.

    The result has ``like``'s sample format, channel layout (the mono signal is copied to every
    channel), rate, number of samples, ``pts`` and ``time_base``. Samples are clipped to [-1, 1].

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float
        The samples to send, at ``sr`` Hz. Resampled to ``like.sample_rate`` when the rates differ;
        trimmed or padded (with the last sample) to ``like.samples``.
    sr : int
        Rate of ``y`` in Hz.
    like : av.AudioFrame
        The frame this one answers.

    Returns
    -------
    av.AudioFrame

    Raises
    ------
    AudioError
        When ``y`` is not 1-D or ``like`` has a sample format numpy cannot hold.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise AudioError(f"Expected mono samples of shape (n_samples,), got shape {y.shape}; use frame_to_mono first.")
    base = _base_format(like)
    if base not in _DTYPES:
        raise AudioError(f"Cannot write a {like.format.name} frame; expected s16, s32, flt or dbl.")
    n, n_ch = like.samples, len(like.layout.channels)
    y = np.clip(_resample(y, int(sr), int(like.sample_rate), n_out=n), -1.0, 1.0)
    dtype = np.dtype(_DTYPES[base])
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        y = np.clip(np.round(y.astype(np.float64) * -float(info.min)), info.min, info.max)
    samples = y.astype(dtype)
    if like.format.is_planar:
        arr = np.repeat(samples[None, :], n_ch, axis=0)  # (channels, samples)
    else:
        arr = np.repeat(samples, n_ch)[None, :]  # interleaved (1, samples * channels)
    out = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), format=like.format.name, layout=like.layout.name)
    out.sample_rate = like.sample_rate
    out.pts = like.pts
    out.time_base = like.time_base
    return out


__all__ = ["frame_to_mono", "mono_to_frame"]
