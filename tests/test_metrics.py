"""Objective measures: MCD's formula, F0 errors in cents, V/UV, GV, and the consent records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.consent import check_consent, read_consent
from workbench.errors import ConsentError, DataError
from workbench.evaluation import format_table
from workbench.metrics import (
    log_spectral_distance,
    mel_cepstral_distortion,
    score_pair,
    summarize,
    word_error_rate,
)


def _utterance(rng, n=300, dim=25):
    mc = np.cumsum(rng.normal(0, 0.05, (n, dim)), axis=0)
    mc[:, 0] = 2.0
    mc[:20, 0] = mc[-20:, 0] = -8.0  # silence at the ends
    t = np.arange(n)
    contour = 120.0 * 2 ** (0.3 * np.sin(2 * np.pi * t / 90.0))  # an intonation contour, +-0.3 octave
    f0 = np.where((t > 40) & (t < 260), contour, 0.0)
    return mc, f0


def test_mcd_formula():
    a = np.zeros((3, 25))
    b = np.zeros((3, 25))
    b[:, 1] = 1.0  # one coefficient off by 1 (natural-log units), c0 ignored
    b[:, 0] = 100.0
    np.testing.assert_allclose(mel_cepstral_distortion(a, b), 10 / np.log(10) * np.sqrt(2.0))


def test_identical_utterances_score_perfectly(rng):
    mc, f0 = _utterance(rng)
    s = score_pair(mc, f0, mc, f0)
    assert s.mcd_db == pytest.approx(0.0, abs=1e-9)
    assert s.f0_rmse_cents == pytest.approx(0.0, abs=1e-9)
    assert s.vuv_error == 0.0 and s.gv_ratio == pytest.approx(1.0)
    assert s.f0_corr == pytest.approx(1.0)


def test_f0_correlation_follows_the_contour_not_the_level(rng):
    mc, f0 = _utterance(rng)
    voiced = f0 > 0
    inverted = f0.copy()  # the same contour upside down around its log-mean
    log_mean = np.log(f0[voiced]).mean()
    inverted[voiced] = np.exp(2 * log_mean - np.log(f0[voiced]))
    assert score_pair(mc, f0, mc, f0 * 1.5).f0_corr == pytest.approx(1.0)  # transposed: same contour
    assert score_pair(mc, f0, mc, inverted).f0_corr == pytest.approx(-1.0)
    flat = np.where(voiced, 120.0, 0.0)
    assert np.isnan(score_pair(mc, f0, mc, flat).f0_corr)  # a monotone track has no contour to correlate


def test_vuv_error_counts_disagreeing_frames(rng):
    mc, f0 = _utterance(rng)
    half_unvoiced = f0.copy()
    half_unvoiced[40:150] = 0.0  # 110 of the 220 voiced frames lost, out of 260 speech frames
    s = score_pair(mc, f0, mc, half_unvoiced)
    speech = mc[:, 0] > -8.0
    expected = np.mean(((f0 > 0) != (half_unvoiced > 0))[speech])
    assert s.vuv_error == pytest.approx(expected, abs=0.02)


def test_log_spectral_distance_known_answers(rng):
    p = rng.uniform(0.1, 10.0, (50, 129))
    assert log_spectral_distance(p, p) == pytest.approx(0.0)
    assert log_spectral_distance(p, p * 10.0) == pytest.approx(10.0)  # +10 dB everywhere
    half = p.copy()
    half[:, ::2] *= 100.0  # +20 dB on 65 of 129 bins: sqrt(65/129 * 400)
    assert log_spectral_distance(p, half) == pytest.approx(np.sqrt(65 / 129 * 400.0))
    with pytest.raises(DataError, match="aligned"):
        log_spectral_distance(p, p[:10])


def test_octave_error_is_1200_cents_and_smoothing_lowers_gv(rng):
    mc, f0 = _utterance(rng)
    smooth = mc.copy()
    smooth[:, 1:] = mc[:, 1:].mean(axis=0) + 0.5 * (mc[:, 1:] - mc[:, 1:].mean(axis=0))
    s = score_pair(mc, f0, smooth, f0 * 2)
    assert s.f0_rmse_cents == pytest.approx(1200.0, rel=1e-6)
    assert s.gv_ratio == pytest.approx(0.25, rel=0.05)
    assert s.mcd_db > 0


def test_summarize_and_table(rng):
    mc, f0 = _utterance(rng)
    rows = summarize([score_pair(mc, f0, mc, f0)] * 3)
    assert rows["utterances"] == 3
    table = format_table([{"model": "identity", **rows, "rtf": 0.0}])
    assert "identity" in table and "MCD" in table and "WER" not in table
    table = format_table([{"model": "lstm", **rows, "rtf": 0.0, "wer": 0.25, "secs_target": 0.8}])
    assert "WER" in table and "0.250" in table and "SECS tgt" in table


def test_word_error_rate_known_answers():
    assert word_error_rate("The cat sat.", "the cat sat") == 0.0
    assert word_error_rate("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(1 / 6)
    assert word_error_rate("one two", "") == 1.0


def test_consent_records(tmp_path):
    with pytest.raises(ConsentError, match="--i-have-consent"):
        check_consent(tmp_path)
    record = check_consent(tmp_path, confirmed=True)
    assert record["consent"] is True
    assert read_consent(tmp_path)["basis"].startswith("confirmed")
    (tmp_path / "consent.json").write_text(json.dumps({"consent": False}))
    assert read_consent(tmp_path) is None
