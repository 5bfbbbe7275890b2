"""The conversion-quality ladder: identity -> f0 -> GMM -> LSTM -> GAN, on the sample corpus's test split.

Usage::

    .venv/bin/python benchmarks/vc_quality.py [--pairs awb:slt slt:awb] [--n-train 30] [--json OUT.json]

For each source:target pair it trains the three models on the first ``--n-train`` training sentences
(parallel, same seed), converts the 10 test sentences offline and scores them against the target's
readings (MCD in dB with c0 excluded, F0 RMSE in cents, V/UV error, global-variance ratio, real-time factor).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.config import FeatureConfig, TrainConfig  # noqa: E402
from workbench.evaluation import evaluate_converters, format_table  # noqa: E402
from workbench.inference import VoiceConverter  # noqa: E402
from workbench.training import fit_conversion, prepare_parallel  # noqa: E402


def split_dirs(voice: str, n_train: int, tmp: Path) -> tuple[Path, Path]:
    rows = [r for r in csv.DictReader(open(ROOT / "sample_audio" / "manifest.csv")) if r["voice"] == voice]
    out = []
    for split, limit in (("train", n_train), ("test", None)):
        d = tmp / voice / split
        if d.is_dir():  # the same voice in another pair
            out.append(d)
            continue
        d.mkdir(parents=True)
        for r in [r for r in rows if r["split"] == split][:limit]:
            os.symlink(ROOT / "sample_audio" / voice / f"{r['utt_id']}.flac", d / f"{r['utt_id']}.flac")
        out.append(d)
    return out[0], out[1]


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", nargs="+", default=["awb:slt", "slt:awb"])
    ap.add_argument("--n-train", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--models", nargs="+", default=["gmm", "lstm", "gan"])
    ap.add_argument("--json")
    args = ap.parse_args()
    fc = FeatureConfig()
    report = {"machine": f"{cpu_name()}, {os.cpu_count()} cores", "n_train": args.n_train, "pairs": {}}
    print(f"machine: {report['machine']}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for pair in args.pairs:
            src, tgt = pair.split(":")
            (src_train, src_test), (tgt_train, tgt_test) = split_dirs(src, args.n_train, tmp), split_dirs(tgt, args.n_train, tmp)
            from workbench.data import pair_files

            data = prepare_parallel(pair_files(src_train, tgt_train), cfg=TrainConfig(), feature_cfg=fc)
            converters, train_s = [], {}
            for kind in args.models:
                t0 = time.perf_counter()
                out = tmp / f"{src}-{tgt}-{kind}"
                fit_conversion(data, out, cfg=TrainConfig(model=kind, seed=args.seed), feature_cfg=fc,
                               source_voices=[src], target_voice=tgt)
                train_s[kind] = time.perf_counter() - t0
                conv = VoiceConverter.load(out)
                conv.name = kind
                converters.append(conv)
            ladder = [VoiceConverter.load("identity"), VoiceConverter.f0_baseline(converters[0].meta), *converters]
            rows = evaluate_converters(ladder, src_test, tgt_test)
            for r in rows:
                r["train_s"] = round(train_s.get(r["model"], 0.0), 1)
            print(f"\n{src} -> {tgt} ({args.n_train} training sentences, {rows[0]['utterances']} test sentences)")
            print(format_table(rows))
            print("training seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in train_s.items()))
            report["pairs"][pair] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
