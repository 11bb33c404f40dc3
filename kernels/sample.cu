// Bilinear sampling on the GPU: grid_sample forward and backward, separable resize.
//
// grid_sample (Jaderberg et al. 2015, eq. 5), zero padding: the grid point (gx, gy) in [-1, 1]
// maps to pixel coordinates
//     align_corners:  u = (gx + 1) (W - 1) / 2          otherwise  u = ((gx + 1) W - 1) / 2
// (likewise v with H), and V[n, c, p] = sum over the four neighbours (x0 + dx, y0 + dy) of (u, v)
// inside the image of U[n, c, y, x] k(u - x) k(v - y). The coordinates are computed with
// round-to-nearest intrinsics (no fused multiply-add), the same operations in the same order as
// minigen/functional/sample.py, so floor(u) and the kinks of the gradient fall on the same side
// as on the CPU.
//
// grid_sample_backward scatters dU with atomicAdd (any grid may send many outputs to one input
// pixel), so in float32 its sums are not reproducible bit for bit from run to run; the CPU path
// (a bincount) stays deterministic. The grid gradient is a gather and is deterministic.
//
// resize: y[pl, o, r] = sum_k Ah[o, k] sum_l Aw[r, l] x[pl, k, l] with Ah, Aw sparse (CSR),
// the 1-D interpolation matrices of minigen/functional/sample.py. Its adjoint is the same kernel
// with the transposed matrices, so the backward is a deterministic gather too.
//
// Self-contained for NVRTC (no includes); 32-bit indices (the caller keeps arrays below 2^31
// elements).

__device__ inline float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ inline double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ inline float floor_of(float a) { return floorf(a); }
__device__ inline double floor_of(double a) { return floor(a); }

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 600
// atomicAdd on double exists from sm_60; older targets get a compare-and-swap loop.
__device__ inline double atomicAdd(double* address, double value)
{
    unsigned long long* word = (unsigned long long*)address;
    unsigned long long seen = *word, expected;
    do {
        expected = seen;
        seen = atomicCAS(word, expected, __double_as_longlong(value + __longlong_as_double(expected)));
    } while (seen != expected);
    return __longlong_as_double(seen);
}
#endif

// Pixel coordinate of normalised g along an axis of n pixels (see the top of the file).
template <typename T>
__device__ T unnormalise(T g, int n, int align_corners)
{
    if (align_corners) return mul_rn(add_rn(g, T(1)), T(0.5) * T(n - 1));
    return mul_rn(add_rn(mul_rn(add_rn(g, T(1)), T(n)), T(-1)), T(0.5));
}

// The four neighbours of (u, v): flat index (-1 outside the image), weight and its derivatives
// in u and v (right derivatives at the integers), in the CPU's order (0,0), (0,1), (1,0), (1,1).
template <typename T>
struct Taps {
    int index[4];
    T weight[4], d_u[4], d_v[4];
    __device__ Taps(T u, T v, int height, int width)
    {
        const T x0 = floor_of(u), y0 = floor_of(v);
        const T fx = u - x0, fy = v - y0;
        for (int t = 0; t < 4; ++t) {
            const int dy = t >> 1, dx = t & 1;
            const T wx = dx ? fx : T(1) - fx, wy = dy ? fy : T(1) - fy;
            const T xt = x0 + T(dx), yt = y0 + T(dy);
            // compared as floating point, so coordinates far outside (or NaN) never reach an int
            const bool inside = xt >= T(0) && xt <= T(width - 1) && yt >= T(0) && yt <= T(height - 1);
            index[t] = inside ? (int)yt * width + (int)xt : -1;
            weight[t] = inside ? wx * wy : T(0);
            d_u[t] = inside ? (dx ? wy : -wy) : T(0);
            d_v[t] = inside ? (dy ? wx : -wx) : T(0);
        }
    }
};

template <typename T>
__device__ void grid_sample(const T* __restrict__ x, const T* __restrict__ grid, T* __restrict__ out, int N,
                            int C, int H, int W, int P, int align_corners)
{
    // one thread per (n, p): the taps are found once and applied to every channel
    const long long total = (long long)N * P;
    for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < total;
         t += (long long)blockDim.x * gridDim.x) {
        const int n = (int)t / P, p = (int)t % P;
        const Taps<T> taps(unnormalise(grid[2 * t], W, align_corners), unnormalise(grid[2 * t + 1], H, align_corners),
                           H, W);
        for (int c = 0; c < C; ++c) {
            const T* image = x + (n * C + c) * H * W;
            T sum = T(0);
            for (int k = 0; k < 4; ++k)
                if (taps.index[k] >= 0) sum += taps.weight[k] * image[taps.index[k]];
            out[(n * C + c) * P + p] = sum;
        }
    }
}

