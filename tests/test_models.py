"""Models: one training step each, .keras round trips, state passing, the GMM and the bundle format."""

from __future__ import annotations

import json
import threading

import keras
import numpy as np
import pytest

from workbench.bundle import BundleMeta, load_keras_model, load_model, read_meta, save_bundle
from workbench.config import FeatureConfig, ModelConfig, TrainConfig
from workbench.data import F0Stats, NormStats, ParallelSet
from workbench.errors import BundleError, ConfigError, TrainingStopped
from workbench.inference import VoiceConverter
from workbench.models.gmm import JointGMM
from workbench.models.mapping import MappingModel, NumpyMapper
from workbench.training import Progress, fit_conversion


def tiny_parallel_set(rng, n_utts=6, n_frames=240, dim=24):
    """Synthetic aligned data: the target is a fixed linear map of the source plus noise."""
    a = rng.normal(0, 0.3, (dim, dim))
    inputs, targets = [], []
    for _ in range(n_utts):
        src = np.cumsum(rng.normal(0, 0.2, (n_frames, dim)), axis=0).astype(np.float32)
        f0 = np.where(rng.random(n_frames) > 0.3, 120.0, 0.0)
        x = np.concatenate([src, np.log(np.full((n_frames, 1), 120.0)), (f0 > 0)[:, None]], axis=1).astype(np.float32)
        c0 = np.full((n_frames, 1), 1.0, np.float32)
        y = np.concatenate([c0, src @ a + 0.01 * rng.normal(size=(n_frames, dim))], axis=1).astype(np.float32)
        inputs.append(x)
        targets.append(y)
    weights = [np.ones(n_frames, np.float32) for _ in range(n_utts)]
    return ParallelSet([f"u{i}" for i in range(n_utts)], inputs, targets, weights, F0Stats(4.8, 0.1), F0Stats(5.3, 0.12))


def small_cfg(**kw):
    base = dict(epochs=2, batch_size=4, seq_frames=40, seed=0, patience=5, n_jobs=1, gan_epochs=1, gmm_components=2,
                model_cfg=ModelConfig(units=8, n_layers=1, dropout=0.0))
    base.update(kw)
    return TrainConfig(**base)


def test_mapping_model_state_and_config():
    model = MappingModel(in_dim=5, out_dim=3, units=8, n_layers=2, dropout=0.0)
    x = np.random.default_rng(0).normal(size=(2, 30, 5)).astype(np.float32)
    full = np.asarray(model(x))
    first, state = model(x[:, :10], return_state=True)
    second = model(x[:, 10:], initial_state=state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, atol=1e-5)
    assert MappingModel.from_config(model.get_config()).get_config() == model.get_config()


def test_realign_rounds_is_zero_or_one():
    """One refinement stage exists (its checkpoints are named ``refine``): a second round is refused, not ignored."""
    assert TrainConfig(realign_rounds=0).realign_rounds == 0
    with pytest.raises(ConfigError, match="realign_rounds=2 must be 0 or 1"):
        TrainConfig(realign_rounds=2)


def test_numpy_mapper_matches_keras(rng):
    model = MappingModel(in_dim=6, out_dim=4, units=16, n_layers=2, dropout=0.1)
    x = rng.normal(size=(50, 6)).astype(np.float32)
    ref = np.asarray(model(x[None], training=False))[0]
    mapper = NumpyMapper.from_model(model)
    out, state = mapper.run(x[:17])
    out2, _ = mapper.run(x[17:], state)
    assert np.abs(np.concatenate([out, out2]) - ref).max() <= 1e-4


