"""The recording-quality coach: measurements and the advice they trigger."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synth_speech

from workbench import coach
from workbench.preprocess import add_noise

SR = 16_000


def with_pauses(rng, *, f0_hz=150.0):
    """Three 0.6 s 'words' with 0.2 s pauses between them (a quiet room: noise 70 dB down)."""
    words = [synth_speech(SR, duration_s=0.6, f0_hz=f0_hz, rng=rng, level=0.5) for _ in range(3)]
    pause = lambda: 1.5e-4 * rng.standard_normal(SR // 5).astype(np.float32)  # noqa: E731
    return np.concatenate([words[0], pause(), words[1], pause(), words[2]]).astype(np.float32)


@pytest.fixture
def clean(rng):
    return with_pauses(rng)


def topics(report, severity=None):
    return {a.topic for a in report.advice if severity is None or a.severity == severity}


def test_clean_clip_is_a_good_take(clean):
    r = coach.assess_clip(clean, SR)
    assert r.worst == "ok" and topics(r) == {"all"}
    assert r.duration_s == pytest.approx(2.2) and r.snr_db > 40
    assert np.median(r.f0_hz) == pytest.approx(150.0, rel=0.03)
    assert r.peak_dbfs == pytest.approx(20 * np.log10(0.5), abs=0.01)


def test_noise_lowers_snr_and_asks_for_a_quieter_room(clean):
    snrs = [coach.assess_clip(add_noise(clean, snr_db=s, seed=0), SR).snr_db for s in (30, 10, 0)]
    assert snrs[0] > snrs[1] > snrs[2]
    noisy = coach.assess_clip(add_noise(clean, snr_db=0, seed=0), SR)
    assert "noise" in topics(noisy, "bad") and "quieter room" in noisy.advice[0].text


def test_clipping_and_level_advice(clean):
    clipped = coach.assess_clip(np.clip(clean * 6, -1, 1), SR)
    assert "clipping" in topics(clipped, "bad") and clipped.clip_fraction > 0.01
    quiet = coach.assess_clip(clean * 0.005, SR)
    assert "level" in topics(quiet) and any("move closer" in a.text for a in quiet.advice)


def test_edge_silence_is_measured(clean, rng):
    pad = 1e-5 * rng.standard_normal(int(1.5 * SR)).astype(np.float32)
    r = coach.assess_clip(np.concatenate([pad, clean, pad[: SR // 2]]), SR)
    assert r.lead_silence_s == pytest.approx(1.5, abs=0.03) and r.trail_silence_s == pytest.approx(0.5, abs=0.03)
    assert any("start speaking sooner" in a.text for a in r.advice)


def test_short_clip_is_flagged(clean):
    assert "duration" in topics(coach.assess_clip(clean[: SR // 2], SR), "bad")


def test_voice_report_combines_clips(rng):
    reports = [coach.assess_clip(with_pauses(rng, f0_hz=f), SR) for f in (120.0, 180.0)]
    v = coach.assess_voice(reports)
    assert v.n_clips == 2 and v.f0_hz.size == sum(r.f0_hz.size for r in reports)
    assert 110 < v.f0_range_hz[0] < 130 and 170 < v.f0_range_hz[1] < 195
    assert "amount" in topics(v)  # 4.4 s is far from the 30 s a model needs
    assert coach.assess_voice([]).advice[0].severity == "bad"
