#!/bin/sh
# Rebuilds the committed regression objects of the real-world tests from their C sources (our own
# code, our own headers), so tests need no clang. Usage: testdata/real-world/build.sh
# (needs clang-19; override with CLANG=...).
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-19}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")
for src in *.bpf.c; do
  obj=${src%.c}.o
  $CLANG -target bpf -O2 -g -mcpu=v4 -Wall -Werror -I ../../include -I "/usr/include/$multiarch" \
    -fdebug-prefix-map="$PWD"=. -c "$src" -o "$obj"
  echo "built $obj"
done
