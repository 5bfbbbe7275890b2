"""``workbench train-encoder``, ``evaluate-encoder`` and ``privacy``: speaker-encoder and anonymisation commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli_progress import progress_bars


def cmd_train_encoder(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .config import EncoderConfig, EncoderTrainConfig
    from .speaker_training import train_encoder_on_folders
    from .training import Progress

    overrides = {"seed": args.seed, "checkpoint_dir": args.checkpoint_dir or str(Path(args.out) / "checkpoints")}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    cfg = EncoderTrainConfig(**{**EncoderTrainConfig().to_dict(), **overrides})
    bars: dict[str, tqdm] = {}

    def on_progress(p: Progress) -> None:
        if p.stage == "analysis":
            bar = bars.get("analysis") or bars.setdefault("analysis", tqdm(total=p.steps, desc="analysis", unit="clip",
                                                                          file=sys.stderr))
            bar.update(p.step - bar.n)
            if p.step == p.steps:
                bar.close()
            return
        bar = bars.get("encoder") or bars.setdefault("encoder", tqdm(total=p.epochs, desc="encoder", unit="epoch",
                                                                    file=sys.stderr, initial=p.epoch - 1))
        if p.step == p.steps and p.epoch > bar.n:
            bar.update(p.epoch - bar.n)
            bar.set_postfix(loss=f"{p.logs.get('loss', float('nan')):.3f}")

    with progress_bars(bars) as stop:
        out, history = train_encoder_on_folders([args.data], args.out, cfg=cfg, enc_cfg=EncoderConfig(),
                                                on_progress=on_progress, stop_event=stop)
    losses = history.history.get("loss") or [float("nan")]
    print(f"saved {out} ({len(losses)} epochs this run, final GE2E loss {losses[-1]:.3f}; "
          f"checkpoints in {cfg.checkpoint_dir})")
    return 0


def cmd_evaluate_encoder(args: argparse.Namespace) -> int:
    from .speaker import load_speaker_encoder
    from .speaker_training import evaluate_encoder, load_speaker_folders

    result = evaluate_encoder(load_speaker_encoder(args.model), load_speaker_folders(args.data))
    print(f"EER {result['eer']:.2%} on {result['utterances']} clips of {result['speakers']} speakers "
          "(all clip pairs)")
    if args.json:
        from .fileio import write_json

        write_json(Path(args.json), result)  # atomic
    return 0


def cmd_privacy(args: argparse.Namespace) -> int:
    from .privacy import PrivacyConfig, format_privacy_table, privacy_table
    from .speaker_training import load_speaker_folders

    alphas = tuple(float(a) for a in args.alpha.split(","))
    rows = privacy_table(load_speaker_folders(args.data), cfg=PrivacyConfig(alphas=alphas, use_wer=not args.no_wer),
                         encoder=args.encoder)
    print(format_privacy_table(rows))
    if args.json:
        from .fileio import write_json

        write_json(Path(args.json), {"results": rows})  # atomic
    return 0


def register(sub) -> None:
    """Add ``train-encoder``, ``evaluate-encoder`` and ``privacy`` to the ``workbench`` parser."""
    t = sub.add_parser("train-encoder", help="train a speaker encoder (GE2E) on one sub-folder of clips per speaker")
    t.add_argument("--data", required=True, help="folder with one sub-folder of audio clips per speaker")
    t.add_argument("--out", required=True, help="speaker-encoder bundle folder to write")
    t.add_argument("--epochs", type=int, default=None, help="epochs (default 40)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--checkpoint-dir", help="save a checkpoint every epoch here and resume from it "
                   "(default: OUT/checkpoints)")
    t.set_defaults(func=cmd_train_encoder)

    e = sub.add_parser("evaluate-encoder", help="speaker-verification EER of an encoder on per-speaker folders")
    e.add_argument("--model", required=True, help="speaker-encoder bundle folder")
    e.add_argument("--data", required=True, help="folder with one sub-folder of audio clips per speaker")
    e.add_argument("--json", help="write {eer, speakers, utterances} as JSON")
    e.set_defaults(func=cmd_evaluate_encoder)

    p = sub.add_parser("privacy", help="how well McAdams anonymisation hides speakers: similarity, EER and WER over alpha")
    p.add_argument("--data", required=True, help="folder with one sub-folder of clips per speaker (.txt transcripts "
                   "beside the clips give the WER)")
    p.add_argument("--alpha", default="1.0,0.9,0.8,0.7", help="comma-separated McAdams coefficients (1 = unchanged)")
    p.add_argument("--encoder", help="speaker-encoder bundle (default: the shipped one)")
    p.add_argument("--no-wer", action="store_true", help="skip speech recognition")
    p.add_argument("--json", help="write the table as JSON")
    p.set_defaults(func=cmd_privacy)