@pytest.mark.parametrize("kind", ["lstm", "gan", "gmm"])
def test_fit_save_load_bit_identical(kind, rng, tmp_path):
    data = tiny_parallel_set(rng)
    events: list[Progress] = []
    result = fit_conversion(data, tmp_path / kind, cfg=small_cfg(model=kind), feature_cfg=FeatureConfig(),
                            on_progress=events.append, source_voices=["a"], target_voice="b")
    assert (tmp_path / kind / "bundle.json").is_file()
    assert events, "no progress was reported"
    if kind != "gmm":
        assert result.history["loss"], "no epoch was recorded"
        assert (tmp_path / kind / "model.keras").is_file()
    if kind == "gan":
        assert "gan_d_loss" in result.history
    conv1, conv2 = VoiceConverter.load(tmp_path / kind), VoiceConverter.load(tmp_path / kind)
    mc = np.concatenate([np.ones((100, 1)), rng.normal(size=(100, 24))], axis=1).astype(np.float32)
    f0 = np.full(100, 120.0)
    np.testing.assert_array_equal(conv1.map_mcep(mc, f0), conv2.map_mcep(mc, f0))
    if kind != "gmm":  # the saved .keras model computes exactly what the NumPy weights compute
        x = conv1.meta.input_norm.apply(np.concatenate([mc[:, 1:], np.log(f0)[:, None], np.ones((100, 1))], axis=1))
        keras_out = np.asarray(load_keras_model(tmp_path / kind, conv1.meta)(x[None]))[0]
        np_out, _ = conv1.mapper.lstm.run(x)
        assert np.abs(keras_out - np_out).max() <= 1e-4


def test_learning_reduces_loss(rng, tmp_path):
    data = tiny_parallel_set(rng)
    cfg = small_cfg(epochs=8, model_cfg=ModelConfig(units=32, n_layers=1, dropout=0.0))
    result = fit_conversion(data, tmp_path / "b", cfg=cfg, feature_cfg=FeatureConfig())
    assert result.history["loss"][-1] < 0.7 * result.history["loss"][0]


def test_stop_event_before_training_raises(rng, tmp_path):
    stop = threading.Event()
    stop.set()
    with pytest.raises(TrainingStopped):
        fit_conversion(tiny_parallel_set(rng), tmp_path / "b", cfg=small_cfg(), feature_cfg=FeatureConfig(),
                       stop_event=stop)
    assert not (tmp_path / "b").exists()


def test_resume_after_interruption(rng, tmp_path):
    """Training stopped after epoch 2 resumes at epoch 3 from the checkpoint, with its history."""
    data = tiny_parallel_set(rng)
    ckpt = tmp_path / "ckpt"
    stop = threading.Event()

    def stop_after_two(p: Progress):
        if p.stage == "lstm" and p.epoch >= 2 and p.step == p.steps:
            stop.set()

    cfg = small_cfg(epochs=4, patience=10, checkpoint_dir=str(ckpt))
    first = fit_conversion(data, tmp_path / "b", cfg=cfg, feature_cfg=FeatureConfig(), on_progress=stop_after_two,
                           stop_event=stop)
    assert first.stopped and len(first.history["loss"]) == 2
    state = json.loads((ckpt / "lstm.json").read_text())
    assert state["epoch"] == 2
    epochs_seen = []
    second = fit_conversion(data, tmp_path / "b", cfg=cfg, feature_cfg=FeatureConfig(),
                            on_progress=lambda p: epochs_seen.append(p.epoch) if p.stage == "lstm" else None)
    assert min(epochs_seen) == 3 and max(epochs_seen) == 4
    assert len(second.history["loss"]) == 2
    assert json.loads((ckpt / "lstm.json").read_text())["epoch"] == 4


def _meta(kind="lstm"):  # a tiny but self-consistent bundle: 4 mel-cepstral coefficients out
    return BundleMeta(kind=kind, feature_cfg=FeatureConfig(mcep_order=4), output_norm=NormStats(np.zeros(4), np.ones(4)),
                      source_f0=F0Stats(4.8, 0.2), target_f0=F0Stats(5.3, 0.2),
                      input_norm=NormStats(np.zeros(5), np.ones(5)), model_cfg={"in_dim": 5, "out_dim": 4})


