"""Tests of workbench.features: librosa agreement, F0 accuracy, mel-cepstrum round trips, framing."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal

from workbench import features
from workbench.config import FeatureConfig
from workbench.errors import AudioError, ConfigError


def harmonic_tone(f0_hz: float, sr: int, *, duration_s: float = 0.6, n_harmonics: int = 4) -> np.ndarray:
    """A steady tone with ``n_harmonics`` partials of falling amplitude, peak 0.5."""
    y = sum(librosa.tone(k * f0_hz, sr=sr, duration=duration_s) / k for k in range(1, n_harmonics + 1))
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


def formant_envelope(cfg: FeatureConfig) -> np.ndarray:
    """A vowel-like power envelope (four formants, all-pole), shape (1, n_fft // 2 + 1)."""
    poles = []
    for freq, bw in ((500, 80), (1500, 120), (2500, 160), (3500, 200)):
        r, theta = np.exp(-np.pi * bw / cfg.sr), 2 * np.pi * freq / cfg.sr
        poles += [r * np.exp(1j * theta), r * np.exp(-1j * theta)]
    _, h = scipy.signal.freqz([1.0], np.real(np.poly(poles)), worN=cfg.n_bins, fs=cfg.sr)
    return (np.abs(h) ** 2)[None, :]


# ---------------------------------------------------------------------------------------------- MFCC, mel
def test_mfcc_equals_librosa(speech, make_cfg):
    cfg = make_cfg(n_mfcc=13, n_mels=40, fmin=50.0, fmax=7000.0, hop_ms=10.0)
    expected = librosa.feature.mfcc(
        y=speech, sr=cfg.sr, n_mfcc=13, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        n_mels=40, fmin=50.0, fmax=7000.0,
    ).T
    got = features.mfcc(speech, cfg=cfg)
    assert got.shape == expected.shape == (features.n_frames(speech.size, cfg), 13)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_mfcc_with_deltas_stacks_static_first(speech, make_cfg):
    cfg = make_cfg()
    static, stacked = features.mfcc(speech, cfg=cfg), features.mfcc(speech, cfg=cfg, with_deltas=True)
    assert stacked.shape == (static.shape[0], 3 * cfg.n_mfcc)
    np.testing.assert_array_equal(stacked[:, : cfg.n_mfcc], static)


def test_mel_spectrogram_equals_librosa(speech, make_cfg):
    cfg = make_cfg(n_mels=64)
    power = librosa.feature.melspectrogram(y=speech, sr=cfg.sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                                           win_length=cfg.win_length, n_mels=64, fmin=0.0, fmax=cfg.sr / 2).T
    np.testing.assert_allclose(features.mel_spectrogram(speech, cfg=cfg, to_db=False), power, rtol=1e-4, atol=1e-7)
    db = features.mel_spectrogram(speech, cfg=cfg)
    assert db.max() == pytest.approx(0.0, abs=1e-4) and db.min() >= -80.0 - 1e-4


def test_tone_peaks_in_its_stft_bin_and_mel_band(sr, make_cfg):
    cfg = make_cfg()
    y = librosa.tone(1000.0, sr=sr, duration=0.5).astype(np.float32)
    mid = features.n_frames(y.size, cfg) // 2
    assert features.fft_frequencies(cfg)[np.argmax(features.stft_db(y, cfg=cfg)[mid])] == pytest.approx(1000, abs=16)
    centres = features.mel_frequencies(cfg)
    assert centres[np.argmax(features.mel_spectrogram(y, cfg=cfg)[mid])] == pytest.approx(1000, rel=0.05)


# -------------------------------------------------------------------------------------------------- F0
@pytest.mark.parametrize("method", ["dio", "harvest", "pyin"])
@pytest.mark.parametrize("f0_hz", [100.0, 150.0, 200.0, 300.0, 400.0])
def test_f0_of_tones_within_one_percent(sr, make_cfg, method, f0_hz):
    cfg = make_cfg(hop_ms=10.0 if method == "pyin" else 5.0)  # pYIN is slow; a coarser hop keeps it quick
    y = harmonic_tone(f0_hz, sr)
    hz, voiced = features.f0(y, cfg=cfg, method=method)
    assert hz.shape == voiced.shape == (features.n_frames(y.size, cfg),)
    assert voiced.mean() > 0.8, f"{method} marked only {voiced.mean():.0%} of a steady tone voiced"
    assert np.median(hz[voiced]) == pytest.approx(f0_hz, rel=0.01)
    assert np.all(hz[~voiced] == 0)


def test_f0_of_noise_is_mostly_unvoiced(sr, rng, make_cfg):
    y = (0.1 * rng.standard_normal(sr)).astype(np.float32)
    _, voiced = features.f0(y, cfg=make_cfg(), method="dio")
    assert voiced.mean() < 0.3


def test_unknown_f0_method_raises(speech):
    with pytest.raises(ConfigError, match="unknown"):
        features.f0(speech, method="crepe")


def test_interpolate_f0_fills_gaps_in_log_domain():
    hz = np.array([0.0, 100.0, 0.0, 400.0, 0.0])
    np.testing.assert_allclose(np.exp(features.interpolate_f0(hz)), [100, 100, 200, 400, 400])
    assert not features.interpolate_f0(np.zeros(4)).any()


# ------------------------------------------------------------------------------------------ mel-cepstrum
def test_mcep_sp_mcep_round_trip_is_exact(rng, make_cfg):
    cfg = make_cfg()
    mc = rng.standard_normal((20, cfg.mcep_order + 1)) / np.r_[1.0, np.arange(1, cfg.mcep_order + 1)]
    back = features.sp_to_mcep(features.mcep_to_sp(mc, cfg=cfg), cfg=cfg)
    np.testing.assert_allclose(back, mc, atol=1e-9)


@pytest.mark.parametrize("alpha", [0.0, 0.42])
def test_sp_mcep_sp_log_error_is_small_on_a_formant_envelope(make_cfg, alpha):
    cfg = make_cfg(mcep_alpha=alpha)
    sp = formant_envelope(cfg)
    error_db = 10.0 * np.log10(features.mcep_to_sp(features.sp_to_mcep(sp, cfg=cfg), cfg=cfg) / sp)
    limit = 1.5 if alpha else 3.0  # the mel warp spends the 24 coefficients where formants are
    assert np.sqrt(np.mean(error_db**2)) < limit
    assert np.max(np.abs(error_db)) < 4 * limit


def test_sp_mcep_sp_on_world_envelope_of_speech(speech, make_cfg):
    cfg = make_cfg()
    sp = features.world_analyze(speech, cfg=cfg).sp
    error_db = 10.0 * np.log10(features.mcep_to_sp(features.sp_to_mcep(sp, cfg=cfg), cfg=cfg) / sp)
    assert np.sqrt(np.mean(error_db**2)) < 5.0


def test_world_resynthesis_keeps_pitch(sr, make_cfg):
    cfg = make_cfg()
    y = harmonic_tone(200.0, sr)
    wf = features.world_analyze(y, cfg=cfg)
    out = features.world_synthesize(wf, cfg=cfg, n_samples=y.size)
    assert out.shape == y.shape and out.dtype == np.float32
    hz, voiced = features.f0(out, cfg=cfg)
    assert np.median(hz[voiced]) == pytest.approx(200.0, rel=0.01)


# ---------------------------------------------------------------------------------------- framing, all
@pytest.mark.parametrize(("hop_ms", "n_fft", "win_ms"), [(5.0, 1024, 25.0), (10.0, 512, 25.0), (2.5, 256, 10.0)])
def test_extract_all_has_one_frame_count(speech, make_cfg, hop_ms, n_fft, win_ms):
    cfg = make_cfg(hop_ms=hop_ms, n_fft=n_fft, win_ms=win_ms)
    fs = features.extract_all(speech, cfg=cfg)
    n = features.n_frames(speech.size, cfg)
    assert n == 1 + speech.size // cfg.hop_length
    shapes = {
        "times": (n,), "stft_db": (n, cfg.n_bins), "mel_db": (n, cfg.n_mels), "mfcc": (n, 3 * cfg.n_mfcc),
        "rms_db": (n,), "centroid_hz": (n,), "f0_hz": (n,), "voiced": (n,), "sp_db": (n, cfg.n_bins),
        "ap": (n, cfg.n_bins), "mcep": (n, cfg.mcep_order + 1),
    }
    assert {k: getattr(fs, k).shape for k in shapes} == shapes
    np.testing.assert_allclose(fs.times[1] - fs.times[0], hop_ms / 1000.0)
    assert all(np.all(np.isfinite(getattr(fs, k))) for k in shapes)


def test_extract_all_validates_audio(sr, make_cfg):
    with pytest.raises(AudioError, match="silent"):
        features.extract_all(np.zeros(sr, np.float32), cfg=make_cfg())


def test_summarize_clip(sr, make_cfg):
    cfg = make_cfg()
    y = harmonic_tone(200.0, sr, duration_s=1.0)
    stats = features.summarize_clip(y, features.extract_all(y, cfg=cfg), cfg=cfg)
    assert stats["duration (s)"] == pytest.approx(1.0)
    assert stats["median F0 (Hz)"] == pytest.approx(200.0, rel=0.01)
    assert stats["voiced (%)"] > 80
    assert stats["peak (dBFS)"] == pytest.approx(20 * np.log10(0.5), abs=0.01)
    assert stats["level (dBFS)"] < stats["peak (dBFS)"]
    assert stats["frames"] == features.n_frames(y.size, cfg)


def test_waveform_envelope_bounds_the_signal(speech, sr):
    t, lower, upper = features.waveform_envelope(speech, sr, n_points=100)
    assert t.shape == lower.shape == upper.shape == (100,)
    assert lower.min() == speech.min() and upper.max() == speech.max()
    assert np.all(lower <= upper) and np.all(np.diff(t) > 0)


# ------------------------------------------------------------------------------------------------- config
@pytest.mark.parametrize(("overrides", "match"), [
    ({"hop_ms": 30.0}, "hop_ms=30.0 must be in"),
    ({"n_fft": 1000}, "power of two"),
    ({"n_fft": 256}, "more than n_fft=256"),
    ({"fmin": 4000.0, "fmax": 3000.0}, "fmin"),
    ({"fmax": 9000.0}, "sr/2"),
    ({"n_mels": 4}, "n_mels=4"),
    ({"n_mfcc": 30, "n_mels": 24}, "n_mfcc=30"),
    ({"mcep_order": 40, "n_fft": 256, "win_ms": 10.0}, "mcep_order=40"),
    ({"mcep_alpha": 1.0}, "mcep_alpha"),
    ({"f0_method": "crepe"}, "f0_method='crepe' is unknown"),
    ({"f0_floor": 300.0, "f0_ceil": 200.0}, "f0_floor"),
    ({"sr": 1000}, "sr=1000"),
])
def test_feature_config_validation(make_cfg, overrides, match):
    with pytest.raises(ConfigError, match=match):
        make_cfg(**overrides)


def test_feature_config_derived_values_and_json(make_cfg):
    cfg = make_cfg(hop_ms=10.0, win_ms=25.0)
    assert (cfg.hop_length, cfg.win_length, cfg.n_bins, cfg.fmax_hz) == (160, 400, 513, 8000.0)
    assert FeatureConfig.from_dict({**cfg.to_dict(), "unknown_future_key": 1}) == cfg


def test_envelope_f0_holds_the_last_voiced_frame():
    hz = np.array([0.0, 0.0, 100.0, 0.0, 0.0, 120.0, 0.0])
    np.testing.assert_array_equal(features.envelope_f0(hz, cfg=FeatureConfig()), [150, 150, 100, 100, 100, 120, 120])
    np.testing.assert_array_equal(features.envelope_f0(hz[:2], cfg=FeatureConfig(), hold=90.0), [90, 90])
    np.testing.assert_array_equal(features.envelope_f0(hz, cfg=FeatureConfig(envelope_f0="world")), hz)
    with pytest.raises(ConfigError, match="envelope_f0"):
        FeatureConfig(envelope_f0="harvest")
    with pytest.raises(ConfigError, match="envelope_f0_hz"):
        FeatureConfig(envelope_f0_hz=20.0)


def test_held_envelope_f0_keeps_unvoiced_envelopes_smooth(speech, make_cfg):
    """A held F0 gives unvoiced frames a pitch-sized window instead of WORLD's 6 ms one; voiced frames are untouched."""
    cfg = make_cfg()
    held = features.world_analyze(speech, cfg=cfg)
    world = features.world_analyze(speech, cfg=FeatureConfig(**{**cfg.to_dict(), "envelope_f0": "world"}))
    voiced = held.f0 > 0
    np.testing.assert_allclose(held.sp[voiced], world.sp[voiced])
    assert (~voiced).any()
    assert not np.allclose(held.sp[~voiced], world.sp[~voiced])
