/* engine/rng.h — one seeded, counter-based random number generator with separate streams.
 *
 * A random number is a pure function of (key, counter): key = rng_key(seed, stream), and the
 * counter says which number of that stream it is. Nothing is hidden in state, so the CPU and the
 * CUDA backend draw identical uniforms for the same (key, counter), every element of a noise
 * pass can be computed independently (element i uses counter + i), and a resumed run can jump to
 * any point of a stream. The mixer is SplitMix64's finaliser applied twice (Steele et al., 2014).
 *
 * This header is included by C and by CUDA (gpu/); AE_HOSTDEV marks functions both compile.
 */
#ifndef AE_RNG_H
#define AE_RNG_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define AE_HOSTDEV __host__ __device__
#else
#define AE_HOSTDEV
#endif

#include "vecmath.h"

/* The streams of one run. Each stage derives its own keys from these (see rng_key). */
enum {
    RNG_STREAM_INIT = 1, RNG_STREAM_SHUFFLE = 2, RNG_STREAM_NOISE = 3,
    RNG_STREAM_VALIDATION = 4 /* the held-out split of load_dataset (dataset_split_validation) */
};

static AE_ALWAYS_INLINE AE_HOSTDEV uint64_t rng_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The key of stream `stream` (any 64-bit label) of a run seeded with `seed`. */
static inline AE_HOSTDEV uint64_t rng_key(uint64_t seed, uint64_t stream) {
    return rng_mix64(rng_mix64(seed + 0x9e3779b97f4a7c15ULL) ^ (stream * 0xd1b54a32d192ed03ULL));
}

/* The counter-th 64-bit number of the stream with this key. */
static AE_ALWAYS_INLINE AE_HOSTDEV uint64_t rng_u64(uint64_t key, uint64_t counter) {
    return rng_mix64(key ^ rng_mix64(counter + 0x9e3779b97f4a7c15ULL));
}

/* A float uniform in [0, 1) with 24 random bits. */
static inline AE_HOSTDEV float rng_uniform(uint64_t key, uint64_t counter) {
    return (float)(rng_u64(key, counter) >> 40) * (1.0f / 16777216.0f);
}

/* Standard normal deviates by Box-Muller: pair p draws the 64-bit numbers at counters 2p and 2p+1
 * and gives two independent normals, r*cos(a) for counter 2p and r*sin(a) for counter 2p+1, so
 * a pass over consecutive counters uses both. In float, through engine/vecmath.h's log and
 * sin/cos (within a few ulps), so that the CPU's noise pass vectorises: u1 in (0, 1] from 31
 * bits (the radius r = sqrt(-2 ln u1) reaches 6.56, so |z| is cut off there: probability
 * 5e-11), the angle a = 2 pi u2 from 24 bits. The GPU compiles the same code (with fused
 * multiply-adds, so it agrees to float rounding). rng_normal(key, c) == the (c & 1)-th output
 * of rng_normal_pair(key, c/2). */
typedef struct RngNormalPair {
    float z0, z1; /* the normals of counters 2p and 2p+1 */
} RngNormalPair;

static AE_ALWAYS_INLINE AE_HOSTDEV RngNormalPair rng_normal_pair(uint64_t key, uint64_t p) {
    uint64_t a = rng_u64(key, 2 * p), b = rng_u64(key, 2 * p + 1);
    float u1 = ((float)(int32_t)(a >> 33) + 1.0f) * 4.656612873077392578125e-10f; /* 2^-31 */
    float u2 = (float)(int32_t)(b >> 40) * 5.9604644775390625e-8f;               /* 2^-24 */
    float l = ae_logf(u1);
    float r = sqrtf(-2.0f * (l < 0.0f ? l : 0.0f));
    float sn, cs;
    ae_sincos2pif(u2, &sn, &cs);
    RngNormalPair z = {r * cs, r * sn};
    return z;
}

static inline AE_HOSTDEV float rng_normal(uint64_t key, uint64_t counter) {
    RngNormalPair z = rng_normal_pair(key, counter >> 1);
    return counter & 1 ? z.z1 : z.z0;
}

/* A sequential host-side cursor over one stream: for initialisation and shuffling. */
typedef struct RngStream {
    uint64_t key;
    uint64_t counter;
} RngStream;

static inline RngStream rng_stream(uint64_t seed, uint64_t stream) {
    RngStream s = {rng_key(seed, stream), 0};
    return s;
}

static inline uint64_t rng_next_u64(RngStream *s) { return rng_u64(s->key, s->counter++); }

static inline float rng_next_uniform(RngStream *s) { return rng_uniform(s->key, s->counter++); }

/* A uniform integer in [0, n), n > 0, without modulo bias (Lemire's method). */
static inline uint64_t rng_next_below(RngStream *s, uint64_t n) {
    for (;;) {
        uint64_t x = rng_next_u64(s);
        __uint128_t m = (__uint128_t)x * n;
        uint64_t lo = (uint64_t)m;
        if (lo >= n || lo >= (-n) % n) return (uint64_t)(m >> 64);
    }
}

#endif
