#!/bin/sh
# Rebuilds the committed regression objects of one testdata folder from its C sources (our own
# code, our own headers), so tests need no clang: every DIR/*.bpf.c becomes DIR/*.bpf.o.
#   sh scripts/build-testdata.sh DIR [CPU]     (CPU: -mcpu value, default v4)
# Needs clang-19; override with CLANG=...
set -eu
dir=${1:?usage: build-testdata.sh DIR [CPU]}
cpu=${2:-v4}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$dir"
include=$(realpath --relative-to=. "$root/include")
CLANG=${CLANG:-clang-19}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")
for src in *.bpf.c; do
  obj=${src%.c}.o
  $CLANG -target bpf -O2 -g -mcpu="$cpu" -Wall -Werror -I "$include" -I "/usr/include/$multiarch" \
    -fdebug-prefix-map="$PWD"=. -c "$src" -o "$obj"
  echo "built $obj"
done
