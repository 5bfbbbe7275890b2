"""Speaker embeddings: EER and GE2E known answers, NumPy == Keras, and the shipped encoder tells voices apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workbench.audio import load_audio
from workbench.config import EncoderConfig, EncoderTrainConfig
from workbench.errors import BundleError, DataError
from workbench.speaker import (
    DEFAULT_ENCODER,
    cosine_similarity,
    equal_error_rate,
    load_speaker_encoder,
    partial_windows,
    similarity_matrix,
    verification_eer,
)

ROOT = Path(__file__).resolve().parents[1]


def test_equal_error_rate_known_answers():
    neg, pos = [0.1, 0.2, 0.3, 0.75], [0.4, 0.7, 0.8, 0.9]
    scores, labels = np.array(neg + pos), np.array([0] * 4 + [1] * 4)
    eer, thr = equal_error_rate(scores, labels)
    assert eer == pytest.approx(0.25)  # at 0.7: one impostor accepted (0.75), one target rejected (0.4)
    assert thr == pytest.approx(0.7)
    assert equal_error_rate(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))[0] == pytest.approx(0.0)
    assert equal_error_rate(np.array([0.8, 0.9, 0.1, 0.2]), np.array([0, 0, 1, 1]))[0] == pytest.approx(1.0)
    with pytest.raises(DataError, match="both same-speaker and different-speaker"):
        equal_error_rate(np.array([0.1, 0.2]), np.array([1, 1]))


def test_similarity_and_verification_on_clustered_embeddings(rng):
    centres = rng.standard_normal((4, 16))
    embs = np.concatenate([c + 0.05 * rng.standard_normal((5, 16)) for c in centres])
    speakers = [f"s{i}" for i in range(4) for _ in range(5)]
    sim = similarity_matrix(embs)
    np.testing.assert_allclose(np.diag(sim), 1.0)
    np.testing.assert_allclose(sim, sim.T)
    assert sim[0, 3] == pytest.approx(cosine_similarity(embs[0], embs[3]))
    assert verification_eer(embs, speakers) == pytest.approx(0.0)
    shuffled = list(rng.permutation(speakers))  # labels unrelated to the clusters: about chance
    assert 0.3 < verification_eer(embs, shuffled) < 0.7


def test_ge2e_loss_known_answer():
    from keras import ops

    from workbench.losses import ge2e_loss

    n = 3
    emb = np.repeat(np.eye(n, dtype=np.float32)[:, None, :], 2, axis=1)  # (3 speakers, 2 clips, 3 dims)
    loss = float(ops.convert_to_numpy(ge2e_loss(emb, 2.0, 0.5)))
    # own (leave-one-out) centroid cos = 1 -> logit 2.5; other centroids cos = 0 -> logit 0.5
    assert loss == pytest.approx(np.log(1 + (n - 1) * np.exp(-2.0)), rel=1e-5)
    swapped = emb.copy()
    swapped[0, 1], swapped[1, 1] = emb[1, 1], emb[0, 1]  # one clip of each of two speakers exchanged
    assert float(ops.convert_to_numpy(ge2e_loss(swapped, 10.0, -5.0))) > 1.0


def test_partial_windows_cover_the_clip():
    cfg = EncoderConfig(window_frames=100, window_hop_frames=50)
    mel = np.arange(260 * 2, dtype=np.float32).reshape(260, 2)
    w = partial_windows(mel, cfg=cfg)
    assert w.shape == (5, 100, 2)  # starts 0, 50, 100, 150 and 160 (the end)
    np.testing.assert_array_equal(w[-1][-1], mel[-1])
    assert partial_windows(mel[:40], cfg=cfg).shape == (1, 40, 2)


def test_numpy_encoder_equals_keras(rng):
    from workbench.models.speaker_encoder import SpeakerEncoder
    from workbench.speaker import NumpySpeakerEncoder

    model = SpeakerEncoder(n_mels=8, units=12, n_layers=2, emb_dim=5)
    x = rng.standard_normal((3, 30, 8)).astype(np.float32)
    expected = np.asarray(model(x))
    got = NumpySpeakerEncoder(model.numpy_weights())(x)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    assert SpeakerEncoder.from_config(model.get_config()).get_config() == model.get_config()


@pytest.fixture(scope="module")
def shipped():
    return load_speaker_encoder()


def test_shipped_encoder_separates_sample_voices(shipped):
    assert (DEFAULT_ENCODER / "bundle.json").is_file()
    assert sum(f.stat().st_size for f in DEFAULT_ENCODER.iterdir()) < 5 * 2**20
    voices = ("awb", "slt", "rms", "espeak_f3")
    clips = {v: [load_audio(ROOT / "sample_audio" / v / f"s0{i}.flac", sr=16_000)[0] for i in (41, 44, 47, 50)]
             for v in voices}
    embs = np.stack([shipped.embed(y, 16_000) for v in voices for y in clips[v]])
    labels = [v for v in voices for _ in range(4)]
    assert verification_eer(embs, labels) <= 0.10
    # the same clip quieter, or at 48 kHz, embeds to (nearly) the same point: level and rate are not a voice
    y = clips["awb"][0]
    from workbench.audio import resample

    assert cosine_similarity(shipped.embed(0.2 * y, 16_000), embs[0]) > 0.999
    assert cosine_similarity(shipped.embed(resample(y, orig_sr=16_000, target_sr=48_000), 48_000), embs[0]) > 0.95


def test_loading_errors(tmp_path):
    with pytest.raises(BundleError, match="not a speaker-encoder bundle"):
        load_speaker_encoder(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"kind": "conversion"}))
    np.savez(tmp_path / "weights.npz", x=np.zeros(1))
    with pytest.raises(BundleError, match="not a speaker encoder"):
        load_speaker_encoder(tmp_path)


def test_one_training_step_checkpoints_and_resumes(tmp_path, sr):
    import soundfile as sf
    from conftest import synth_speech

    from workbench.models.speaker_encoder import SpeakerEncoder
    from workbench.speaker import SpeakerEmbedder
    from workbench.speaker_training import (
        analyze_speakers,
        load_speaker_folders,
        save_encoder_bundle,
        train_speaker_encoder,
    )

    for k, f0 in enumerate((100.0, 160.0, 240.0)):
        (tmp_path / "data" / f"spk{k}").mkdir(parents=True)
        for u in range(3):
            y = synth_speech(sr, duration_s=1.0, f0_hz=f0 * (1 + 0.03 * u), rng=np.random.default_rng(u))
            sf.write(tmp_path / "data" / f"spk{k}" / f"u{u}.wav", y, sr)
    enc = EncoderConfig(n_mels=16, units=8, n_layers=1, emb_dim=4, window_frames=40, window_hop_frames=20)
    data = analyze_speakers(load_speaker_folders(tmp_path / "data"), cfg=enc)
    assert sorted(data.mels) == ["spk0", "spk1", "spk2"] and data.n_utterances == 9
    cfg = EncoderTrainConfig(epochs=1, steps_per_epoch=1, speakers_per_batch=3, utterances_per_speaker=2,
                             min_crop_frames=20, checkpoint_dir=str(tmp_path / "ckpt"))
    events = []
    model = SpeakerEncoder(**enc.model_kwargs)
    hist = train_speaker_encoder(model, data, cfg=cfg, on_progress=events.append, window_frames=40)
    assert len(hist.history["loss"]) == 1 and np.isfinite(hist.history["loss"][0])
    assert events[-1].stage == "encoder" and events[-1].step == 1
    assert json.loads((tmp_path / "ckpt" / "state.json").read_text())["epoch"] == 1
    resumed = train_speaker_encoder(SpeakerEncoder(**enc.model_kwargs), data,
                                    cfg=EncoderTrainConfig(**{**cfg.to_dict(), "epochs": 2}), window_frames=40)
    assert len(resumed.history["loss"]) == 1  # only epoch 2 ran
    emb = SpeakerEmbedder.load(save_encoder_bundle(tmp_path / "enc", model, enc, data))
    y = synth_speech(sr, duration_s=1.0, f0_hz=120.0)
    np.testing.assert_allclose(np.linalg.norm(emb.embed(y, sr)), 1.0, atol=1e-5)
    with pytest.raises(DataError, match="at least two speakers"):
        load_speaker_folders(tmp_path / "data" / "spk0")
