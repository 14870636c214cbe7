#!/bin/sh
# Rebuilds the committed BPF objects of the BTF-pointer tests from their C sources, so tests need no
# clang. Usage: testdata/verifier/btf-ptr/build.sh   (needs clang-19; override with CLANG=...)
exec sh "$(dirname "$0")/../../../scripts/build-testdata.sh" "$(dirname "$0")" v4
