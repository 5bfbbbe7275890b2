"""Pairing, DTW alignment, F0 statistics and windowing of parallel data."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from workbench.data import (
    F0Stats,
    NormStats,
    align_to_source,
    make_windows,
    pair_files,
    split_by_utterance,
    transform_f0,
)
from workbench.errors import DataError


def _write(folder, names, sr=16_000):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        sf.write(folder / f"{n}.wav", np.zeros(sr // 2), sr)


def test_pair_files_by_stem(tmp_path):
    _write(tmp_path / "a", ["s1", "s2", "s3", "only_a"])
    _write(tmp_path / "b", ["s1", "s2", "s3", "only_b"])
    with pytest.warns(UserWarning, match="unpaired"):
        pairs = pair_files(tmp_path / "a", tmp_path / "b")
    assert [(p.stem, q.stem) for p, q in pairs] == [("s1", "s1"), ("s2", "s2"), ("s3", "s3")]


def test_pair_files_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        pair_files(tmp_path / "missing", tmp_path)
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "a", ["s1"])
    with pytest.raises(DataError, match="no audio files"):
        pair_files(tmp_path / "a", tmp_path / "empty")
    _write(tmp_path / "b", ["x1"])
    with pytest.raises(DataError, match="Only 0 sentence"):
        pair_files(tmp_path / "a", tmp_path / "b")


def test_dtw_recovers_a_time_stretch(rng):
    """A target that is the source played at 2/3 speed aligns back onto the source's frames."""
    n = 120
    t = np.linspace(0, 6 * np.pi, n)
    src = np.stack([np.full(n, 2.0)] + [np.sin(t * (k + 1) / 3 + k) for k in range(6)], axis=1)
    src[:5, 0] = src[-5:, 0] = -10.0  # silence at the edges (c0 low)
    idx = np.clip(np.round(np.arange(int(n * 1.5)) / 1.5).astype(int), 0, n - 1)
    tgt = src[idx] + 0.01 * rng.standard_normal((len(idx), src.shape[1]))
    sl, aligned = align_to_source(src, tgt)
    assert aligned.shape == (sl.stop - sl.start, src.shape[1])
    err = np.abs(aligned[:, 1:] - src[sl, 1:]).mean()
    assert err < 0.05


def test_f0_transform_matches_statistics(rng):
    src = np.exp(rng.normal(np.log(110), 0.1, 2000))
    tgt = np.exp(rng.normal(np.log(220), 0.15, 2000))
    s, t = F0Stats.from_tracks([src]), F0Stats.from_tracks([tgt])
    out = transform_f0(np.concatenate([src, [0.0, 0.0]]), s, t)
    assert out[-1] == 0.0 and out[-2] == 0.0
    conv = F0Stats.from_tracks([out[:-2]])
    assert conv.mean == pytest.approx(t.mean, abs=1e-6)
    assert conv.std == pytest.approx(t.std, rel=1e-6)


def test_f0_stats_need_voiced_frames():
    with pytest.raises(DataError, match="voiced"):
        F0Stats.from_tracks([np.zeros(100)])


def test_norm_stats_round_trip(rng):
    x = rng.normal(3.0, 2.0, (500, 4)).astype(np.float32)
    stats = NormStats.fit(x)
    np.testing.assert_allclose(stats.invert(stats.apply(x)), x, atol=1e-5)
    again = NormStats.from_dict(stats.to_dict())
    np.testing.assert_array_equal(again.mean, stats.mean)


def test_windows_delay_target_by_lookahead():
    x = np.arange(50, dtype=np.float32)[:, None]
    y = np.arange(50, dtype=np.float32)[:, None] * 10
    w = np.ones(50, np.float32)
    xs, ys, ws = make_windows([x], [y], [w], seq_frames=20, lookahead=3)
    assert xs.shape == (len(ys), 20, 1)
    first = 0
    assert np.all(ws[first, :3] == 0) and np.all(ws[first, 3:] == 1)
    np.testing.assert_array_equal(ys[first, 3:, 0], y[:17, 0])  # frame t carries target t - 3


def test_split_by_utterance_is_disjoint():
    tr, va = split_by_utterance(30, 0.15, seed=0)
    assert len(set(tr) & set(va)) == 0 and len(tr) + len(va) == 30 and len(va) >= 1


