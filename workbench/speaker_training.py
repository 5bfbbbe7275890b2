"""Training the speaker encoder with the GE2E loss, and saving / evaluating speaker-encoder bundles.

Data is a folder with one sub-folder of clips per speaker (``load_speaker_folders``). Each training step
draws N speakers x M clips, crops every clip to one random length and pushes the N x M embeddings apart by
speaker with ``losses.ge2e_loss``. ``train_speaker_encoder`` follows the project's training pattern: it
compiles, fits, reports ``Progress`` and returns the Keras ``History``; it writes files only when
``cfg.checkpoint_dir`` is set.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import list_audio_files, load_audio
from .config import EncoderConfig, EncoderTrainConfig
from .errors import DataError, TrainingStopped
from .speaker import ENCODER_FORMAT, ENCODER_KIND, SpeakerEmbedder, log_mel, verification_eer
from .training import Progress

ProgressFn = Callable[[Progress], None]


def load_speaker_folders(*roots: str | Path, min_clips: int = 2) -> dict[str, list[Path]]:
    """Clips by speaker: every sub-folder of each root with at least ``min_clips`` audio files.

    Sub-folders of the same name in several roots are one speaker (e.g. extra clips of a sample voice).
    Folders whose name starts with ``_`` or ``.`` are skipped.

    Raises
    ------
    DataError
        When a root is missing or fewer than two speakers are found.
    """
    found: dict[str, list[Path]] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise DataError(f"Speaker folder {root} does not exist; pass a folder with one sub-folder per speaker.")
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
            files = list_audio_files(sub)
            if files:
                found.setdefault(sub.name, []).extend(files)
    found = {k: v for k, v in found.items() if len(v) >= min_clips}
    if len(found) < 2:
        raise DataError(f"Found {len(found)} speaker(s) with >= {min_clips} clips under {', '.join(map(str, roots))}; "
                        "a speaker encoder needs at least two speakers, one sub-folder of clips each.")
    return found


@dataclass
class SpeakerSet:
    """Log-mel frames of each speaker's clips, with the feature statistics used to standardise them."""

    mels: dict[str, list[np.ndarray]]
    mean: np.ndarray
    std: np.ndarray

    @property
    def n_utterances(self) -> int:
        return sum(len(v) for v in self.mels.values())


def analyze_speakers(files: dict[str, list[Path]], *, cfg: EncoderConfig = EncoderConfig(),
                     stats: tuple[np.ndarray, np.ndarray] | None = None,
                     on_progress: ProgressFn | None = None) -> SpeakerSet:
    """Log-mels of every clip; ``stats`` (mean, std) default to those of this data."""
    mels: dict[str, list[np.ndarray]] = {}
    total, done = sum(len(v) for v in files.values()), 0
    for spk, paths in files.items():
        for p in paths:
            y, sr = load_audio(p, sr=cfg.sr)
            mels.setdefault(spk, []).append(log_mel(y, sr, cfg=cfg))
            done += 1
            if on_progress and (done % 50 == 0 or done == total):
                on_progress(Progress("analysis", 0, 0, done, total))
    if stats is None:
        allf = np.concatenate([m for v in mels.values() for m in v])
        stats = (allf.mean(axis=0), np.maximum(allf.std(axis=0), 1e-3))
    return SpeakerSet(mels, stats[0].astype(np.float32), stats[1].astype(np.float32))


