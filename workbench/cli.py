"""The ``workbench`` command line: train, convert and evaluate voice conversion models.

Every user-facing failure prints one ``error: ...`` line to stderr and exits non-zero; no tracebacks.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from . import cli_eval, cli_reliability, cli_speech
from .cli_progress import progress_bars
from .errors import WorkbenchError
from .models.registry import MODEL_KINDS

EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED = 2, 1, 130


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


# -------------------------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .config import FeatureConfig, TrainConfig
    from .consent import check_consent, record_in_bundle
    from .data import pair_files
    from .training import Progress, train_conversion

    for source in args.source:  # missing or unpaired folders are the first thing to report
        pair_files(source, args.target)
    consent = check_consent(args.target, confirmed=args.i_have_consent)
    overrides = {"model": args.model, "seed": args.seed, "augment": tuple(args.augment or ()),
                 "strategy": args.strategy, "phonetic_input": not args.no_phonetic}
    if args.phonetic_loss is not None:
        overrides["phonetic_loss_weight"] = args.phonetic_loss
    if args.pseudo_pairs is not None:
        overrides["pseudo_source_weight"] = args.pseudo_pairs
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
        overrides["gan_epochs"] = min(TrainConfig().gan_epochs, args.epochs)  # used by kinds with a GAN stage
    if args.checkpoint_dir:
        overrides["checkpoint_dir"] = args.checkpoint_dir
    cfg = TrainConfig(**{**TrainConfig().to_dict(), **overrides, "model_cfg": TrainConfig().model_cfg})
    bars: dict[str, tqdm] = {}

    def on_progress(p: Progress) -> None:
        if p.stage in ("analysis", "alignment", "gmm"):
            if p.step == 0:
                print(f"{p.stage}: {p.steps} pairs..." if p.stage != "gmm" else "fitting GMM...", file=sys.stderr)
            return
        bar = bars.get(p.stage)
        if bar is None:
            bar = bars[p.stage] = tqdm(total=p.epochs, desc=p.stage, unit="epoch", file=sys.stderr, leave=True)
        if p.step == p.steps and p.epoch > bar.n:
            bar.update(p.epoch - bar.n)
            bar.set_postfix({k: f"{v:.4f}" for k, v in p.logs.items() if k in ("loss", "val_loss", "d_loss", "adv", "mse")})

    with progress_bars(bars) as stop:
        result = train_conversion(args.source, args.target, args.out, cfg=cfg, feature_cfg=FeatureConfig(),
                                  on_progress=on_progress, stop_event=stop)
    if (result.bundle_dir / "bundle.json").is_file():
        record_in_bundle(result.bundle_dir, consent)
    h = result.history
    summary = f"saved {result.bundle_dir} ({cfg.model}, {result.n_train_frames} training frames, {result.elapsed_s:.0f} s"
    if h.get("val_loss"):
        summary += f", best val loss {min(h['val_loss']):.4f} after {len(h['val_loss'])} epochs"
    print(summary + ")")
    return 0


# ------------------------------------------------------------------------------------------ convert
def cmd_convert(args: argparse.Namespace) -> int:
    from .audio import AudioWarning, load_audio
    from .inference import VoiceConverter
    from .provenance import check_output_path, save_generated

    out = check_output_path(args.output, inputs=(args.input,))
    y, sr = load_audio(args.input, sr=None)
    converter = VoiceConverter.load(args.model, pitch_ratio=2 ** (args.semitones / 12))
    with warnings.catch_warnings():  # load_audio has warned about this input already: say it once
        warnings.simplefilter("ignore", AudioWarning)
        if args.streaming:
            from .streaming import convert_streaming

            y_out, sr_out = convert_streaming(converter, y, sr)
        else:
            y_out, sr_out = converter.convert(y, sr)
    out = save_generated(out, y_out, sr_out, model=str(args.model), source=str(args.input),
                         target=(converter.meta.target_voice if converter.meta is not None
                                 else f"none ({converter.name} baseline)"),
                         inputs=(args.input,))
    print(f"wrote {out} ({len(y_out) / sr_out:.2f} s at {sr_out} Hz, model {converter.description})")
    return 0


# ----------------------------------------------------------------------------------------- evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import EvalConfig, Evaluation, evaluate_converters, format_table
    from .inference import VoiceConverter

    converters = []
    for spec in args.model:
        conv = VoiceConverter.load(spec)
        converters.append(conv)
    bundle = next((c for c in converters if c.meta is not None), None)
    names = {c.name for c in converters}
    if "identity" not in names:
        converters.append(VoiceConverter.load("identity"))
    if "f0" not in names:
        converters.append(VoiceConverter.f0_baseline(bundle.meta) if bundle else VoiceConverter.load("f0"))
    cfg = EvalConfig(use_wer=not args.no_wer, use_dnsmos=not args.no_dnsmos, use_speaker=not args.no_speaker,
                     speaker_encoder=args.speaker_encoder, keep_audio=bool(args.report))
    details = Evaluation(rows=[])
    rows = evaluate_converters(converters, args.source, args.target, streaming=args.streaming, cfg=cfg,
                               details=details)
    mode = "streaming (20 ms chunks at 48 kHz)" if args.streaming else "offline"
    print(f"evaluation on {rows[0]['utterances']} utterances, {mode}")
    print(format_table(rows))
    for note in details.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        payload = {"mode": mode, "source": str(args.source), "target": str(args.target), "notes": details.notes,
                   "results": rows}
        from .fileio import write_json

        write_json(Path(args.json), payload)  # atomic: a crash leaves the previous file or the new one
    if args.report:
        from .report import write_report

        html = write_report(details, args.report, title=f"Evaluation: {', '.join(r['model'] for r in rows)}",
                            meta={"mode": mode, "source": str(args.source), "target": str(args.target)})
        print(f"wrote report {html}")
    return 0


# ------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="Voice Cloning Workbench: train, convert and evaluate "
                                "voice conversion models on a CPU. Run `streamlit run app.py` for the app.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a conversion model from parallel source/target folders")
    t.add_argument("--source", required=True, action="append", help="folder of source-voice audio (repeat for many-to-one)")
    t.add_argument("--target", required=True, help="folder of target-voice audio; files pair by name")
    t.add_argument("--model", choices=MODEL_KINDS, default="lstm")
    t.add_argument("--out", required=True, help="bundle folder to write")
    t.add_argument("--epochs", type=int, default=None, help="maximum epochs (early stopping may end sooner)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--augment", action="append", choices=("pitch", "formant", "speed"), help="augment the source")
    t.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default="default",
                   help="tf.distribute strategy: default (one device), mirrored (all local GPUs), multiworker")
    t.add_argument("--checkpoint-dir", help="save a checkpoint every epoch here and resume from it")
    t.add_argument("--no-phonetic", action="store_true",
                   help="LSTM/GAN: train without the phonetic encoder's phone posteriors as input")
    t.add_argument("--phonetic-loss", type=float, default=None, metavar="W",
                   help="LSTM/GAN: weight of the phonetic term of the loss (the encoder must still name each "
                        "predicted frame's phone; 0 is squared error alone; default from TrainConfig)")
    t.add_argument("--pseudo-pairs", type=float, default=None, metavar="W",
                   help="LSTM/GAN: weight of the pseudo-source pairs (the target's own frames as outputs; 0 trains "
                        "on the aligned pairs alone; default from TrainConfig)")
    t.add_argument("--i-have-consent", action="store_true", help="confirm the target voice's owner agreed")
    t.set_defaults(func=cmd_train)

    c = sub.add_parser("convert", help="convert an audio file into the model's target voice")
    c.add_argument("--model", required=True, help="bundle folder, or a baseline: identity, f0")
    c.add_argument("--streaming", action="store_true", help="run the real-time path chunk by chunk")
    c.add_argument("--semitones", type=float, default=0.0, help="pitch shift of the f0 baseline")
    c.add_argument("input")
    c.add_argument("output")
    c.set_defaults(func=cmd_convert)

    e = sub.add_parser("evaluate", help="score models against parallel target recordings")
    e.add_argument("--model", required=True, action="append", help="bundle folder or baseline (repeatable)")
    e.add_argument("--source", required=True)
    e.add_argument("--target", required=True)
    e.add_argument("--streaming", action="store_true", help="convert through the real-time path")
    e.add_argument("--json", help="write the results as JSON")
    e.add_argument("--no-wer", action="store_true", help="skip the PocketSphinx word error rate")
    e.add_argument("--no-dnsmos", action="store_true", help="skip the DNSMOS quality prediction")
    e.add_argument("--no-speaker", action="store_true", help="skip speaker similarity (secs_target, secs_source)")
    e.add_argument("--speaker-encoder", help="speaker-encoder bundle (default: the shipped one)")
    e.add_argument("--report", help="write report.json, report.csv and an offline report.html to this folder")
    e.set_defaults(func=cmd_evaluate)
    cli_speech.register(sub)
    cli_eval.register(sub)
    cli_reliability.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    _quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    warnings.showwarning = _show_warning
    try:
        return args.func(args)
    except WorkbenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("error: out of memory; use shorter clips or fewer files", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
