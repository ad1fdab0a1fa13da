# The two commands of the README. Everything else is CMake.
#   make demo   install missing packages, build, render the built-in demo
#   make test   install missing packages, build, run the whole test suite
BUILD ?= build
JOBS ?= $(shell nproc)
CC_CHOICE := $(shell command -v clang-19 >/dev/null 2>&1 && echo clang-19 || echo cc)

.PHONY: all deps configure _configure build demo test bench install-lv2 clean

all: build

deps:
	@bash scripts/install-deps.sh

# clang-19 is chosen once the dependencies are in: the fuzzers and the
# RealtimeSanitizer tests need it. Re-evaluated in a sub-make so a first run
# on a bare machine picks it up after install-deps.
configure: deps
	@$(MAKE) --no-print-directory _configure

_configure:
	@if [ ! -f $(BUILD)/CMakeCache.txt ]; then \
	  cc=$$(command -v clang-19 || command -v cc); \
	  cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$$cc -DCMAKE_BUILD_TYPE=RelWithDebInfo; \
	fi

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/apps/sprung/sprung render -o sprung-demo.wav --spectrogram sprung-demo.png

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	./$(BUILD)/apps/sprung/sprung bench

LV2_INSTALL_DIR ?= $(HOME)/.lv2

# Installs the sprung.lv2 bundle (instrument and effect) for LV2 hosts.
install-lv2: configure
	@cmake --build $(BUILD) -j $(JOBS) --target sprung_lv2_bundle
	@mkdir -p "$(LV2_INSTALL_DIR)"
	@rm -rf "$(LV2_INSTALL_DIR)/sprung.lv2"
	@cp -R $(BUILD)/lv2/sprung.lv2 "$(LV2_INSTALL_DIR)/"
	@echo "installed $(LV2_INSTALL_DIR)/sprung.lv2"

clean:
	rm -rf $(BUILD) sprung-demo.wav sprung-demo.png
