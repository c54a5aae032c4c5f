# aelab — build, set-up, tests and benchmarks. `make help` lists the targets.
#
# Switches (defaults in brackets):
#   CUDA      [auto] auto: build gpu/ when nvcc is found; 1: require it; 0: leave gpu/ out.
#   GPU       [1]    GPU=0 is a synonym for CUDA=0 (the name the GPU issue uses).
#   CUDA_ARCH [70 80 86 89 90]  SM architectures of the CUDA backend: machine code (sm_XX) for
#                    each, plus PTX for the newest, which newer GPUs compile at load time.
#   SAN       []     asan: AddressSanitizer + UBSan build in build-asan/ (see `make asan`).
#   WERROR    [1]    warnings are errors; WERROR=0 to relax while hacking.
#   THREADS   []     thread count for test runs (default: all cores).

.DEFAULT_GOAL := all # (the build-ID rules below come before `all`)
CUDA      ?= auto
GPU       ?= 1
CUDA_ARCH ?= 70 80 86 89 90
SAN       ?=
WERROR    ?= 1

ifeq ($(GPU),0)
  CUDA := 0
endif
ifeq ($(filter $(CUDA),auto 0 1),)
  $(error CUDA must be auto, 0 or 1, not '$(CUDA)')
endif
ifeq ($(filter $(WERROR),0 1),)
  $(error WERROR must be 0 or 1, not '$(WERROR)')
endif

ifeq ($(origin CC),default)
  CC := gcc
endif
comma := ,
BUILD := build
CUDA_LIB := bin/libaelab-cuda.so
ifeq ($(SAN),asan)
  BUILD := build-asan
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifneq ($(SAN),)
  $(error SAN must be empty or asan, not '$(SAN)')
endif

# OpenBLAS: Debian's OpenMP build when present (libopenblas-openmp-dev, which `make deps`
# installs), so that GEMMs and our element-wise passes share one pool of threads; the pthread
# build's workers spin after each GEMM and starve the OpenMP passes on a 2-core machine
# (measured: an L-BFGS iteration 10x slower). Otherwise whatever pkg-config's openblas is.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
BLAS_OMP_DIR := /usr/lib/$(MULTIARCH)/openblas-openmp
ifneq ($(wildcard $(BLAS_OMP_DIR)/libopenblas.so),)
  BLAS_CFLAGS := -I/usr/include/$(MULTIARCH)/openblas-openmp
  BLAS_LIBS := -L$(BLAS_OMP_DIR) -Wl,-rpath,$(BLAS_OMP_DIR) -lopenblas
  PKGS := yaml-0.1 zlib
else
  PKGS := yaml-0.1 openblas zlib
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(BLAS_CFLAGS)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(BLAS_LIBS)

# oneDNN (libdnnl-dev, optional; `make deps` installs it): the bf16 GEMMs of `precision: bf16`
# (engine/cpu_bf16.c). DNNL=auto uses it when its header and library are there; DNNL=0 leaves it
# out (then `precision: bf16` is refused).
DNNL ?= auto
ifeq ($(filter $(DNNL),auto 0 1),)
  $(error DNNL must be auto, 0 or 1, not '$(DNNL)')
endif
ifneq ($(DNNL),0)
  ifneq ($(and $(wildcard /usr/include/oneapi/dnnl/dnnl.h),$(wildcard /usr/lib/$(MULTIARCH)/libdnnl.so)),)
    DNNL_ON := 1
  else ifeq ($(DNNL),1)
    $(error DNNL=1 but oneDNN (libdnnl-dev) is not installed)
  endif
endif
ifeq ($(DNNL_ON),1)
  DNNL_CFLAGS := -DAE_WITH_DNNL
  DNNL_LIBS := -ldnnl
  DNNL_PROBE = $(BUILD)/bench/dnnl_gemm_probe
endif

# -fno-math-errno -fno-trapping-math: nothing reads errno after a math call or enables FP
# traps; without them GCC keeps sqrtf and conditional float arithmetic out of SIMD loops
# (engine/vecmath.h, the noise and Adam passes).
CFLAGS  := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -fopenmp -fno-math-errno -fno-trapping-math \
           -MMD -MP $(SANFLAGS) $(PKG_CFLAGS) $(DNNL_CFLAGS)
ifeq ($(WERROR),1)
  CFLAGS += -Werror
