"""Preprocessing steps and the PESQ/STOI measurements around them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import synth_speech

from workbench import preprocess as pp
from workbench.errors import AudioError, ConfigError

SR = 16_000


@pytest.fixture
def padded(rng):
    """2 s of speech-like sound between 0.5 s of near-silence on each side."""
    y = synth_speech(SR, duration_s=2.0, rng=rng)
    quiet = lambda: 1e-4 * rng.standard_normal(SR // 2).astype(np.float32)  # noqa: E731
    return np.concatenate([quiet(), y, quiet()])


def test_add_noise_hits_the_requested_snr(rng):
    y = synth_speech(SR, duration_s=2.0, rng=rng)
    for snr in (0.0, 10.0, 25.0):
        noise = pp.add_noise(y, snr_db=snr, seed=3) - y
        measured = 10 * np.log10(np.mean(y.astype(float) ** 2) / np.mean(noise.astype(float) ** 2))
        assert measured == pytest.approx(snr, abs=0.01)
    assert np.array_equal(pp.add_noise(y, snr_db=5, seed=1), pp.add_noise(y, snr_db=5, seed=1))


def test_trim_removes_edge_silence_only(padded):
    out = pp.trim_silence(padded, SR, pad_ms=50)
    assert out.size / SR == pytest.approx(2.1, abs=0.05)  # 2 s of sound + 2 x 50 ms padding


def test_vad_shortens_long_pauses(rng):
    a, b = synth_speech(SR, duration_s=1.0, rng=rng), synth_speech(SR, duration_s=1.0, f0_hz=200, rng=rng)
    y = np.concatenate([a, np.zeros(SR, np.float32), b])  # a 1 s pause
    out = pp.keep_speech(y, SR, keep_pause_ms=200)
    assert out.size / SR == pytest.approx(2.2, abs=0.05)
    short = np.concatenate([a, np.zeros(SR // 10, np.float32), b])  # a 100 ms pause is kept as it is
    assert pp.keep_speech(short, SR, keep_pause_ms=200).size == pytest.approx(short.size, abs=SR // 50)


def test_loudness_normalisation_reaches_target(rng):
    y = 0.05 * synth_speech(SR, duration_s=2.0, rng=rng)
    for target in (-30.0, -23.0, -16.0):
        assert pp.loudness_lufs(pp.normalize_lufs(y, SR, target_lufs=target), SR) == pytest.approx(target, abs=0.1)
    loud = pp.normalize_lufs(y, SR, target_lufs=-5.0)
    assert np.max(np.abs(loud)) <= 0.99 + 1e-6  # the peak limit wins over the target


def test_pre_emphasis_matches_its_difference_equation():
    y = np.array([1.0, 0.5, -0.25, 0.0], np.float32)
    assert np.allclose(pp.pre_emphasis(y, coef=0.9), [1.0, 0.5 - 0.9, -0.25 - 0.45, 0.225])


def test_denoise_improves_pesq_and_stoi():
    from conftest import ROOT

    from workbench.audio import load_audio

    clean, _ = load_audio(ROOT / "sample_audio" / "slt" / "s003.flac", sr=SR)
    noisy = pp.add_noise(clean, snr_db=20.0, seed=0)
    cleaned = pp.denoise(noisy, SR, strength=0.75)
    before, after = pp.quality_scores(clean, noisy, SR), pp.quality_scores(clean, cleaned, SR)
    assert cleaned.size == noisy.size
    assert after["pesq_wb"] > before["pesq_wb"] + 0.1  # measured 1.10 -> 1.24
    assert after["stoi"] > before["stoi"]  # 0.954 -> 0.957


def test_quality_of_a_clean_signal_is_the_maximum(rng):
    y = synth_speech(SR, duration_s=2.0, rng=rng)
    q = pp.quality_scores(y, y, SR)
    assert q["pesq_wb"] == pytest.approx(4.64, abs=0.01) and q["stoi"] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(AudioError, match="at least 0.25 s"):
        pp.quality_scores(y[:1000], y[:1000], SR)


def test_chain_follows_the_config(padded):
    assert np.array_equal(pp.preprocess(padded, SR, cfg=pp.PreprocessConfig(trim=False, normalize=False)), padded)
    out = pp.preprocess(padded, SR, cfg=pp.PreprocessConfig(target_lufs=-20.0))
    assert out.size < padded.size and pp.loudness_lufs(out, SR) == pytest.approx(-20.0, abs=0.2)
    assert pp.PreprocessConfig(trim=False, normalize=False).is_identity and not pp.PreprocessConfig().is_identity


def test_config_validation():
    with pytest.raises(ConfigError, match="target_lufs"):
        pp.PreprocessConfig(target_lufs=3.0)
    with pytest.raises(ConfigError, match="pre_emphasis"):
        pp.PreprocessConfig(pre_emphasis=1.0)
    cfg = pp.PreprocessConfig(denoise=True)
    assert pp.PreprocessConfig.from_dict(dataclasses.asdict(cfg)) == cfg


def test_silent_input_is_refused():
    with pytest.raises(AudioError, match="silent"):
        pp.preprocess(np.zeros(SR, np.float32), SR)
