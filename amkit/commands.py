"""What each ``amkit`` command does: parse nothing, call the Python API, print the result.

:mod:`amkit.cli` builds the parser and maps each command to a ``cmd_*`` function here; each
takes the parsed ``argparse.Namespace`` and returns the exit status.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

import amkit
from amkit.configs import config_names, find_config
from amkit.errors import UserError
from amkit.registry import REGISTRIES


def cmd_demo(args: argparse.Namespace) -> int:
    from amkit import demo

    demo.main(out=args.out, quick=args.quick, device=args.device)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from amkit.serve.server import serve

    serve(args.paths, host=args.host, port=args.port, device=args.device)
    return 0


def _print_epoch(epoch: int, record: dict) -> None:
    from amkit.train.trainer import epoch_line

    print(epoch_line(record))


def _print_config(config: str | Path, overrides: Sequence[str]) -> int:
    import yaml

    from amkit.experiments.experiment import load_config

    resolved = load_config(config, overrides).to_dict()
    print(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), end="")
    return 0


def _cpu_only(device: str | None, what: str) -> None:
    """``--device`` for a job that runs on the CPU by nature: anything but cpu / auto is a
    clear error instead of an obscure one."""
    if device not in (None, "auto", "cpu"):
        raise UserError(f"--device {device}: {what} runs on the CPU only; use --device cpu")


def _inference_device(device: str | None) -> str:
    """``--device`` of a command that loads a run to answer one request (explain, recommend,
    ask, forecast): none given -> the CPU (one request gains nothing from a GPU's start-up);
    ``auto``, ``cuda:N``, ``mps`` are resolved and checked against this machine."""
    if device is None:
        return "cpu"
    from amkit.train.device import resolve_device

    return str(resolve_device(device, option="--device"))


def _device_override(args: argparse.Namespace) -> None:
    """``--device X`` on a training command is the override ``train.device=X``."""
    if getattr(args, "device", None):
        args.set = [*args.set, f"train.device={args.device}"]


def _check_gpus_for(nproc: int, device: str | None) -> None:
    """``--nproc N`` on CUDA needs N GPUs on this machine (one per process)."""
    import torch

    from amkit.train.device import resolve_device

    if device is None or device == "cpu" or not torch.cuda.is_available():
        return
    if resolve_device(device, "--device").type == "cuda" and nproc > torch.cuda.device_count():
        raise UserError(
            f"--nproc {nproc} with --device {device}: one GPU per process, but this machine "
            f"has {torch.cuda.device_count()} CUDA GPU(s); use --nproc "
            f"{torch.cuda.device_count()} or --device cpu"
        )


def cmd_train(args: argparse.Namespace) -> int:
    if args.resume is None and args.config is None:
        raise UserError("train needs a CONFIG file, or --resume RUN_DIR")
    _device_override(args)
    if args.print_config:
        return _print_config(args.config or Path(args.resume) / "config.yaml", args.set)
    if args.resume is not None and args.out is not None:
        raise UserError("--resume continues in its own directory; do not also give --out")
    if args.config is not None:
        args.config = str(find_config(args.config))
    if args.nproc > 1 or args.nnodes > 1:
        from amkit.train import distributed

        if args.repeats > 1:
            raise UserError("--nproc trains one run; do not combine it with --repeats")
        if args.out is None and args.resume is None:
            raise UserError("--nproc needs --out RUN_DIR (every process must agree on it)")
        _check_gpus_for(args.nproc, args.device)
        if "WORLD_SIZE" not in os.environ:  # not yet under torchrun: relaunch there
            argv = args.argv
            for option in ("--nproc", "--nnodes", "--node-rank", "--master-addr", "--master-port"):
                argv = _without_option(argv, option)
            return distributed.launch(
                argv, args.nproc, args.nnodes, args.node_rank, args.master_addr, args.master_port
            )
    if args.repeats > 1:
        if args.out is None and args.resume is None:
            raise UserError("--repeats needs --out RUN_DIR (rerun the same command to resume)")
        from amkit.experiments.repeats import run_repeats

        result = run_repeats(
            args.config or Path(args.resume) / "repeat-0" / "config.yaml",
            args.out or args.resume,
            args.repeats,
            overrides=args.set,
            on_epoch_end=[_print_epoch],
        )
        print(f"best of {args.repeats} on validation: {result.run_dir}")
    else:
        result = amkit.run(
            args.config,
            run_dir=args.resume or args.out,
            overrides=args.set,
            resume=args.resume is not None,
            on_epoch_end=[_print_epoch],
        )
    if "WORLD_SIZE" in os.environ:
        from amkit.train import distributed

        distributed.finish()
    if int(os.environ.get("RANK", 0)) > 0:  # data-parallel workers: rank 0 reports
        return 0
    test = result.metrics.get("test")
    if test is not None and "mse" in test:  # a forecaster
        print(f"test mse {test['mse']:.4f} mae {test['mae']:.4f} ({test['n']} windows)")
    elif test is not None:
        print(f"test accuracy {test['accuracy']:.4f} ({test['n']} examples)")
    print(f"run directory: {result.run_dir}")
    return 0


def _without_option(argv: list[str], name: str) -> list[str]:
    """``argv`` without ``name VALUE`` / ``name=VALUE``."""
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == name:
            skip = True
        elif not item.startswith(name + "="):
            out.append(item)
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    from amkit.baselines.run import evaluate_baseline, is_baseline_run

    if is_baseline_run(args.run_dir):  # amkit baseline's runs: NBSVM, encoder + logreg
        if args.save_probabilities or args.set:
            raise UserError("a baseline run takes --split or --input only")
        _cpu_only(args.device, "a baseline run (scikit-learn on the CPU)")
        metrics = evaluate_baseline(args.run_dir, args.split, args.input)
        where = {"input": args.input} if args.input else {"split": args.split}
        print(json.dumps({**where, **metrics}, indent=2))
        return 0
    if args.save_probabilities:
        from amkit.experiments.run import save_run_probabilities

        metrics = save_run_probabilities(args.run_dir, args.set, args.device or "auto")
        print(json.dumps(metrics, indent=2))
        wrote = [Path(args.run_dir) / name for name in ("probabilities.safetensors",
                 "predictions.jsonl")]  # fmt: skip
        print("wrote " + " and ".join(str(p) for p in wrote if p.is_file()))
        return 0
    if args.input is not None:
        from amkit.experiments.loading import evaluate_file

        metrics = evaluate_file(args.run_dir, args.input, device=args.device or "auto")
        print(json.dumps({"input": args.input, **metrics}, indent=2))
        return 0
    device = args.device or "auto"
    metrics = amkit.evaluate_run(args.run_dir, args.split, args.set, device)
    print(json.dumps({"split": args.split, **metrics}, indent=2))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from amkit.explain.registry import ExplainRequest, check_request, explainer_for, run_kind

    device = _inference_device(args.device)
    model, task = run_kind(args.run_dir, args.set)
    explainer = explainer_for(model, task)  # registered for the model, else for its task
    request = ExplainRequest(
        run_dir=Path(args.run_dir),
        out=Path(args.out) if args.out else Path(args.run_dir) / "plots",
        text=args.text,
        user=args.user,
        k=args.k or 10,
        task=args.task,
        example=args.example,
        split=args.split,
        overrides=args.set,
        image=Path(args.image) if args.image else None,
        query_pixel=args.query_pixel,
        device=device,
    )
    check_request(explainer, request, model)
    print(explainer.explain(request))
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from amkit.experiments.forecast import forecast_file, write_forecast_csv
    from amkit.experiments.loading import load

    device = _inference_device(args.device)
    result = forecast_file(load(args.run_dir, device=device), args.input, args.horizon)
    print(f"forecast: {write_forecast_csv(result, args.out)} ({len(result.dates)} steps, "
          f"model {1000 * result.model_seconds:.1f} ms)")  # fmt: skip
    if args.plot:
        from amkit.explain.forecast import save_forecast_plot

        print(f"plot: {save_forecast_plot(result, args.plot)}")
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from amkit.explain.recommend import explain_user_run
    from amkit.explain.registry import ExplainRequest

    device = _inference_device(args.device)
    out = Path(args.out) if args.out else Path(args.run_dir) / "plots"
    request = ExplainRequest(Path(args.run_dir), out, user=args.user, k=args.k, device=device)
    print(explain_user_run(request))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from amkit.explain.graph import ask

    print(ask(args.run_dir, args.question, k=args.k, device=_inference_device(args.device)).text())
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from amkit.io import atomic_write_text

    if (args.text is None) == (args.input is None):
        raise UserError("give a sentence, or --input FILE (with --output FILE)")
    model = amkit.load(args.run_dir, device=args.device or "auto").model
    if not hasattr(model, "translate"):
        raise UserError(f"{args.run_dir} is not a translation run")
    if args.text is not None:
        print(model.translate([args.text], beam=args.beam)[0][0])
        return 0
    from amkit.data.multi30k import read_lines

    sentences = read_lines(args.input)
    out = []
    for start in tqdm(range(0, len(sentences), 64), desc="translating", unit="batch"):
        out += model.translate(sentences[start : start + 64], beam=args.beam)[0]
    if args.output:
        atomic_write_text(args.output, "\n".join(out) + "\n")
        print(f"{len(out)} translations -> {args.output}")
    else:
        print("\n".join(out))
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from amkit.experiments.classify import classify_file

    result = classify_file(args.run_dir, args.file, device=args.device or "cpu")
    print(f"{result.file}: {result.label} ({result.probabilities[result.label]:.3f})")
    for name, p in list(result.probabilities.items())[: args.top]:
        print(f"  {p:.4f}  {name}")
    return 0


def cmd_train_gan(args: argparse.Namespace) -> int:
    _cpu_only(args.device, "amkit train-gan (the GAN's own loop, on the CPU for now)")
    from amkit.experiments.gan import train_gan

    metrics = train_gan(find_config(args.config), args.out, overrides=args.set)
    line = f"{metrics['steps']} steps in {metrics['train_seconds']:.0f} s"
    if "frechet_distance" in metrics:
        line += f"; Frechet distance {metrics['frechet_distance']:.3f}"
    print(f"{line}; run directory: {args.out}")
    return 0


def cmd_kg_train(args: argparse.Namespace) -> int:
    from amkit.experiments.link_prediction import train_link_prediction

    _device_override(args)

    def show(record: dict) -> None:
        val = f", val MRR {record['val_mrr']:.4f}" if "val_mrr" in record else ""
        print(f"epoch {record['epoch']}: loss {record['train_loss']:.4f}{val}", flush=True)

    m = train_link_prediction(find_config(args.config), args.out, args.set, on_epoch_end=show)
    limited = " (budget-limited: train.time_limit_minutes)" if m["budget_limited"] else ""
    print(
        f"test: MRR {m['test']['mrr']:.4f}, hits@1 {m['test']['hits@1']:.4f}, hits@3 "
        f"{m['test']['hits@3']:.4f}, hits@10 {m['test']['hits@10']:.4f} (filtered, best "
        f"epoch {m['best_epoch']} of {m['epochs']}){limited}; run directory: {args.out}"
    )
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    _cpu_only(args.device, "amkit generate")
    from amkit.experiments.gan import generate_images, save_grid

    images = generate_images(args.run_dir, args.n, args.seed)
    print(f"{args.n} samples -> {save_grid(images, args.out)}")
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    from amkit.compress.run import compress_run

    metrics = compress_run(args.run_dir, args.method, args.amount, args.out, args.device or "auto")
    info = metrics["compression"]
    ratio = info["weight_bytes"] / max(info["original_weight_bytes"], 1)
    line = f"{args.method}: weights {info['weight_bytes']:,} bytes ({ratio:.0%} of the original)"
    if info["sparsity"] is not None:
        line += f", sparsity {info['sparsity']:.2f}"
    print(line)
    for split in ("val", "test"):
        if split in metrics:
            scores = {k: v for k, v in metrics[split].items() if k in ("accuracy", "bleu")}
            print(f"{split}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    print(f"run directory: {args.out}")
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from amkit.baselines.run import run_baseline

    _cpu_only(args.device, "amkit baseline (scikit-learn; the fine-tuned encoder too, for now)")
    metrics = run_baseline(find_config(args.config), args.out, overrides=args.set)
    for split in ("val", "test"):
        if split in metrics:
            m = metrics[split]
            print(f"{split} accuracy {m['accuracy']:.4f}  F1 {m['f1']:.4f}  ({m['n']} examples)")
    print(f"fit in {metrics['timings']['train_seconds']:.0f} s; run directory: {args.out}")
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from amkit.ensemble.runs import run_ensemble

    _cpu_only(args.device, "amkit ensemble (scikit-learn on the members' saved probabilities)")
    metrics = run_ensemble(
        args.run_dirs, args.out, method=args.method, voting=args.voting, folds=args.folds
    )
    info = metrics["ensemble"]
    for run_dir, val in zip(info["members"], info["members_val_accuracy"], strict=True):
        print(f"member {run_dir}: val accuracy {val:.4f}")
    if info["weights"] is not None:
        print("weights: " + ", ".join(f"{w:.3f}" for w in info["weights"]))
    print(f"ensemble val accuracy {metrics['val']['accuracy']:.4f} (out-of-fold)")
    if "test" in metrics:
        print(f"ensemble test accuracy {metrics['test']['accuracy']:.4f}")
    print(f"run directory: {args.out}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    _device_override(args)
    from amkit.experiments.sweep import parse_grid, parse_seeds, parse_variants, run_sweep

    args.config = str(find_config(args.config))
    parts = ["amkit sweep", args.config, "--seeds", args.seeds]
    parts += [f"--grid {entry}" for entry in args.grid]
    parts += [f"--variant {entry}" for entry in args.variant]
    parts += ["--workers", str(args.workers), "--out", args.out]
    if args.metric:
        parts += ["--metric", args.metric]
    if args.set:
        parts += ["--set", *args.set]
    summary = run_sweep(
        args.config,
        args.out,
        seeds=parse_seeds(args.seeds),
        grid=parse_grid(args.grid),
        variants=parse_variants(args.variant),
        workers=args.workers,
        overrides=args.set,
        threads=args.threads,
        command=" ".join(parts),
        metric=args.metric,
        backend=args.backend,
        ray_address=args.ray_address,
        gpus_per_run=args.gpus_per_run,
    )
    print(f"summary: {Path(args.out) / 'summary.md'}")
    return 1 if summary["failed"] else 0


def cmd_ls(args: argparse.Namespace) -> int:
    import amkit.attention  # noqa: F401  (each package registers its components on import)
    import amkit.data  # noqa: F401
    import amkit.explain  # noqa: F401  (registers explainers)
    import amkit.memory  # noqa: F401
    import amkit.models  # noqa: F401

    for kind, registry in sorted(REGISTRIES.items()):
        print(f"{kind}s: {', '.join(sorted(registry)) or '(none)'}")
    print(f"configs (amkit train NAME): {', '.join(config_names())}")
    return 0


def cmd_data_download(args: argparse.Namespace) -> int:
    from amkit.data.download import download

    result = download(args.name, url=args.url, sha256=args.sha256)
    print(f"{args.name}: sha256 verified; {', '.join(result.files)} in {result.path}")
    return 0


def cmd_data_synth(args: argparse.Namespace) -> int:
    from amkit.data.synth import resolve_voices, synth_digits

    voices = resolve_voices(args.voices)
    files = synth_digits(args.out_dir, args.n_per_digit, voices, seed=args.seed)
    print(f"{len(files)} WAV files ({len(voices)} voices x 10 digits) in {args.out_dir}")
    return 0


def cmd_data_kbqa(args: argparse.Namespace) -> int:
    from amkit.data.kbqa_wordnet import default_wn18rr, named_wordnet_graph, write_kbqa_folder

    source = args.wn18rr or default_wn18rr()
    triples, names, glosses, dropped = named_wordnet_graph(source, args.wordnet)
    note = f"WN18RR from {source}; {dropped} offsets had no WordNet 3.0 synset and were dropped."
    hops = {h: args.per_hop for h in (1, 2, 3)}
    counts = write_kbqa_folder(args.out_dir, triples, names, glosses, args.seed, hops, args.cap,
                               note)  # fmt: skip
    print(f"{len(triples)} triples, {sum(counts.values())} questions in {args.out_dir}")
    for key, n in counts.items():
        print(f"  {key}: {n}")
    return 0


def cmd_data_where(args: argparse.Namespace) -> int:
    from amkit.data.locations import where_table

    print(where_table())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    _cpu_only(
        args.device, "amkit bench (it measures this CPU; benchmarks/gpu_check.sh times a GPU)"
    )
    return args.bench_module.main(args)
