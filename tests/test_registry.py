"""Every registered model kind converts offline and streaming, through the same ``FrameMapper``.

The causal ``map`` (what a stream runs, chunk by chunk, with its state) and ``map_utterance`` (offline)
must give the same frames: that relation is what keeps the two paths from drifting apart.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synth_speech

from workbench.bundle import BundleMeta
from workbench.config import FeatureConfig, TrainConfig
from workbench.data import F0Stats, NormStats
from workbench.errors import ConfigError
from workbench.inference import VoiceConverter
from workbench.models import registry
from workbench.models.base import FrameMapper
from workbench.streaming import StreamingConverter, convert_streaming

DIM = 24


def _meta(kind: str, in_dim: int = DIM + 2) -> BundleMeta:
    rng = np.random.default_rng(0)
    return BundleMeta(kind=kind, feature_cfg=FeatureConfig(),
                      output_norm=NormStats(rng.normal(0, 0.05, DIM).astype(np.float32), np.full(DIM, 0.05, np.float32)),
                      source_f0=F0Stats(float(np.log(130.0)), 0.1), target_f0=F0Stats(float(np.log(200.0)), 0.1),
                      input_norm=NormStats(np.zeros(in_dim, np.float32), np.ones(in_dim, np.float32)),
                      lookahead_frames=4, source_voices=["a"], target_voice="b")


def make_converter(kind: str) -> VoiceConverter:
    """A small, untrained converter of every registered kind."""
    if kind in registry.BASELINES:
        return VoiceConverter.load(kind)
    if kind == "gmm":
        from workbench.models.gmm import JointGMM

        rng = np.random.default_rng(0)
        x = rng.normal(size=(300, DIM)) * 0.1
        model = JointGMM.fit(x, 0.5 * x + 0.01 * rng.normal(size=x.shape), n_components=2, max_iter=5)
    else:
        from workbench.models.mapping import MappingModel

        model = MappingModel(in_dim=DIM + 2, out_dim=DIM, units=8, n_layers=2, dropout=0.0)
        model(np.zeros((1, 3, DIM + 2), np.float32))
    return VoiceConverter(kind, kind=kind, meta=_meta(kind), model=model)


ALL_KINDS = list(registry.SPECS)


def test_the_list_of_kinds_exists_once():
    assert set(registry.MODEL_KINDS) | set(registry.BASELINES) == set(ALL_KINDS)
    assert TrainConfig().model in registry.MODEL_KINDS
    for kind in registry.MODEL_KINDS:
        TrainConfig(model=kind)
        assert callable(registry.fit_function(kind))
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig(model="transformer")
    with pytest.raises(ConfigError, match="baseline"):
        registry.fit_function("f0")
    with pytest.raises(ConfigError, match="Unknown model kind"):
        VoiceConverter("x", kind="transformer")


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_kind_converts_offline_and_streaming(kind):
    conv = make_converter(kind)
    assert isinstance(conv.mapper, FrameMapper) and isinstance(conv.mapper, registry.mapper_class(kind))
    y = synth_speech(16_000, duration_s=0.8, f0_hz=130.0)
    offline, sr = conv.convert(y, 16_000)
    assert sr == 16_000 and len(offline) == len(y) and np.all(np.isfinite(offline))
    streamed, stream_sr = convert_streaming(conv, y, 16_000)
    assert stream_sr == 48_000 and len(streamed) == 3 * len(y) and np.all(np.isfinite(streamed))
    assert np.sqrt(np.mean(streamed**2)) > 0.01
    stream = StreamingConverter(conv)
    assert stream.latency_ms <= 50.0
    assert (stream.latency_ms == 0.0) == (not conv.mapper.uses_vocoder)  # only the passthrough has no delay


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_causal_map_in_chunks_equals_the_offline_map(kind):
    """Fed in uneven chunks with its state, the stream's mapper emits the offline frames, ``L`` frames later."""
    mapper = make_converter(kind).mapper
    rng = np.random.default_rng(3)
    n, L = 120, mapper.lookahead_frames
    mc = np.concatenate([np.full((n, 1), -2.0), np.cumsum(rng.normal(0, 0.05, (n, DIM)), axis=0)], axis=1)
    f0 = 130.0 * np.exp(0.05 * np.sin(np.arange(n) / 7.0))  # voiced throughout: held and interpolated log-F0 agree
    offline = mapper.map_utterance(mc, f0)
    assert offline.shape == (n, DIM + 1)
    np.testing.assert_array_equal(offline[:, 0], mc[:, 0])  # c0 (loudness) is kept
    mc_pad, f0_pad = np.pad(mc, ((0, L), (0, 0)), mode="edge"), np.pad(f0, (0, L), mode="edge")
    state, parts, i = mapper.initial_state(), [], 0
    for size in (1, 7, 30, 2, 64, 100):
        out, state = mapper.map(mc_pad[i:i + size], f0_pad[i:i + size], state)
        assert len(out) == len(mc_pad[i:i + size])
        parts.append(out)
        i += size
    causal = np.concatenate(parts)[L:L + n]
    inner = slice(2 * L, n - 2 * L)  # the GMM's deltas differ at the utterance's ends (interpolated offline)
    np.testing.assert_allclose(causal[inner], offline[inner, 1:], atol=1e-4)
    if kind in registry.BASELINES:
        np.testing.assert_array_equal(offline, mc)
    else:
        assert np.abs(offline[:, 1:] - mc[:, 1:]).max() > 1e-3  # a model changes the envelope
