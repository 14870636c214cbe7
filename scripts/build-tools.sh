#!/usr/bin/env bash
# Builds every tools/*.bpf.c (the programs of `tsbpf tools`) into the committed tools/*.bpf.o, the
# same way scripts/build-examples.sh builds the examples: clang with our own headers and a
# vmlinux.h from the running kernel's BTF. The package ships the objects, so `tsbpf tools` needs no
# clang at run time.
#
#   bash scripts/build-tools.sh                # all tools
#   bash scripts/build-tools.sh execsnoop      # just these
set -euo pipefail
cd "$(dirname "$0")/.."

clang=${CLANG:-$(command -v clang-19 || command -v clang)}
btf=${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
cpu=${BPF_CPU:-v3}
strip=${LLVM_STRIP:-$(command -v llvm-strip-19 || command -v llvm-strip)}

mkdir -p build
if [[ ! -s build/vmlinux.h || $btf -nt build/vmlinux.h ]]; then
  echo "  GEN     build/vmlinux.h (from $btf)"
  node bin/tsbpf.js btf dump "$btf" --format c >build/vmlinux.h.tmp
  mv build/vmlinux.h.tmp build/vmlinux.h
fi

case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac

flags=(
  -target bpf -O2 -g "-mcpu=$cpu"
  -Wall -Werror
  -I include -I build
  "-D__TARGET_ARCH_$arch"
  -fdebug-compilation-dir=.
)

if [[ $# -gt 0 ]]; then
  sources=()
  for name in "$@"; do sources+=("tools/${name%.bpf.c}.bpf.c"); done
else
  sources=(tools/*.bpf.c)
fi

for src in "${sources[@]}"; do
  obj=${src%.c}.o
  echo "  CLANG   $obj"
  "$clang" "${flags[@]}" -c "$src" -o "$obj"
  "$strip" -g "$obj"
done
