"""Train the shipped text-to-voice bundle ``workbench/pretrained/say-slt`` (TTS -> the ``slt`` sample voice).

Usage::

    nice -n 10 .venv/bin/python scripts/train_say_voice.py [--out DIR] [--tts-voice rms]

The ``slt`` training split (s001-s040, recordings + transcripts) is the target; the same transcripts are
spoken by flite ``rms`` (espeak-ng ``en-us`` when flite is missing), and a 2-layer LSTM (96 units, seed 1, as
the other shipped bundles, but with the 10-frame lookahead of ``default_train_config``, since ``say`` is offline)
learns TTS -> slt with ``workbench.speech.voice.train_voice``.
``scripts/measure_text_path.py`` measures it on the test split.
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

from workbench.speech.tts import TtsConfig, flite_available  # noqa: E402
from workbench.speech.voice import default_train_config, train_voice  # noqa: E402


def link_split(voice: str, split: str, tmp: Path) -> Path:
    """A folder of symlinks to one sample voice's recordings, transcripts and consent record of one split."""
    d = tmp / split / voice
    d.mkdir(parents=True, exist_ok=True)
    for r in csv.DictReader(open(ROOT / "sample_audio" / "manifest.csv")):
        if r["voice"] == voice and r["split"] == split:
            for ext in (".flac", ".txt"):
                os.symlink(ROOT / "sample_audio" / voice / f"{r['utt_id']}{ext}", d / f"{r['utt_id']}{ext}")
    os.symlink(ROOT / "sample_audio" / voice / "consent.json", d / "consent.json")
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "workbench" / "pretrained" / "say-slt"))
    ap.add_argument("--target", default="slt")
    ap.add_argument("--tts-voice", default="rms", help="flite voice (ignored without flite)")
    args = ap.parse_args()
    tts = TtsConfig(engine="flite", voice=args.tts_voice) if flite_available() else TtsConfig()
    with tempfile.TemporaryDirectory() as tmp:
        target = link_split(args.target, "train", Path(tmp))
        result = train_voice(target, args.out, tts=tts, cfg=default_train_config(model="lstm", seed=1))
    print(f"{args.out}: {tts.label} -> {args.target}, trained in {result.elapsed_s:.0f} s "
          f"({result.n_train_frames} frames)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
