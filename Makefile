# SPDX-License-Identifier: MIT
# The two README commands: `make demo` (the main job) and `make test`.
.PHONY: all build demo test clean
all: build
build:
	scripts/bootstrap
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$$(nproc)
# `make demo DATABASE=postgresql` (or a postgresql:// URL): see README.
demo:
	scripts/demo $(if $(DATABASE),--database $(DATABASE))
test:
	scripts/test
clean:
	rm -rf build build-asan
