"""Offline conversion with the baselines, the many-to-one F0 transform and the shipped bundles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.bundle import BundleMeta
from workbench.config import FeatureConfig
from workbench.data import F0Stats, NormStats
from workbench.errors import AudioError
from workbench.features import f0 as estimate_f0
from workbench.inference import VoiceConverter

PRETRAINED = Path(__file__).resolve().parents[1] / "workbench" / "pretrained"


def test_identity_returns_the_input(speech, sr):
    out, out_sr = VoiceConverter.load("identity").convert(speech, sr)
    assert out_sr == 16_000
    np.testing.assert_allclose(out, speech, atol=1e-6)


def test_f0_baseline_shifts_pitch(speech, sr):
    conv = VoiceConverter.load("f0", pitch_ratio=2 ** (7 / 12))
    out, out_sr = conv.convert(speech, sr)
    assert len(out) == len(speech)
    before, _ = estimate_f0(speech)
    after, _ = estimate_f0(out)
    ratio = np.median(after[after > 0]) / np.median(before[before > 0])
    assert ratio == pytest.approx(2 ** (7 / 12), rel=0.05)


def test_convert_rejects_bad_audio(sr):
    with pytest.raises(AudioError, match="silent"):
        VoiceConverter.load("f0").convert(np.zeros(sr, np.float32), sr)


def test_adaptive_f0_maps_any_speaker_mean_to_the_target():
    meta = BundleMeta(kind="lstm", feature_cfg=FeatureConfig(), output_norm=NormStats(np.zeros(2), np.ones(2)),
                      source_f0=F0Stats(np.log(150), 0.1), target_f0=F0Stats(np.log(200), 0.1), f0_mode="adaptive")
    conv = VoiceConverter("m", kind="f0", meta=meta)
    for speaker_hz in (90.0, 260.0):
        track = np.full(50, speaker_hz)
        assert np.median(conv.convert_f0(track)) == pytest.approx(200.0, rel=1e-6)
    assert conv.convert_f0(np.full(50, 90.0), source_mean=np.log(90.0))[0] == pytest.approx(200.0)


@pytest.mark.skipif(not PRETRAINED.is_dir(), reason="no shipped bundles")
@pytest.mark.parametrize("name,source,target", [("awb-to-slt", "awb", "slt"), ("slt-to-awb", "slt", "awb"),
                                                 ("any-to-slt", "awb", "slt")])
def test_shipped_bundles_convert_toward_their_target(name, source, target, tmp_path):
    """Each shipped bundle is small, loads without Keras, and brings a held-out sentence well toward the target."""
    import sys

    from workbench.evaluation import evaluate_converters

    path = PRETRAINED / name
    size_mb = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
    assert size_mb <= 5
    keras_loaded = "keras" in sys.modules
    conv = VoiceConverter.load(path)
    assert conv.meta.target_voice == target
    assert keras_loaded or "keras" not in sys.modules  # weights.npz: no TensorFlow to convert
    samples = PRETRAINED.parents[1] / "sample_audio"
    for voice in (source, target):
        (tmp_path / voice).mkdir()
        (tmp_path / voice / "s041.flac").symlink_to(samples / voice / "s041.flac")
    model, identity = evaluate_converters([conv, VoiceConverter.load("identity")], tmp_path / source, tmp_path / target)
    assert model["mcd_db"] < identity["mcd_db"] - 3.0, (model["mcd_db"], identity["mcd_db"])


@pytest.mark.skipif(not PRETRAINED.is_dir(), reason="no shipped bundles")
def test_offline_conversion_does_not_import_tensorflow(tmp_path):
    """``workbench convert`` with an LSTM bundle runs on NumPy: neither TensorFlow nor Keras nor plotly loads."""
    import subprocess
    import sys

    code = (
        "import sys; from workbench.audio import load_audio, save_audio; from workbench.inference import VoiceConverter\n"
        f"y, sr = load_audio({str(PRETRAINED.parents[1] / 'sample_audio' / 'awb' / 's041.flac')!r}, sr=None)\n"
        f"out, sr = VoiceConverter.load({str(PRETRAINED / 'awb-to-slt')!r}).convert(y, sr)\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'plotly') if m in sys.modules), len(out) == len(y))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=PRETRAINED.parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[0] == "[] True", done.stdout
