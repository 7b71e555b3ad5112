// The GRPO policy loss from log-probs: one block per row computes the per-token loss, the statistics and dL/dlog pi
// (scaled by the row part of the aggregation); a one-block kernel reduces the rows; backward scales the saved coefficient.
// The formulas follow FusedPolicyLossFunction (Vepa.Grpo/Loss) term by term, in the same precision (float64 for float64
// inputs, float32 otherwise), so both agree to rounding.
#ifndef VEPA_MASK
#define VEPA_MASK 0
#endif
#if VEPA_MASK == 0 || VEPA_MASK == 5
typedef unsigned char mask_t;
#elif VEPA_MASK == 1
typedef long long mask_t;
#elif VEPA_MASK == 2
typedef int mask_t;
#elif VEPA_MASK == 3
typedef float mask_t;
#else
typedef double mask_t;
#endif

#define VEPA_PARTIALS 9

extern "C" __global__ void __launch_bounds__(VEPA_THREADS) vepa_policy_rows(
    const in_t* __restrict__ logp, const in_t* __restrict__ adv, const mask_t* __restrict__ mask,
    const in_t* __restrict__ old, const in_t* __restrict__ ref, const in_t* __restrict__ samp,
    acc_t* __restrict__ coef, double* __restrict__ partial,
    int B, int T, int advPerToken, int needGrad,
    int objective, int seqRatio, int samplerMode, int samplerPerSeq, int klEst, int aggregation,
    int hasDelta, int hasDual, int hasLrc, int hasKlc, int hasKvc,
    double epsLow, double epsHigh, double delta, double dualC, double lrc, double beta, double klc, double kvc,
    double sMin, double sMax, double constNorm)
{
    __shared__ acc_t shared[9 * VEPA_WARPS];
    const int b = blockIdx.x;
    const long long base = (long long)b * T;
    const bool hasOld = old != 0;
    const bool hasKl = klEst >= 0;
    // Any mask but bool must hold exactly 1 where it is non-zero (as the tensor kernel checks).
    const bool checkMask = VEPA_MASK != 0;
    const acc_t zero = (acc_t)0;
    const acc_t one = (acc_t)1;
    const acc_t lrcA = (acc_t)lrc;

    // Pass 1: the row's token count, its clamped log-ratio sum (sequence ratio) and its sampler log-weight sum.
    acc_t rowv[3] = {zero, zero, zero};
    for (int t = threadIdx.x; t < T; t += VEPA_THREADS)
    {
        if (mask[base + t] == (mask_t)0) continue;
        rowv[0] += one;
        if (hasOld && seqRatio)
        {
            acc_t lr = vepa_load(logp, base + t) - vepa_load(old, base + t);
            if (hasLrc) lr = vepa_clamp(lr, -lrcA, lrcA);
            rowv[1] += lr;
        }
        if (samplerMode != 0 && samplerPerSeq) rowv[2] += vepa_load(old, base + t) - vepa_load(samp, base + t);
    }
    vepa_block_sum<acc_t, 3>(rowv, shared);
    const acc_t rowTokens = rowv[0];
    const acc_t rowDen = vepa_max(rowTokens, one);
    const acc_t seqR = vepa_exp(rowv[1] / rowDen);
    const acc_t rowAdv = advPerToken ? zero : (rowTokens == zero ? zero : vepa_load(adv, b));
    acc_t localScale;
    if (aggregation == 0) localScale = (one / rowDen) * (acc_t)(1.0 / B);
    else if (aggregation == 2) localScale = (acc_t)(1.0 / constNorm);
    else localScale = one;

    const acc_t low = (acc_t)(1.0 - epsLow);
    const acc_t high = (acc_t)(1.0 + epsHigh);
    const acc_t cispoCap = (acc_t)epsHigh;
    const acc_t deltaA = (acc_t)delta;
    const acc_t dualA = (acc_t)(-dualC);
    const acc_t betaA = (acc_t)beta;
    const acc_t klcA = (acc_t)klc;
    const acc_t kvcA = (acc_t)kvc;
    const acc_t sMinA = (acc_t)sMin;
    const acc_t sMaxA = (acc_t)sMax;
    const acc_t half = (acc_t)0.5;

    // Pass 2: per-token loss, flags, sums and the coefficient.
    // v: 0 tokens, 1 clip low, 2 clip high, 3 dual, 4 sampler outside, 5 checks ok, 6 ratio sum, 7 kl sum, 8 loss sum;
    // gr: the row sum of dL/d rho (sequence ratio).
    acc_t v[9] = {zero, zero, zero, zero, zero, zero, zero, zero, zero};
    acc_t gr[1] = {zero};
    for (int t = threadIdx.x; t < T; t += VEPA_THREADS)
    {
        const long long i = base + t;
        const mask_t m = mask[i];
        if (m == (mask_t)0)
        {
            if (needGrad) coef[i] = zero;
            continue;
        }

        bool ok = !checkMask || m == (mask_t)1;
        const acc_t lp = vepa_load(logp, i);
        const acc_t a = advPerToken ? vepa_load(adv, i) : rowAdv;
        ok = ok && vepa_finite(a);
        acc_t lr = zero;
        bool inLrc = true;
        if (hasOld)
        {
            lr = lp - vepa_load(old, i);
            ok = ok && vepa_finite(lr);
            if (hasLrc)
            {
                acc_t c = vepa_clamp(lr, -lrcA, lrcA);
                inLrc = c == lr;
                lr = c;
            }
        }
        else if (!hasKl)
        {
            ok = ok && vepa_finite(lp);
        }

        const acc_t ratio = seqRatio ? seqR : vepa_exp(lr);
        acc_t policy;
        acc_t pd = zero;
        bool clipLow = false;
        bool clipHigh = false;
        bool dualFlag = false;
        if (objective == 0)
        {
            const bool negative = a < zero;
            const acc_t coef1 = hasDelta ? vepa_min(ratio, deltaA) : ratio;
            const acc_t coef2 = vepa_clamp(ratio, low, high);
            const acc_t x1 = coef1 * a;
            const acc_t x2 = coef2 * a;
            policy = -vepa_min(x1, x2);
            if (needGrad)
            {
                const acc_t d1 = hasDelta ? a * (coef1 == ratio ? one : zero) : a;
                const acc_t d2 = a * (coef2 == ratio ? one : zero);
                const acc_t tie = (d1 + d2) * half;
                pd = -(x1 < x2 ? d1 : (x1 > x2 ? d2 : tie));
            }

            if (hasDual)
            {
                const acc_t lower = a * dualA;
                dualFlag = negative && policy > lower;
                if (negative)
                {
                    const acc_t diff = lower - policy;
                    const acc_t sgn = diff > zero ? one : (diff < zero ? -one : zero);
                    pd = pd * ((sgn + one) * half);
                    policy = vepa_min(lower, policy);
                }
            }

            clipLow = ratio < low && negative;
            clipHigh = ratio > high && a > zero;
        }
        else
        {
            const acc_t capped = vepa_min(ratio, cispoCap);
            const acc_t perLogProb = -capped * a;
            policy = perLogProb * lp;
            pd = perLogProb;
            clipHigh = ratio > cispoCap;
        }

        acc_t weight = one;
        bool samplerOutside = false;
        if (samplerMode != 0)
        {
            const acc_t lwTok = vepa_load(old, i) - vepa_load(samp, i);
            ok = ok && vepa_finite(lwTok);
            const acc_t w = vepa_exp(samplerPerSeq ? rowv[2] : lwTok);
            samplerOutside = w < sMinA || w > sMaxA;
            weight = samplerMode == 1 ? vepa_clamp(w, sMinA, sMaxA) : (samplerOutside ? zero : w);
            policy = policy * weight;
        }

        acc_t perToken = policy;
        acc_t kl = zero;
        acc_t klDer = zero;
        if (hasKl)
        {
            acc_t x = vepa_load(ref, i) - lp;
            ok = ok && vepa_finite(x);
            bool inKlc = true;
            if (hasKlc)
            {
                acc_t c = vepa_clamp(x, -klcA, klcA);
                inKlc = c == x;
                x = c;
            }

            acc_t dkdx;
            if (klEst == 0) { kl = -x; dkdx = -one; }
            else if (klEst == 1) { kl = half * x * x; dkdx = x; }
            else { acc_t ex = vepa_exp(x); kl = ex - x - one; dkdx = ex - one; }
            bool inKvc = true;
            if (hasKvc)
            {
                acc_t c = vepa_clamp(kl, -kvcA, kvcA);
                inKvc = c == kl;
                kl = c;
            }

            perToken = perToken + betaA * kl;
            klDer = (inKlc && inKvc) ? -dkdx : zero;
        }

        v[0] += one;
        v[1] += clipLow ? one : zero;
        v[2] += clipHigh ? one : zero;
        v[3] += dualFlag ? one : zero;
        v[4] += samplerOutside ? one : zero;
        v[5] += ok ? one : zero;
        v[6] += ratio;
        v[7] += kl;
        v[8] += perToken;

        if (needGrad)
        {
            const acc_t upstream = samplerMode != 0 ? localScale * weight : localScale;
            const acc_t klPart = hasKl ? (localScale * betaA) * klDer : zero;
            if (objective == 0)
            {
                const acc_t gradRatio = upstream * pd;
                if (seqRatio)
                {
                    gr[0] += gradRatio;
                    coef[i] = klPart;
                }
                else
                {
                    coef[i] = (inLrc ? gradRatio * ratio : zero) + klPart;
                }
            }
            else
            {
                coef[i] = upstream * pd + klPart;
            }
        }
    }

    vepa_block_sum<acc_t, 9>(v, shared);
    if (needGrad && objective == 0 && seqRatio)
    {
        vepa_block_sum<acc_t, 1>(gr, shared);
        const acc_t g = (gr[0] * seqR) / rowDen;
        for (int t = threadIdx.x; t < T; t += VEPA_THREADS)
        {
            const long long i = base + t;
            if (mask[i] == (mask_t)0) continue;
            bool inLrc = true;
            if (hasLrc)
            {
                acc_t lr = vepa_load(logp, i) - vepa_load(old, i);
                inLrc = vepa_clamp(lr, -lrcA, lrcA) == lr;
            }

            coef[i] = (inLrc ? g : zero) + coef[i];
        }
    }

    if (threadIdx.x == 0)
    {
#pragma unroll
        for (int k = 0; k < 8; k++) partial[(long long)b * VEPA_PARTIALS + k] = (double)v[k];
        // The row's loss share: sum / rowDen for the sequence mean, the plain sum otherwise (scaled in the finisher).
        partial[(long long)b * VEPA_PARTIALS + 8] = aggregation == 0 ? (double)(v[8] / rowDen) : (double)v[8];
    }
}