def sample_batch(data: SpeakerSet, n_spk: int, n_utt: int, crop: int, rng: np.random.Generator) -> np.ndarray:
    """One GE2E batch ``(n_spk * n_utt, crop, n_mels)``: random speakers, clips and crop offsets, standardised."""
    names = list(data.mels)
    out = []
    for s in rng.choice(len(names), size=n_spk, replace=False):
        clips = data.mels[names[s]]
        for u in rng.choice(len(clips), size=n_utt, replace=len(clips) < n_utt):
            m = clips[u]
            if len(m) < crop:  # short clip: repeat it to the crop length
                m = np.concatenate([m] * (crop // len(m) + 1))
            start = int(rng.integers(0, len(m) - crop + 1))
            out.append(m[start : start + crop])
    return ((np.stack(out) - data.mean) / data.std).astype(np.float32)


def _ge2e_trainer(encoder, n_spk: int, n_utt: int):
    """A Keras model whose ``train_step`` applies the GE2E loss to ``encoder`` (keras-io custom step pattern)."""
    import keras
    import tensorflow as tf

    from .losses import ge2e_loss

    class GE2ETrainer(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.w = self.add_weight(shape=(), initializer=keras.initializers.Constant(10.0), name="ge2e_w")
            self.b = self.add_weight(shape=(), initializer=keras.initializers.Constant(-5.0), name="ge2e_b")
            self.loss_tracker = keras.metrics.Mean(name="loss")

        @property
        def metrics(self):
            return [self.loss_tracker]

        def call(self, x, training=False):
            return self.encoder(x, training=training)

        def train_step(self, x):
            with tf.GradientTape() as tape:
                emb = tf.reshape(self.encoder(x, training=True), (n_spk, n_utt, -1))
                loss = ge2e_loss(emb, tf.maximum(self.w, 1e-6), self.b)
            grads = tape.gradient(loss, self.trainable_variables)
            grads, _ = tf.clip_by_global_norm(grads, 3.0)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            self.loss_tracker.update_state(loss)
            return {"loss": self.loss_tracker.result(), "w": self.w, "b": self.b}

    return GE2ETrainer()


def train_speaker_encoder(model, data: SpeakerSet, *, cfg: EncoderTrainConfig, on_progress: ProgressFn | None = None,
                          stop_event: threading.Event | None = None, window_frames: int = 160):
    """Train a ``SpeakerEncoder`` on ``data`` with the GE2E loss.

    Parameters
    ----------
    model : models.speaker_encoder.SpeakerEncoder
    data : SpeakerSet
        At least two speakers; each batch uses ``min(cfg.speakers_per_batch, n_speakers)`` of them.
    cfg : EncoderTrainConfig
    on_progress : callable, optional
        Receives ``Progress("encoder", epoch, epochs, step, steps, {"loss": ...})``.
    stop_event : threading.Event, optional
        Set it to stop after the current step (raises ``TrainingStopped``; the last checkpoint is kept).
    window_frames : int
        Longest crop, the inference window length.

    Returns
    -------
    keras.callbacks.History
        ``history["loss"]`` per epoch. With ``cfg.checkpoint_dir``, ``encoder.weights.h5`` and
        ``state.json`` are written after every epoch and a later call resumes from them.
    """
    import keras

    n_spk = min(cfg.speakers_per_batch, len(data.mels))
    n_utt = cfg.utterances_per_speaker
    if n_spk < 2:
        raise DataError(f"GE2E needs at least two speakers, got {len(data.mels)}.")
    steps = cfg.steps_per_epoch or max(1, data.n_utterances // (n_spk * n_utt))
    rng = np.random.default_rng(cfg.seed)
    keras.utils.set_random_seed(cfg.seed)
    model.build((None, None, model.n_mels))
    trainer = _ge2e_trainer(model, n_spk, n_utt)
    trainer.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate))
    trainer.build((None, None, model.n_mels))
    first_epoch = 0
    ckpt = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
    if ckpt is not None and (ckpt / "state.json").is_file():
        trainer.optimizer.build(trainer.trainable_variables)  # so that the Adam moments are restored too
        trainer.load_weights(ckpt / "trainer.weights.h5")
        first_epoch = int(json.loads((ckpt / "state.json").read_text())["epoch"])
        rng = np.random.default_rng(cfg.seed + first_epoch)

    def batches():
        while True:
            crop = int(rng.integers(min(cfg.min_crop_frames, window_frames), window_frames + 1))
            yield sample_batch(data, n_spk, n_utt, crop, rng)

    class Report(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.t0, self.epoch = time.perf_counter(), 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if stop_event is not None and stop_event.is_set():
                self.model.stop_training = True
            if on_progress:
                on_progress(Progress("encoder", self.epoch + 1, cfg.epochs, batch + 1, steps,
                                     {k: float(v) for k, v in (logs or {}).items()}, time.perf_counter() - self.t0))

        def on_epoch_end(self, epoch, logs=None):
            if ckpt is not None and not (stop_event is not None and stop_event.is_set()):
                ckpt.mkdir(parents=True, exist_ok=True)
                trainer.save_weights(ckpt / "trainer.weights.h5")
                (ckpt / "state.json").write_text(json.dumps({"epoch": epoch + 1, "loss": float(logs.get("loss", 0))}))

    history = trainer.fit(_as_dataset(batches), epochs=cfg.epochs, initial_epoch=first_epoch, steps_per_epoch=steps,
                          callbacks=[Report()], verbose=0)
    if stop_event is not None and stop_event.is_set():
        raise TrainingStopped("Speaker-encoder training stopped on request; the last checkpoint (if any) is kept.")
    return history


def _as_dataset(gen_fn):
    import tensorflow as tf

    return tf.data.Dataset.from_generator(gen_fn, output_signature=tf.TensorSpec((None, None, None), tf.float32))


def save_encoder_bundle(folder: str | Path, model, cfg: EncoderConfig, data: SpeakerSet, *,
                        notes: dict | None = None) -> Path:
    """Write ``bundle.json`` and ``weights.npz`` (NumPy weights + feature statistics) to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = {**model.numpy_weights(), "feat_mean": data.mean, "feat_std": data.std}
    tmp = folder / "weights.tmp.npz"
    np.savez_compressed(tmp, **weights)
    tmp.replace(folder / "weights.npz")
    meta = {"bundle_type": ENCODER_KIND, "format_version": ENCODER_FORMAT, "encoder_cfg": cfg.to_dict(),
            "speakers": sorted(data.mels), **(notes or {})}
    (folder / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def evaluate_encoder(embedder: SpeakerEmbedder, files: dict[str, list[Path]]) -> dict[str, float | int]:
    """Verification EER of an encoder over all clip pairs of the given speakers.

    Returns
    -------
    dict
        ``{"eer": float, "speakers": int, "utterances": int}``.
    """
    embs, labels = [], []
    for spk, paths in files.items():
        for p in paths:
            y, sr = load_audio(p, sr=None)
            embs.append(embedder.embed(y, sr))
            labels.append(spk)
    return {"eer": verification_eer(np.stack(embs), labels), "speakers": len(files), "utterances": len(labels)}


def train_encoder_on_folders(roots: Sequence[str | Path], out: str | Path, *, cfg: EncoderTrainConfig,
                             enc_cfg: EncoderConfig = EncoderConfig(), on_progress: ProgressFn | None = None,
                             stop_event: threading.Event | None = None, notes: dict | None = None):
    """Analyse the speaker folders, train a new encoder and save its bundle; returns ``(bundle_dir, history)``."""
    from .models.speaker_encoder import SpeakerEncoder

    files = load_speaker_folders(*roots)
    data = analyze_speakers(files, cfg=enc_cfg, on_progress=on_progress)
    model = SpeakerEncoder(**enc_cfg.model_kwargs)
    history = train_speaker_encoder(model, data, cfg=cfg, on_progress=on_progress, stop_event=stop_event,
                                    window_frames=enc_cfg.window_frames)
    info = {"train": {**cfg.to_dict(), "utterances": data.n_utterances, "final_loss": history.history["loss"][-1]
                      if history.history.get("loss") else None}, **(notes or {})}
    return save_encoder_bundle(out, model, enc_cfg, data, notes=info), history
