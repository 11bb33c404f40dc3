// Batch and instance normalisation on the GPU: statistics, normalise-and-affine, fused backward.
//
// Reductions see x as (A, G, B) and reduce each group g over (a, b):
//     batch norm     A = N, G = C,     B = H W     (one group per channel)
//     instance norm  A = 1, G = N C,   B = H W     (one group per sample and channel)
// A group may be split over several blocks (`splits`); each block writes a partial result and the
// caller (minigen/cuda/norm.py) merges the partials, so a few large groups (batch norm) fill the
// GPU as well as many small ones. Element-wise kernels walk x plane by plane (p = n C + c), with
// the group of plane p being p (instance) or p mod C (batch).
//
// Statistics: Welford's running mean and sum of squared deviations per thread, merged across the
// block with the pairwise formula of Chan, Golub & LeVeque (1979), accumulated in float for
// float32 and double for float64 (one pass, no cancellation from a large mean).
//
// Self-contained for NVRTC (no includes); 32-bit indices (the caller keeps arrays below 2^31
// elements); reductions run with exactly REDUCE_THREADS threads per block.

#define REDUCE_THREADS 256

template <typename T>
__device__ void merge(T& n, T& mean, T& m2, T n_b, T mean_b, T m2_b)
{
    if (n_b == T(0)) return;
    const T total = n + n_b;
    const T delta = mean_b - mean;
    mean += delta * (n_b / total);
    m2 += m2_b + delta * delta * (n * n_b / total);
    n = total;
}

// The elements e in [lo, hi) of group g, e = a B + b, at x[(a G + g) B + b]: each thread takes
// every REDUCE_THREADS-th one, stepping (a, b) without a division per element.
struct GroupWalk {
    int a, b, index, step_a, step_b, B, G, group;
    __device__ GroupWalk(int e, int B_, int G_, int g, int stride)
        : a(e / B_), b(e % B_), index(0), step_a(stride / B_), step_b(stride % B_), B(B_), G(G_), group(g)
    {
        index = (a * G + group) * B + b;
    }
    __device__ void next()
    {
        a += step_a; b += step_b;
        if (b >= B) { b -= B; ++a; }
        index = (a * G + group) * B + b;
    }
};

template <typename T, typename Acc>
__device__ void moments_partial(const T* __restrict__ x, int A, int G, int B, int splits, Acc* __restrict__ part)
{
    __shared__ Acc s_n[REDUCE_THREADS], s_mean[REDUCE_THREADS], s_m2[REDUCE_THREADS];
    const int m = A * B, chunk = (m + splits - 1) / splits, tid = threadIdx.x;
    for (int w = blockIdx.x; w < G * splits; w += gridDim.x) {
        const int g = w / splits, lo = (w % splits) * chunk, hi = min(m, lo + chunk);
        Acc n = 0, mean = 0, m2 = 0;
        if (lo + tid < hi) {
            GroupWalk it(lo + tid, B, G, g, REDUCE_THREADS);
            for (int e = lo + tid; e < hi; e += REDUCE_THREADS, it.next()) {
                const Acc v = (Acc)x[it.index];
                n += Acc(1);
                const Acc delta = v - mean;
                mean += delta / n;
                m2 += delta * (v - mean);
            }
        }
        s_n[tid] = n; s_mean[tid] = mean; s_m2[tid] = m2;
        __syncthreads();
        for (int half = REDUCE_THREADS / 2; half > 0; half /= 2) {
            if (tid < half)
                merge(s_n[tid], s_mean[tid], s_m2[tid], s_n[tid + half], s_mean[tid + half], s_m2[tid + half]);
            __syncthreads();
        }
        if (tid == 0) { part[3 * w] = s_n[0]; part[3 * w + 1] = s_mean[0]; part[3 * w + 2] = s_m2[0]; }
        __syncthreads();  // the shared arrays are reused by the next group
    }
}

// y = (x - mean) invstd gamma + beta, plane by plane; `chunks` blocks share a plane of S values.
template <typename T>
__device__ void normalize(const T* __restrict__ x, T* __restrict__ y, const T* __restrict__ mean,
                          const T* __restrict__ invstd, const T* __restrict__ weight, const T* __restrict__ bias,
                          int planes, int C, int S, int per_sample, int chunks)
{
    const int chunk = (S + chunks - 1) / chunks;
    for (int w = blockIdx.x; w < planes * chunks; w += gridDim.x) {
        const int p = w / chunks, lo = (w % chunks) * chunk, hi = min(S, lo + chunk);
        const int c = p % C, g = per_sample ? p : c;
        const T mu = mean[g], inv = invstd[g], gamma = weight[c], beta = bias[c];
        for (int s = lo + threadIdx.x; s < hi; s += blockDim.x) {
            const int i = p * S + s;
            y[i] = (x[i] - mu) * inv * gamma + beta;
        }
    }
}

