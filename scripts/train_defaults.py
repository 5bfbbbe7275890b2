"""Train the default model bundles shipped in ``workbench/pretrained/`` from ``sample_audio/``.

Usage::

    .venv/bin/python scripts/train_defaults.py [--only NAME ...]

Bundles (LSTM, 4-frame lookahead, seed 1, training split s001-s040):

* ``awb-to-slt``  male -> female (flite awb -> flite slt)
* ``slt-to-awb``  female -> male
* ``any-to-slt``  many-to-one for live microphones: sources awb, rms, espeak_m3, espeak_f3 with random pitch,
  vocal-tract-length and tempo perturbation, target slt; its F0 transform adapts to each speaker. ``kal16``
  is held out so the benchmark can test it on a voice it never saw.

Each bundle is evaluated on the test split (s041-s050) and the table is written to
``workbench/pretrained/README.md``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.config import FeatureConfig, TrainConfig  # noqa: E402
from workbench.evaluation import evaluate_converters, format_table  # noqa: E402
from workbench.inference import VoiceConverter  # noqa: E402
from workbench.training import train_conversion  # noqa: E402

OUT = ROOT / "workbench" / "pretrained"
DEFAULTS = {
    "awb-to-slt": (["awb"], "slt", {}, "awb"),
    "slt-to-awb": (["slt"], "awb", {}, "slt"),
    "any-to-slt": (["awb", "rms", "espeak_m3", "espeak_f3"], "slt",
                   {"augment": ("pitch", "formant", "speed"), "augment_copies": 2, "epochs": 40, "patience": 6},
                   "kal16"),
}


def link_split(voice: str, split: str, tmp: Path) -> Path:
    """A folder of symlinks to one voice's files of one split (plus its consent record)."""
    rows = [r for r in csv.DictReader(open(ROOT / "sample_audio" / "manifest.csv")) if r["voice"] == voice]
    d = tmp / split / voice
    if d.is_dir():
        return d
    d.mkdir(parents=True)
    for r in rows:
        if r["split"] == split:
            os.symlink(ROOT / "sample_audio" / voice / f"{r['utt_id']}.flac", d / f"{r['utt_id']}.flac")
    consent = ROOT / "sample_audio" / voice / "consent.json"
    if consent.exists():
        os.symlink(consent, d / "consent.json")
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description="Train the shipped default bundles.")
    ap.add_argument("--only", nargs="+", choices=sorted(DEFAULTS))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, (sources, target, overrides, test_voice) in DEFAULTS.items():
            if args.only and name not in args.only:
                continue
            cfg = TrainConfig(model="lstm", seed=1, **overrides)
            src_dirs = [link_split(v, "train", tmp) for v in sources]
            result = train_conversion(src_dirs, link_split(target, "train", tmp), OUT / name, cfg=cfg,
                                      feature_cfg=FeatureConfig(), on_progress=None)
            print(f"{name}: trained in {result.elapsed_s:.0f} s ({result.n_train_frames} frames)", flush=True)
            conv = VoiceConverter.load(OUT / name)
            rows = evaluate_converters([conv, VoiceConverter.load("identity"), VoiceConverter.f0_baseline(conv.meta)],
                                       link_split(test_voice, "test", tmp), link_split(target, "test", tmp))
            table = format_table(rows)
            print(table, flush=True)
            (OUT / name / "evaluation.md").write_text(
                f"## {name}\n\nSources: {', '.join(sources)}; target: {target}; tested on {test_voice} (test split)"
                f"{' — a voice unseen in training' if test_voice not in sources else ''}. "
                f"Trained in {result.elapsed_s:.0f} s.\n\n```\n{table}\n```\n")
    sections = [(OUT / n / "evaluation.md").read_text() for n in DEFAULTS if (OUT / n / "evaluation.md").is_file()]
    (OUT / "README.md").write_text(
        "# Shipped default bundles\n\nMade by `scripts/train_defaults.py` from `sample_audio/` (synthetic voices). "
        "MCD in dB (c0 excluded, DTW-aligned), offline conversion.\n\n" + "\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
