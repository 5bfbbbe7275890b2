"""Objective measures: MCD's formula, F0 errors in cents, V/UV, GV, and the consent records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.consent import check_consent, read_consent
from workbench.errors import ConsentError
from workbench.evaluation import format_table
from workbench.metrics import mel_cepstral_distortion, score_pair, summarize


def _utterance(rng, n=300, dim=25):
    mc = np.cumsum(rng.normal(0, 0.05, (n, dim)), axis=0)
    mc[:, 0] = 2.0
    mc[:20, 0] = mc[-20:, 0] = -8.0  # silence at the ends
    f0 = np.where((np.arange(n) > 40) & (np.arange(n) < 260), 120.0, 0.0)
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
    assert s.f0_corr == pytest.approx(1.0) or np.isnan(s.f0_corr)


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
    assert "identity" in table and "MCD" in table


def test_consent_records(tmp_path):
    with pytest.raises(ConsentError, match="--i-have-consent"):
        check_consent(tmp_path)
    record = check_consent(tmp_path, confirmed=True)
    assert record["consent"] is True
    assert read_consent(tmp_path)["basis"].startswith("confirmed")
    (tmp_path / "consent.json").write_text(json.dumps({"consent": False}))
    assert read_consent(tmp_path) is None
