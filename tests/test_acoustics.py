"""Simulated rooms and microphones: each step does what its numbers say."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synth_speech

from workbench.acoustics import (
    RecordingConditions,
    band_limit,
    peaking_eq,
    reverberate,
    room_impulse_response,
    simulate_recording,
)
from workbench.errors import AudioError, ConfigError

SR = 16_000


def _tone(hz: float, seconds: float = 1.0) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(int(SR * seconds)) / SR).astype(np.float32)


def _gain_db(before: np.ndarray, after: np.ndarray) -> float:
    mid = slice(len(before) // 4, 3 * len(before) // 4)  # away from filter start-up
    return float(20 * np.log10(np.std(after[mid]) / np.std(before[mid])))


@pytest.mark.parametrize("rt60_s", [0.2, 0.6])
def test_impulse_response_decays_60_db_in_rt60(rt60_s):
    h = room_impulse_response(sr=SR, rt60_s=rt60_s, drr_db=0.0, rng=np.random.default_rng(0))
    tail = h[1:].astype(np.float64)
    edc = 10 * np.log10(np.cumsum(tail[::-1] ** 2)[::-1] / np.sum(tail**2))  # Schroeder backward integral
    t = np.arange(tail.size) / SR
    fit = (edc > -35) & (edc < -5)  # T30-style fit, extrapolated to 60 dB
    slope = np.polyfit(t[fit], edc[fit], 1)[0]
    assert -60.0 / slope == pytest.approx(rt60_s, rel=0.1)


@pytest.mark.parametrize("drr_db", [-3.0, 6.0])
def test_impulse_response_has_the_requested_direct_to_reverberant_ratio(drr_db):
    h = room_impulse_response(sr=SR, rt60_s=0.4, drr_db=drr_db, rng=np.random.default_rng(1)).astype(np.float64)
    assert h[0] == 1.0
    assert 10 * np.log10(h[0] ** 2 / np.sum(h[1:] ** 2)) == pytest.approx(drr_db, abs=1e-3)


def test_reverberation_keeps_length_and_level_and_smears_time(rng):
    y = synth_speech(SR, duration_s=1.0, rng=rng)
    h = room_impulse_response(sr=SR, rt60_s=0.5, drr_db=0.0, rng=rng)
    out = reverberate(y, h)
    assert out.shape == y.shape and out.dtype == np.float32
    assert np.sqrt(np.mean(out.astype(float) ** 2)) == pytest.approx(np.sqrt(np.mean(y.astype(float) ** 2)), rel=1e-4)
    click = np.zeros(SR, np.float32)
    click[100] = 1.0
    echo = reverberate(click, h)
    late = np.sum(echo[100 + SR // 20:] ** 2) / np.sum(echo**2)  # half the energy is tail, falling 6 dB in 50 ms
    assert late == pytest.approx(0.5 * 10 ** (-6 / 10), rel=0.25)


def test_band_limit_passes_the_band_and_cuts_outside():
    low, mid, high = _tone(60.0), _tone(1_000.0), _tone(6_000.0)
    kw = {"highpass_hz": 200.0, "lowpass_hz": 3_400.0}
    assert abs(_gain_db(mid, band_limit(mid, SR, **kw))) < 0.5
    assert _gain_db(low, band_limit(low, SR, **kw)) < -30
    assert _gain_db(high, band_limit(high, SR, **kw)) < -30
    with pytest.raises(ConfigError, match="highpass_hz"):
        band_limit(mid, SR, highpass_hz=4_000.0, lowpass_hz=3_000.0)


def test_peaking_eq_boosts_its_centre_only():
    centre, far = _tone(1_000.0), _tone(6_000.0)
    assert _gain_db(centre, peaking_eq(centre, SR, centre_hz=1_000.0, gain_db=6.0)) == pytest.approx(6.0, abs=0.2)
    assert _gain_db(centre, peaking_eq(centre, SR, centre_hz=1_000.0, gain_db=-6.0)) == pytest.approx(-6.0, abs=0.2)
    assert abs(_gain_db(far, peaking_eq(far, SR, centre_hz=300.0, gain_db=6.0))) < 0.5


def test_simulate_recording_is_seeded_keeps_length_and_sets_the_level(rng):
    y = synth_speech(SR, duration_s=1.5, rng=rng)
    always = RecordingConditions(p_reverb=1.0, p_noise=1.0, p_band=1.0, p_eq=1.0, level_dbfs=(-30.0, -20.0))
    a, cond = simulate_recording(y, SR, cfg=always, rng=np.random.default_rng(7))
    b, cond_b = simulate_recording(y, SR, cfg=always, rng=np.random.default_rng(7))
    c, _ = simulate_recording(y, SR, cfg=always, rng=np.random.default_rng(8))
    assert a.shape == y.shape and np.array_equal(a, b) and cond == cond_b and not np.array_equal(a, c)
    assert {"rt60_s", "drr_db", "eq_hz", "eq_db", "highpass_hz", "lowpass_hz", "snr_db", "noise"} <= set(cond)
    assert -30.0 <= cond["level_dbfs"] <= -20.0
    assert 20 * np.log10(np.sqrt(np.mean(a.astype(float) ** 2))) == pytest.approx(cond["level_dbfs"], abs=0.05)
    clean, cond_clean = simulate_recording(y, SR, cfg=RecordingConditions(p_reverb=0, p_noise=0, p_band=0, p_eq=0),
                                           rng=np.random.default_rng(7))
    assert set(cond_clean) == {"level_dbfs"}
    gain = np.sqrt(np.mean(clean.astype(float) ** 2) / np.mean(y.astype(float) ** 2))
    np.testing.assert_allclose(clean, y * gain, atol=1e-6)  # only the level changed


def test_recording_conditions_validate():
    with pytest.raises(ConfigError, match="probability"):
        RecordingConditions(p_noise=1.5)
    with pytest.raises(ConfigError, match="low <= high"):
        RecordingConditions(snr_db=(30.0, 10.0))
    with pytest.raises(ConfigError, match="0 dBFS"):
        RecordingConditions(level_dbfs=(-10.0, 3.0))
    with pytest.raises(AudioError):
        simulate_recording(np.zeros((2, 100), np.float32), SR, rng=np.random.default_rng(0))
