# The front door. `make run` and `make test` are the two commands the README promises:
# each sets up a fresh Debian 12 machine (scripts/bootstrap), builds, then serves or tests.
.PHONY: all bootstrap build run test test-asan format clean

ARGS ?=
# Extra CMake settings, e.g. CMAKE_ARGS=-DLINGXI_CUDA=ON
CMAKE_ARGS ?=

all: build

bootstrap:
	scripts/bootstrap

build: bootstrap
	cmake --preset release $(CMAKE_ARGS)
	cmake --build --preset release

run: build
	build/bin/lingxi serve $(ARGS)

test: build
	ctest --preset release

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: bootstrap
	cmake --preset asan $(CMAKE_ARGS)
	cmake --build --preset asan
	ctest --preset asan

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-debug build-asan
