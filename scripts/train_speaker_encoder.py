"""Train the shipped speaker encoder (workbench/pretrained/speaker-encoder) and report its EER.

Training data: the six sample voices' training sentences (s001-s040) plus the synthetic speakers made by
``scripts/make_speaker_data.py`` whose role is ``train`` (sentences s001-s030 and WORLD copies). Held out:

- the sample voices' test sentences (s041-s050): *seen voices, unseen sentences* (the acceptance measure);
- the generated speakers with role ``unseen``: *unseen voices* (their test sentences s041-s050);
- the seen generated speakers' test sentences.

Usage::

    nice -n 10 .venv/bin/python scripts/make_speaker_data.py --out workbench_data/speakers
    nice -n 10 .venv/bin/python scripts/train_speaker_encoder.py --data workbench_data/speakers \
        --out workbench/pretrained/speaker-encoder
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from workbench.config import EncoderConfig, EncoderTrainConfig  # noqa: E402
from workbench.speaker import SpeakerEmbedder  # noqa: E402
from workbench.speaker_training import (  # noqa: E402
    analyze_speakers,
    evaluate_encoder,
    save_encoder_bundle,
    train_speaker_encoder,  # noqa: E402
)

TEST_IDS = {f"s{i:03d}" for i in range(41, 51)}


def is_test(p: Path) -> bool:
    return p.stem in TEST_IDS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="workbench_data/speakers", help="output of make_speaker_data.py")
    ap.add_argument("--sample-audio", default=str(ROOT / "sample_audio"))
    ap.add_argument("--out", default=str(ROOT / "workbench" / "pretrained" / "speaker-encoder"))
    ap.add_argument("--epochs", type=int, default=EncoderTrainConfig().epochs)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint-dir", default=None)
    args = ap.parse_args()
    data, sample = Path(args.data), Path(args.sample_audio)
    roles = {r["speaker"]: r["role"] for r in csv.DictReader(open(data / "speakers.csv", newline=""))}
    voices = sorted(p.name for p in sample.iterdir() if p.is_dir())

    train, seen_test, unseen_test, sample_test = {}, {}, {}, {}
    for v in voices:
        files = sorted(sample.glob(f"{v}/*.flac")) + sorted(data.glob(f"_world/{v}/*.flac"))
        train[v] = [p for p in files if not is_test(p)]
        sample_test[v] = [p for p in files if is_test(p)]
    for spk, role in roles.items():
        files = sorted((data / spk).glob("*.flac"))
        if role == "train":
            train[spk] = [p for p in files if not is_test(p)]
            seen_test[spk] = [p for p in files if is_test(p)]
        else:
            unseen_test[spk] = [p for p in files if is_test(p)]
    enc_cfg = EncoderConfig()
    cfg = EncoderTrainConfig(epochs=args.epochs, seed=args.seed, checkpoint_dir=args.checkpoint_dir)
    t0 = time.time()
    print(f"training speakers: {len(train)}, clips: {sum(map(len, train.values()))}", flush=True)
    feats = analyze_speakers(train, cfg=enc_cfg)
    print(f"analysed in {time.time() - t0:.0f} s", flush=True)

    from workbench.models.speaker_encoder import SpeakerEncoder

    model = SpeakerEncoder(**enc_cfg.model_kwargs)
    last = [0.0]

    def progress(p):
        if p.step == p.steps and time.time() - last[0] > 20:
            last[0] = time.time()
            print(f"epoch {p.epoch}/{p.epochs} loss {p.logs.get('loss', float('nan')):.3f} "
                  f"w {p.logs.get('w', 0):.1f} ({p.elapsed_s:.0f} s)", flush=True)

    hist = train_speaker_encoder(model, feats, cfg=cfg, on_progress=progress, window_frames=enc_cfg.window_frames)
    elapsed = time.time() - t0
    tmp = save_encoder_bundle(Path(args.out), model, enc_cfg, feats)
    emb = SpeakerEmbedder.load(tmp)
    report = {
        "sample_voices_test": evaluate_encoder(emb, sample_test),
        "seen_voices_unseen_sentences": evaluate_encoder(emb, {**sample_test, **seen_test}),
        "unseen_voices": evaluate_encoder(emb, unseen_test),
        "unseen_voices_with_sample_voices": evaluate_encoder(emb, {**unseen_test, **sample_test}),
    }
    notes = {
        "trained_by": "scripts/train_speaker_encoder.py (data: scripts/make_speaker_data.py)",
        "train": {**cfg.to_dict(), "checkpoint_dir": None, "speakers": len(train), "utterances": feats.n_utterances,
                  "final_loss": float(hist.history["loss"][-1]), "elapsed_s": round(elapsed)},
        "unseen_speakers": sorted(unseen_test),
        "eer": report,
    }
    save_encoder_bundle(Path(args.out), model, enc_cfg, feats, notes=notes)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
