#!/usr/bin/env bash
# Builds examples/*.bpf.c into the committed examples/*.bpf.o (see scripts/build-bpf.sh).
#   bash scripts/build-examples.sh            # all examples
#   bash scripts/build-examples.sh hello loop # just these
exec bash "$(dirname "$0")/build-bpf.sh" examples "$@"
