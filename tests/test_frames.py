"""Tests of workbench/frames.py: WebRTC audio frames <-> mono float32."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from workbench.errors import AudioError
from workbench.frames import frame_to_mono, mono_to_frame


def make_frame(channels: np.ndarray, *, fmt: str = "s16", sr: int = 48_000, pts: int = 960) -> av.AudioFrame:
    """A frame holding ``channels`` (shape (n_channels, n_samples), floats in [-1, 1]) in ``fmt``."""
    n_ch, _ = channels.shape
    dtype = {"s16": np.int16, "s32": np.int32, "flt": np.float32, "dbl": np.float64}[fmt.rstrip("p")]
    data = channels.astype(np.float64)
    if np.dtype(dtype).kind == "i":
        data = np.round(data * -float(np.iinfo(dtype).min)).clip(np.iinfo(dtype).min, np.iinfo(dtype).max)
    data = data.astype(dtype)
    arr = data if fmt.endswith("p") else data.T.reshape(1, -1)  # planar (ch, n) or interleaved (1, n * ch)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), format=fmt, layout={1: "mono", 2: "stereo"}[n_ch])
    frame.sample_rate, frame.pts, frame.time_base = sr, pts, Fraction(1, sr)
    return frame


@pytest.fixture
def stereo(rng) -> np.ndarray:
    """Two different channels of 960 samples (20 ms at 48 kHz)."""
    t = np.arange(960) / 48_000
    return np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.1 * rng.standard_normal(960).clip(-1, 1)])


def test_packed_s16_stereo_is_the_webrtc_layout(stereo):
    frame = make_frame(stereo)
    assert frame.to_ndarray().shape == (1, 1920)  # what aiortc hands the callback
    y, sr = frame_to_mono(frame)
    assert sr == 48_000 and y.shape == (960,) and y.dtype == np.float32
    np.testing.assert_allclose(y, stereo.mean(axis=0), atol=2 / 32768)


@pytest.mark.parametrize("fmt", ["s16p", "fltp", "flt", "dbl", "s32", "s32p"])
def test_other_formats_mix_down_the_same(stereo, fmt):
    y, sr = frame_to_mono(make_frame(stereo, fmt=fmt))
    np.testing.assert_allclose(y, stereo.mean(axis=0), atol=2 / 32768)


def test_mono_and_other_sizes_and_rates(rng):
    x = (0.3 * rng.standard_normal((1, 441))).clip(-1, 1)
    y, sr = frame_to_mono(make_frame(x, sr=44_100))
    assert sr == 44_100 and y.shape == (441,)
    np.testing.assert_allclose(y, x[0], atol=1 / 32768)


def test_resampling_on_request():
    t = np.arange(480) / 24_000
    frame = make_frame(0.5 * np.sin(2 * np.pi * 300 * t)[None, :], sr=24_000)
    y, sr = frame_to_mono(frame, sr=48_000)
    assert sr == 48_000 and y.shape == (960,)
    ref = 0.5 * np.sin(2 * np.pi * 300 * np.arange(960) / 48_000)
    np.testing.assert_allclose(y[100:-100], ref[100:-100], atol=0.02)  # stateless: edges ring a little


@pytest.mark.parametrize("fmt,layout", [("s16", "stereo"), ("s16p", "stereo"), ("fltp", "stereo"), ("s16", "mono"),
                                        ("flt", "mono"), ("s32", "stereo")])
def test_mono_to_frame_matches_the_frame_it_answers(stereo, fmt, layout):
    like = make_frame(stereo if layout == "stereo" else stereo[:1], fmt=fmt, pts=123_456)
    y = np.linspace(-0.5, 0.5, 960, dtype=np.float32)
    out = mono_to_frame(y, 48_000, like)
    assert (out.format.name, out.layout.name, out.sample_rate, out.samples) == (fmt, layout, 48_000, 960)
    assert out.pts == 123_456 and out.time_base == like.time_base
    assert out.to_ndarray().shape == like.to_ndarray().shape
    back, _ = frame_to_mono(out)
    np.testing.assert_allclose(back, y, atol=2 / 32768)


def test_round_trip_of_a_webrtc_frame_is_exact_to_one_lsb(stereo):
    frame = make_frame(stereo)
    y, sr = frame_to_mono(frame)
    out = mono_to_frame(y, sr, frame)
    both = out.to_ndarray().reshape(-1, 2)
    assert np.array_equal(both[:, 0], both[:, 1])  # the mono signal on both channels
    np.testing.assert_allclose(frame_to_mono(out)[0], y, atol=1 / 32768)


def test_mono_to_frame_clips_resamples_and_fits_the_size(stereo):
    like = make_frame(stereo)
    out = mono_to_frame(np.full(480, 3.0, dtype=np.float32), 24_000, like)  # too loud, other rate
    assert out.samples == 960 and out.sample_rate == 48_000
    assert out.to_ndarray().max() == 32767
    short = mono_to_frame(np.zeros(900, dtype=np.float32), 48_000, like)  # padded to the frame's size
    assert short.samples == 960


def test_bad_input_is_explained(stereo):
    with pytest.raises(AudioError, match="mono samples"):
        mono_to_frame(np.zeros((2, 960), dtype=np.float32), 48_000, make_frame(stereo))
    with pytest.raises(AudioError, match="s16, s32, flt or dbl"):
        frame_to_mono(av.AudioFrame(format="u8", layout="mono", samples=16))
