#!/usr/bin/env bash
# Rebuilds the BTF fixtures: each .c becomes a .o (clang-19, BPF target, -O2 -g), and the .BTF and
# .BTF.ext sections are cut out into .btf / .btf.ext files so the tests need neither clang nor an
# ELF reader. The reference outputs of bpftool and llvm-objdump are kept beside them, so tests can
# compare against the real tools without having them installed.
set -euo pipefail
cd "$(dirname "$0")"

build() { # build <source> <output stem> <target>
  local src=$1 stem=$2 target=$3
  # The prefix map keeps this checkout's path out of the line_info file names.
  clang-19 -target "$target" -O2 -g -fdebug-prefix-map="$PWD"=. -c "$src" -o "$stem.o"
  llvm-objcopy-19 --dump-section ".BTF=$stem.btf" --dump-section ".BTF.ext=$stem.btf.ext" "$stem.o" /dev/null
  # bpftool only reads host-endian BTF, so the big-endian object gets no reference dumps.
  if [ "$target" = bpf ] || [ "$target" = bpfel ]; then
    bpftool btf dump file "$stem.o" > "$stem.bpftool.txt"
    bpftool -j btf dump file "$stem.o" > "$stem.bpftool.json"
    llvm-objdump-19 -dr --no-show-raw-insn "$stem.o" > "$stem.objdump.txt"
  fi
}

build kinds.c kinds bpfel
build kinds.c kinds-eb bpfeb
build core.c core bpfel