// One block: the batch totals. summary: 0 tokens, 1 clip low, 2 clip high, 3 dual, 4 sampler, 5 checks ok, 6 ratio sum,
// 7 kl sum (float64); loss (acc_t); gscale (acc_t): the global factor of the coefficient (1 / tokens for the token mean).
extern "C" __global__ void __launch_bounds__(VEPA_THREADS) vepa_policy_finish(
    const double* __restrict__ partial, int B, int aggregation, double constNorm,
    double* __restrict__ summary, acc_t* __restrict__ loss, acc_t* __restrict__ gscale)
{
    __shared__ double shared[9 * VEPA_WARPS];
    double v[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int b = threadIdx.x; b < B; b += VEPA_THREADS)
    {
#pragma unroll
        for (int k = 0; k < 9; k++) v[k] += partial[(long long)b * VEPA_PARTIALS + k];
    }
    vepa_block_sum<double, 9>(v, shared);
    if (threadIdx.x == 0)
    {
        for (int k = 0; k < 8; k++) summary[k] = v[k];
        double tokens = v[0] > 1.0 ? v[0] : 1.0;
        double l;
        if (aggregation == 0) l = v[8] / B;
        else if (aggregation == 1) l = v[8] / tokens;
        else if (aggregation == 2) l = v[8] / constNorm;
        else l = v[8];
        loss[0] = (acc_t)l;
        gscale[0] = aggregation == 1 ? (acc_t)(1.0 / tokens) : (acc_t)1;
    }
}

// Backward: grad = coef * gscale * dL, in the log-probs' dtype.
extern "C" __global__ void __launch_bounds__(VEPA_THREADS) vepa_policy_backward(
    const acc_t* __restrict__ coef, const acc_t* __restrict__ gscale, const acc_t* __restrict__ gradOut,
    in_t* __restrict__ grad, long long n)
{
    const acc_t s = gscale[0] * gradOut[0];
    for (long long i = (long long)blockIdx.x * VEPA_THREADS + threadIdx.x; i < n; i += (long long)gridDim.x * VEPA_THREADS)
    {
        grad[i] = vepa_store(coef[i] * s);
    }
}
