#!/usr/bin/env bash
# Builds tools/*.bpf.c (the programs of `tsbpf tools`) into the committed tools/*.bpf.o (see
# scripts/build-bpf.sh). The package ships the objects, so `tsbpf tools` needs no clang at run time.
# The tools target -mcpu=v3 (kernels from 5.1 on), not the examples' v4.
#   bash scripts/build-tools.sh                # all tools
#   bash scripts/build-tools.sh execsnoop      # just these
BPF_CPU=${BPF_CPU:-v3} exec bash "$(dirname "$0")/build-bpf.sh" tools "$@"
