// Data movement of conv2d and conv_transpose2d on the GPU: im2col and its adjoint col2im.
//
// The GEMMs run in cuBLAS (cupy.matmul, minigen/cuda/conv.py); these kernels build and fold
// the column matrix of Chellapilla et al. 2006,
//
//     cols[(c, p, q), (n, i, j)] = x[n, c, i s - top + p d, j s - left + q d]   (0 outside x),
//
// row (c kH + p) kW + q at offset row * row_stride + n * n_stride + i W_out + j, so the caller
// picks the layout of the batch in the columns. col2im is the adjoint (the transpose of the same
// sparse 0/1 matrix), written as a gather: each image element sums the column entries that read
// it, so it runs without atomics and its result does not depend on thread scheduling.
//
// Self-contained for NVRTC (no includes). Indices are 32-bit: the caller keeps every array a
// launch touches below 2^31 elements; only the grid-stride counter is 64-bit, so that it cannot
// wrap past the end. float and double versions of each kernel are generated at the bottom.

template <typename T>
__device__ void im2col(const T* __restrict__ x, T* __restrict__ cols, int n_img, int channels, int height,
                       int width, int kh, int kw, int sh, int sw, int dh, int dw, int top, int left,
                       int ho, int wo, int n_stride, int row_stride)
{
    // one thread per (n, c, i, j): it writes the kH kW column entries of that output position
    const long long total = (long long)n_img * channels * ho * wo;
    for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < total;
         t += (long long)blockDim.x * gridDim.x) {
        int r = (int)t;
        const int j = r % wo; r /= wo;
        const int i = r % ho; r /= ho;
        const int c = r % channels;
        const int n = r / channels;
        const T* image = x + (n * channels + c) * height * width;
        T* out = cols + c * kh * kw * row_stride + n * n_stride + i * wo + j;
        for (int p = 0; p < kh; ++p) {
            const int y = i * sh - top + p * dh;
            const bool row_inside = y >= 0 && y < height;
            for (int q = 0; q < kw; ++q) {
                const int xc = j * sw - left + q * dw;
                *out = (row_inside && xc >= 0 && xc < width) ? image[y * width + xc] : T(0);
                out += row_stride;
            }
        }
    }
}

template <typename T>
__device__ void col2im(const T* __restrict__ cols, T* __restrict__ x, int n_img, int channels, int height,
                       int width, int kh, int kw, int sh, int sw, int dh, int dw, int top, int left,
                       int ho, int wo, int n_stride, int row_stride)
{
    // x[n, c, y, xc] = sum of cols[(c, p, q), (n, i, j)] over the taps with y = i s - top + p d and
    // xc = j s - left + q d, i.e. (y + top - p d) divisible by s with quotient i in [0, H_out)
    const long long total = (long long)n_img * channels * height * width;
    for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < total;
         t += (long long)blockDim.x * gridDim.x) {
        int r = (int)t;
        const int xc = r % width; r /= width;
        const int y = r % height; r /= height;
        const int c = r % channels;
        const int n = r / channels;
        const T* base = cols + c * kh * kw * row_stride + n * n_stride;
        T sum = T(0);
        for (int p = 0; p < kh; ++p) {
            const int ti = y + top - p * dh;
            if (ti < 0) break;  // ti only falls as p grows
            if (ti % sh != 0 || ti / sh >= ho) continue;
            const int i = ti / sh;
            for (int q = 0; q < kw; ++q) {
                const int tj = xc + left - q * dw;
                if (tj < 0) break;
                if (tj % sw != 0 || tj / sw >= wo) continue;
                sum += base[(p * kw + q) * row_stride + i * wo + tj / sw];
            }
        }
        x[t] = sum;
    }
}

#define MINIGEN_CONV_KERNELS(T, SUFFIX)                                                                       \
    extern "C" __global__ void im2col_##SUFFIX(const T* x, T* cols, int n_img, int channels, int height,     \
                                               int width, int kh, int kw, int sh, int sw, int dh, int dw,    \
                                               int top, int left, int ho, int wo, int n_stride,              \
                                               int row_stride)                                               \
    {                                                                                                         \
        im2col<T>(x, cols, n_img, channels, height, width, kh, kw, sh, sw, dh, dw, top, left, ho, wo,        \
                  n_stride, row_stride);                                                                      \
    }                                                                                                         \
    extern "C" __global__ void col2im_##SUFFIX(const T* cols, T* x, int n_img, int channels, int height,     \
                                               int width, int kh, int kw, int sh, int sw, int dh, int dw,    \
                                               int top, int left, int ho, int wo, int n_stride,              \
                                               int row_stride)                                               \
    {                                                                                                         \
        col2im<T>(cols, x, n_img, channels, height, width, kh, kw, sh, sw, dh, dw, top, left, ho, wo,        \
                  n_stride, row_stride);                                                                      \
    }

MINIGEN_CONV_KERNELS(float, f32)
MINIGEN_CONV_KERNELS(double, f64)