endif
CFLAGS += -I. -Iengine -Irunner
LDLIBS := $(PKG_LIBS) $(DNNL_LIBS) -lcsv -lxxhash -lm -fopenmp $(SANFLAGS)

# ---- CUDA probe (tested by tests/test_make_probe.sh) ----
# nvcc may be the toolkit's own binary or a wrapper script elsewhere on PATH (CI has
# /usr/local/bin/nvcc, a two-line `exec /usr/local/cuda-13.0/bin/nvcc`), so the toolkit's
# directory comes from nvcc itself: `nvcc -dryrun` prints its TOP. Libraries are looked for
# in lib64 and targets/<arch>-linux/lib. CUDA=auto with no cudart/cuBLAS to link against
# leaves gpu/ out (with a message); CUDA=1 makes that an error.
NVCC := $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
ifeq ($(CUDA),0)
  NVCC :=
else ifeq ($(CUDA),1)
  ifeq ($(NVCC),)
    $(error CUDA=1 but nvcc was not found on PATH or in /usr/local/cuda/bin)
  endif
endif
ifneq ($(NVCC),)
  CUDA_TOP := $(realpath $(shell $(NVCC) -dryrun -E -x cu /dev/null 2>&1 | sed -n 's/^\#\$$ TOP=//p' | head -n 1))
  CUDA_LIBDIR := $(firstword $(foreach d,$(CUDA_TOP)/lib64 $(wildcard $(CUDA_TOP)/targets/*-linux/lib),\
      $(if $(and $(wildcard $(d)/libcudart.so),$(wildcard $(d)/libcublas.so)),$(d))))
  ifeq ($(CUDA_LIBDIR),)
    ifeq ($(CUDA),1)
      $(error CUDA=1 but no libcudart.so + libcublas.so next to nvcc ($(NVCC), toolkit '$(CUDA_TOP)'))
    endif
    CUDA_OFF_WHY := nvcc $(NVCC) found, but no libcudart.so + libcublas.so in toolkit '$(CUDA_TOP)'
    NVCC :=
  endif
endif
# CUDA_ARCH: a list of two- or three-digit compute capabilities ("80 90"); the newest also gets
# PTX. The list is compiled into gpu/backend.cu (AE_CUDA_ARCHS), which refuses a device none of
# them can run on, before any kernel is launched.
ifneq ($(NVCC),)
  ifneq ($(words $(CUDA_ARCH)),$(words $(filter $(foreach a,1 2 3 4 5 6 7 8 9,$(foreach b,0 1 2 3 4 5 6 7 8 9,$(a)$(b) $(a)$(b)0)),$(CUDA_ARCH))))
    $(error CUDA_ARCH must be a list of compute capabilities such as "80 90", not '$(CUDA_ARCH)')
  endif
  ifeq ($(strip $(CUDA_ARCH)),)
    $(error CUDA_ARCH must name at least one compute capability, such as "90")
  endif
  # nvcc drops old architectures (CUDA 13 has no sm_70): those of the default list that this
  # nvcc cannot build are left out with a note; one asked for in CUDA_ARCH is an error.
  CUDA_ARCH_KNOWN := $(patsubst compute_%,%,$(filter compute_%,$(shell $(NVCC) --list-gpu-arch 2>/dev/null)))
  CUDA_ARCH_ASKED := $(shell printf '%s\n' $(CUDA_ARCH) | sort -un | tr '\n' ' ')
  CUDA_ARCH_LIST := $(if $(CUDA_ARCH_KNOWN),$(filter $(CUDA_ARCH_KNOWN),$(CUDA_ARCH_ASKED)),$(CUDA_ARCH_ASKED))
  CUDA_ARCH_DROPPED := $(filter-out $(CUDA_ARCH_LIST),$(CUDA_ARCH_ASKED))
  ifneq ($(CUDA_ARCH_DROPPED),)
    ifeq ($(origin CUDA_ARCH),file)
      $(info aelab: note: $(NVCC) cannot build $(patsubst %,sm_%,$(CUDA_ARCH_DROPPED)); left out)
    else
      $(error CUDA_ARCH: $(NVCC) cannot build $(patsubst %,sm_%,$(CUDA_ARCH_DROPPED)) (it knows $(CUDA_ARCH_KNOWN)))
    endif
  endif
  ifeq ($(CUDA_ARCH_LIST),)
    $(error CUDA_ARCH: $(NVCC) cannot build any of $(CUDA_ARCH))
  endif
  CUDA_ARCH_PTX := $(lastword $(CUDA_ARCH_LIST))
  $(info aelab: CUDA backend ON (nvcc: $(NVCC), libraries: $(CUDA_LIBDIR), $(patsubst %,sm_%,$(CUDA_ARCH_LIST))+ PTX compute_$(CUDA_ARCH_PTX)))
  CFLAGS += -DAE_WITH_CUDA
  NVCCFLAGS := -O2 -std=c++17 -I. -Iengine -Igpu -DAE_WITH_CUDA \
      $(foreach a,$(CUDA_ARCH_LIST),-gencode arch=compute_$(a),code=sm_$(a)) \
      -gencode arch=compute_$(CUDA_ARCH_PTX),code=compute_$(CUDA_ARCH_PTX) \
      -Xcompiler -Wall,-Wextra$(if $(filter 1,$(WERROR)),$(comma)-Werror)
  GPU_SRC := $(wildcard gpu/*.cu)
  # The CUDA backend is a shared object that runner/cudaload.c dlopen()s the first time a GPU
  # is asked for, so bin/aelab and the tests never link cuBLAS/cudart (mapping them cost every
  # exec ~200 MB of peak RSS and ~0.1 s, CPU runs included). The library is self-contained:
  # gpu/ uses nothing of libaelab.a (engine/rng.h is all inline), and -z defs fails the link if
  # that ever changes.
  CUDA_SO := $(CUDA_LIB)
  CUDA_SO_LIBS := -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcublas -lcudart -lstdc++ -lm
  NVCCFLAGS += -Xcompiler -fPIC
else
  $(info aelab: CUDA backend OFF ($(or $(CUDA_OFF_WHY),nvcc not found or CUDA=0)))
  GPU_SRC :=
  CUDA_SO :=
endif
# The build ID (scripts/buildid.sh: the sources, the compiler's version and the flags) goes into
# every stage key, so that a changed program never reuses a stage another one stored in the stage
# cache (runner/buildid.c). A stamp holding it, rewritten only when it changes, rebuilds
# runner/buildid.o when it does.
ifeq ($(filter clean print-config help,$(MAKECMDGOALS)),)
  BUILD_ID := $(shell AE_CC='$(CC)' AE_CFLAGS='$(CFLAGS)' AE_NVCC='$(NVCC)' AE_NVCCFLAGS='$(NVCCFLAGS)' bash scripts/buildid.sh)
  ifeq ($(BUILD_ID),)
    $(error scripts/buildid.sh printed no build ID)
  endif
  $(shell mkdir -p $(BUILD) && { [ "$$(cat $(BUILD)/build_id 2>/dev/null)" = "$(BUILD_ID)" ] || echo "$(BUILD_ID)" >$(BUILD)/build_id; })
endif
$(BUILD)/runner/buildid.o: CFLAGS += -DAELAB_BUILD_ID='"$(BUILD_ID)"'
$(BUILD)/runner/buildid.o: $(BUILD)/build_id
ENGINE_SRC := $(wildcard engine/*.c)
RUNNER_SRC := $(filter-out runner/main.c,$(wildcard runner/*.c))
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(ENGINE_SRC) $(RUNNER_SRC))
# under pic/: objects of gpu/ from before the shared library (not -fPIC) cannot be linked into it
GPU_OBJ := $(patsubst %.cu,$(BUILD)/pic/%.o,$(GPU_SRC))
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BIN := bin/aelab$(if $(SAN),-$(SAN))


.PHONY: print-config
.PHONY: install uninstall man
.PHONY: all help deps data data-only run test test-gpu test-slurm device-check regress regress-asan bench bench-deps asan fuzz valgrind clean
all: $(BIN) $(CUDA_SO) $(DNNL_PROBE)

help:
	@echo "make            build bin/aelab (and bin/libaelab-cuda.so, its CUDA backend, with nvcc)"
	@echo "make deps       install missing Debian packages (quick when none are missing)"
	@echo "make data       put MNIST and Fashion-MNIST under data/ (idempotent, verified)"
	@echo "make run        deps + build + data, then run lecture 17 on MNIST"
	@echo "make test       deps + build + data, then every test (pass/fail)"
	@echo "make test-gpu   compare the CUDA backend with the CPU (skips without a GPU)"
	@echo "make test-slurm a sweep through a single-node Slurm it starts on localhost (as root)"
	@echo "make device-check  on a GPU machine: build, test-gpu, gradcheck, determinism, memcheck and\n                  every experiment GPU vs CPU, one report in results/device-check/"
	@echo "make regress    run every lecture experiment and compare with results/baselines"
	@echo "make bench      benchmarks, written to bench/results.md (bench-deps: PyTorch peer)"
	@echo "make asan       the test suite under AddressSanitizer + UBSan"
	@echo "make regress-asan  every experiment, shortened, under AddressSanitizer + UBSan"
	@echo "make fuzz       libFuzzer harnesses, FUZZ_SECONDS each (default 60)"
	@echo "make valgrind   a short training and the bad-input catalogue under memcheck"
	@echo "make install    PREFIX=/usr/local DESTDIR=: bin/aelab (and its CUDA library), the plot\n                  templates, the man page and the bash completion; make uninstall removes them"
	@echo "make man        rewrite docs/aelab.1 from the program's --help (docs/mkman.sh)"
	@echo "make clean      remove build outputs"

$(BUILD)/lib/libaelab.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/runner/main.o $(BUILD)/lib/libaelab.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS)

$(CUDA_SO): $(GPU_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,defs -o $@ $^ $(CUDA_SO_LIBS)

# the compiler flags a run records in its provenance (runner/provenance.c)
PROV_FLAGS := $(filter -O% -g -f% -m% -std=% -DAE_WITH_CUDA,$(CFLAGS))
$(BUILD)/runner/provenance.o: CFLAGS += -DAE_CC_FLAGS='"$(PROV_FLAGS)"'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The architectures are part of every object: a stamp holding the list, rewritten only when it
# changes, makes a new CUDA_ARCH rebuild gpu/ (print-config, the probe's target, leaves it alone).
CUDA_ARCH_STAMP := $(BUILD)/pic/cuda_arch
ifneq ($(NVCC),)
  ifneq ($(MAKECMDGOALS),print-config)
    $(shell mkdir -p $(BUILD)/pic && { [ "$$(cat $(CUDA_ARCH_STAMP) 2>/dev/null)" = "$(CUDA_ARCH_LIST)" ] || echo "$(CUDA_ARCH_LIST)" >$(CUDA_ARCH_STAMP); })
  endif
endif
$(BUILD)/pic/gpu/backend.o: NVCCFLAGS += -DAE_CUDA_ARCHS='"$(strip $(CUDA_ARCH_LIST))"' \
    -DAE_CUDA_ARCH_PTX=$(CUDA_ARCH_PTX)
$(BUILD)/pic/gpu/%.o: gpu/%.cu $(CUDA_ARCH_STAMP)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/lib/libaelab.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS)

# tests/backend_compare.c: the backend-comparison harness (every training path on two backends)
# that these two tests share
BC_TESTS := $(BUILD)/tests/test_backend_compare $(BUILD)/tests/test_gpu
$(BC_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/backend_compare.o $(BUILD)/lib/libaelab.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS)

# tests/test_bench_flops: the bench's FLOP model (bench/flops.c) against the engine's GEMMs
$(BUILD)/tests/test_bench_flops: $(BUILD)/tests/test_bench_flops.o $(BUILD)/bench/flops.o $(BUILD)/lib/libaelab.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS)

# the GEMM probe of bench/README.md (OpenBLAS vs oneDNN FP32 vs oneDNN bf16 on the AE's shapes);
# only with oneDNN
$(BUILD)/bench/dnnl_gemm_probe: $(BUILD)/bench/dnnl/gemm_probe.o $(BUILD)/lib/libaelab.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS)

deps:
	@scripts/deps.sh

data: deps
	@scripts/data.sh

data-only:
	@scripts/data.sh

# deps first, then a fresh make: its pkg-config flags are read after the packages exist.
run: deps
	@$(MAKE) --no-print-directory all data-only
	./$(BIN) run experiments/lecture17_mnist_stacked.yaml
	@echo "results and plots: results/lecture17_mnist_stacked/ (summary.csv, metrics.csv, *.png)"

test: deps
	@$(MAKE) --no-print-directory data-only all $(TEST_BIN)
	@AELAB=$(BIN) BUILD=$(BUILD) tests/run.sh

test-gpu: all $(TEST_BIN)
	@AELAB=$(BIN) BUILD=$(BUILD) tests/run.sh gpu

# a sweep through a real single-node Slurm that tests/test_slurm.sh starts on localhost and
# stops (it installs slurm-wlm and munge when missing); not part of `make test`. Its skip (exit
# 77: no root or apt, or Slurm cannot start here) is said and is not a failure, so that CI
# (.ci/run) can run it everywhere.
test-slurm: deps
	@$(MAKE) --no-print-directory data-only all
	@AELAB=$(BIN) AELAB_TEST_SLURM=1 bash tests/test_slurm.sh; rc=$$?; \
	  if [ $$rc -eq 77 ]; then echo "test-slurm: skipped (above)"; exit 0; fi; exit $$rc
# the CUDA backend's whole check on a GPU machine, one report (scripts/device_check.sh); 77 without
# a GPU
device-check:
	@AELAB=$(BIN) scripts/device_check.sh

regress: deps
	@$(MAKE) --no-print-directory data-only all
	@AELAB=$(BIN) tests/regress.sh

bench: deps
	@$(MAKE) --no-print-directory data-only all
	@AELAB=$(BIN) bench/run.sh

# the PyTorch peer of `make bench` (Debian's python3-torch, and python3-numpy, which it does not
# pull in); the tests never need it
bench-deps:
	@for p in python3-torch python3-numpy; do \
	  dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -qx installed || miss="$$miss $$p"; \
	done; [ -z "$$miss" ] || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$miss; }

asan:
	@$(MAKE) --no-print-directory SAN=asan CUDA=0 test

# every experiment of experiments/ on 2,000 training images, the ASan/UBSan build (CI runs it)
regress-asan: deps
	@$(MAKE) --no-print-directory SAN=asan CUDA=0 data-only bin/aelab-asan
	@AELAB=bin/aelab-asan tests/regress_short.sh

# libFuzzer harnesses (tests/fuzz/*.c), built with clang; FUZZ_SECONDS per harness.
FUZZ_SECONDS ?= 60
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

# a short training and the bad-input catalogue under valgrind's memcheck
valgrind: all
	@AELAB=$(BIN) tests/valgrind.sh

clean:
	rm -rf build build-asan bin

# ---- install (tests/test_install.sh installs into a temp DESTDIR and runs the result) ----
# PREFIX/bin/aelab finds its templates in PREFIX/share/aelab/plots (runner/plots.c) and its CUDA
# library next to itself (runner/cudaload.c), so the tree can move as a whole.
PREFIX ?= /usr/local
DESTDIR ?=
INSTALL_FILES := bin/aelab $(if $(CUDA_SO),bin/libaelab-cuda.so) \
    $(patsubst plots/%,share/aelab/plots/%,$(wildcard plots/*.gp)) share/man/man1/aelab.1 \
    share/bash-completion/completions/aelab
install: all
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/aelab/plots" \
	    "$(DESTDIR)$(PREFIX)/share/man/man1" "$(DESTDIR)$(PREFIX)/share/bash-completion/completions"
	install -m 0755 $(BIN) "$(DESTDIR)$(PREFIX)/bin/aelab"
	$(if $(CUDA_SO),install -m 0755 $(CUDA_SO) "$(DESTDIR)$(PREFIX)/bin/libaelab-cuda.so")
	install -m 0644 plots/*.gp "$(DESTDIR)$(PREFIX)/share/aelab/plots/"
	install -m 0644 docs/aelab.1 "$(DESTDIR)$(PREFIX)/share/man/man1/aelab.1"
	install -m 0644 docs/aelab.bash "$(DESTDIR)$(PREFIX)/share/bash-completion/completions/aelab"

uninstall:
	rm -f $(foreach f,$(INSTALL_FILES) bin/libaelab-cuda.so,"$(DESTDIR)$(PREFIX)/$(f)")
	-rmdir "$(DESTDIR)$(PREFIX)/share/aelab/plots" "$(DESTDIR)$(PREFIX)/share/aelab" 2>/dev/null

man: $(BIN)
	docs/mkman.sh $(BIN) >docs/aelab.1.tmp && mv docs/aelab.1.tmp docs/aelab.1

# What the probes above decided, one `name=value` per line (tests/test_make_probe.sh reads it).
print-config:
	@echo "nvcc=$(NVCC)"
	@echo "cuda_libdir=$(CUDA_LIBDIR)"
	@echo "cuda_lib=$(CUDA_SO)"
	@echo "cuda_archs=$(strip $(CUDA_ARCH_LIST))"
	@echo "nvccflags=$(NVCCFLAGS)"
	@echo "blas_libs=$(BLAS_LIBS)"
	@echo "dnnl=$(if $(DNNL_ON),1,0)"
	@echo "cflags=$(CFLAGS)"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
