// ReLU (§3.1) forward in one pass: the output and the mask the backward pass needs, reading x once
// (the xp version makes two passes, one for each). Reference: tinyconv/functional/activation.py.

extern "C" __global__ void relu_forward(
    long long total, const T* __restrict__ x, T* __restrict__ y, bool* __restrict__ mask)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        T value = x[i];
        bool positive = value > 0;
        mask[i] = positive;
        y[i] = positive ? value : (T)0;
    }
}
