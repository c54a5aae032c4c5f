#!/usr/bin/env python3
"""bench/peer_torch.py - the PyTorch peer of bench/workload.c's `work` role.

Runs one workload the way the lecture notebooks do (docs/lectures.md), written to be fast rather
than literal: float32, nn.Linear's default init, plain SGD / Adam, batch 1000, shuffled every
epoch, MNIST read from the same IDX files as aelab (parsed with numpy, no torchvision, no
DataLoader: the uint8 images sit in one tensor and each batch is indexed and scaled by 1/255,
as aelab's gather does). One warm-up epoch, then --epochs timed ones.

Prints the "key value" lines bench/side.c parses:
  epoch_s S          one per timed epoch (lbfgs: per timed iteration)
  eval_s S           lbfgs: one per timed objective+gradient evaluation
  evals_per_iter X   lbfgs
  rss_kb N           peak RSS (getrusage)
  corename NAME      OpenBLAS's kernel core, read from the library torch loaded
  features_s S       frozen: the one-off feature computation
  info TEXT          versions and threads
  blas_lib PATH, blas_libs, omp_libs, blas_config, blas_parallel, blas_threads, torch_parallel
                     the BLAS this process really ran (see blas_report)
Workloads: ae1, stacked, classifier, denoise, lbfgs, lbfgs60k, frozen (see bench/workload.c).
"""
import argparse
import ctypes
import gzip
import os
import re
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The clock: wall time, or (--cpu-clock, for analysis with --threads 1 on a busy machine) the
# process's CPU time, which other people's jobs do not inflate.
clock = time.perf_counter

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def find_mnist():
    """The same lookup as runner/datasets.c: $AELAB_DATA/mnist, data/mnist, /usr/share/datasets."""
    dirs = []
    if os.environ.get("AELAB_DATA"):
        dirs.append(os.path.join(os.environ["AELAB_DATA"], "mnist"))
    dirs += ["data/mnist", "/usr/share/datasets/mnist"]
    for d in dirs:
        paths = []
        for n in NAMES:
            p = os.path.join(d, n)
            if os.path.exists(p):
                paths.append(p)
            elif os.path.exists(p + ".gz"):
                paths.append(p + ".gz")
        if len(paths) == 4:
            return paths
    sys.exit("peer_torch.py: error: MNIST not found in %s (run `make data`)" % ", ".join(dirs))


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        sys.exit("%s: error: not an unsigned-byte IDX file" % path)
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if data.size != int(np.prod(dims)):
        sys.exit("%s: error: %d bytes of data, expected %d" % (path, data.size, np.prod(dims)))
    return data.reshape(dims[0], -1) if rank > 1 else data


def loaded_libs():
    """The shared objects this process mapped (/proc/self/maps), resolved paths."""
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[5].startswith("/") and ".so" in parts[5]:
                    path = os.path.realpath(parts[5])
                    if path not in libs:
                        libs.append(path)
    except OSError:
        pass
    return libs


def blas_report():
    """What BLAS this process runs, read at run time: the libopenblas .so mapped (from
    /proc/self/maps, after torch has loaded it), its openblas_get_corename/config/parallel/
    num_threads through ctypes on that very file, the OpenMP runtime mapped, and torch's own
    parallel_info. Printed as blas_* lines that bench/side.c checks against aelab's."""
    libs = loaded_libs()
    blas = [p for p in libs if re.search(r"/lib(openblas|blas|mkl|blis)[^/]*\.so", p)]
    openblas = [p for p in blas if "libopenblas" in os.path.basename(p)]
    omp = [p for p in libs if re.search(r"/lib(gomp|iomp5|omp)[^/]*\.so", p)]
    print("blas_libs %s" % (",".join(blas) or "none"))
    print("omp_libs %s" % (",".join(omp) or "none"))
    if len(openblas) != 1:
        print("blas_lib %s" % ("none" if not openblas else "several"))
        return
    print("blas_lib %s" % openblas[0])
    lib = ctypes.CDLL(openblas[0])
    lib.openblas_get_corename.restype = ctypes.c_char_p
    lib.openblas_get_config.restype = ctypes.c_char_p
    print("corename %s" % lib.openblas_get_corename().decode())
    print("blas_config %s" % lib.openblas_get_config().decode().strip())
    print("blas_parallel %d" % lib.openblas_get_parallel())
    print("blas_threads %d" % lib.openblas_get_num_threads())
    info = torch.__config__.parallel_info()
    backend = re.search(r"ATen parallel backend: *(\S+)", info)
    print("torch_parallel %s, at::get_num_threads %d" %
          (backend.group(1) if backend else "?", torch.get_num_threads()))


