#!/bin/sh
# Rebuilds the committed BPF objects of the kernel-loader tests from their C sources, so tests need no
# clang. Usage: testdata/kernel/build.sh   (needs clang-19; override with CLANG=...)
exec sh "$(dirname "$0")/../../scripts/build-testdata.sh" "$(dirname "$0")" v3
