#!/usr/bin/env bash
# Builds eBPF C programs of one folder (examples/ or tools/) into the committed DIR/*.bpf.o, using
# only our own headers (include/tsbpf) and a vmlinux.h generated from the running kernel's BTF by
# our own BTF-to-C dumper (`tsbpf btf dump … --format c`) into build/ (not committed).
#
#   bash scripts/build-bpf.sh examples            # all examples
#   bash scripts/build-bpf.sh tools execsnoop     # just these
#
# Environment: CLANG (default clang-19, else clang), LLVM_STRIP (likewise), VMLINUX_BTF (default
# /sys/kernel/btf/vmlinux), BPF_CPU (default v4: sdiv/smod, sign-extending loads and moves, bswap,
# gotol; the kernel accepts v4 since 6.6).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:?usage: build-bpf.sh DIR [NAME...]}
shift

clang=${CLANG:-$(command -v clang-19 || command -v clang)}
btf=${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
cpu=${BPF_CPU:-v4}
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
# With -target bpf clang does not search the multiarch directory that holds <asm/...>, which the
# UAPI network headers (<linux/ip.h> and friends) include.
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")

flags=(
  -target bpf -O2 -g "-mcpu=$cpu"
  -Wall -Werror
  -I include -I build
  "-D__TARGET_ARCH_$arch"
  -idirafter "/usr/include/$multiarch"
  # BTF line info names source files by their DWARF path: make it relative to the repository.
  -fdebug-compilation-dir=.
)

if [[ $# -gt 0 ]]; then
  sources=()
  for name in "$@"; do sources+=("$dir/${name%.bpf.c}.bpf.c"); done
else
  sources=("$dir"/*.bpf.c)
fi

for src in "${sources[@]}"; do
  obj=${src%.c}.o
  echo "  CLANG   $obj"
  "$clang" "${flags[@]}" -c "$src" -o "$obj"
  # Keep .BTF/.BTF.ext (loaders need them) but drop DWARF: the committed objects stay small and
  # identical wherever they are built with the same clang.
  "$strip" -g "$obj"
done