def ufldl_linear(i, o):
    """UFLDL's init: W ~ U(-r, r), r = sqrt(6/(I+O+1)), b = 0."""
    lin = nn.Linear(i, o)
    r = (6.0 / (i + o + 1)) ** 0.5
    with torch.no_grad():
        lin.weight.uniform_(-r, r)
        lin.bias.zero_()
    return lin


def build(workload):
    if workload in ("ae1", "denoise"):
        enc = nn.Sequential(nn.Linear(784, 400), nn.Tanh())
        dec = nn.Sequential(nn.Linear(400, 784), nn.Sigmoid())
        return enc, dec
    if workload == "stacked":
        enc = nn.Sequential(nn.Linear(784, 400), nn.Tanh(), nn.Linear(400, 256), nn.Tanh())
        dec = nn.Sequential(nn.Linear(256, 400), nn.Tanh(), nn.Linear(400, 784), nn.Sigmoid())
        return enc, dec
    if workload == "classifier":
        enc = nn.Sequential(nn.Linear(784, 400), nn.Tanh(), nn.Linear(400, 256), nn.Tanh())
        head = nn.Sequential(nn.Linear(256, 10), nn.LogSoftmax(dim=1))
        return enc, head
    if workload in ("lbfgs", "lbfgs60k"):
        hidden = 196 if workload == "lbfgs" else 200
        enc = nn.Sequential(ufldl_linear(784, hidden), nn.Sigmoid())
        dec = nn.Sequential(ufldl_linear(hidden, 784), nn.Sigmoid())
        return enc, dec
    if workload == "frozen":
        enc = nn.Sequential(nn.Linear(784, 400), nn.Tanh(), nn.Linear(400, 256), nn.Tanh())
        head = nn.Sequential(nn.Linear(256, 10), nn.LogSoftmax(dim=1))
        for q in enc.parameters():
            q.requires_grad_(False)
        return enc, head
    raise ValueError(workload)


def run_minibatch(workload, epochs, images, labels, test_images, test_labels):
    """Warm-up + `epochs` timed epochs; returns the timed epoch seconds."""
    enc, top = build(workload)
    params = list(enc.parameters()) + list(top.parameters())
    if workload == "denoise":
        opt = torch.optim.Adam(params, lr=1e-3)
    else:
        opt = torch.optim.SGD(params, lr=0.1 if workload == "classifier" else 0.98)
    n, B = images.shape[0], 1000
    times = []
    for epoch in range(epochs + 1):
        t0 = clock()
        perm = torch.randperm(n)
        total = 0.0
        for b in range(0, n, B):
            idx = perm[b:b + B]
            x = images[idx].float().div_(255.0)
            opt.zero_grad()
            if workload == "classifier":
                loss = F.nll_loss(top(enc(x)), labels[idx].long())
            elif workload == "denoise":
                # L20: noisy = clamp(x + N(0.1, 0.2), 0, 1) in, clean x as the target; the L1
                # penalty with the lecture's semantics adds 0.1*sign(h) to dL/dh, not divided by
                # the batch: exactly the gradient of 0.1*sum|h|.
                noisy = (x + 0.1 + 0.2 * torch.randn_like(x)).clamp_(0.0, 1.0)
                h = enc(noisy)
                loss = F.mse_loss(top(h), x) + 0.1 * h.abs().sum()
            else:
                loss = F.mse_loss(top(enc(x)), x)
            loss.backward()
            opt.step()
            total += loss.item()
        if workload == "classifier":
            # the test evaluation of every classifier epoch: 10k images, batches of 1000
            right = 0
            with torch.no_grad():
                for b in range(0, test_images.shape[0], B):
                    xt = test_images[b:b + B].float().div_(255.0)
                    pred = top(enc(xt)).argmax(dim=1)
                    right += int((pred == test_labels[b:b + B].long()).sum())
        if epoch > 0:
            times.append(clock() - t0)
    return times


