#!/usr/bin/env bash
# The installable package: build the sdist and, from it, the wheel (python -m build builds
# the wheel out of the sdist, so both are checked); install the wheel in a fresh venv under
# /tmp (torch named in the same pip command, so pip keeps the CPU build); then, from outside
# the repository, run amkit --help, amkit ls (the shipped configs are listed by name),
# amkit data where, one tiny training from a config *name*, and amkit demo --quick.
#
#     tools/check_wheel.sh            (PYTHON=... to build with another interpreter)
#
# Measured on the 2-core development machine (torch from the local wheel folder, the other
# packages from pip's cache): 97 s in all -- build 9 s, fresh venv + install 54 s, the
# commands 34 s (amkit demo --quick 3-25 s of it, as the machine is loaded). Budget: 3 min.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
PYTHON=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
TORCH=${TORCH:-torch==2.13.0}
work=$(mktemp -d /tmp/amkit-wheel.XXXXXX)
trap 'rm -rf "$work"' EXIT
start=$SECONDS
step() { printf '[check_wheel %3ds] %s\n' $((SECONDS - start)) "$*"; }

step "build sdist + wheel"
"$PYTHON" -m build --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 || {
  cat "$work/build.log"
  exit 1
}
ls "$work/dist"
wheel=$(ls "$work/dist"/amkit-*.whl)
sdist=$(ls "$work/dist"/amkit-*.tar.gz)
"$PYTHON" - "$wheel" "$sdist" <<'EOF_PY'
import sys, tarfile, zipfile

wheel = set(zipfile.ZipFile(sys.argv[1]).namelist())
sdist = {name.split("/", 1)[-1] for name in tarfile.open(sys.argv[2]).getnames()}
missing = [m for m in ("amkit/py.typed", "amkit/configs/babi/memn2n_1k_joint.yaml") if m not in wheel]
missing += [f"sdist: {m}" for m in ("LICENSE", "amkit/configs/demo/recall.yaml") if m not in sdist]
if missing:
    sys.exit(f"missing from the package: {missing}")
print(f"wheel: {sum(n.endswith('.yaml') for n in wheel)} shipped configs, py.typed, LICENSE")
EOF_PY

step "install the wheel in a fresh venv"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$TORCH" "$wheel"

step "run the installed amkit from outside the repository"
cd "$work"
amkit="$work/venv/bin/amkit"
installed=$("$work/venv/bin/python" -c "import amkit; print(amkit.__file__)")
case "$installed" in "$work/venv/"*) ;; *) echo "imported $installed, not the wheel"; exit 1 ;; esac
"$amkit" --version
"$amkit" --help >/dev/null
"$amkit" ls | grep -q "babi/memn2n_1k_joint" || { echo "amkit ls lacks the shipped configs"; exit 1; }
AMKIT_DATA="$work/data" "$amkit" data where
"$amkit" train demo/recall --out "$work/run" \
  --set data.n_train=64 data.n_val=16 data.n_test=16 train.epochs=1 train.progress=false
"$amkit" demo --quick --out "$work/demo"
step "ok: $(basename "$wheel") and $(basename "$sdist") install and run"
