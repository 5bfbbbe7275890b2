"""Tests of the phonetic encoder (phone posteriors as conversion input) and of phone-level forced alignment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workbench.audio import load_audio
from workbench.errors import AudioError, BundleError
from workbench.features import sp_to_mcep, world_analyze
from workbench.phonetic import DEFAULT_DIR, PhoneticEncoder, PhoneticState, default_encoder
from workbench.speech.align import PHONES, align_phones, frame_labels

SAMPLES = Path(__file__).resolve().parents[1] / "sample_audio"


@pytest.fixture(scope="module")
def awb_test_clip():
    """A test-split sentence (s041): never seen by the encoder's training."""
    path = SAMPLES / "awb" / "s041.flac"
    y, sr = load_audio(path, sr=16_000)
    return y, sr, path.with_suffix(".txt").read_text(), sp_to_mcep(world_analyze(y).sp)


def test_alignment_places_the_transcripts_phones_in_order(awb_test_clip):
    y, sr, text, _ = awb_test_clip
    segments = align_phones(y, sr, text)
    speech = [s for s in segments if s.phone != "SIL"]
    assert len(speech) >= len(text.split())  # at least one phone per word
    assert all(s.phone in PHONES for s in segments)
    starts = [s.start_s for s in segments]
    assert starts == sorted(starts) and segments[-1].end_s <= len(y) / sr + 0.25
    assert speech[0].start_s < 0.5 and speech[-1].end_s > len(y) / sr - 0.6  # covers the sentence
    labels = frame_labels(segments, 400, 0.005)
    assert labels.dtype == np.int16 and set(np.unique(labels)) <= set(range(len(PHONES)))


def test_alignment_refuses_text_without_words(awb_test_clip):
    y, sr, _, _ = awb_test_clip
    with pytest.raises(AudioError, match="no words"):
        align_phones(y, sr, "... !!")


def test_shipped_encoder_names_the_phones_of_an_unseen_sentence(awb_test_clip):
    """Frame accuracy against PocketSphinx's forced alignment, far above always guessing the commonest class."""
    y, sr, text, mc = awb_test_clip
    enc = default_encoder()
    labels = frame_labels(align_phones(y, sr, text), len(mc), 0.005)
    post = enc.posteriors(mc)
    assert post.shape == (len(mc), len(PHONES)) and np.allclose(post.sum(axis=1), 1.0, atol=1e-4)
    delayed = np.concatenate([np.zeros(enc.delay, int), labels[: len(labels) - enc.delay]])
    accuracy = float(np.mean(post.argmax(axis=1) == delayed))
    majority = float(np.max(np.bincount(delayed)) / len(delayed))
    assert accuracy > 0.5 and accuracy > majority + 0.25, (accuracy, majority)


def test_streaming_in_any_chunks_equals_the_whole_utterance(awb_test_clip):
    *_, mc = awb_test_clip
    enc = default_encoder()
    whole = enc.posteriors(mc)
    rng = np.random.default_rng(0)
    state, parts, i = PhoneticState(), [], 0
    while i < len(mc):
        n = int(rng.integers(0, 12))
        out, state = enc.stream(mc[i:i + n], state)
        parts.append(out)
        i += n
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)  # float32 products batched differently


def test_encoder_is_causal(awb_test_clip):
    """Changing frames after t leaves the posteriors up to t unchanged."""
    *_, mc = awb_test_clip
    enc = default_encoder()
    changed = mc.copy()
    changed[200:] = changed[200:][::-1]
    np.testing.assert_array_equal(enc.posteriors(changed)[:200], enc.posteriors(mc)[:200])


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    layers = [(rng.normal(size=(2 * 3, 5)), rng.normal(size=5)), (rng.normal(size=(5, 4)), rng.normal(size=4))]
    enc = PhoneticEncoder(layers, mean=np.zeros(6), std=np.ones(6), offsets=(-2, 0), phones="ABCD", delay=1, n_coeffs=3)
    enc.save(tmp_path / "enc", info={"note": "test"})
    back = PhoneticEncoder.load(tmp_path / "enc")
    x = rng.normal(size=(30, 3))
    np.testing.assert_allclose(back.posteriors(x), enc.posteriors(x), atol=1e-6)
    assert json.loads((tmp_path / "enc" / "phonetic.json").read_text())["note"] == "test"


def test_damaged_or_missing_encoder_gives_a_clear_error(tmp_path):
    with pytest.raises(BundleError, match="missing.*train_phonetic"):
        PhoneticEncoder.load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "phonetic.json").write_text((DEFAULT_DIR / "phonetic.json").read_text())
    (broken / "weights.npz").write_bytes(b"not a zip")
    with pytest.raises(BundleError, match="corrupt"):
        PhoneticEncoder.load(broken)


def test_a_window_into_the_future_is_refused():
    layers = [(np.zeros((6, 4)), np.zeros(4))]
    with pytest.raises(BundleError, match="causal"):
        PhoneticEncoder(layers, mean=np.zeros(6), std=np.ones(6), offsets=(-1, 1), phones="ABCD", n_coeffs=3)


def test_a_bundle_trained_on_another_encoder_is_refused():
    """A model reads the posteriors of the encoder it was trained with; the bundle's fingerprint is checked."""
    from workbench.bundle import BundleMeta
    from workbench.config import FeatureConfig
    from workbench.data import F0Stats, NormStats
    from workbench.models.lstm import LstmMapper, NumpyLSTM

    rng = np.random.default_rng(0)
    lstm = NumpyLSTM([(rng.normal(size=(66, 32)), rng.normal(size=(8, 32)), np.zeros(32)), (rng.normal(size=(8, 24)), np.zeros(24))])

    def meta(fingerprint: str) -> BundleMeta:
        return BundleMeta(kind="lstm", feature_cfg=FeatureConfig(), output_norm=NormStats(np.zeros(24), np.ones(24)),
                          source_f0=F0Stats(4.8, 0.1), target_f0=F0Stats(5.3, 0.1),
                          input_norm=NormStats(np.zeros(66), np.ones(66)), lookahead_frames=4, phonetic_input=True,
                          phonetic_encoder=fingerprint)

    ok = LstmMapper.from_model(lstm, meta(default_encoder().fingerprint))
    mc = np.concatenate([np.ones((50, 1)), rng.normal(size=(50, 24))], axis=1)
    assert ok.map_utterance(mc, np.full(50, 120.0)).shape == (50, 25)
    with pytest.raises(BundleError, match="retrain the model"):
        LstmMapper.from_model(lstm, meta("0123456789abcdef"))


def test_posteriorgram_of_a_clip_is_drawn_at_the_frames_it_names(awb_test_clip):
    from workbench.phonetic import phone_posteriorgram

    y, sr, _, mc = awb_test_clip
    enc = default_encoder()
    pg = phone_posteriorgram(y, sr)
    assert pg.shape == (len(mc), enc.n_phones)
    np.testing.assert_allclose(pg[: len(mc) - enc.delay], enc.posteriors(mc)[enc.delay:], atol=1e-6)
    y48 = np.repeat(y, 3)  # any rate: resampled to the encoder's analysis rate
    assert phone_posteriorgram(y48, 48_000).shape[1] == enc.n_phones
