#!/bin/sh
# Rebuilds the committed BPF objects in this folder from their C sources, so tests need no clang.
# Usage: testdata/object/build.sh   (needs clang-19; override with CLANG=...)
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-19}
# The debug-prefix map keeps the build directory out of DWARF, so rebuilds are byte-identical.
for src in *.bpf.c; do  # little-endian BPF, what `-target bpf` means on x86
  obj=${src%.c}.o
  $CLANG -target bpf -O2 -g -fdebug-prefix-map="$PWD"=. -c "$src" -o "$obj"
  echo "built $obj"
done
# One big-endian object, for the byte-order paths.
$CLANG -target bpfeb -O2 -g -fdebug-prefix-map="$PWD"=. -c minimal.bpf.c -o minimal.bpfeb.o
echo "built minimal.bpfeb.o"
# Not BPF: an x86-64 object, the only easy source of SHT_RELA sections (explicit addends).
$CLANG -target x86_64-linux-gnu -O2 -c rela.x86_64.c -o rela.x86_64.o
echo "built rela.x86_64.o"
