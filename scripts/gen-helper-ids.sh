#!/usr/bin/env bash
# Regenerates src/isa/helper-ids.ts from the running kernel's BTF (needs bpftool).
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/isa/helper-ids.ts
{
  echo '/**'
  echo ' * Helper function names by id: `enum bpf_func_id` of Linux 6.18 (`___BPF_FUNC_MAPPER` in'
  echo ' * `include/uapi/linux/bpf.h`), read from this machine'"'"'s `/sys/kernel/btf/vmlinux`. Index = helper id;'
  echo ' * names are without the `bpf_` prefix. Regenerate with `scripts/gen-helper-ids.sh`.'
  echo ' */'
  echo 'export const HELPER_NAMES: readonly string[] = Object.freeze(['
  bpftool btf dump file /sys/kernel/btf/vmlinux format c |
    grep -E '^\s+BPF_FUNC_[a-z0-9_]+ = [0-9]+,' |
    sed -E "s/^\s+BPF_FUNC_([a-z0-9_]+) = ([0-9]+),/  '\1', \/\/ \2/"
  echo ']);'
  echo
  echo '/** The id of a helper by name (with or without the `bpf_` prefix), or undefined. */'
  echo 'export function helperId(name: string): number | undefined {'
  echo "  const id = HELPER_NAMES.indexOf(name.startsWith('bpf_') ? name.slice(4) : name);"
  echo '  return id > 0 ? id : undefined;'
  echo '}'
} >"$out"