def run_frozen(epochs, images, labels):
    """A softmax head on a frozen two-layer encoder, the way a PyTorch user writes it: the
    encoder's features of all 60k images computed once (no_grad, batches of 1000; printed as
    features_s, a one-off cost per stage), then epochs of the head alone on them (SGD lr 0.1,
    batch 1000, shuffled). Returns the timed epoch seconds."""
    enc, head = build("frozen")
    n, B = images.shape[0], 1000
    t0 = clock()
    with torch.no_grad():
        feats = torch.cat([enc(images[b:b + B].float().div_(255.0)) for b in range(0, n, B)])
    print("features_s %.6f" % (clock() - t0))
    opt = torch.optim.SGD(head.parameters(), lr=0.1)
    lab = labels.long()
    times = []
    for epoch in range(epochs + 1):
        t0 = clock()
        perm = torch.randperm(n)
        for b in range(0, n, B):
            idx = perm[b:b + B]
            opt.zero_grad()
            loss = F.nll_loss(head(feats[idx]), lab[idx])
            loss.backward()
            opt.step()
            loss.item()
        if epoch > 0:
            times.append(clock() - t0)
    return times


def run_lbfgs(iters, images, workload="lbfgs"):
    """UFLDL sparse autoencoder, full batch: the first 10k images (lbfgs, 784-196-784) or all
    60k (lbfgs60k, 784-200-784). One warm-up iteration
    (its own step() call), then one step() of `iters` iterations. Returns (per-iteration
    seconds, evaluation seconds, evaluations per iteration)."""
    torch.manual_seed(1)
    enc, dec = build(workload)
    x = images[:10000 if workload == "lbfgs" else images.shape[0]].float().div_(255.0)
    m = x.shape[0]
    rho, beta, lam = 0.1, 3.0, 3e-3
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.LBFGS(params, lr=1, max_iter=1, max_eval=10**6, history_size=100,
                            tolerance_grad=1e-7, tolerance_change=1e-9,
                            line_search_fn="strong_wolfe")
    eval_times = []

    def closure():
        t0 = clock()
        opt.zero_grad()
        h = enc(x)
        y = dec(h)
        recon = 0.5 * ((y - x) ** 2).sum() / m
        decay = 0.5 * lam * (enc[0].weight.pow(2).sum() + dec[0].weight.pow(2).sum())
        rhohat = h.mean(dim=0).clamp(1e-6, 1 - 1e-6)
        kl = (rho * torch.log(rho / rhohat) + (1 - rho) * torch.log((1 - rho) / (1 - rhohat))).sum()
        loss = recon + decay + beta * kl
        loss.backward()
        eval_times.append(clock() - t0)
        return loss

    opt.step(closure)                      # warm-up iteration
    warm_evals = len(eval_times)
    opt.param_groups[0]["max_iter"] = iters
    state = opt.state[opt._params[0]]
    it0 = state.get("n_iter", 0)
    t0 = clock()
    opt.step(closure)
    total = clock() - t0
    done = state.get("n_iter", 0) - it0
    timed_evals = eval_times[warm_evals:]
    per_iter = total / max(done, 1)
    return [per_iter] * max(done, 1), timed_evals, len(timed_evals) / max(done, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True,
                    choices=["ae1", "stacked", "classifier", "denoise", "lbfgs", "lbfgs60k",
                             "frozen"])
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs (lbfgs: iterations)")
    ap.add_argument("--threads", type=int, default=0, help="0: all cores")
    ap.add_argument("--cpu-clock", action="store_true", help="time with process CPU time")
    a = ap.parse_args()
    if a.cpu_clock:
        global clock
        clock = time.process_time
    threads = a.threads if a.threads > 0 else os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    ti, tl, vi, vl = find_mnist()
    images = torch.from_numpy(read_idx(ti).copy())
    labels = torch.from_numpy(read_idx(tl).copy())
    test_images = torch.from_numpy(read_idx(vi).copy())
    test_labels = torch.from_numpy(read_idx(vl).copy())
    print("info torch %s, numpy %s, %d threads" % (torch.__version__, np.__version__,
                                                     torch.get_num_threads()))
    if a.workload in ("lbfgs", "lbfgs60k"):
        iters, evals, per = run_lbfgs(a.epochs, images, a.workload)
        for s in iters:
            print("epoch_s %.6f" % s)
        for s in evals:
            print("eval_s %.6f" % s)
        print("evals_per_iter %.4f" % per)
    elif a.workload == "frozen":
        for s in run_frozen(a.epochs, images, labels):
            print("epoch_s %.6f" % s)
    else:
        for s in run_minibatch(a.workload, a.epochs, images, labels, test_images, test_labels):
            print("epoch_s %.6f" % s)
    blas_report()
    print("rss_kb %d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


if __name__ == "__main__":
    main()
