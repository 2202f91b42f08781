"""The ``amkit`` command: a thin layer over the Python API.

    amkit demo [--quick]
    amkit train CONFIG [--set key=value ...] [--out DIR] [--repeats N]
    amkit train babi/memn2n_1k_joint                        (a shipped config, by name)
    amkit train --resume DIR
    amkit train CONFIG --out DIR --nproc 2                  (data-parallel through torchrun)
    amkit evaluate RUN_DIR [--split test] [--set data.path=...] [--save-probabilities]
    amkit ensemble RUN_DIR RUN_DIR... --method weighted|voting|stacking --out DIR
    amkit sweep CONFIG --seeds 0,1,2 --grid model.hops=1,2,3 [--grid ...] --workers 2 --out DIR
    amkit data where                                          (where each dataset is expected)
    amkit data download multi30k [--url URL --sha256 HEX]     (into $AMKIT_DATA)
    amkit data synth-digits OUT_DIR --n-per-digit 10 --voices test --seed 1   (espeak-ng)
    amkit data kbqa-wordnet OUT_DIR --seed 0               (multi-hop questions over WN18RR)
    amkit explain RUN_DIR [--task 2] [--example 7]
    amkit explain RUN_DIR --text "a superb film"             (text classifiers, translation)
    amkit explain RUN_DIR --user 42                           (recommendation: PNG + HTML)
    amkit explain RUN_DIR --example 7 --query-pixel 14,10     (image runs; or --image FILE)
    amkit baseline CONFIG --out DIR [--set key=value ...]     (NBSVM or MiniLM + logreg)
    amkit recommend RUN_DIR --user 42 [--k 10]                (recommendation runs)
    amkit ask RUN_DIR "Which region is Palau in?" [--k 5]     (knowledge-graph runs)
    amkit forecast RUN_DIR --input FILE.csv --out FILE.csv [--horizon H] [--plot FILE.png]
    amkit translate RUN_DIR "a man rides a bike" [--beam 4]
    amkit translate RUN_DIR --input FILE --output FILE [--beam 4]
    amkit classify RUN_DIR FILE                               (an image for image runs)
    amkit train-gan CONFIG --out DIR                          (a self-attention GAN)
    amkit kg-train kg/wn18rr_complex --out DIR                (link prediction, PyKEEN)
    amkit generate RUN_DIR --n 64 --out grid.png              (samples of a GAN run)
    amkit compress RUN_DIR --method quantize|prune [--amount 0.5] --out DIR
    amkit serve [RUN_DIR | RUNS_FOLDER ...] [--port 8000] [--host 127.0.0.1] [--device auto]
    amkit ls
    amkit bench attention|memory [--quick]
    amkit --version

User mistakes (a bad config, a malformed data line, a missing file, bad usage) print a short
message and exit 2. Any other error is a bug in amkit: its traceback is printed, with a
request to report it, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence

import amkit
from amkit import commands
from amkit.cli_data import add_data_parser
from amkit.cli_examples import EXAMPLES
from amkit.errors import UserError

EXIT_USAGE = 2
EXIT_INTERNAL = 1
ISSUES_URL = "https://github.com/amkit/amkit/issues"


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks; adds an option's default where its help does not
    say it and it is a value (not None, False or an empty list)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" not in text
            and default not in (None, False, [], argparse.SUPPRESS)
            and action.option_strings
        ):
            text += f" (default: {default})"
        return text


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # exit 2 with a short message, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"amkit: error: {message}\n")


def _add_overrides(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument(
        "--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", help=text
    )


def _add_request_device(parser: argparse.ArgumentParser) -> None:
    """``--device`` of a command that loads a run to answer one request."""
    parser.add_argument(
        "--device",
        default=None,
        help="where the model runs: cpu (default), auto (a CUDA GPU when present, else the "
        "CPU), cuda, cuda:N or mps",
    )


def _add_cpu_device(parser: argparse.ArgumentParser) -> None:
    """``--device`` of a command that runs on the CPU: cpu and auto are accepted, a GPU is a
    clear error saying so."""
    parser.add_argument(
        "--device", default=None, help="cpu (or auto): this command runs on the CPU"
    )


def untangle_overrides(argv: Sequence[str]) -> list[str]:
    """Move a positional that follows ``--set`` values in front of the ``--set``.

    ``--set`` takes any number of ``KEY=VALUE`` items, so argparse would read the config in
    ``amkit train --set train.lr=0.01 cfg.yaml`` as one more override. An item without ``=``
    cannot be an override: it ends the list and is moved before its ``--set``.
    """
    out: list[str] = []
    flag_at = None  # index in ``out`` of the --set whose values are being read
    for item in argv:
        if item == "--set":
            flag_at = len(out)
            out.append(item)
        elif flag_at is not None and not item.startswith("-") and "=" not in item:
            out.insert(flag_at, item)  # a positional: before the --set
            flag_at += 1
        else:
            if item.startswith("-"):
                flag_at = None
            out.append(item)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="amkit", description="Attention, memory and knowledge models.")
    parser.add_argument("--version", action="version", version=f"amkit {amkit.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="train the built-in demo (no dataset needed)")
    demo.add_argument("--out", default=None, help="output folder (default runs/demo-<time>)")
    demo.add_argument(
        "--quick",
        action="store_true",
        help="tiny data, one epoch each: checks an installation in seconds (numbers mean nothing)",
    )
    demo.add_argument(
        "--device",
        default=None,
        help="where the demo trains: auto (a CUDA GPU when present, else the CPU), cpu, "
        "cuda, cuda:N or mps",
    )
    demo.set_defaults(func=commands.cmd_demo)

    train = sub.add_parser("train", help="train one config into a run directory")
    train.add_argument(
        "config", nargs="?", help="YAML config file, or a shipped config's name (amkit ls)"
    )
    _add_overrides(train, "dotted overrides, e.g. train.lr=0.01 model.hops=3")
    train.add_argument("--out", default=None, help="run directory (default runs/<model>-...)")
    train.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue an interrupted run from its last epoch",
    )
    train.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="train N seeds (seed, seed+1, ...) and keep the best on validation",
    )
    train.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="data-parallel processes through torchrun (DDP; gloo on CPU, nccl on GPU)",
    )
    train.add_argument(
        "--nnodes", type=int, default=1, help="machines in a multi-node run (torchrun)"
    )
    train.add_argument(
        "--node-rank", type=int, default=0, help="this machine's rank, 0 to nnodes - 1"
    )
    train.add_argument("--master-addr", default=None, help="address of the node of rank 0")
    train.add_argument("--master-port", type=int, default=29500, help="its free port")
    train.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config (defaults filled in, overrides applied) and exit",
    )
    train.add_argument(
        "--device",
        default=None,
        help="where to train (the override train.device): auto, cpu, cuda, cuda:N or mps; "
        "default: the config's (auto)",
    )
    train.set_defaults(func=commands.cmd_train)

    evaluate = sub.add_parser("evaluate", help="evaluate a run directory's best model")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--split", default="test", help="val or test (default: test)")
    evaluate.add_argument(
        "--input",
        default=None,
        metavar="FILE",
        help="text classifiers: score a new labelled CSV/TSV/JSONL file (the training data "
        "need not be on disk)",
    )
    evaluate.add_argument(
        "--save-probabilities",
        action="store_true",
        help="score val and test and (re)write probabilities.safetensors (for amkit ensemble)",
    )
    _add_overrides(evaluate, "overrides, e.g. data.path=/other/copy")
    evaluate.add_argument(
        "--device",
        default=None,
        help="where the model runs: auto (a CUDA GPU when present, else the CPU), cpu, "
        "cuda:N or mps (default: auto)",
    )
    evaluate.set_defaults(func=commands.cmd_evaluate)

    add_data_parser(sub, _Parser)

    explain = sub.add_parser("explain", help="show a model's attention for one example")
    explain.add_argument("run_dir")
    explain.add_argument("--task", type=int, default=None, help="bAbI task (default: first)")
    explain.add_argument("--example", type=int, default=0, help="example index, from 0")
    explain.add_argument("--split", default="test")
    explain.add_argument("--text", default=None, help="text classifiers: the text to explain")
    explain.add_argument("--user", default=None, help="recommendation runs: the user to explain")
    explain.add_argument("--k", type=int, default=None, help="with --user: how many items")
    explain.add_argument(
        "--image", default=None, help="image runs: an image file to explain (else --example)"
    )
    explain.add_argument(
        "--query-pixel",
        default=None,
        metavar="R,C",
        help="image runs: the pixel whose attention is drawn (default: the centre)",
    )
    explain.add_argument("--out", default=None, help="folder for the PNG (default RUN_DIR/plots)")
    _add_overrides(explain, "overrides, e.g. data.path=/other/copy")
    _add_request_device(explain)
    explain.set_defaults(func=commands.cmd_explain)

    fc = sub.add_parser("forecast", help="forecast the rows after a CSV with a forecasting run")
    fc.add_argument("run_dir")
    fc.add_argument(
        "--input", required=True, help="CSV with the run's columns (last lookback rows read)"
    )
    fc.add_argument("--horizon", type=int, default=None, help="steps (default: the run's horizon)")
    fc.add_argument("--out", required=True, help="the forecast CSV to write")
    fc.add_argument("--plot", default=None, help="also a PNG of history and forecast")
    _add_request_device(fc)
    fc.set_defaults(func=commands.cmd_forecast)

    rec = sub.add_parser("recommend", help="top-k items for one user, with the reasons")
    rec.add_argument("run_dir")
    rec.add_argument("--user", required=True, help="user id as in the data file")
    rec.add_argument("--k", type=int, default=10)
    rec.add_argument("--out", default=None, help="folder for the PNG (default RUN_DIR/plots)")
    _add_request_device(rec)
    rec.set_defaults(func=commands.cmd_recommend)

    ask = sub.add_parser(
        "ask", help="ask a knowledge-graph run a question: answers, and the facts per hop"
    )
    ask.add_argument("run_dir")
    ask.add_argument("question", help="a question naming entities of the graph")
    ask.add_argument("--k", type=int, default=5, help="how many answers to show")
    _add_request_device(ask)
    ask.set_defaults(func=commands.cmd_ask)

    tr = sub.add_parser("translate", help="translate a sentence or a file with a trained run")
    tr.add_argument("run_dir")
    tr.add_argument("text", nargs="?", default=None, help="the sentence to translate")
    tr.add_argument("--input", default=None, help="a file, one sentence per line")
    tr.add_argument("--output", default=None, help="where to write the translations")
    tr.add_argument("--beam", type=int, default=None, help="beam size (default: the run's)")
    tr.add_argument(
        "--device",
        default=None,
        help="where the model runs (default auto: a CUDA GPU when present)",
    )
    tr.set_defaults(func=commands.cmd_translate)

    classify = sub.add_parser(
        "classify", help="classify one file (an image) with a trained run; prints the probabilities"
    )
    classify.add_argument("run_dir")
    classify.add_argument(
        "file",
        help="an image (PNG, JPEG, ...): converted to grayscale and resized to the run's size",
    )
    classify.add_argument("--top", type=int, default=10, help="how many classes to list")
    classify.add_argument(
        "--device", default=None, help="where the model runs: cpu, auto, cuda:N (default: cpu)"
    )
    classify.set_defaults(func=commands.cmd_classify)

    gan = sub.add_parser("train-gan", help="train a (self-attention) GAN on an image dataset")
    gan.add_argument("config", help="YAML with seed, data, gan, train and score sections")
    gan.add_argument("--out", required=True, help="run directory (rerun to resume)")
    _add_overrides(gan, "overrides, e.g. gan.attention=false train.steps=100")
    _add_cpu_device(gan)
    gan.set_defaults(func=commands.cmd_train_gan)

    kg = sub.add_parser("kg-train", help="link prediction on WN18RR / FB15k-237 (PyKEEN)")
    kg.add_argument("config", help="YAML with seed, data, model and train sections (kg/...)")
    kg.add_argument("--out", required=True, help="run directory (rerun to resume)")
    _add_overrides(kg, "overrides, e.g. model.dim=200 train.epochs=10 seed=1")
    kg.add_argument("--device", default=None, help="the override train.device: auto, cpu, cuda:N")
    kg.set_defaults(func=commands.cmd_kg_train)

    generate = sub.add_parser("generate", help="a PNG grid of samples of a GAN run")
    generate.add_argument("run_dir")
    generate.add_argument("--n", type=int, default=64, help="how many samples")
    generate.add_argument("--seed", type=int, default=0, help="the latent draws' seed")
    generate.add_argument("--out", required=True, help="the PNG to write")
    _add_cpu_device(generate)
    generate.set_defaults(func=commands.cmd_generate)

    comp = sub.add_parser("compress", help="quantize or prune a trained run into a new run")
    comp.add_argument("run_dir")
    comp.add_argument("--method", required=True, choices=["quantize", "prune"])
    comp.add_argument("--amount", type=float, default=0.5, help="prune: share of weights zeroed")
    comp.add_argument("--out", required=True, help="the new run directory")
    comp.add_argument(
        "--device",
        default=None,
        help="where the compressed model is evaluated (default: auto; a quantized "
        "model runs on the CPU)",
    )
    comp.set_defaults(func=commands.cmd_compress)

    baseline = sub.add_parser(
        "baseline",
        help="NBSVM, or sentence-encoder / paragraph vectors + logistic regression, on text",
    )
    baseline.add_argument(
        "config", help="YAML with seed, data and an nbsvm, encoder or paragraph_vector section"
    )
    baseline.add_argument("--out", required=True, help="output run directory")
    _add_overrides(baseline, "override config values, e.g. nbsvm.classifier=logreg")
    _add_cpu_device(baseline)
    baseline.set_defaults(func=commands.cmd_baseline)

    ensemble = sub.add_parser(
        "ensemble", help="fuse finished runs' probabilities (fit on validation only)"
    )
    ensemble.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    ensemble.add_argument(
        "--method", choices=["weighted", "voting", "stacking"], default="weighted"
    )
    ensemble.add_argument("--voting", choices=["soft", "hard"], default="soft")
    ensemble.add_argument(
        "--folds", type=int, default=5, help="cross-validation folds for the val score"
    )
    ensemble.add_argument("--out", required=True, help="output run directory")
    _add_cpu_device(ensemble)
    ensemble.set_defaults(func=commands.cmd_ensemble)

    sweep = sub.add_parser(
        "sweep", help="train a grid of settings x seeds in parallel, resumable, with a summary"
    )
    sweep.add_argument("config", help="YAML config file, or a shipped config's name (amkit ls)")
    sweep.add_argument("--out", required=True, help="sweep directory (rerun to resume)")
    sweep.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a setting and its values, e.g. model.hops=1,2,3 (repeat for more settings)",
    )
    sweep.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=V,...",
        help="a named set of overrides instead of a grid, e.g. no_memory:model.memory=none",
    )
    sweep.add_argument(
        "--metric",
        default=None,
        metavar="SPLIT_KEY",
        help="the metric the summary compares, e.g. test_bleu or test_hr@10 (default: the "
        "test value of the config's train.monitor)",
    )
    sweep.add_argument("--workers", type=int, default=1, help="parallel training processes")
    sweep.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local: a process pool on this machine; ray: each run a Ray task (extra ray)",
    )
    sweep.add_argument(
        "--ray-address",
        default=None,
        help="join this Ray cluster (its machines share --out); default: a local Ray",
    )
    sweep.add_argument(
        "--gpus-per-run", type=float, default=0.0, help="with --backend ray: GPUs per run"
    )
    sweep.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    _add_overrides(
        sweep,
        "overrides applied to every run, e.g. train.epochs=20; {seed} in a value becomes the "
        "run's seed (data.teacher=runs/teacher-seed{seed})",
    )
    sweep.add_argument(
        "--device",
        default=None,
        help="where every run trains (the override train.device); default: the config's, auto",
    )
    sweep.set_defaults(func=commands.cmd_sweep)

    serve = sub.add_parser("serve", help="a local web explorer of runs (runs, examples, try it)")
    serve.add_argument("paths", nargs="*", default=["runs"],
                       help="run directories or folders of runs (default: runs)")  # fmt: skip
    serve.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1, this machine only: the explorer "
        "has no authentication)",
    )
    serve.add_argument(
        "--device",
        default=None,
        help="where the runs' models answer (auto, cpu, cuda:N, mps); default: each run's own "
        "train.device, the CPU where this machine lacks it",
    )
    serve.set_defaults(func=commands.cmd_serve)

    ls = sub.add_parser("ls", help="list registered models, datasets and blocks")
    ls.set_defaults(func=commands.cmd_ls)

    bench = sub.add_parser("bench", help="speed / memory benchmarks (not tests)")
    bench_sub = bench.add_subparsers(dest="bench", required=True, parser_class=_Parser)
    from amkit.bench import attention as bench_attention
    from amkit.bench import memory as bench_memory
    from amkit.bench import memory_disk as bench_memory_disk

    for name, module, text in (
        ("attention", bench_attention, "multi-head attention speed and memory"),
        ("memory", bench_memory, "memory store read latency, memory and recall"),
        ("memory-disk", bench_memory_disk, "the on-disk store at 10^7-10^8 entries (resumable)"),
    ):
        case = bench_sub.add_parser(name, help=text)
        module.add_arguments(case)
        _add_cpu_device(case)
        case.set_defaults(func=commands.cmd_bench, bench_module=module)
    for name, command in sub.choices.items():
        command.epilog = "examples:\n" + "\n".join(f"  {x}" for x in EXAMPLES[name].split("\n"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if "torch" not in sys.modules:  # the command's own process: before torch allocates
        amkit.use_huge_pages()
    parser = build_parser()
    argv = untangle_overrides(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "amkit_console", False)]:
        root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.amkit_console = True
    console.setLevel(logging.INFO if args.verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.addHandler(console)
    try:
        return args.func(args)
    except (UserError, FileNotFoundError, FileExistsError, IsADirectoryError) as err:
        # the user's to fix; the message says what, where and how (no traceback)
        print(f"amkit: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader of our output went away (`amkit ls | head`): not an error of anyone's;
        # point stdout at /dev/null so the interpreter's final flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("amkit: interrupted; resume with `amkit train --resume RUN_DIR`", file=sys.stderr)
        return 130
    except Exception:  # a bug in amkit, not the user's mistake: show where it happened
        traceback.print_exc()
        print(
            f"amkit: internal error (a bug in amkit {amkit.__version__}, not in your input); "
            f"please report it at {ISSUES_URL} with the command and the traceback above",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
