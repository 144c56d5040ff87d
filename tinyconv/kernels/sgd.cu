// The §5 update of one parameter in one pass: read w, its gradient and its velocity once, write w
// and the velocity once (the xp version makes four passes and two temporaries). Reference:
// tinyconv/optim/sgd.py. decay_lr is weight_decay * lr, computed once on the host.
//     v <- momentum * v - weight_decay * lr * w - lr * grad
//     w <- w + v

extern "C" __global__ void sgd_update(
    long long total, T* __restrict__ w, const T* __restrict__ grad, T* __restrict__ v,
    T lr, T momentum, T decay_lr)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        T velocity = momentum * v[i] - decay_lr * w[i] - lr * grad[i];
        v[i] = velocity;
        w[i] += velocity;
    }
}
