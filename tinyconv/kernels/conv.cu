// im2col and col2im, the copies around a convolution's GEMM, in one pass each. Reference and
// layout: tinyconv/functional/conv.py. x is (N, C, H, W); col is (C*KH*KW, N*OH*OW), row
// (c, kh, kw), column (n, oh, ow), holding padded pixel (oh*SH + kh, ow*SW + kw) of map (n, c).
// Padding is read as zero here, so no padded copy of x is ever made.

// One thread per element of col: the pixel it copies, or 0 where the patch covers padding.
extern "C" __global__ void im2col(
    long long total, const T* __restrict__ x, T* __restrict__ col,
    int N, int C, int H, int W, int OH, int OW, int KH, int KW, int SH, int SW, int PH, int PW)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        int ow = (int)(i % OW);
        int oh = (int)(i / OW % OH);
        int n = (int)(i / ((long long)OW * OH) % N);
        long long row = i / ((long long)OW * OH * N);               // (c, kh, kw)
        int kw = (int)(row % KW), kh = (int)(row / KW % KH), c = (int)(row / ((long long)KW * KH));
        int h = oh * SH - PH + kh, w = ow * SW - PW + kw;
        col[i] = (h >= 0 && h < H && w >= 0 && w < W) ? x[(((long long)n * C + c) * H + h) * W + w] : (T)0;
    }
}

// One thread per input pixel: the sum of the col entries copied from it (the adjoint of im2col).
// Gathering them needs no atomic adds, and writes gx straight in (N, C, H, W) order.
extern "C" __global__ void col2im(
    long long total, const T* __restrict__ col, T* __restrict__ gx,
    int N, int C, int H, int W, int OH, int OW, int KH, int KW, int SH, int SW, int PH, int PW)
{
    long long columns = (long long)N * OH * OW;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        int r = (int)(i / W % H) + PH, q = (int)(i % W) + PW;      // padded row and column
        int c = (int)(i / ((long long)W * H) % C), n = (int)(i / ((long long)W * H * C));
        T sum = 0;
        for (int kh = 0; kh < KH; ++kh) {
            int oh = (r - kh) / SH;                                 // the window whose offset kh is row r
            if (r < kh || (r - kh) % SH || oh >= OH) continue;
            for (int kw = 0; kw < KW; ++kw) {
                int ow = (q - kw) / SW;
                if (q < kw || (q - kw) % SW || ow >= OW) continue;
                sum += col[((long long)(c * KH + kh) * KW + kw) * columns + ((long long)n * OH + oh) * OW + ow];
            }
        }
        gx[i] = sum;
    }
}
