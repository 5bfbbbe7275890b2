"""One ``fit_<kind>`` per trainable model kind (the registry names them), and the Keras loops they use.

Each fit takes the aligned ``ParallelSet`` and its ``TrainSplit`` (training/validation utterances and
normalisation statistics, from ``training.split_data``) and returns a ``Fitted``: the model, its loss
history, whether it was stopped, and the bundle fields that the kind decides (lookahead, input
normalisation, model config). ``training.fit_conversion`` assembles the bundle from it; nothing here
writes a bundle or mutates shared metadata. ``train_mapping``/``train_gan`` compile and fit a given Keras
model and return its ``History``; they never print or draw — callers pass ``on_progress``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import TrainConfig
from .data import ParallelSet, make_dataset, make_windows, realign
from .errors import ConfigError, TrainingStopped
from .training import Progress, ProgressFn, TrainSplit


@dataclass
class Fitted:
    """What a ``fit_<kind>`` returns: the model and the bundle fields its kind decides."""

    model: Any
    history: dict[str, list[float]] = field(default_factory=dict)
    stopped: bool = False
    lookahead_frames: int = 0
    use_input_norm: bool = True
    model_cfg: dict[str, Any] | None = None


def _keras_callbacks():
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        """Turns Keras hooks into ``on_progress(Progress(...))`` calls and honours a stop event."""

        def __init__(self, stage: str, epochs: int, steps: int, on_progress: ProgressFn | None, stop_event: threading.Event | None):
            super().__init__()
            self.stage, self.epochs, self.steps = stage, epochs, steps
            self.on_progress, self.stop_event = on_progress, stop_event
            self.t0 = time.perf_counter()
            self.epoch = 0

        def _stop_requested(self) -> bool:
            if self.stop_event is not None and self.stop_event.is_set():
                self.model.stop_training = True
                return True
            return False

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            self._stop_requested()
            if self.on_progress and (batch % 5 == 0 or batch + 1 == self.steps):
                self.on_progress(Progress(self.stage, self.epoch + 1, self.epochs, batch + 1, self.steps,
                                          {k: float(v) for k, v in (logs or {}).items()}, time.perf_counter() - self.t0))

        def on_epoch_end(self, epoch, logs=None):
            self._stop_requested()
            if self.on_progress:
                self.on_progress(Progress(self.stage, epoch + 1, self.epochs, self.steps, self.steps,
                                          {k: float(v) for k, v in (logs or {}).items()}, time.perf_counter() - self.t0))

    class CheckpointCallback(keras.callbacks.Callback):
        """Saves the model (with optimizer state) and a small state file after every epoch."""

        def __init__(self, directory: Path, stage: str):
            super().__init__()
            self.directory, self.stage = directory, stage
            self.history: dict[str, list[float]] = {}

        def on_epoch_end(self, epoch, logs=None):
            for k, v in (logs or {}).items():
                self.history.setdefault(k, []).append(float(v))
            # the model goes to a per-epoch file first and the state file, written last, names it: a kill at
            # any moment leaves a state file whose epoch matches the model it points to
            name = f"{self.stage}.e{epoch + 1}.keras"
            tmp = self.directory / f".{self.stage}.part.keras"
            self.model.save(tmp)
            os.replace(tmp, self.directory / name)
            state = {"stage": self.stage, "epoch": epoch + 1, "history": self.history, "model": name}
            tmp_state = self.directory / f".{self.stage}.json.part"
            tmp_state.write_text(json.dumps(state))
            os.replace(tmp_state, self.directory / f"{self.stage}.json")
            for old in self.directory.glob(f"{self.stage}.e*.keras"):
                if old.name != name:
                    old.unlink(missing_ok=True)

    return ProgressCallback, CheckpointCallback


def get_strategy(name: str = "default"):
    """The ``tf.distribute`` strategy named by ``TrainConfig.strategy``."""
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _resume_state(cfg: TrainConfig, stage: str) -> tuple[Path | None, dict[str, Any] | None]:
    if not cfg.checkpoint_dir:
        return None, None
    directory = Path(cfg.checkpoint_dir)
    directory.mkdir(parents=True, exist_ok=True)
    state_file = directory / f"{stage}.json"
    try:
        state = json.loads(state_file.read_text())
    except (OSError, json.JSONDecodeError):
        return directory, None
    state["model"] = state.get("model", f"{stage}.keras")  # checkpoints written before per-epoch files
    return directory, state if (directory / state["model"]).is_file() else None


def train_mapping(
    model,
    train_ds,
    val_ds,
    *,
    cfg: TrainConfig,
    steps: int,
    on_progress: ProgressFn | None = None,
    stop_event: threading.Event | None = None,
    stage: str = "lstm",
    loss=None,
):
    """Fit a ``MappingModel`` with ``losses.mapping_loss``, early stopping and (optional) checkpoints.

    With ``cfg.checkpoint_dir`` set, a checkpoint is written after every epoch and an interrupted run
    resumes from it (same epochs, weights and optimizer state). Returns the Keras ``History`` of this run.
    """
    import keras

    from .losses import mapping_loss

    ProgressCallback, CheckpointCallback = _keras_callbacks()
    directory, state = _resume_state(cfg, stage)
    initial_epoch = 0
    if state is not None:
        resumed = keras.models.load_model(directory / state["model"], safe_mode=True)
        old, new = [w.shape for w in resumed.get_weights()], [w.shape for w in model.get_weights()]
        if old != new:  # e.g. a checkpoint from before phonetic input, or other model sizes
            raise ConfigError(f"The checkpoint in {directory} was trained with other settings (weight shapes "
                              f"{old[:1]} against {new[:1]}); train with the same settings, or delete the folder "
                              "to start afresh.")
        model.set_weights(resumed.get_weights())
        initial_epoch = int(state["epoch"])
    optimizer = keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0)
    if state is not None and resumed.optimizer is not None and resumed.optimizer.variables:
        # the optimizer is tied to the variables it was built with: copy its state (step, moments) over
        optimizer.build(model.trainable_variables)
        for new, old in zip(optimizer.variables, resumed.optimizer.variables):
            new.assign(old)
    model.compile(optimizer=optimizer, loss=loss or mapping_loss(cfg.delta_weight), weighted_metrics=[])
    callbacks = [
        ProgressCallback(stage, cfg.epochs, steps, on_progress, stop_event),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True),
    ]
    if cfg.lr_patience:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=cfg.lr_patience,
                                                           min_lr=cfg.learning_rate / 16))
    if directory is not None:
        ckpt = CheckpointCallback(directory, stage)
        if state is not None:
            ckpt.history = state.get("history", {})
        callbacks.append(ckpt)
    if initial_epoch >= cfg.epochs:
        return keras.callbacks.History()
    return model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, initial_epoch=initial_epoch,
                     callbacks=callbacks, verbose=0, shuffle=False)


def train_gan(
    generator,
    train_ds,
    val_ds,
    *,
    cfg: TrainConfig,
    steps: int,
    on_progress: ProgressFn | None = None,
    stop_event: threading.Event | None = None,
    loss=None,
):
    """Fine-tune a (pre-trained) generator adversarially for ``cfg.gan_epochs`` epochs, with ``loss`` (the LSTM
    stage's; default ``losses.mapping_loss``) as its regression term; returns the History."""
    import keras

    from .models.gan import Discriminator, GANTrainer

    ProgressCallback, _ = _keras_callbacks()
    trainer = GANTrainer(generator, Discriminator(channels=cfg.disc_channels, kernel_size=cfg.disc_kernel_size,
                                                  n_layers=cfg.disc_layers), regression_loss=loss)
    trainer.compile(
        g_optimizer=keras.optimizers.Adam(cfg.gan_learning_rate, clipnorm=1.0),
        d_optimizer=keras.optimizers.Adam(cfg.gan_learning_rate, clipnorm=1.0),
        adv_weight=cfg.gan_adv_weight,
    )
    callbacks = [ProgressCallback("gan", cfg.gan_epochs, steps, on_progress, stop_event)]
    return trainer.fit(train_ds, validation_data=val_ds, epochs=cfg.gan_epochs, callbacks=callbacks, verbose=0, shuffle=False)



def _history_dict(*histories) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for prefix, h in histories:
        for k, v in (getattr(h, "history", None) or {}).items():
            out[f"{prefix}{k}"] = [float(x) for x in v]
    return out


def _stopped(stop_event: threading.Event | None) -> bool:
    return bool(stop_event is not None and stop_event.is_set())


# ------------------------------------------------------------------------------------------- kinds
def fit_gmm(data: ParallelSet, split: TrainSplit, *, cfg: TrainConfig, on_progress: ProgressFn | None = None,
            stop_event: threading.Event | None = None) -> Fitted:
    """A joint-density GMM on the speech frames of the training utterances (no input normalisation)."""
    from .features import speech_mask
    from .models.gmm import JointGMM

    t0 = time.perf_counter()
    if on_progress:
        on_progress(Progress("gmm", 0, 1, 0, 1, {}, 0.0))
    dim = split.output_norm.mean.size
    xs, ys = [], []
    for i in split.train_idx:
        m = speech_mask(data.targets[i][:, 0])
        xs.append(data.inputs[i][:, :dim][m])
        ys.append(data.targets[i][:, 1:][m])
    model = JointGMM.fit(np.concatenate(xs), np.concatenate(ys), n_components=cfg.gmm_components, seed=cfg.seed)
    if on_progress:
        on_progress(Progress("gmm", 1, 1, 1, 1, {}, time.perf_counter() - t0))
    return Fitted(model, use_input_norm=False)


def uses_phonetic_loss(data: ParallelSet, cfg: TrainConfig) -> bool:
    """Whether the LSTM trains with ``losses.PhoneticLoss`` (``cfg.phonetic_loss_weight`` and phonetic inputs)."""
    return bool(cfg.phonetic_loss_weight) and data.phonetic


def _phone_targets(data: ParallelSet, i: int) -> np.ndarray:
    """Per frame of utterance ``i``: the target's ``c_0`` and the source frame's most likely phone, one-hot (the
    inputs' posteriors at ``t`` name frame ``t - delay``; they are moved back, the last rows repeat). Hard labels
    ask the prediction to commit to one sound; the posteriors themselves as soft targets gained less (awb -> slt,
    seed 1: WER 0.353 / 0.390 against 0.343 / 0.361 on the test / 30 further sentences)."""
    from .phonetic import default_encoder

    enc = default_encoder()
    named = enc.undelay(data.inputs[i][:, -enc.n_phones :])
    hard = np.eye(enc.n_phones, dtype=np.float32)[named.argmax(axis=1)]
    return np.concatenate([data.targets[i][:, :1], hard], axis=1).astype(np.float32)


def _datasets(data: ParallelSet, split: TrainSplit, cfg: TrainConfig, *, phone_targets: bool = False):
    """Training and validation ``tf.data`` pipelines of the current targets, and steps per epoch
    (``phone_targets``: targets carry ``_phone_targets`` after the coefficients, for ``PhoneticLoss``)."""

    def target(i: int) -> np.ndarray:
        y = split.output_norm.apply(data.targets[i][:, 1:])
        return np.concatenate([y, _phone_targets(data, i)], axis=1) if phone_targets else y

    out, n_windows = [], 0
    for idx, shuffle in ((split.train_idx, True), (split.val_idx, False)):
        x, y, w = make_windows(
            [split.input_norm.apply(data.inputs[i]) for i in idx],
            [target(i) for i in idx],
            [data.weights[i] for i in idx],
            seq_frames=cfg.seq_frames, lookahead=cfg.lookahead_frames,
        )
        out.append(make_dataset(x, y, w, batch_size=cfg.batch_size, shuffle=shuffle, seed=cfg.seed))
        if shuffle:
            n_windows = len(x)
    return out[0], out[1], int(np.ceil(n_windows / cfg.batch_size))


def fit_lstm(data: ParallelSet, split: TrainSplit, *, cfg: TrainConfig, on_progress: ProgressFn | None = None,
             stop_event: threading.Event | None = None, adversarial: bool = False) -> Fitted:
    """The causal LSTM: fit, realign the targets with its own conversion (``cfg.realign_rounds``), refit.

    The realignment converts each source with the model's ``LstmMapper`` (the same frame pipeline as
    offline conversion). With ``adversarial`` the generator is then fine-tuned as a GAN.
    """
    import keras
    import tensorflow as tf

    from .models.lstm import LstmMapper, NumpyLSTM
    from .models.mapping import MappingModel
    from .phonetic import default_encoder

    keras.utils.set_random_seed(cfg.seed)  # Keras has only process-wide seeds
    tf.config.experimental.enable_op_determinism()
    model_cfg = replace(cfg.model_cfg, in_dim=data.inputs[0].shape[1], out_dim=split.output_norm.mean.size)
    phone_loss = uses_phonetic_loss(data, cfg)
    loss = None
    if phone_loss:
        from .losses import PhoneticLoss

        loss = PhoneticLoss(cfg.phonetic_loss_weight, n_out=model_cfg.out_dim, out_mean=split.output_norm.mean,
                            out_std=split.output_norm.std, delta_weight=cfg.delta_weight, encoder=default_encoder())
    train_ds, val_ds, steps = _datasets(data, split, cfg, phone_targets=phone_loss)
    with get_strategy(cfg.strategy).scope():
        model = MappingModel(**asdict(model_cfg))
        model.build((None, None, model_cfg.in_dim))
        histories = [("", train_mapping(model, train_ds, val_ds, cfg=cfg, steps=steps, on_progress=on_progress,
                                        stop_event=stop_event, loss=loss))]
        if cfg.realign_rounds and data.sources and not _stopped(stop_event):
            data = replace(data, targets=list(data.targets), weights=list(data.weights))  # the caller's set stays as is
            mapper = LstmMapper(NumpyLSTM.from_model(model), input_norm=split.input_norm,
                                output_norm=split.output_norm, lookahead_frames=cfg.lookahead_frames,
                                use_f0_input=cfg.use_f0_input, lf0_init=data.source_f0.mean,
                                phonetic=default_encoder() if data.phonetic else None)
            if on_progress:
                on_progress(Progress("alignment", 0, 1, 0, len(data.sources), {}, 0.0))
            realign(data, lambda u: mapper.map_utterance(u.mcep, u.f0), cfg=cfg)
            train_ds, val_ds, steps = _datasets(data, split, cfg, phone_targets=phone_loss)
            histories.append(("refine_", train_mapping(model, train_ds, val_ds, cfg=cfg, steps=steps,
                                                       on_progress=on_progress, stop_event=stop_event,
                                                       stage="refine", loss=loss)))
        if adversarial and not _stopped(stop_event):
            histories.append(("gan_", train_gan(model, train_ds, val_ds, cfg=cfg, steps=steps,
                                                 on_progress=on_progress, stop_event=stop_event, loss=loss)))
    history = _history_dict(*histories)
    stopped = _stopped(stop_event)
    if not history.get("loss") and not history.get("gan_loss") and stopped:
        raise TrainingStopped("Training was stopped before the first epoch finished; nothing was saved.")
    return Fitted(model, history, stopped, lookahead_frames=cfg.lookahead_frames, model_cfg=asdict(model_cfg))


def fit_gan(data: ParallelSet, split: TrainSplit, *, cfg: TrainConfig, on_progress: ProgressFn | None = None,
            stop_event: threading.Event | None = None) -> Fitted:
    """The LSTM, then ``cfg.gan_epochs`` of adversarial fine-tuning of it as a generator (Saito et al.)."""
    return fit_lstm(data, split, cfg=cfg, on_progress=on_progress, stop_event=stop_event, adversarial=True)
