"""Results-page generators: read run directories, write docs/results/X.{json,md}.

Development tools of the amkit repository, not part of the installed package. Run from the
repository root, e.g. ``python -m results.babi_report --help``.
"""
