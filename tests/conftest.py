"""Shared fixtures: a seeded generator, the rate, a config factory and synthetic speech-like audio."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from workbench.config import FeatureConfig

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # page scripts import `app_pages._state`, as under `streamlit run app.py`
    sys.path.insert(0, str(ROOT))

from app_pages._bootstrap import load_srtp_first  # noqa: E402

load_srtp_first()  # as app.py does at start: a test may import TensorFlow before a page imports aiortc


def synth_speech(sr: int, *, duration_s: float = 1.0, f0_hz: float = 150.0, rng: np.random.Generator | None = None,
                 level: float = 0.5) -> np.ndarray:
    """A speech-like test signal: a harmonic tone with vibrato and syllable-rate tremolo, plus a little noise.

    Returns
    -------
    np.ndarray, shape (round(sr * duration_s),), float32, peak ``level``
    """
    rng = rng or np.random.default_rng(0)
    t = np.arange(int(round(sr * duration_s))) / sr
    inst_f0 = f0_hz * (1.0 + 0.03 * np.sin(2 * np.pi * 5.0 * t))  # 5 Hz vibrato, +-3 %
    phase = 2 * np.pi * np.cumsum(inst_f0) / sr
    y = np.zeros_like(t)
    for k in range(1, int(0.45 * sr / (1.03 * f0_hz)) + 1):  # harmonics below ~0.45 sr, falling 6 dB/octave
        y += np.sin(k * phase) / k
    y *= 0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t) ** 2  # syllable-like loudness changes
    y += 0.01 * rng.standard_normal(t.size)
    return (level * y / np.max(np.abs(y))).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def sr() -> int:
    return 16_000


@pytest.fixture
def make_cfg():
    """Factory: ``make_cfg(n_mels=40)`` gives a ``FeatureConfig``; ``make_cfg(OtherConfig, **kw)`` another config."""

    def factory(cls=FeatureConfig, /, **overrides):
        return dataclasses.replace(cls(), **overrides)

    return factory


@pytest.fixture
def speech(sr, rng) -> np.ndarray:
    """One second of synthetic speech-like audio at ``sr``."""
    return synth_speech(sr, rng=rng)


@pytest.fixture
def speech_wav(tmp_path, sr, speech) -> Path:
    """``speech`` written as a 16-bit PCM WAV file."""
    path = tmp_path / "speech.wav"
    sf.write(path, speech, sr, subtype="PCM_16")
    return path