def _toy_cepstra(n: int = 150) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth toy mel-cepstra ``(n, 25)`` at a flat 120 Hz, and the frame indices of a 1.3x slower reading."""
    t = np.linspace(0, 8 * np.pi, n)
    mc = np.stack([np.full(n, 2.0)] + [np.sin(t * (k + 1) / 4 + k) for k in range(24)], axis=1).astype(np.float32)
    idx = np.clip(np.round(np.arange(int(n * 1.3)) / 1.3).astype(int), 0, n - 1)
    return mc, np.full(n, 120.0), idx


def test_realign_with_a_guide_moves_targets_onto_the_better_path(rng):
    """Aligning a converted guide (close to the target) recovers the stretch the raw source hides."""
    from workbench.config import FeatureConfig, TrainConfig
    from workbench.data import UtteranceFeatures, build_parallel_set, realign

    src, f0, idx = _toy_cepstra()
    tgt = src[idx].copy()
    tgt[:, 1:] = 3.0 * tgt[:, 1:] + 1.0  # a different "voice": scaled and shifted cepstra
    data = build_parallel_set([(UtteranceFeatures("a", src, f0), UtteranceFeatures("a", tgt, f0[idx]))],
                              cfg=TrainConfig(), feature_cfg=FeatureConfig())
    ideal = src.copy()
    ideal[:, 1:] = 3.0 * src[:, 1:] + 1.0
    before = np.abs(data.targets[0][:, 1:] - ideal[: len(data.targets[0]), 1:]).mean()
    realign(data, lambda u: np.concatenate([u.mcep[:, :1], 3.0 * u.mcep[:, 1:] + 1.0], axis=1), cfg=TrainConfig())
    after = np.abs(data.targets[0][:, 1:] - ideal[: len(data.targets[0]), 1:]).mean()
    assert after < 0.05 and after <= before


def test_clean_takes_drive_the_alignment_and_degraded_takes_the_inputs(rng):
    """A degraded source aligned through its clean take gets the clean take's targets and its own inputs."""
    from workbench.config import FeatureConfig, TrainConfig
    from workbench.data import UtteranceFeatures, build_parallel_set

    clean, f0, idx = _toy_cepstra()
    n = len(clean)
    tgt = UtteranceFeatures("a", clean[idx] + 0.05, f0[idx])
    noisy = clean.copy()
    noisy[:, 1:] += 1.5 * rng.standard_normal((n, 24)).astype(np.float32)  # noise that misleads DTW
    noisy[:, 0] -= 0.5
    cfg = TrainConfig(augment=("pitch", "speed"), augment_copies=1)
    kw = {"cfg": cfg, "feature_cfg": FeatureConfig()}
    reference = build_parallel_set([(UtteranceFeatures("a", clean, f0), tgt)], **kw)
    twin = build_parallel_set([(UtteranceFeatures("a", noisy, f0), tgt)], clean_sources=[UtteranceFeatures("a", clean, f0)], **kw)
    alone = build_parallel_set([(UtteranceFeatures("a", noisy, f0), tgt)], **kw)
    for i in range(2):  # the original and its augmented copy (same factors for both takes)
        np.testing.assert_array_equal(twin.targets[i], reference.targets[i])
        assert twin.inputs[i].shape == reference.inputs[i].shape
        np.testing.assert_array_equal(twin.sources[i].mcep[:, 0], reference.sources[i].mcep[:, 0])
    np.testing.assert_array_equal(twin.inputs[0][:, :24], noisy[: len(twin.inputs[0]), 1:])
    err = lambda d: np.abs(d.targets[0][:, 1:] - (clean[:, 1:] + 0.05)[: len(d.targets[0])]).mean()  # noqa: E731
    assert err(twin) < 0.02 < err(alone)
    with pytest.raises(DataError, match="one per pair"):
        build_parallel_set([(UtteranceFeatures("a", noisy, f0), tgt)], clean_sources=[], **kw)
    with pytest.raises(DataError, match="differ in length"):
        build_parallel_set([(UtteranceFeatures("a", noisy, f0), tgt)], clean_sources=[UtteranceFeatures("a", clean[:-3], f0[:-3])], **kw)


