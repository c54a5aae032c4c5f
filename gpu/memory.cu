/* gpu/memory.cu — device memory: alloc/free, the host<->device crossings, copy, fill.
 *
 * Transfers use the legacy default stream, so an upload is ordered before every later kernel and
 * a download after every earlier one; cudaMemcpy from pageable host memory returns once the
 * source has been read, so the caller may reuse its host buffer at once.
 * tag-backend-ops: twin of the memory ops in engine/cpu_backend.c.
 */
#include "common.cuh"
#include "ops.h"

void *gpu_alloc(size_t nbytes) {
    void *p = NULL;
    /* A zero-byte request still gets a distinct, freeable pointer, as calloc(1, 1) would. */
    cudaError_t e = cudaMalloc(&p, nbytes ? nbytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); /* not sticky: clear it so the next check does not see it */
        return NULL;
    }
    CUDA_CHECK(e);
    CUDA_CHECK(cudaMemset(p, 0, nbytes ? nbytes : 1));
    return p;
}

bool gpu_memory_info(uint64_t *free_bytes, uint64_t *total_bytes) {
    size_t f = 0, t = 0;
    if (cudaMemGetInfo(&f, &t) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
    }
    *free_bytes = f;
    *total_bytes = t;
    return true;
}

void gpu_free(void *p) {
    if (p) CUDA_CHECK(cudaFree(p));
}

void gpu_upload(void *dst, const void *src_host, size_t nbytes) {
    if (nbytes) CUDA_CHECK(cudaMemcpy(dst, src_host, nbytes, cudaMemcpyHostToDevice));
}

void gpu_download(void *dst_host, const void *src, size_t nbytes) {
    if (nbytes) CUDA_CHECK(cudaMemcpy(dst_host, src, nbytes, cudaMemcpyDeviceToHost));
    else CUDA_CHECK(cudaDeviceSynchronize()); /* the contract says download synchronises */
}

void gpu_copy(void *dst, const void *src, size_t nbytes) {
    if (nbytes && dst != src)
        CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, 0));
}

/* x[i] = v */
static __global__ void fill_kernel(float *x, float v, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] = v;
}

static void fill_launch(float *x, float v, size_t n) {
    fill_kernel<<<gpu_grid(n), GPU_THREADS>>>(x, v, n);
    KERNEL_CHECK("fill_kernel");
}

void gpu_fill(float *x, float v, size_t n) {
    if (n) fill_launch(x, v, n);
}
