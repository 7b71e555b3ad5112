// Token log-probs from logits, Liger-style: one block per (b, t) row streams the row once with an online
// max/sum (log-sum-exp in float32, or float64 for float64 logits), writes log p(target) and the lse; backward recomputes
// softmax from the saved lse and writes dlogits = (onehot - softmax) * dlogp / T, optionally into the logits' own memory.

// Merges a partial (m2, s2) into (m, s): s is the sum of exp(z - m); s = 0 means empty.
__device__ __forceinline__ void vepa_lse_merge(acc_t& m, acc_t& s, acc_t m2, acc_t s2)
{
    if (s2 == (acc_t)0) return;
    if (s == (acc_t)0) { m = m2; s = s2; return; }
    if (m2 > m) { s = s * vepa_exp(m - m2) + s2; m = m2; }
    else { s = s + s2 * vepa_exp(m2 - m); }
}

extern "C" __global__ void __launch_bounds__(VEPA_THREADS) vepa_logprob_forward(
    const in_t* __restrict__ logits, const long long* __restrict__ targets, acc_t* __restrict__ logp,
    acc_t* __restrict__ lse, long long rows, int V, double temperature)
{
    __shared__ acc_t sm[VEPA_WARPS];
    __shared__ acc_t ss[VEPA_WARPS];
    const long long row = blockIdx.x;
    const in_t* x = logits + row * (long long)V;
    const acc_t invT = (acc_t)(1.0 / temperature); // a multiply per element, not a division
    const acc_t ninf = vepa_ninf();
    acc_t m = ninf;
    acc_t s = (acc_t)0;
    bool nan = false;
    int v = threadIdx.x;
    // Four independent loads in flight per iteration; -inf logits add nothing, a NaN makes the row NaN.
    for (; v + 3 * VEPA_THREADS < V; v += 4 * VEPA_THREADS)
    {
        acc_t z0 = vepa_mul_rn(vepa_load(x, v), invT);
        acc_t z1 = vepa_mul_rn(vepa_load(x, v + VEPA_THREADS), invT);
        acc_t z2 = vepa_mul_rn(vepa_load(x, v + 2 * VEPA_THREADS), invT);
        acc_t z3 = vepa_mul_rn(vepa_load(x, v + 3 * VEPA_THREADS), invT);
        nan = nan || z0 != z0 || z1 != z1 || z2 != z2 || z3 != z3;
        acc_t mm = vepa_max(vepa_max(z0, z1), vepa_max(z2, z3));
        if (mm == ninf) continue;
        vepa_lse_merge(m, s, mm, vepa_exp(z0 - mm) + vepa_exp(z1 - mm) + vepa_exp(z2 - mm) + vepa_exp(z3 - mm));
    }
    for (; v < V; v += VEPA_THREADS)
    {
        acc_t z = vepa_mul_rn(vepa_load(x, v), invT);
        nan = nan || z != z;
        if (z == ninf) continue;
        vepa_lse_merge(m, s, z, (acc_t)1);
    }

    // Block merge: warp shuffles, then the warps' partials.
    for (int o = 16; o > 0; o >>= 1)
    {
        acc_t m2 = __shfl_down_sync(0xffffffffu, m, o);
        acc_t s2 = __shfl_down_sync(0xffffffffu, s, o);
        vepa_lse_merge(m, s, m2, s2);
    }
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    if (lane == 0) { sm[warp] = m; ss[warp] = s; }
    const int anyNan = __syncthreads_or(nan ? 1 : 0);
    if (threadIdx.x == 0)
    {
        m = sm[0];
        s = ss[0];
        for (int w = 1; w < VEPA_WARPS; w++) vepa_lse_merge(m, s, sm[w], ss[w]);
        acc_t l = m + vepa_log(s);
        if (anyNan) l = (acc_t)0 * ninf;
        const long long target = targets[row];
        lse[row] = l;
        logp[row] = vepa_mul_rn(vepa_load(x, target), invT) - l;
    }
}

// grad may alias logits (the overwriting variant): each element is read once, then written.
extern "C" __global__ void __launch_bounds__(VEPA_THREADS) vepa_logprob_backward(
    const in_t* logits, const long long* __restrict__ targets, const acc_t* __restrict__ lse,
    const acc_t* __restrict__ gradOut, in_t* grad, long long rows, int V, double temperature)
{
    const long long row = blockIdx.x;
    if (row >= rows) return;
    const in_t* x = logits + row * (long long)V;
    in_t* g = grad + row * (long long)V;
    const acc_t invT = (acc_t)(1.0 / temperature); // a multiply per element, not a division
    const acc_t l = lse[row];
    const acc_t scale = gradOut[row] * invT;
    const long long target = targets[row];
    int v = threadIdx.x;
    for (; v + 3 * VEPA_THREADS < V; v += 4 * VEPA_THREADS)
    {
        acc_t p0 = vepa_exp(vepa_mul_rn(vepa_load(x, v), invT) - l);
        acc_t p1 = vepa_exp(vepa_mul_rn(vepa_load(x, v + VEPA_THREADS), invT) - l);
        acc_t p2 = vepa_exp(vepa_mul_rn(vepa_load(x, v + 2 * VEPA_THREADS), invT) - l);
        acc_t p3 = vepa_exp(vepa_mul_rn(vepa_load(x, v + 3 * VEPA_THREADS), invT) - l);
        g[v] = vepa_store(-p0 * scale + (v == target ? scale : (acc_t)0));
        g[v + VEPA_THREADS] = vepa_store(-p1 * scale + (v + VEPA_THREADS == target ? scale : (acc_t)0));
        g[v + 2 * VEPA_THREADS] = vepa_store(-p2 * scale + (v + 2 * VEPA_THREADS == target ? scale : (acc_t)0));
        g[v + 3 * VEPA_THREADS] = vepa_store(-p3 * scale + (v + 3 * VEPA_THREADS == target ? scale : (acc_t)0));
    }
    for (; v < V; v += VEPA_THREADS)
    {
        acc_t p = vepa_exp(vepa_mul_rn(vepa_load(x, v), invT) - l);
        g[v] = vepa_store(-p * scale + (v == target ? scale : (acc_t)0));
    }
}