def test_worker_pool_survives_a_page_script_as_main(tmp_path, monkeypatch):
    """Inside Streamlit a page script is ``__main__``; spawned analysis workers must not run it."""
    import sys
    import types
    from pathlib import Path

    from workbench.config import FeatureConfig
    from workbench.data import analyze_files

    page = tmp_path / "page.py"
    page.write_text("raise SystemExit('a worker ran the page script')\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    root = Path(__file__).resolve().parents[1] / "sample_audio" / "awb"
    paths = sorted(root.glob("s00[1-6].flac"))
    feats = analyze_files(paths, FeatureConfig(), n_jobs=2)
    assert [f.name for f in feats] == [p.stem for p in paths] and sys.modules["__main__"] is fake


@pytest.mark.parametrize(("overrides", "n_phonetic"), [({}, 40), ({"phonetic_input": False}, 0), ({"model": "gmm"}, 0)])
def test_phonetic_inputs_are_the_encoders_posteriors_of_the_whole_take(overrides, n_phonetic):
    """LSTM/GAN inputs end with the shipped encoder's posteriors, computed causally over the whole take (as a
    live stream computes them) and then trimmed with the rest; GMMs and ``phonetic_input=False`` go without."""
    from workbench.config import FeatureConfig, TrainConfig
    from workbench.data import UtteranceFeatures, build_parallel_set, model_inputs
    from workbench.phonetic import default_encoder

    src, f0, idx = _toy_cepstra()
    src[:20, 0] = src[-20:, 0] = -20.0  # silence around the "speech", so that trimming cuts it off
    data = build_parallel_set([(UtteranceFeatures("a", src, f0), UtteranceFeatures("a", src[idx], f0[idx]))],
                              cfg=TrainConfig(**overrides), feature_cfg=FeatureConfig())
    x = data.inputs[0]
    assert data.phonetic == bool(n_phonetic) and x.shape[1] == 26 + n_phonetic and len(x) < len(src)
    if n_phonetic:
        start = int(np.flatnonzero(np.all(model_inputs(src, f0)[:, :24] == x[0, :24], axis=1))[0])
        np.testing.assert_allclose(x[:, 26:], default_encoder().posteriors(src)[start:start + len(x)], atol=1e-6)


def test_pseudo_source_pairs_teach_the_targets_own_frames():
    """One pseudo-source pair per recorded pair: output the target's own speech frames (not DTW means), input the
    affine image of them in the source's cepstral space (here the exact inverse of the "voice" map), the source's
    F0 statistics, the encoder's posteriors of that input, weights scaled; GMMs and ``0`` add none."""
    from workbench.config import FeatureConfig, TrainConfig
    from workbench.data import UtteranceFeatures, build_parallel_set, model_inputs
    from workbench.phonetic import default_encoder

    src, f0, idx = _toy_cepstra()
    tgt = src[idx].copy()
    tgt[:, 1:] = 3.0 * tgt[:, 1:] + 1.0
    pair = [(UtteranceFeatures("a", src, f0), UtteranceFeatures("a", tgt, 2 * f0[idx]))]
    data = build_parallel_set(pair, cfg=TrainConfig(pseudo_source_weight=0.5), feature_cfg=FeatureConfig())
    assert len(data.inputs) == 2 and len(data.sources) == 1 and data.origin == [0, 0]
    assert data.names[1] == "a~pseudo"
    np.testing.assert_array_equal(data.targets[1], tgt)  # exact frames: no silence to trim in the toy take
    assert np.abs(data.inputs[1][:, :24] - src[idx][:, 1:]).mean() < 0.02  # the map (nearly) inverted the voice
    np.testing.assert_allclose(np.exp(data.inputs[1][:, 24]), 120.0, rtol=1e-3)  # the source's F0
    pseudo = np.concatenate([tgt[:, :1], data.inputs[1][:, :24]], axis=1)
    np.testing.assert_allclose(data.inputs[1][:, 26:], default_encoder().posteriors(pseudo), atol=2e-3)
    np.testing.assert_allclose(data.weights[1], 0.5)
    np.testing.assert_array_equal(data.inputs[0], model_inputs(src, f0, posteriors=default_encoder().posteriors(src)))
    for cfg in (TrainConfig(pseudo_source_weight=0.0), TrainConfig(model="gmm")):
        assert len(build_parallel_set(pair, cfg=cfg, feature_cfg=FeatureConfig()).inputs) == 1


def test_split_keeps_a_recordings_copies_on_one_side():
    """Augmented copies and pseudo-source pairs share their recording's side of the split; plain sets split as
    ``split_by_utterance`` does."""
    from workbench.config import TrainConfig
    from workbench.data import F0Stats, ParallelSet
    from workbench.training import split_data

    n = 20
    x = [np.zeros((5, 3), np.float32) + i for i in range(3 * n)]
    y = [np.zeros((5, 25), np.float32) + i for i in range(3 * n)]
    w = [np.ones(5, np.float32)] * (3 * n)
    plain = ParallelSet([str(i) for i in range(n)], x[:n], y[:n], w[:n], F0Stats(4.8, 0.1), F0Stats(5.3, 0.1))
    tr, va = split_by_utterance(n, 0.15, seed=3)
    split = split_data(plain, TrainConfig(seed=3))
    np.testing.assert_array_equal(split.train_idx, tr)
    np.testing.assert_array_equal(split.val_idx, va)
    copies = ParallelSet([str(i) for i in range(3 * n)], x, y, w, F0Stats(4.8, 0.1), F0Stats(5.3, 0.1),
                         origin=[i // 2 for i in range(2 * n)] + list(range(n)))
    split = split_data(copies, TrainConfig(seed=3))
    origin = np.asarray(copies.origin)
    assert set(origin[split.train_idx]).isdisjoint(origin[split.val_idx])
    assert len(split.train_idx) + len(split.val_idx) == 3 * n and sorted(set(origin[split.val_idx])) == sorted(va)
