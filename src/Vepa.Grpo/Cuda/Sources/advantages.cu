// Group advantages: statistics in float64 whatever the rewards' dtype; NaN rewards are left out and get exactly 0, as do
// groups with fewer than 2 valid rewards or no spread. One block computes the batch statistics (and counts infinite
// rewards); one thread per group writes the advantages.

extern "C" __global__ void __launch_bounds__(VEPA_THREADS) vepa_adv_batch(const in_t* __restrict__ r, long long n, double* __restrict__ stats)
{
    __shared__ double shared[3 * VEPA_WARPS];
    double v[3] = {0.0, 0.0, 0.0};
    for (long long i = threadIdx.x; i < n; i += VEPA_THREADS)
    {
        double x = (double)vepa_load(r, i);
        if (x != x) continue;
        if (x - x != 0.0) { v[2] += 1.0; continue; }
        v[0] += 1.0;
        v[1] += x;
    }
    vepa_block_sum<double, 3>(v, shared);
    const double count = v[0];
    const double mean = count > 0.0 ? v[1] / count : 0.0;
    double q[1] = {0.0};
    for (long long i = threadIdx.x; i < n; i += VEPA_THREADS)
    {
        double x = (double)vepa_load(r, i);
        if (x - x != 0.0) continue;
        q[0] += (x - mean) * (x - mean);
    }
    vepa_block_sum<double, 1>(q, shared);
    if (threadIdx.x == 0)
    {
        stats[0] = count > 1.0 ? sqrt(q[0] / (count - 1.0)) : 0.0;
        stats[1] = v[2];
    }
}

// mode: 0 group std, 1 batch std, 2 mean-centred, 3 leave-one-out. zeroGroups[p] = 1 for a zero-signal group.
extern "C" __global__ void __launch_bounds__(VEPA_THREADS) vepa_adv_groups(
    const in_t* __restrict__ r, int P, int G, int mode, double eps, const double* __restrict__ stats, in_t* __restrict__ out)
{
    const int p = blockIdx.x * VEPA_THREADS + threadIdx.x;
    if (p >= P) return;
    const long long start = (long long)p * G;
    int n = 0;
    double sum = 0.0;
    double lo = 1e300 * 1e300;
    double hi = -lo;
    for (int j = 0; j < G; j++)
    {
        double x = (double)vepa_load(r, start + j);
        if (x != x) continue;
        n++;
        sum += x;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    const double mean = n > 0 ? sum / n : 0.0;
    double squares = 0.0;
    for (int j = 0; j < G; j++)
    {
        double x = (double)vepa_load(r, start + j);
        if (x != x) continue;
        squares += (x - mean) * (x - mean);
    }
    const double stdv = n > 1 ? sqrt(squares / (n - 1)) : 0.0;
    const double batchStd = stats[0];
    const bool zero = n < 2 || lo == hi || stdv == 0.0 || (mode == 1 && batchStd == 0.0);
    for (int j = 0; j < G; j++)
    {
        double x = (double)vepa_load(r, start + j);
        double a;
        if (zero || x != x) a = 0.0;
        else if (mode == 0) a = (x - mean) / (stdv + eps);
        else if (mode == 1) a = (x - mean) / (batchStd + eps);
        else if (mode == 2) a = x - mean;
        else a = x - ((sum - x) / (n - 1));
#if VEPA_SCALAR == 2
        out[start + j] = vepa_float_to_bf16((float)a);
#else
        out[start + j] = (in_t)a;
#endif
    }
}
