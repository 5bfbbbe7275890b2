"""Tests of the training losses in ``workbench.losses``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def test_trajectory_loss_penalises_smeared_transitions_that_plain_mse_cannot_tell_apart():
    """A step target; one prediction is offset by a constant (right shape), the other is smeared in time with
    the same squared error per sequence. Plain MSE scores them equal; the delta term prefers the sharp one."""
    from workbench.losses import mapping_loss

    t = np.arange(40)
    step = np.where(t < 20, -1.0, 1.0)
    y = np.stack([step, step], axis=-1)[None].astype(np.float32)  # (1, 40, 2)
    smeared = np.tanh((t - 19.5) / 4.0)
    smeared = np.stack([smeared, smeared], axis=-1)[None].astype(np.float32)
    offset = y + np.float32(np.sqrt(np.mean((smeared - y) ** 2)))  # same per-sequence MSE, no smearing
    w = np.ones((1, 40), np.float32)
    plain, traj = mapping_loss(), mapping_loss(delta_weight=1.0)
    assert float(plain(y, offset, w)) == pytest.approx(float(plain(y, smeared, w)), rel=1e-4)
    assert float(traj(y, offset, w)) < float(traj(y, smeared, w))
    assert float(traj(y, y, w)) == pytest.approx(0.0, abs=1e-7)


def test_trajectory_loss_ignores_the_jump_from_padding():
    """Frames after an all-zero row (padding, the lookahead's leading frames) add no difference term."""
    from workbench.losses import mapping_loss

    y = np.ones((1, 10, 3), np.float32)
    y[:, :4] = 0.0  # leading rows without a target
    pred = y.copy()
    pred[:, :4] = 5.0  # anything where the weight is 0
    w = (y[..., 0] != 0).astype(np.float32)
    assert float(mapping_loss(delta_weight=1.0)(y, pred, w)) == pytest.approx(0.0, abs=1e-7)


def _clip_mcep():
    from workbench.audio import load_audio
    from workbench.config import FeatureConfig
    from workbench.features import mcep

    y, sr = load_audio(Path(__file__).resolve().parents[1] / "sample_audio" / "awb" / "s001.flac", sr=16000)
    return mcep(y, cfg=FeatureConfig())[:, :25].astype(np.float32)


def test_phonetic_loss_runs_the_shipped_encoder_as_a_convolution():
    """The loss's encoder (normalisation folded into a dilated causal convolution) gives the NumPy encoder's
    posteriors wherever its window lies inside the clip."""
    from workbench.losses import PhoneticLoss
    from workbench.phonetic import default_encoder

    enc = default_encoder()
    m = _clip_mcep()
    loss = PhoneticLoss(0.1, encoder=enc)
    got = np.exp(np.asarray(loss.phone_log_probs(m[None]))[0])
    np.testing.assert_allclose(got[enc.history :], enc.posteriors(m)[enc.history :], atol=1e-5)


def test_phonetic_loss_adds_cross_entropy_to_the_squared_error_and_prefers_the_right_phones():
    """With no phone targets the loss is the squared error; with the clip's own posteriors as targets the
    true frames cost less than the same frames out of order (same squared error to a shuffled target)."""
    from workbench.losses import PhoneticLoss
    from workbench.phonetic import default_encoder

    enc = default_encoder()
    m = _clip_mcep()[:300]
    mean, std = m[:, 1:].mean(axis=0), np.full(24, m[:, 1:].std(), np.float32)
    norm = (m[:, 1:] - mean) / std
    post = enc.posteriors(m)
    named = np.concatenate([post[enc.delay :], np.repeat(post[-1:], enc.delay, axis=0)])  # phone of each frame
    loss = PhoneticLoss(1.0, n_out=24, out_mean=mean, out_std=std, encoder=enc)
    w = np.ones((1, len(m)), np.float32)

    def value(pred, phones):
        y = np.concatenate([norm, m[:, :1], phones], axis=1)[None]
        return float(loss(y, pred[None], w))

    shuffled = norm[np.random.default_rng(0).permutation(len(m))]
    plain = float(np.mean((shuffled - norm) ** 2))
    assert value(shuffled, np.zeros_like(named)) == pytest.approx(plain, rel=1e-4)

    def phonetic_term(pred):
        return value(pred, named) - value(pred, np.zeros_like(named))

    assert 0.0 < phonetic_term(norm) < phonetic_term(shuffled)


def test_phonetic_loss_survives_a_checkpoint_round_trip():
    from workbench.losses import PhoneticLoss

    loss = PhoneticLoss(0.3, n_out=3, out_mean=[0, 1, 2], out_std=[1, 1, 1], delta_weight=0.5)
    again = PhoneticLoss.from_config(loss.get_config())
    assert (again.weight, again.delta_weight, again.n_out) == (0.3, 0.5, 3)
    np.testing.assert_array_equal(again.out_mean, [0, 1, 2])


def test_phone_targets_name_each_frames_phone_one_hot():
    """The loss's targets: the target's c0, then the phone the encoder names for that very frame (the input's
    posteriors at t are about frame t - delay), one-hot; the last frames repeat the last named phone."""
    from workbench.data import F0Stats, ParallelSet
    from workbench.fitting import _phone_targets
    from workbench.phonetic import default_encoder

    enc = default_encoder()
    n = 30
    phones = np.arange(n) % enc.n_phones
    post = np.full((n, enc.n_phones), 0.01, np.float32)
    post[np.arange(n), phones] = 0.6
    targets = np.random.default_rng(0).normal(size=(n, 25)).astype(np.float32)
    data = ParallelSet(["u"], [np.concatenate([np.zeros((n, 26), np.float32), post], axis=1)], [targets],
                       [np.ones(n, np.float32)], F0Stats(5.0, 0.2), F0Stats(5.3, 0.2), phonetic=True)
    got = _phone_targets(data, 0)
    assert got.shape == (n, 1 + enc.n_phones)
    np.testing.assert_array_equal(got[:, 0], targets[:, 0])
    np.testing.assert_array_equal(got[:, 1:].sum(axis=1), 1.0)
    d = enc.delay
    np.testing.assert_array_equal(got[: n - d, 1:].argmax(axis=1), phones[d:])
    np.testing.assert_array_equal(got[n - d :, 1:].argmax(axis=1), phones[-1])