def test_bundle_rejects_corrupt_and_incompatible(tmp_path):
    model = MappingModel(in_dim=5, out_dim=4, units=4, n_layers=1)
    model.build((None, None, 5))
    path = save_bundle(tmp_path / "b", _meta(), model)
    assert read_meta(path).kind == "lstm"
    load_model(path, read_meta(path))

    keras_file = path / "model.keras"
    keras_file.write_bytes(keras_file.read_bytes()[:200])
    with pytest.raises(BundleError, match="could not be loaded"):
        load_keras_model(path, read_meta(path))
    weights = path / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(BundleError, match="corrupt"):
        load_model(path, read_meta(path))
    weights.unlink()  # a bundle from before weights.npz: the .keras file is read (and is broken)
    with pytest.raises(BundleError, match=r"model\.keras is corrupt .*damaged"):  # found before Keras is imported
        load_model(path, read_meta(path))

    raw = json.loads((path / "bundle.json").read_text())
    (path / "bundle.json").write_text(json.dumps({**raw, "schema_version": 99}))
    with pytest.raises(BundleError, match="schema version 99"):
        read_meta(path)
    (path / "bundle.json").write_text(json.dumps({**raw, "feature_cfg": {**raw["feature_cfg"], "hop_ms": -1}}))
    with pytest.raises(BundleError, match="feature config is invalid"):
        read_meta(path)
    (path / "bundle.json").write_text(json.dumps({**raw, "feature_cfg": {**raw["feature_cfg"], "mcep_order": 24}}))
    with pytest.raises(BundleError, match="mixes incompatible feature configs"):
        read_meta(path)
    (path / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="corrupt"):
        read_meta(path)
    with pytest.raises(BundleError, match="No model bundle"):
        read_meta(tmp_path / "nothing")


def test_bundle_dims_must_match_statistics(tmp_path):
    model = MappingModel(in_dim=5, out_dim=7, units=4, n_layers=1)
    model.build((None, None, 5))
    path = save_bundle(tmp_path / "b", _meta(), model)
    with pytest.raises(BundleError, match="dimensions"):
        load_model(path, read_meta(path))
    with pytest.raises(BundleError, match="dimensions"):
        load_keras_model(path, read_meta(path))


def test_interrupted_save_keeps_the_old_bundle(tmp_path, monkeypatch):
    model = MappingModel(in_dim=5, out_dim=4, units=4, n_layers=1)
    model.build((None, None, 5))
    path = save_bundle(tmp_path / "b", _meta(), model)
    before = (path / "bundle.json").read_text()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(MappingModel, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(tmp_path / "b", _meta(), model)
    assert (path / "bundle.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_gmm_round_trip_without_pickle(rng, tmp_path):
    x = rng.normal(size=(400, 3))
    y = 2 * x + 1
    gmm = JointGMM.fit(x, y, n_components=2, seed=0)
    np.testing.assert_allclose(gmm.convert(x), y, atol=0.2)
    gmm.save(tmp_path / "g.npz")
    np.testing.assert_array_equal(JointGMM.load(tmp_path / "g.npz").convert(x), gmm.convert(x))
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(BundleError, match="corrupt"):
        JointGMM.load(tmp_path / "bad.npz")


def test_keras_is_v3():
    assert keras.__version__.startswith("3")


def test_bundle_without_envelope_f0_reads_worlds_window(tmp_path):
    """Bundles saved before ``FeatureConfig.envelope_f0`` were analysed with WORLD's unvoiced window; new ones
    record the held F0 they were trained with."""
    model = MappingModel(in_dim=5, out_dim=4, units=4, n_layers=1)
    model.build((None, None, 5))
    path = save_bundle(tmp_path / "b", _meta(), model)
    assert read_meta(path).feature_cfg.envelope_f0 == "held"
    raw = json.loads((path / "bundle.json").read_text())
    old = {k: v for k, v in raw["feature_cfg"].items() if not k.startswith("envelope_f0")}
    (path / "bundle.json").write_text(json.dumps({**raw, "feature_cfg": old}))
    assert read_meta(path).feature_cfg.envelope_f0 == "world"
    assert VoiceConverter.load(path).feature_cfg.envelope_f0 == "world"
