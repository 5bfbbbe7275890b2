"""Tests of the global-variance postfilter: it undoes over-smoothing, keeps frame power, acts per frame,
and offline and streaming conversion apply the same one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.config import FeatureConfig, PostfilterConfig
from workbench.errors import ConfigError
from workbench.features import mcep_to_sp, sp_to_mcep, speech_mask, world_analyze
from workbench.postfilter import GvStats, Postfilter, fit_gv_stats

SAMPLES = Path(__file__).resolve().parents[1] / "sample_audio"
FC = FeatureConfig()


@pytest.fixture(scope="module")
def clip_mcep() -> np.ndarray:
    """Mel-cepstrum of a real sample sentence (slt, s041)."""
    from workbench.audio import load_audio

    y, _ = load_audio(SAMPLES / "slt" / "s041.flac", sr=FC.sr)
    return sp_to_mcep(world_analyze(y, cfg=FC).sp, cfg=FC)


def smooth(mc: np.ndarray, frames: int = 9) -> np.ndarray:
    """Over-smooth ``c_1..c_M`` in time (a moving average), as a regression model's output is."""
    out = mc.copy()
    kernel = np.ones(frames) / frames
    for d in range(1, mc.shape[1]):
        out[:, d] = np.convolve(np.pad(mc[:, d], frames // 2, mode="edge"), kernel, mode="valid")
    return out


def gv_ratio(test: np.ndarray, ref: np.ndarray) -> float:
    """Mean over c_1..c_M of the variance ratio on speech frames (``metrics.score_pair``'s GV, unaligned)."""
    a, b = test[speech_mask(test[:, 0])][:, 1:], ref[speech_mask(ref[:, 0])][:, 1:]
    return float(np.mean(a.var(axis=0) / b.var(axis=0)))


def test_postfilter_raises_gv_toward_one_and_keeps_frame_power(clip_mcep):
    smoothed = smooth(clip_mcep)
    stats = fit_gv_stats([smoothed], [clip_mcep])
    assert np.all(stats.ratio[4:] > 1.0)  # smoothing took variance away, most of all from the fast high orders
    before = gv_ratio(smoothed, clip_mcep)
    half = gv_ratio(Postfilter(stats, cfg=PostfilterConfig(gv_weight=0.5)).apply(smoothed), clip_mcep)
    full_mc = Postfilter(stats, cfg=PostfilterConfig(gv_weight=1.0)).apply(smoothed)
    full = gv_ratio(full_mc, clip_mcep)
    assert before < 0.8 and before < half < full
    assert full == pytest.approx(1.0, abs=0.05)  # the statistics' own clip: its spread comes back in full
    power = (mcep_to_sp(m, cfg=FC).mean(axis=1) for m in (smoothed, full_mc))
    np.testing.assert_allclose(*power, rtol=1e-6)  # c0 moved so that each frame's power is kept


def test_postfilter_is_per_frame_and_off_without_stats_or_weight(clip_mcep):
    stats = fit_gv_stats([smooth(clip_mcep)], [clip_mcep])
    pf = Postfilter(stats, cfg=PostfilterConfig(gv_weight=0.5))
    whole = pf.apply(clip_mcep)
    pieces = np.vstack([pf.apply(clip_mcep[i:i + 7]) for i in range(0, len(clip_mcep), 7)])
    np.testing.assert_allclose(pieces, whole, atol=1e-9)  # chunking (a stream) changes nothing
    assert pf.active and not Postfilter(None, cfg=PostfilterConfig(gv_weight=0.5)).active
    assert not Postfilter(stats, cfg=PostfilterConfig(gv_weight=0.0)).active
    assert not Postfilter(stats).active  # off by default (see PostfilterConfig)
    np.testing.assert_array_equal(Postfilter(None).apply(clip_mcep), clip_mcep)


def test_gv_stats_round_trip_through_a_bundle(tmp_path, clip_mcep):
    from workbench.bundle import BundleMeta, read_meta, save_bundle
    from workbench.data import F0Stats, NormStats
    from workbench.models.gmm import JointGMM

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 24)) * 0.3
    stats = fit_gv_stats([smooth(clip_mcep)], [clip_mcep])
    meta = BundleMeta(kind="gmm", feature_cfg=FC, output_norm=NormStats(np.zeros(24), np.ones(24)),
                      source_f0=F0Stats(5.0, 0.1), target_f0=F0Stats(5.3, 0.1), gv=stats)
    save_bundle(tmp_path / "b", meta, JointGMM.fit(x, x, n_components=1, max_iter=2))
    back = read_meta(tmp_path / "b").gv
    assert isinstance(back, GvStats)
    np.testing.assert_allclose(back.ratio, stats.ratio)
    np.testing.assert_allclose(back.mean, stats.mean)


def test_config_is_validated():
    with pytest.raises(ConfigError, match="gv_weight"):
        PostfilterConfig(gv_weight=-0.1)


def test_offline_and_streaming_apply_the_same_postfilter():
    """A GMM that halves the cepstrum, with statistics that say so: the postfilter widens the output by the
    same factor offline and streamed (each against the same bundle with the postfilter off)."""
    from tests.test_streaming import cepstral_size, speech_like
    from workbench.bundle import BundleMeta
    from workbench.data import F0Stats, NormStats
    from workbench.inference import VoiceConverter
    from workbench.models.gmm import JointGMM

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 24)) * 0.3
    gmm = JointGMM.fit(x, 0.5 * x, n_components=1, max_iter=5)
    stats = GvStats(mean=np.zeros(24), ratio=np.full(24, 2.0))
    meta = BundleMeta(kind="gmm", feature_cfg=FC, output_norm=NormStats(np.zeros(24), np.ones(24)),
                      source_f0=F0Stats(float(np.log(130.0)), 0.1), target_f0=F0Stats(float(np.log(130.0)), 0.1),
                      gv=stats)
    on = VoiceConverter("gmm", kind="gmm", meta=meta, model=gmm, postfilter_cfg=PostfilterConfig(gv_weight=1.0))
    off = VoiceConverter("gmm", kind="gmm", meta=meta, model=gmm, postfilter_cfg=PostfilterConfig(gv_weight=0.0))
    assert not VoiceConverter.f0_baseline(meta).postfilter.active  # a baseline passes the envelope through
    y = speech_like(16_000, seconds=1.0)
    gain_offline = cepstral_size(on, y, False) / cepstral_size(off, y, False)
    gain_streaming = cepstral_size(on, y, True) / cepstral_size(off, y, True)
    assert gain_offline > 1.5 and gain_streaming > 1.5  # the halved envelope is widened again, both ways
    assert gain_streaming == pytest.approx(gain_offline, rel=0.1)
