// Max pooling (§3.4) in one pass each way. Reference: tinyconv/functional/pooling.py.
//
// Input x is (N, C, H, W), output y and argmax are (N, C, OH, OW). Window (oh, ow) covers
// padded rows oh*SH .. oh*SH + KH - 1 and columns ow*SW .. ow*SW + KW - 1; padded row r is input
// row r - PH. argmax holds the winning kernel offset kh*KW + kw, the first one on ties, as the
// xp version and PyTorch do. Padding never wins: it is skipped (every window holds at least
// one input element, since padding <= kernel_size / 2).

// One thread per output element: the largest input of its window and where it was.
extern "C" __global__ void max_pool_forward(
    long long total, const T* __restrict__ x, T* __restrict__ y, int* __restrict__ argmax,
    int H, int W, int OH, int OW, int KH, int KW, int SH, int SW, int PH, int PW)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        int ow = (int)(i % OW);
        int oh = (int)(i / OW % OH);
        const T* plane = x + i / ((long long)OH * OW) * H * W;     // map (n, c) of the input
        int top = oh * SH - PH, left = ow * SW - PW;
        int best = -1;
        T best_value = 0;
        for (int kh = 0; kh < KH; ++kh) {
            int h = top + kh;
            if (h < 0 || h >= H) continue;
            for (int kw = 0; kw < KW; ++kw) {
                int w = left + kw;
                if (w < 0 || w >= W) continue;
                T value = plane[h * W + w];
                if (best < 0 || value > best_value) {
                    best = kh * KW + kw;
                    best_value = value;
                }
            }
        }
        y[i] = best_value;
        argmax[i] = best;
    }
}

// One thread per input element: the sum of the output gradients of every window whose winner
// it was (overlapping windows, z > s, can each route a gradient to the same input). Gathering
// instead of scattering needs no atomic adds and writes every element of gx once.
extern "C" __global__ void max_pool_backward(
    long long total, const T* __restrict__ gy, const int* __restrict__ argmax, T* __restrict__ gx,
    int H, int W, int OH, int OW, int KH, int KW, int SH, int SW, int PH, int PW)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        int r = (int)(i / W % H) + PH, c = (int)(i % W) + PW;      // padded row and column
        long long plane = i / ((long long)H * W) * OH * OW;        // map (n, c) of the output
        // windows oh with oh*SH <= r <= oh*SH + KH - 1, and likewise for the columns
        int oh_first = r < KH ? 0 : (r - KH) / SH + 1, oh_last = r / SH < OH - 1 ? r / SH : OH - 1;
        int ow_first = c < KW ? 0 : (c - KW) / SW + 1, ow_last = c / SW < OW - 1 ? c / SW : OW - 1;
        T sum = 0;
        for (int oh = oh_first; oh <= oh_last; ++oh) {
            for (int ow = ow_first; ow <= ow_last; ++ow) {
                long long o = plane + oh * OW + ow;
                if (argmax[o] == (r - oh * SH) * KW + (c - ow * SW)) sum += gy[o];
            }
        }
        gx[i] = sum;
    }
}
