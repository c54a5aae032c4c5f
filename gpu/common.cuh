/* gpu/common.cuh — what every CUDA file of gpu/ shares: the error-check macros, the launch shape,
 * and the block reductions that keep every sum deterministic.
 *
 * Errors: a failed CUDA or cuBLAS call in the middle of a run cannot be recovered (the device
 * state is unknown), so the check macros print the call, file:line and the library's message,
 * then abort. Expected failures (no device at start-up, out of memory in alloc) are handled by
 * the callers without these macros.
 *
 * Determinism: no float atomics anywhere. A reduction adds in an order fixed by its size alone
 * (never by the device or the scheduling): each thread walks a fixed stride, then a fixed
 * shared-memory tree (gpu_block_sum), and a two-pass reduction writes one partial per block
 * into a file-local array and sums the partials in one block. Accumulation is in double.
 *
 * All kernels run on the legacy default stream, so they are ordered with each other and with
 * cudaMemcpy; the file-local partial arrays are therefore safe to reuse from op to op.
 */
#ifndef AE_GPU_COMMON_CUH
#define AE_GPU_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define CUDA_CHECK(call)                                                                   \
    do {                                                                                   \
        cudaError_t gpu_err_ = (call);                                                     \
        if (gpu_err_ != cudaSuccess) {                                                     \
            fprintf(stderr, "%s:%d: CUDA error: %s: %s\n", __FILE__, __LINE__, #call,      \
                    cudaGetErrorString(gpu_err_));                                         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#define CUBLAS_CHECK(call)                                                                 \
    do {                                                                                   \
        cublasStatus_t gpu_st_ = (call);                                                   \
        if (gpu_st_ != CUBLAS_STATUS_SUCCESS) {                                            \
            fprintf(stderr, "%s:%d: cuBLAS error: %s: %s\n", __FILE__, __LINE__, #call,    \
                    cublasGetStatusName(gpu_st_));                                         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* After every kernel launch: reports a bad launch configuration (and, asynchronously, an
 * earlier kernel's fault) with the kernel's name and file:line. */
#define KERNEL_CHECK(name)                                                                 \
    do {                                                                                   \
        cudaError_t gpu_err_ = cudaGetLastError();                                         \
        if (gpu_err_ != cudaSuccess) {                                                     \
            fprintf(stderr, "%s:%d: CUDA error: launch of %s: %s\n", __FILE__, __LINE__,   \
                    name, cudaGetErrorString(gpu_err_));                                   \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* Threads per block of every kernel (a power of two: gpu_block_sum relies on it). */
#define GPU_THREADS 256
/* Most blocks of a grid-stride element-wise kernel (the loop covers the rest). */
#define GPU_MAX_BLOCKS 65535
/* Most partial sums of a two-pass reduction. Fixed, so the order of the additions depends on
 * the length only, never on the device. */
#define GPU_RED_BLOCKS 1024

/* Blocks for an element-wise grid-stride kernel over n elements (at least 1).
 * Every element-wise kernel of gpu/ is a grid-stride loop over size_t indices (start
 * blockIdx.x * (size_t)blockDim.x + threadIdx.x, stride (size_t)gridDim.x * blockDim.x), so any n
 * up to SIZE_MAX is covered by at most GPU_MAX_BLOCKS blocks (within every device's grid limit)
 * with no int overflow and no index held in a float; row kernels index rows in 64 bits. An op
 * over no elements (n == 0, B == 0) launches nothing: element-wise ops return at once,
 * reductions write their empty sum with gpu_write_scalar. tests/test_gpu.c checks both, above
 * 2^24 elements (65,537 blocks' worth, so the loop wraps) and at 0. */
static inline unsigned gpu_grid(size_t n) {
    size_t b = (n + GPU_THREADS - 1) / GPU_THREADS;
    if (b < 1) b = 1;
    if (b > GPU_MAX_BLOCKS) b = GPU_MAX_BLOCKS;
    return (unsigned)b;
}

/* Blocks for the first pass of a two-pass reduction over n terms (1..GPU_RED_BLOCKS). */
static inline unsigned gpu_red_grid(size_t n) {
    size_t b = (n + GPU_THREADS - 1) / GPU_THREADS;
    if (b < 1) b = 1;
    if (b > GPU_RED_BLOCKS) b = GPU_RED_BLOCKS;
    return (unsigned)b;
}

/* Sum of v over the GPU_THREADS threads of the block by a fixed tree; every thread gets the
 * result. Every thread of the block must call it (it synchronises). */
template <typename T>
__device__ __forceinline__ T gpu_block_sum(T v) {
    __shared__ T s[GPU_THREADS];
    s[threadIdx.x] = v;
    __syncthreads();
    for (int k = GPU_THREADS / 2; k > 0; k >>= 1) {
        if ((int)threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
        __syncthreads();
    }
    T r = s[0];
    __syncthreads(); /* s may be reused by the next call */
    return r;
}

/* Maximum of v over the block by a fixed tree. Callers use it only as the shift of a stable
 * exp-sum, where a NaN input poisons the sum whichever way the comparisons go. */
template <typename T>
__device__ __forceinline__ T gpu_block_max(T v) {
    __shared__ T s[GPU_THREADS];
    s[threadIdx.x] = v;
    __syncthreads();
    for (int k = GPU_THREADS / 2; k > 0; k >>= 1) {
        if ((int)threadIdx.x < k && s[threadIdx.x + k] > s[threadIdx.x])
            s[threadIdx.x] = s[threadIdx.x + k];
        __syncthreads();
    }
    T r = s[0];
    __syncthreads();
    return r;
}

/* Sum of the np partials p[0..np) by one block, in a fixed order: thread t adds p[t], p[t+256],
 * ... in turn, then the tree. Call from a kernel launched with one block of GPU_THREADS. */
__device__ __forceinline__ double gpu_sum_partials(const double *p, int np) {
    double acc = 0.0;
    for (int i = threadIdx.x; i < np; i += GPU_THREADS) acc += p[i];
    return gpu_block_sum(acc);
}

/* Column sums of X (B,O) for kernels launched with blocks of dim3(GPU_COL_TILE, GPU_COL_LANES):
 * the block's threadIdx.x picks column blockIdx.x*GPU_COL_TILE + threadIdx.x (coalesced across
 * x), lane threadIdx.y adds rows y, y+LANES, ... in double, and the lanes are added in lane
 * order. A fixed order for given B; within one float rounding of the CPU's double sum (which
 * adds up to 16 row ranges, each in row order: colsum_chunked in engine/cpu_backend.c).
 * Returns the column's sum in the threads with threadIdx.y == 0 (0 elsewhere and for columns
 * past O). Every thread of the block must call it (it synchronises). */
#define GPU_COL_TILE 32
#define GPU_COL_LANES 8
__device__ __forceinline__ double gpu_column_sum(const float *X, int B, int O) {
    __shared__ double s[GPU_COL_LANES][GPU_COL_TILE];
    int j = blockIdx.x * GPU_COL_TILE + threadIdx.x;
    double acc = 0.0;
    if (j < O)
        for (int r = threadIdx.y; r < B; r += GPU_COL_LANES) acc += X[(size_t)r * O + j];
    s[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    double total = 0.0;
    if (threadIdx.y == 0)
        for (int k = 0; k < GPU_COL_LANES; k++) total += s[k][threadIdx.x];
    __syncthreads();
    return total;
}

/* *out = v in device memory without a kernel: what a reduction over no elements writes (the
 * value of its empty sum, computed on the host as the CPU twin computes it). The copy from
 * pageable host memory has read v when the call returns, so v may be a local. */
static inline void gpu_write_scalar(float *out, float v) {
    CUDA_CHECK(cudaMemcpyAsync(out, &v, sizeof v, cudaMemcpyHostToDevice, 0));
}

/* Grid for gpu_column_sum over O columns. */
static inline unsigned gpu_col_grid(int O) {
    return (unsigned)(((size_t)O + GPU_COL_TILE - 1) / GPU_COL_TILE); /* no int overflow */
}

#endif
