// Local response normalization (§3.3) in one pass each way. Reference:
// tinyconv/functional/normalization.py, which also derives the backward formula.
//
// a, y, gy, gx and scale are (N, C, H, W), seen as (N, C, HW). For map c at one position the
// window is the maps c - half .. c + half clipped to c's group of per_group maps (the towers):
//     s_c = k + alpha * sum_{j in W(c)} a_j^2,        b_c = a_c * s_c^-beta,
//     gx_c = gy_c s_c^-beta - 2 alpha beta a_c sum_{i in W(c)} gy_i a_i s_i^(-beta-1).

// One thread per element: s over its window (kept for the backward pass) and the output.
extern "C" __global__ void lrn_forward(
    long long total, const T* __restrict__ a, T* __restrict__ y, T* __restrict__ scale,
    int C, int HW, int per_group, int half, T alpha, T beta, T k)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        int c = (int)(i / HW % C);
        const T* maps = a + (i - (long long)c * HW);                // a[n, 0, hw]; map j at maps[j * HW]
        int first = c / per_group * per_group;
        int lo = c - half > first ? c - half : first;
        int hi = c + half < first + per_group - 1 ? c + half : first + per_group - 1;
        T sum = 0;
        for (int j = lo; j <= hi; ++j) sum += maps[(long long)j * HW] * maps[(long long)j * HW];
        T s = k + alpha * sum;
        scale[i] = s;
        y[i] = a[i] * pow(s, -beta);
    }
}

// One thread per element: the gradient of every output whose window holds this element.
extern "C" __global__ void lrn_backward(
    long long total, const T* __restrict__ a, const T* __restrict__ scale, const T* __restrict__ gy,
    T* __restrict__ gx, int C, int HW, int per_group, int half, T alpha, T beta)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        int c = (int)(i / HW % C);
        long long map0 = i - (long long)c * HW;                     // element (n, 0, hw)
        int first = c / per_group * per_group;
        int lo = c - half > first ? c - half : first;
        int hi = c + half < first + per_group - 1 ? c + half : first + per_group - 1;
        T sum = 0;                                                  // the window is symmetric: i in W(j) iff j in W(i)
        for (int j = lo; j <= hi; ++j) {
            long long e = map0 + (long long)j * HW;
            sum += gy[e] * a[e] * pow(scale[e], -beta - 1);
        }
        gx[i] = gy[i] * pow(scale[i], -beta) - 2 * alpha * beta * a[i] * sum;
    }
}