// Per group (and split): sum g and sum g xhat, xhat = (x - mean) invstd as the forward formed it.
template <typename T, typename Acc>
__device__ void backward_partial(const T* __restrict__ grad, const T* __restrict__ x, const T* __restrict__ mean,
                                 const T* __restrict__ invstd, int A, int G, int B, int splits, Acc* __restrict__ part)
{
    __shared__ Acc s_g[REDUCE_THREADS], s_gx[REDUCE_THREADS];
    const int m = A * B, chunk = (m + splits - 1) / splits, tid = threadIdx.x;
    for (int w = blockIdx.x; w < G * splits; w += gridDim.x) {
        const int g = w / splits, lo = (w % splits) * chunk, hi = min(m, lo + chunk);
        const T mu = mean[g], inv = invstd[g];
        Acc sg = 0, sgx = 0;
        if (lo + tid < hi) {
            GroupWalk it(lo + tid, B, G, g, REDUCE_THREADS);
            for (int e = lo + tid; e < hi; e += REDUCE_THREADS, it.next()) {
                const T gv = grad[it.index];
                const T xhat = (x[it.index] - mu) * inv;
                sg += (Acc)gv;
                sgx += (Acc)gv * (Acc)xhat;
            }
        }
        s_g[tid] = sg; s_gx[tid] = sgx;
        __syncthreads();
        for (int half = REDUCE_THREADS / 2; half > 0; half /= 2) {
            if (tid < half) { s_g[tid] += s_g[tid + half]; s_gx[tid] += s_gx[tid + half]; }
            __syncthreads();
        }
        if (tid == 0) { part[2 * w] = s_g[0]; part[2 * w + 1] = s_gx[0]; }
        __syncthreads();
    }
}

// dx = gamma invstd (g - mean(g) - xhat mean(g xhat))  with batch statistics (mean_g, mean_gx
// the group means of g and g xhat), dx = gamma invstd g with fixed ones.
template <typename T>
__device__ void backward_input(const T* __restrict__ grad, const T* __restrict__ x, T* __restrict__ dx,
                               const T* __restrict__ mean, const T* __restrict__ invstd, const T* __restrict__ weight,
                               const T* __restrict__ mean_g, const T* __restrict__ mean_gx, int batch_stats,
                               int planes, int C, int S, int per_sample, int chunks)
{
    const int chunk = (S + chunks - 1) / chunks;
    for (int w = blockIdx.x; w < planes * chunks; w += gridDim.x) {
        const int p = w / chunks, lo = (w % chunks) * chunk, hi = min(S, lo + chunk);
        const int c = p % C, g = per_sample ? p : c;
        const T mu = mean[g], inv = invstd[g], k = weight[c] * inv;
        if (batch_stats) {
            const T mg = mean_g[g], mgx = mean_gx[g];
            for (int s = lo + threadIdx.x; s < hi; s += blockDim.x) {
                const int i = p * S + s;
                const T xhat = (x[i] - mu) * inv;
                dx[i] = k * (grad[i] - mg - xhat * mgx);
            }
        } else {
            for (int s = lo + threadIdx.x; s < hi; s += blockDim.x) {
                const int i = p * S + s;
                dx[i] = k * grad[i];
            }
        }
    }
}

#define MINIGEN_NORM_KERNELS(T, ACC, SUFFIX)                                                                  \
    extern "C" __global__ void norm_moments_##SUFFIX(const T* x, int A, int G, int B, int splits, ACC* part)  \
    {                                                                                                         \
        moments_partial<T, ACC>(x, A, G, B, splits, part);                                                   \
    }                                                                                                         \
    extern "C" __global__ void norm_forward_##SUFFIX(const T* x, T* y, const T* mean, const T* invstd,       \
                                                     const T* weight, const T* bias, int planes, int C,      \
                                                     int S, int per_sample, int chunks)                       \
    {                                                                                                         \
        normalize<T>(x, y, mean, invstd, weight, bias, planes, C, S, per_sample, chunks);                    \
    }                                                                                                         \
    extern "C" __global__ void norm_backward_sums_##SUFFIX(const T* grad, const T* x, const T* mean,         \
                                                           const T* invstd, int A, int G, int B, int splits,  \
                                                           ACC* part)                                         \
    {                                                                                                         \
        backward_partial<T, ACC>(grad, x, mean, invstd, A, G, B, splits, part);                              \
    }                                                                                                         \
    extern "C" __global__ void norm_backward_input_##SUFFIX(const T* grad, const T* x, T* dx, const T* mean,  \
                                                            const T* invstd, const T* weight,                \
                                                            const T* mean_g, const T* mean_gx,               \
                                                            int batch_stats, int planes, int C, int S,        \
                                                            int per_sample, int chunks)                       \
    {                                                                                                         \
        backward_input<T>(grad, x, dx, mean, invstd, weight, mean_g, mean_gx, batch_stats, planes, C, S,     \
                          per_sample, chunks);                                                                \
    }

MINIGEN_NORM_KERNELS(float, float, f32)
MINIGEN_NORM_KERNELS(double, double, f64)
