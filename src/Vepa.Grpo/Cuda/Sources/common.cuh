// Vepa CUDA kernels: shared definitions. Header-free (NVRTC without toolkit headers): bf16 is handled as uint16 bits.
// Compiled with -DVEPA_SCALAR=<0 double | 1 float | 2 bf16> and, for the policy loss, -DVEPA_MASK=<0 bool | 1 i64 | 2 i32 | 3 f32 | 4 f64 | 5 uint8>.
#ifndef VEPA_SCALAR
#define VEPA_SCALAR 1
#endif

#if VEPA_SCALAR == 0
typedef double in_t;
typedef double acc_t;
#elif VEPA_SCALAR == 1
typedef float in_t;
typedef float acc_t;
#else
typedef unsigned short in_t;
typedef float acc_t;
#endif

// The block size every kernel is written for; the host launches blocks of 256 (the CPU emulator compiles smaller blocks).
#ifndef VEPA_THREADS
#define VEPA_THREADS 256
#endif
#define VEPA_WARPS (VEPA_THREADS / 32)

__device__ __forceinline__ float vepa_bf16_to_float(unsigned short h) { return __uint_as_float(((unsigned int)h) << 16); }

// Round to nearest even, NaN kept quiet (as torch rounds float32 to bfloat16).
__device__ __forceinline__ unsigned short vepa_float_to_bf16(float f)
{
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

__device__ __forceinline__ acc_t vepa_load(const in_t* p, long long i)
{
#if VEPA_SCALAR == 2
    return vepa_bf16_to_float(p[i]);
#else
    return p[i];
#endif
}

__device__ __forceinline__ in_t vepa_store(acc_t v)
{
#if VEPA_SCALAR == 2
    return vepa_float_to_bf16(v);
#else
    return v;
#endif
}

#if VEPA_SCALAR == 0
__device__ __forceinline__ acc_t vepa_ninf() { return __longlong_as_double(0xfff0000000000000ULL); }
#else
__device__ __forceinline__ acc_t vepa_ninf() { return __int_as_float(0xff800000); }
#endif
// A product rounded on its own, never contracted into an FMA with the next add or subtract: the log-prob of a target is
// z[target] - lse with z = x * (1/T) rounded exactly as in the log-sum-exp (an FMA left ~1 ulp behind, so V = 1 gave 5e-17, not 0).
#if VEPA_SCALAR == 0
__device__ __forceinline__ acc_t vepa_mul_rn(acc_t a, acc_t b) { return __dmul_rn(a, b); }
#else
__device__ __forceinline__ acc_t vepa_mul_rn(acc_t a, acc_t b) { return __fmul_rn(a, b); }
#endif
__device__ __forceinline__ acc_t vepa_exp(acc_t x) { return exp(x); }
__device__ __forceinline__ acc_t vepa_log(acc_t x) { return log(x); }
__device__ __forceinline__ bool vepa_finite(acc_t x) { return (x - x) == (acc_t)0; }
__device__ __forceinline__ acc_t vepa_min(acc_t a, acc_t b) { return a < b ? a : b; }
__device__ __forceinline__ acc_t vepa_max(acc_t a, acc_t b) { return a > b ? a : b; }
// torch.clamp(x, lo, hi): NaN stays NaN.
__device__ __forceinline__ acc_t vepa_clamp(acc_t x, acc_t lo, acc_t hi) { return x != x ? x : (x < lo ? lo : (x > hi ? hi : x)); }

// Sums N values per thread over the block; every thread gets the totals. shared must hold N * VEPA_WARPS values.
template <typename T, int N>
__device__ __forceinline__ void vepa_block_sum(T (&v)[N], T* shared)
{
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
#pragma unroll
    for (int k = 0; k < N; k++)
    {
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v[k] += __shfl_down_sync(0xffffffffu, v[k], o);
    }
    __syncthreads();
    if (lane == 0)
    {
#pragma unroll
        for (int k = 0; k < N; k++) shared[k * VEPA_WARPS + warp] = v[k];
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < N; k++)
    {
        T total = 0;
#pragma unroll
        for (int w = 0; w < VEPA_WARPS; w++) total += shared[k * VEPA_WARPS + w];
        v[k] = total;
    }
    __syncthreads();
}
