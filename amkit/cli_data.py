"""The ``amkit data`` subcommands' arguments (``amkit.cli`` builds the rest)."""

from __future__ import annotations

import argparse

from amkit import commands


def add_data_parser(sub, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``amkit data where | download | synth-digits | kbqa-wordnet`` to ``sub``."""
    data = sub.add_parser(
        "data", help="where datasets are expected (AMKIT_DATA), and downloading them"
    )
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=parser_class)
    where = data_sub.add_parser(
        "where", help="each dataset, the path where it is expected and whether it is there"
    )
    where.set_defaults(func=commands.cmd_data_where)
    fetch = data_sub.add_parser(
        "download", help="fetch a dataset into $AMKIT_DATA/NAME, checked against its sha256"
    )
    fetch.add_argument("name", help="dataset name, e.g. multi30k (amkit data where lists them)")
    fetch.add_argument("--url", default=None, help="fetch this copy instead (needs --sha256)")
    fetch.add_argument("--sha256", default=None, help="the sha256 the --url file must have")
    fetch.set_defaults(func=commands.cmd_data_download)
    synth = data_sub.add_parser(
        "synth-digits", help="synthesise spoken digits with espeak-ng as FSDD-named WAVs"
    )
    synth.add_argument("out_dir", help="folder for the WAV files")
    synth.add_argument("--n-per-digit", type=int, default=10, help="takes per digit and voice")
    synth.add_argument(
        "--voices",
        default="train",
        help="train or test (two disjoint sets of espeak-ng voices), or voices such as "
        "en-us+f2,en-gb+m3",
    )
    synth.add_argument("--seed", type=int, default=0, help="draws each take's speed and pitch")
    synth.set_defaults(func=commands.cmd_data_synth)

    kbqa = data_sub.add_parser(
        "kbqa-wordnet",
        help="generate multi-hop questions (MetaQA style) over WN18RR named by WordNet 3.0",
    )
    kbqa.add_argument("out_dir", help="folder for graph.tsv, train/dev/test.tsv, ...")
    kbqa.add_argument("--seed", type=int, default=0, help="draws questions, splits, phrasings")
    kbqa.add_argument(
        "--per-hop", type=int, default=10000, help="questions per hop count (1, 2, 3), all splits"
    )
    kbqa.add_argument("--cap", type=int, default=100, help="the largest answer set kept")
    kbqa.add_argument(
        "--wn18rr", default=None, help="WN18RR folder or .tar.gz (default: $AMKIT_DATA/kg)"
    )
    kbqa.add_argument(
        "--wordnet", default=None, help="WordNet 3.0 dict folder (default: as amkit finds it)"
    )
    kbqa.set_defaults(func=commands.cmd_data_kbqa)
