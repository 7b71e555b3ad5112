// A CPU emulator of the small CUDA subset the Vepa kernels use, so that the very kernel sources compile as C++ and run
// on the CPU (tests only). Each block runs its threads as cooperative fibers (ucontext) on the calling thread; a fiber
// switches only at __syncthreads and at the warp/block primitives, which are emulated with block-wide barriers (valid
// because the kernels call them in uniform control flow). Exited threads leave the barrier count, as on the GPU.
#include <cmath>
#include <cstring>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>
#include <csetjmp>
#include <setjmp.h>
#include <ucontext.h>
using namespace std;

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(n)
#define __shared__ static

struct vepa_emu_dim { unsigned x, y, z; };
static vepa_emu_dim threadIdx, blockIdx, blockDim, gridDim;

namespace vepa_emu
{
// Fibers are entered once with swapcontext, then switched with _setjmp/_longjmp (no signal-mask system calls).
static ucontext_t scheduler;
static jmp_buf scheduler_jump;
static jmp_buf fiber_jumps[1024];
static std::vector<char> started;
static std::vector<ucontext_t> contexts;
static std::vector<char> stacks;
static std::vector<int> state; // 0 runnable, 1 at a barrier, 2 exited
static unsigned current;
static std::function<void()> body;
static unsigned long long exchange[1024];
static const size_t stack_bytes = 128 * 1024;

static void entry()
{
    body();
    state[current] = 2;
    _longjmp(scheduler_jump, 1);
}

static void barrier()
{
    state[current] = 1;
    if (!_setjmp(fiber_jumps[current])) _longjmp(scheduler_jump, 1);
}

static void run(unsigned grid, unsigned block, std::function<void()> f)
{
    body = std::move(f);
    blockDim = {block, 1, 1};
    gridDim = {grid, 1, 1};
    contexts.resize(block);
    started.assign(block, 0);
    state.assign(block, 0);
    stacks.resize((size_t)block * stack_bytes);
    for (unsigned b = 0; b < grid; b++)
    {
        blockIdx = {b, 0, 0};
        memset(exchange, 0, sizeof(exchange));
        for (unsigned t = 0; t < block; t++)
        {
            getcontext(&contexts[t]);
            contexts[t].uc_stack.ss_sp = stacks.data() + (size_t)t * stack_bytes;
            contexts[t].uc_stack.ss_size = stack_bytes;
            contexts[t].uc_link = nullptr;
            makecontext(&contexts[t], entry, 0);
            state[t] = 0;
            started[t] = 0;
        }

        for (;;)
        {
            for (unsigned t = 0; t < block; t++)
            {
                if (state[t] != 0) continue;
                current = t;
                threadIdx = {t, 0, 0};
                if (!_setjmp(scheduler_jump))
                {
                    if (!started[t]) { started[t] = 1; swapcontext(&scheduler, &contexts[t]); }
                    else _longjmp(fiber_jumps[t], 1);
                }
            }

            bool waiting = false;
            for (unsigned t = 0; t < block; t++)
            {
                if (state[t] == 1) { state[t] = 0; waiting = true; }
            }

            if (!waiting) break;
        }
    }
}

template <typename... A, size_t... I>
static void invoke(void (*f)(A...), void** p, std::index_sequence<I...>)
{
    f(*static_cast<typename std::remove_cv<typename std::remove_reference<A>::type>::type*>(p[I])...);
}

template <typename... A>
static void invoke(void (*f)(A...), void** p)
{
    invoke(f, p, std::index_sequence_for<A...>{});
}
} // namespace vepa_emu

static inline void __syncthreads() { vepa_emu::barrier(); }

static inline int __syncthreads_or(int predicate)
{
    unsigned t = threadIdx.x;
    vepa_emu::exchange[t] = predicate ? 1 : 0;
    vepa_emu::barrier();
    int any = 0;
    for (unsigned i = 0; i < blockDim.x; i++) any |= (int)vepa_emu::exchange[i];
    vepa_emu::barrier();
    vepa_emu::exchange[t] = 0;
    vepa_emu::barrier();
    return any;
}

template <typename T>
static inline T __shfl_down_sync(unsigned, T v, int offset)
{
    unsigned t = threadIdx.x;
    memcpy(&vepa_emu::exchange[t], &v, sizeof(T));
    vepa_emu::barrier();
    T r = v;
    if ((t & 31u) + (unsigned)offset < 32u && t + (unsigned)offset < blockDim.x) memcpy(&r, &vepa_emu::exchange[t + offset], sizeof(T));
    vepa_emu::barrier();
    return r;
}

static inline float __uint_as_float(unsigned int u) { float f; memcpy(&f, &u, 4); return f; }
static inline unsigned int __float_as_uint(float f) { unsigned int u; memcpy(&u, &f, 4); return u; }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline double __longlong_as_double(long long i) { double d; memcpy(&d, &i, 8); return d; }
static inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
static inline double __dmul_rn(double a, double b) { volatile double r = a * b; return r; }

#define VEPA_EMU_EXPORT(name) \
    extern "C" __attribute__((visibility("default"))) void emu_##name(unsigned grid, unsigned block, void** p) \
    { vepa_emu::run(grid, block, [p] { vepa_emu::invoke(name, p); }); }
