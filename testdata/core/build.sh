#!/usr/bin/env bash
# Builds core_kinds.bpf.o, the CO-RE fixture of src/object/core.test.ts, with the flags of
# scripts/build-examples.sh: our own headers (include/tsbpf) and a vmlinux.h dumped from the running
# kernel's BTF into build/ (not committed). The object is committed, so the tests need no clang.
#
# Environment: CLANG (default clang-19), LLVM_STRIP, BPFTOOL, VMLINUX_BTF (default
# /sys/kernel/btf/vmlinux), BPF_CPU (default v4).
set -euo pipefail
cd "$(dirname "$0")/../.."

clang=${CLANG:-$(command -v clang-19 || command -v clang)}
bpftool=${BPFTOOL:-bpftool}
btf=${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
cpu=${BPF_CPU:-v4}
strip=${LLVM_STRIP:-$(command -v llvm-strip-19 || command -v llvm-strip)}

mkdir -p build
if [[ ! -s build/vmlinux.h || $btf -nt build/vmlinux.h ]]; then
  echo "  GEN     build/vmlinux.h (from $btf)"
  "$bpftool" btf dump file "$btf" format c >build/vmlinux.h.tmp
  mv build/vmlinux.h.tmp build/vmlinux.h
fi

case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac

for src in testdata/core/*.bpf.c; do
  obj=${src%.c}.o
  echo "  CLANG   $obj"
  "$clang" -target bpf -O2 -g "-mcpu=$cpu" -Wall -Werror -I include -I build "-D__TARGET_ARCH_$arch" \
    -fdebug-compilation-dir=. -c "$src" -o "$obj"
  # BTF and BTF.ext stay (CO-RE needs them); DWARF goes, to keep the committed object small.
  "$strip" -g "$obj"
done
