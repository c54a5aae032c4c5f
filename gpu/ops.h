/* gpu/ops.h — the host functions of the CUDA backend, one file (one op or op family) each;
 * gpu/backend.cu puts them into the Backend table. C++ linkage: only the .cu files include it.
 *
 * The semantics of each op are those of the same-named member of Backend in engine/backend.h
 * (tag-backend-ops); the contracts below add only what is particular to CUDA. Every pointer
 * is device memory unless named *_host. All ops are asynchronous on the default stream, except
 * download and dot, which wait for the device. A CUDA or cuBLAS failure inside an
 * op prints the call and file:line and aborts (see common.cuh).
 */
#ifndef AE_GPU_OPS_H
#define AE_GPU_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* ---- gpu/memory.cu ---- */
/* cudaMalloc + zero fill; NULL when the device is out of memory (the error is cleared). */
void *gpu_alloc(size_t nbytes);
void gpu_free(void *p); /* NULL-safe */
void gpu_upload(void *dst, const void *src_host, size_t nbytes);
void gpu_download(void *dst_host, const void *src, size_t nbytes); /* synchronises */
void gpu_copy(void *dst, const void *src, size_t nbytes);
void gpu_fill(float *x, float v, size_t n);
/* cudaMemGetInfo of the current device into *free_bytes and *total_bytes; false (the error
 * cleared) when it fails. */
bool gpu_memory_info(uint64_t *free_bytes, uint64_t *total_bytes);

/* ---- gpu/gemm.cu ---- */
/* Creates the cuBLAS handle (once; later calls return true). False with a reason in why (size
 * n) when cuBLAS cannot be initialised. Must succeed before any gpu_gemm_* call. */
bool gpu_gemm_init(char *why, size_t n);
void gpu_gemm_nn(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                 float *C);
void gpu_gemm_nt(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                 float *C);
void gpu_gemm_tn(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                 float *C);

/* ---- gpu/bias_act.cu, gpu/act_backward.cu, gpu/colsum.cu ---- */
void gpu_bias_act_forward(float *Y, const float *b, Act act, int B, int O);
void gpu_act_backward(float *dZ, const float *dY, const float *Y, Act act, int B, int O,
                      float *db);
void gpu_colsum_acc(float *db, const float *dZ, int B, int O);

/* ---- gpu/loss.cu ---- */
void gpu_loss(float *out, float *dY, const float *Y, const float *T, const int32_t *labels,
              LossKind kind, Act act, int B, int O, float *db);

/* ---- gpu/penalty.cu ---- */
void gpu_l1_penalty(float *out, float *dH, const float *H, float w, float denom, size_t n);
void gpu_kl_penalty(float *out, float *dH, float *rhohat, const float *H, float rho, float beta,
                    int B, int O);
void gpu_weight_decay(float *out, float *dW, const float *W, float lambda, size_t n);

/* ---- gpu/gather.cu, gpu/noise.cu ---- */
void gpu_gather(float *X, int32_t *y, const uint8_t *images, const uint8_t *labels,
                const int32_t *idx, int B, int D, float scale);
/* ---- gpu/gather_rows.cu ---- */
void gpu_gather_rows(float *X, int32_t *y, const float *rows, const uint8_t *labels,
                     const int32_t *idx, int B, int D);
/* spec is host memory (read before the launch returns). */
void gpu_noise(float *Xn, const float *X, const NoiseSpec *spec, uint64_t key, uint64_t counter,
               size_t n);

/* ---- gpu/optim.cu ---- */
void gpu_sgd_step(float *p, const float *g, float *v, size_t n, float lr, float momentum,
                  bool nesterov);
void gpu_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                   float b2, float eps, int t);

/* ---- gpu/vector.cu ---- */
double gpu_dot(const float *x, const float *y, size_t n); /* synchronises */
void gpu_axpy(float *y, float a, const float *x, size_t n);
void gpu_scal(float *x, float a, size_t n);

/* ---- gpu/confusion.cu ---- */
void gpu_confusion_acc(int32_t *conf, const float *Y, const int32_t *labels, int B, int C);

#endif
