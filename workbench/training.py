"""Training: one function per model, progress callbacks, stop on request, checkpoints and resume.

``train_conversion`` is the whole recipe behind ``workbench train``, the Train page and the notebook:
pair files, analyse them, align, normalise, fit the chosen model and save a bundle. The model-level
functions (``train_mapping``, ``train_gan``) compile and fit a given Keras model and return its
``History``; they never print or draw — callers pass ``on_progress``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .bundle import BundleMeta, save_bundle
from .config import FeatureConfig, TrainConfig
from .data import (
    NormStats,
    ParallelSet,
    UtteranceFeatures,
    analyze_files,
    build_parallel_set,
    make_dataset,
    make_windows,
    model_inputs,
    pair_files,
    realign,
    split_by_utterance,
)
from .errors import DataError, TrainingStopped

MIN_TRAIN_FRAMES = 1000


@dataclass(frozen=True)
class Progress:
    """One progress report: where training is and the latest losses."""

    stage: str
    epoch: int
    epochs: int
    step: int = 0
    steps: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0


ProgressFn = Callable[[Progress], None]


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
):
    """Fit a ``MappingModel`` with weighted squared error, early stopping and (optional) checkpoints.

    With ``cfg.checkpoint_dir`` set, a checkpoint is written after every epoch and an interrupted run
    resumes from it (same epochs, weights and optimizer state). Returns the Keras ``History`` of this run.
    """
    import keras

    ProgressCallback, CheckpointCallback = _keras_callbacks()
    directory, state = _resume_state(cfg, stage)
    initial_epoch = 0
    if state is not None:
        resumed = keras.models.load_model(directory / state["model"], safe_mode=True)
        model.set_weights(resumed.get_weights())
        initial_epoch = int(state["epoch"])
    optimizer = keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0)
    if state is not None and resumed.optimizer is not None and resumed.optimizer.variables:
        # the optimizer is tied to the variables it was built with: copy its state (step, moments) over
        optimizer.build(model.trainable_variables)
        for new, old in zip(optimizer.variables, resumed.optimizer.variables):
            new.assign(old)
    model.compile(optimizer=optimizer, loss="mse", weighted_metrics=[])
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
):
    """Fine-tune a (pre-trained) generator adversarially for ``cfg.gan_epochs`` epochs; returns the History."""
    import keras

    from .models.gan import Discriminator, GANTrainer

    ProgressCallback, _ = _keras_callbacks()
    trainer = GANTrainer(generator, Discriminator())
    trainer.compile(
        g_optimizer=keras.optimizers.Adam(cfg.gan_learning_rate, clipnorm=1.0),
        d_optimizer=keras.optimizers.Adam(cfg.gan_learning_rate, clipnorm=1.0),
        adv_weight=cfg.gan_adv_weight,
    )
    callbacks = [ProgressCallback("gan", cfg.gan_epochs, steps, on_progress, stop_event)]
    return trainer.fit(train_ds, validation_data=val_ds, epochs=cfg.gan_epochs, callbacks=callbacks, verbose=0, shuffle=False)


# ------------------------------------------------------------------------------------------- recipe
@dataclass
class TrainResult:
    """What ``train_conversion`` produced."""

    bundle_dir: Path
    history: dict[str, list[float]]
    n_train_frames: int
    n_val_frames: int
    elapsed_s: float
    stopped: bool = False


def _history_dict(*histories) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for prefix, h in histories:
        for k, v in (getattr(h, "history", None) or {}).items():
            out[f"{prefix}{k}"] = [float(x) for x in v]
    return out


def prepare_parallel(
    pairs: Sequence[tuple[Path, Path]],
    *,
    cfg: TrainConfig,
    feature_cfg: FeatureConfig,
    on_progress: ProgressFn | None = None,
    groups: Sequence[int] | None = None,
) -> ParallelSet:
    """Analyse paired files and build the aligned training set (``groups``: source speaker of each pair)."""
    t0 = time.perf_counter()
    if on_progress:
        on_progress(Progress("analysis", 0, 1, 0, len(pairs), {}, 0.0))
    files = [p for pair in pairs for p in pair]
    feats = analyze_files(files, feature_cfg, n_jobs=cfg.n_jobs)
    utts: list[tuple[UtteranceFeatures, UtteranceFeatures]] = list(zip(feats[0::2], feats[1::2]))
    if on_progress:
        on_progress(Progress("alignment", 0, 1, 0, len(pairs), {}, time.perf_counter() - t0))
    data = build_parallel_set(utts, cfg=cfg, feature_cfg=feature_cfg, groups=groups)
    if data.n_frames < MIN_TRAIN_FRAMES:
        raise DataError(
            f"Only {data.n_frames} aligned frames ({data.n_frames * feature_cfg.hop_ms / 1000:.1f} s of speech); "
            f"record at least {MIN_TRAIN_FRAMES * feature_cfg.hop_ms / 1000:.0f} s of parallel sentences."
        )
    return data


def train_conversion(
    source_dirs: str | os.PathLike | Sequence[str | os.PathLike],
    target_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    cfg: TrainConfig = TrainConfig(),
    feature_cfg: FeatureConfig = FeatureConfig(),
    on_progress: ProgressFn | None = None,
    stop_event: threading.Event | None = None,
) -> TrainResult:
    """Train a source→target conversion model from parallel folders and save it as a bundle.

    Parameters
    ----------
    source_dirs : folder or list of folders
        Audio of the source voice(s); several folders make a many-to-one model.
    target_dir : folder
        Audio of the target voice; files pair with source files by stem.
    out_dir : folder
        Where the bundle is written (atomically).
    cfg : TrainConfig
        Model kind (``lstm``, ``gan``, ``gmm``), epochs, seed, augmentation, checkpointing.

    Raises
    ------
    DataError
        Missing folders, unpaired files or too little speech.
    TrainingStopped
        ``stop_event`` was set before any usable model existed.
    """
    t0 = time.perf_counter()
    if isinstance(source_dirs, (str, os.PathLike)):
        source_dirs = [source_dirs]
    grouped = [(g, pair) for g, d in enumerate(source_dirs) for pair in pair_files(d, target_dir)]
    pairs = [pair for _, pair in grouped]
    data = prepare_parallel(pairs, cfg=cfg, feature_cfg=feature_cfg, on_progress=on_progress,
                            groups=[g for g, _ in grouped])
    return fit_conversion(data, out_dir, cfg=cfg, feature_cfg=feature_cfg, on_progress=on_progress,
                          stop_event=stop_event, source_voices=[Path(d).name for d in source_dirs],
                          target_voice=Path(target_dir).name, n_pairs=len(pairs), t0=t0)


def fit_conversion(
    data: ParallelSet,
    out_dir: str | os.PathLike,
    *,
    cfg: TrainConfig,
    feature_cfg: FeatureConfig,
    on_progress: ProgressFn | None = None,
    stop_event: threading.Event | None = None,
    source_voices: Sequence[str] = (),
    target_voice: str = "",
    n_pairs: int = 0,
    t0: float | None = None,
) -> TrainResult:
    """Fit the model chosen by ``cfg.model`` on an aligned ``ParallelSet`` and save the bundle."""
    t0 = time.perf_counter() if t0 is None else t0
    if stop_event is not None and stop_event.is_set():
        raise TrainingStopped("Training was stopped before it started; nothing was saved.")
    train_idx, val_idx = split_by_utterance(len(data.inputs), cfg.val_fraction, cfg.seed)
    pick = lambda seq, idx: [seq[i] for i in idx]  # noqa: E731
    out_norm = NormStats.fit(np.concatenate([data.targets[i][:, 1:] for i in train_idx]))
    if cfg.output_scale == "global":
        # one scale for every coefficient: squared error then weighs dimensions as MCD does, instead of
        # inflating the tiny high-order coefficients to unit variance
        out_norm = NormStats(out_norm.mean, np.full_like(out_norm.std, float(np.sqrt(np.mean(out_norm.std**2)))))
    in_norm = NormStats.fit(np.concatenate(pick(data.inputs, train_idx)))
    meta = BundleMeta(
        kind=cfg.model, feature_cfg=feature_cfg, output_norm=out_norm, source_f0=data.source_f0,
        target_f0=data.target_f0, input_norm=in_norm, lookahead_frames=cfg.lookahead_frames if cfg.model != "gmm" else 0,
        use_f0_input=cfg.use_f0_input, f0_mode=data.f0_mode, source_voices=list(source_voices), target_voice=target_voice,
        train_args={**cfg.to_dict(), "n_pairs": n_pairs, "n_utterances": len(data.inputs)},
    )
    n_train = int(sum(len(data.inputs[i]) for i in train_idx))
    n_val = int(sum(len(data.inputs[i]) for i in val_idx))

    if cfg.model == "gmm":
        from .features import speech_mask
        from .models.gmm import JointGMM

        if on_progress:
            on_progress(Progress("gmm", 0, 1, 0, 1, {}, time.perf_counter() - t0))
        xs, ys = [], []
        for i in train_idx:
            m = speech_mask(data.targets[i][:, 0])
            xs.append(data.inputs[i][:, : out_norm.mean.size][m])
            ys.append(data.targets[i][:, 1:][m])
        model = JointGMM.fit(np.concatenate(xs), np.concatenate(ys), n_components=cfg.gmm_components, seed=cfg.seed)
        meta.input_norm = None
        save_bundle(out_dir, meta, model)
        if on_progress:
            on_progress(Progress("gmm", 1, 1, 1, 1, {}, time.perf_counter() - t0))
        return TrainResult(Path(out_dir), {}, n_train, n_val, time.perf_counter() - t0)

    import keras
    import tensorflow as tf

    from .models.mapping import MappingModel

    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    model_cfg = replace(cfg.model_cfg, in_dim=data.inputs[0].shape[1], out_dim=out_norm.mean.size)
    meta.model_cfg = asdict(model_cfg)

    def datasets():
        """Training and validation ``tf.data`` pipelines of the current targets, and steps per epoch."""
        out = []
        for idx, shuffle in ((train_idx, True), (val_idx, False)):
            x, y, w = make_windows(
                [in_norm.apply(data.inputs[i]) for i in idx],
                [out_norm.apply(data.targets[i][:, 1:]) for i in idx],
                [data.weights[i] for i in idx],
                seq_frames=cfg.seq_frames, lookahead=cfg.lookahead_frames,
            )
            out.append(make_dataset(x, y, w, batch_size=cfg.batch_size, shuffle=shuffle, seed=cfg.seed))
            if shuffle:
                n_windows = len(x)
        return out[0], out[1], int(np.ceil(n_windows / cfg.batch_size))

    train_ds, val_ds, steps = datasets()
    strategy = get_strategy(cfg.strategy)
    with strategy.scope():
        model = MappingModel(**asdict(model_cfg))
        model.build((None, None, model_cfg.in_dim))
        hist = train_mapping(model, train_ds, val_ds, cfg=cfg, steps=steps, on_progress=on_progress,
                             stop_event=stop_event)
        histories = [("", hist)]
        stopped = bool(stop_event is not None and stop_event.is_set())
        if cfg.realign_rounds and data.sources and not stopped:
            from .models.mapping import NumpyMapper

            mapper = NumpyMapper.from_model(model)

            def convert(u: UtteranceFeatures) -> np.ndarray:
                x = np.pad(in_norm.apply(model_inputs(u.mcep, u.f0, use_f0=cfg.use_f0_input)),
                           ((0, cfg.lookahead_frames), (0, 0)), mode="edge")
                out, _ = mapper.run(x)
                return np.concatenate([u.mcep[:, :1], out_norm.invert(out[cfg.lookahead_frames:])], axis=1)

            if on_progress:
                on_progress(Progress("alignment", 0, 1, 0, len(data.sources), {}, time.perf_counter() - t0))
            realign(data, convert, cfg=cfg)
            train_ds, val_ds, steps = datasets()
            histories.append(("refine_", train_mapping(model, train_ds, val_ds, cfg=cfg, steps=steps,
                                                       on_progress=on_progress, stop_event=stop_event,
                                                       stage="refine")))
            stopped = bool(stop_event is not None and stop_event.is_set())
        if cfg.model == "gan" and not stopped:
            histories.append(("gan_", train_gan(model, train_ds, val_ds, cfg=cfg, steps=steps,
                                                 on_progress=on_progress, stop_event=stop_event)))
            stopped = bool(stop_event is not None and stop_event.is_set())
    history = _history_dict(*histories)
    if not history.get("loss") and not history.get("gan_loss"):
        if stopped:
            raise TrainingStopped("Training was stopped before the first epoch finished; nothing was saved.")
    val = history.get("val_loss") or [float("nan")]
    meta.metrics = {"val_loss": float(np.nanmin(val)), "epochs_run": len(history.get("loss", [])),
                    "train_frames": n_train, "val_frames": n_val, "train_seconds": round(time.perf_counter() - t0, 1)}
    meta.train_args["history"] = history
    save_bundle(out_dir, meta, model)
    return TrainResult(Path(out_dir), history, n_train, n_val, time.perf_counter() - t0, stopped)
