#!/usr/bin/env bash
# Regenerates src/uapi.ts: the kernel's program, map, attach and link type enums, read from
# the running kernel's BTF (needs bpftool). These are ABI numbers; names keep the kernel's spelling.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/uapi.ts
header=$(mktemp)
bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$header"
emit() { # enum-name prefix ts-name doc
  echo "/** $4 */"
  echo "export const $3 = {"
  awk "/^enum $1 \\{/,/^\\};/" "$header" | grep -E "^\s+$2[A-Z0-9_]+ = [0-9]+," | grep -v "__MAX" |
    sed -E "s/^\s+$2([A-Z0-9_]+) = ([0-9]+),/  \1: \2,/"
  echo "} as const;"
  echo
}
{
  echo '/**'
  echo ' * Kernel UAPI enums (`include/uapi/linux/bpf.h`, Linux 6.18), generated from this machine'"'"'s'
  echo ' * `/sys/kernel/btf/vmlinux` by `scripts/gen-uapi-enums.sh`. Keys drop the common prefix.'
  echo ' */'
  echo
  emit bpf_prog_type BPF_PROG_TYPE_ ProgType '`enum bpf_prog_type`, e.g. `ProgType.XDP`.'
  emit bpf_map_type BPF_MAP_TYPE_ MapType '`enum bpf_map_type`, e.g. `MapType.HASH`.'
  emit bpf_attach_type BPF_ AttachType '`enum bpf_attach_type`, e.g. `AttachType.XDP`.'
  emit bpf_link_type BPF_LINK_TYPE_ LinkType '`enum bpf_link_type`.'
  echo '/** A program type name, e.g. `XDP`. */'
  echo 'export type ProgTypeName = keyof typeof ProgType;'
  echo '/** A map type name, e.g. `HASH`. */'
  echo 'export type MapTypeName = keyof typeof MapType;'
  echo '/** An attach type name, e.g. `CGROUP_INET_INGRESS`. */'
  echo 'export type AttachTypeName = keyof typeof AttachType;'
  echo
  echo '/** The name of an enum value, or undefined. */'
  echo 'export function enumName<T extends Record<string, number>>(table: T, value: number): (keyof T & string) | undefined {'
  echo '  return (Object.keys(table) as (keyof T & string)[]).find((key) => table[key] === value);'
  echo '}'
} >"$out"
rm -f "$header"