// dU (atomicAdd; dx must be zeroed) and/or dgrid = (sum_taps d_u G U, sum_taps d_v G U) du/dgx.
template <typename T>
__device__ void grid_sample_backward(const T* __restrict__ grad, const T* __restrict__ x,
                                     const T* __restrict__ grid, T* __restrict__ dx, T* __restrict__ dgrid, int N,
                                     int C, int H, int W, int P, int align_corners, int need_dx, int need_dgrid,
                                     T du_dgx, T dv_dgy)
{
    const long long total = (long long)N * P;
    for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < total;
         t += (long long)blockDim.x * gridDim.x) {
        const int n = (int)t / P, p = (int)t % P;
        const Taps<T> taps(unnormalise(grid[2 * t], W, align_corners), unnormalise(grid[2 * t + 1], H, align_corners),
                           H, W);
        T gu[4] = {T(0), T(0), T(0), T(0)};  // sum over channels of G U at each tap
        for (int c = 0; c < C; ++c) {
            const T g = grad[(n * C + c) * P + p];
            const int plane = (n * C + c) * H * W;
            for (int k = 0; k < 4; ++k) {
                if (taps.index[k] < 0) continue;
                if (need_dx) atomicAdd(dx + plane + taps.index[k], g * taps.weight[k]);
                if (need_dgrid) gu[k] += g * x[plane + taps.index[k]];
            }
        }
        if (need_dgrid) {
            T du = T(0), dv = T(0);
            for (int k = 0; k < 4; ++k) { du += gu[k] * taps.d_u[k]; dv += gu[k] * taps.d_v[k]; }
            dgrid[2 * t] = du * du_dgx;
            dgrid[2 * t + 1] = dv * dv_dgy;
        }
    }
}

template <typename T>
__device__ void resize(const T* __restrict__ x, T* __restrict__ y, int planes, int H, int W, int Ho, int Wo,
                       const int* __restrict__ row_h, const int* __restrict__ col_h, const T* __restrict__ val_h,
                       const int* __restrict__ row_w, const int* __restrict__ col_w, const T* __restrict__ val_w)
{
    // one block per output row (plane, o) at a time, its threads along the row
    for (int r = blockIdx.x; r < planes * Ho; r += gridDim.x) {
        const int pl = r / Ho, o = r % Ho;
        const T* image = x + pl * H * W;
        for (int j = threadIdx.x; j < Wo; j += blockDim.x) {
            T sum = T(0);
            for (int k = row_h[o]; k < row_h[o + 1]; ++k) {
                const T* line = image + col_h[k] * W;
                T inner = T(0);
                for (int l = row_w[j]; l < row_w[j + 1]; ++l) inner += val_w[l] * line[col_w[l]];
                sum += val_h[k] * inner;
            }
            y[r * Wo + j] = sum;
        }
    }
}

#define MINIGEN_SAMPLE_KERNELS(T, SUFFIX)                                                                     \
    extern "C" __global__ void grid_sample_##SUFFIX(const T* x, const T* grid, T* out, int N, int C, int H,  \
                                                    int W, int P, int align_corners)                          \
    {                                                                                                         \
        grid_sample<T>(x, grid, out, N, C, H, W, P, align_corners);                                           \
    }                                                                                                         \
    extern "C" __global__ void grid_sample_backward_##SUFFIX(const T* grad, const T* x, const T* grid, T* dx, \
                                                             T* dgrid, int N, int C, int H, int W, int P,     \
                                                             int align_corners, int need_dx, int need_dgrid,  \
                                                             T du_dgx, T dv_dgy)                              \
    {                                                                                                         \
        grid_sample_backward<T>(grad, x, grid, dx, dgrid, N, C, H, W, P, align_corners, need_dx, need_dgrid, \
                                du_dgx, dv_dgy);                                                              \
    }                                                                                                         \
    extern "C" __global__ void resize_##SUFFIX(const T* x, T* y, int planes, int H, int W, int Ho, int Wo,   \
                                               const int* row_h, const int* col_h, const T* val_h,           \
                                               const int* row_w, const int* col_w, const T* val_w)           \
    {                                                                                                         \
        resize<T>(x, y, planes, H, W, Ho, Wo, row_h, col_h, val_h, row_w, col_w, val_w);                     \
    }

MINIGEN_SAMPLE_KERNELS(float, f32)
MINIGEN_SAMPLE_KERNELS(double, f64)
