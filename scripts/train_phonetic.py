"""Train the phonetic encoder (``workbench/pretrained/phonetic``) that conversion models take as extra input.

Data, all generated here (nothing downloaded):

- the many-to-one corpus of ``scripts/make_source_voices.py`` (35 source voices from flite and espeak-ng with
  vocal-tract, pitch and tempo changes, each clip clean and through a simulated microphone and room), and the
  target ``slt`` reading its 100 training sentences;
- the training split (s001-s040) of every voice in ``sample_audio/``.

Labels: each clean clip's transcript aligned phone by phone with PocketSphinx (``workbench.speech.align``);
a degraded clip takes the labels of its clean take (same length). Sentences ``x031``-``x060`` are left out, so
``benchmarks/intelligibility.py`` can measure on sentences neither the encoder nor a conversion model saw; the
test split (s041-s050) never enters. The held-out voice sets of ``make_source_voices.py`` (voices no training
clip comes from, clean and in a room) measure frame accuracy.

Usage::

    nice -n 10 .venv/bin/python scripts/train_phonetic.py [--data workbench_data/many_to_one] [--epochs 8]

About 6 minutes on 2 cores when the corpus exists (alignment 1 min, analysis 2 min, training 1-2 min).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_source_voices as m2o  # noqa: E402

from workbench.config import FeatureConfig  # noqa: E402
from workbench.data import analyze_files  # noqa: E402
from workbench.errors import AudioError  # noqa: E402
from workbench.features import n_frames  # noqa: E402
from workbench.phonetic import DEFAULT_DIR, PhoneticEncoder, causal_windows  # noqa: E402
from workbench.speech.align import PHONES, align_phones, frame_labels  # noqa: E402

MEASURE_IDS = {f"x{i:03d}" for i in range(31, 61)}  # kept out for benchmarks/intelligibility.py
OFFSETS = tuple(range(-24, 1, 3))  # 9 frames over the last 120 ms (5 ms hop)
DELAY = 4  # name the phone of frame t - 4: a conversion LSTM with 4 frames of lookahead emits that frame at t
N_COEFFS = 25  # c0..c24
UNITS = 256


def clips(data: Path) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """``(audio to learn from, clean take with the transcript)`` for training, and the held-out clips."""
    train: list[tuple[Path, Path]] = []
    for clean in sorted((data / "train_clean").glob("*/*.flac")) + sorted((data / "target").glob("*/*.flac")):
        if clean.stem in MEASURE_IDS:
            continue
        train.append((clean, clean))
        degraded = data / "train" / clean.parent.name / clean.name
        if degraded.is_file():
            train.append((degraded, clean))
    with open(ROOT / "sample_audio" / "manifest.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["split"] == "train":
                p = ROOT / "sample_audio" / row["voice"] / f"{row['utt_id']}.flac"
                train.append((p, p))
    heldout = sorted((data / "heldout").glob("*/*.flac"))
    return train, heldout


def _labels(path: Path) -> np.ndarray | None:
    y, sr = sf.read(path, dtype="float32")
    y = y.mean(axis=1) if y.ndim > 1 else y
    try:
        segments = align_phones(y, sr, path.with_suffix(".txt").read_text())
    except AudioError:
        return None  # e.g. an accent the en-us model cannot follow through the transcript
    fc = FeatureConfig()
    return frame_labels(segments, n_frames(len(y) * fc.sr // sr, fc), fc.hop_ms / 1000.0)


def dataset(pairs: list[tuple[Path, Path]], labels: dict[Path, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    feats = analyze_files([a for a, _ in pairs], FeatureConfig(), n_jobs=2)
    xs, ys = [], []
    for (_, clean), f in zip(pairs, feats):
        lab = labels[clean]
        n = min(len(lab), len(f.mcep))
        xs.append(causal_windows(f.mcep[:n, :N_COEFFS].astype(np.float32), OFFSETS))  # as the encoder builds them
        ys.append(np.concatenate([np.zeros(DELAY, np.int16), lab[: n - DELAY]]))  # phone of frame t - DELAY
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "workbench_data" / "many_to_one")
    ap.add_argument("--out", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    data = m2o.generate(args.data)
    train, heldout = clips(data)
    cleans = sorted({c for _, c in train} | set(heldout))
    with ProcessPoolExecutor(2) as ex:
        labels = {p: lab for p, lab in zip(cleans, ex.map(_labels, cleans, chunksize=8)) if lab is not None}
    print(f"aligned {len(labels)} of {len(cleans)} clean clips ({time.perf_counter() - t0:.0f} s)", flush=True)
    train = [(a, c) for a, c in train if c in labels]
    heldout_pairs = [(p, p) for p in heldout if p in labels]
    x, y = dataset(train, labels)
    xv, yv = dataset(heldout_pairs, labels)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    print(f"{len(x)} training frames from {len(train)} clips, {len(xv)} held-out frames ({time.perf_counter() - t0:.0f} s)",
          flush=True)

    import keras
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential([keras.Input((x.shape[1],)), layers.Dense(UNITS, activation="relu"), layers.Dropout(0.2),
                              layers.Dense(UNITS, activation="relu"), layers.Dropout(0.2),
                              layers.Dense(len(PHONES), activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    # a fixed number of epochs: the held-out voices only measure, they do not pick the epoch
    model.fit((x - mean) / std, y, batch_size=512, epochs=args.epochs, validation_data=((xv - mean) / std, yv), verbose=2)
    dense = [layer.get_weights() for layer in model.layers if layer.get_weights()]
    encoder = PhoneticEncoder([(k, b) for k, b in dense], mean=mean, std=std, offsets=OFFSETS, phones=PHONES,
                              delay=DELAY, n_coeffs=N_COEFFS)
    acc = float(np.mean(encoder.classify_windows(xv).argmax(axis=1) == yv))
    train_acc = float(np.mean(encoder.classify_windows(x[::7]).argmax(axis=1) == y[::7]))
    info = {"trained": datetime.now(UTC).isoformat(timespec="seconds"), "training_clips": len(train),
            "training_frames": int(len(x)), "heldout_sets": sorted({p.parent.name for p, _ in heldout_pairs}),
            "frame_accuracy_heldout": round(acc, 4), "frame_accuracy_train": round(train_acc, 4),
            "seconds": round(time.perf_counter() - t0)}
    encoder.save(args.out, info=info)
    print(f"saved {args.out}: frame accuracy {acc:.3f} on held-out voices ({train_acc:.3f} training), "
          f"{info['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
