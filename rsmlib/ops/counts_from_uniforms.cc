// counts_from_uniforms: the word counts of an exact multinomial sampler, from its
// uniform numbers (rsmlib, Chapter 3).
//
// Row n of `weights` (N, K) holds unnormalised probabilities w_nk >= 0
// (exp(logits - max), float32 or float64); row n of `uniforms` (N, M) holds M >= D_n
// uniform numbers in [0, 1) (float64), of which the first D_n = lengths[n] are used.
// Each used u picks the word
//
//     k(u) = min(first k with c_k > u * c_{K-1}, K - 1),   c_k = w_0 + w_1 + ... + w_k,
//
// the running sum c accumulated in float64, one term at a time, from k = 0 upwards:
// the rule and the arithmetic of tf.searchsorted(tf.math.cumsum(float64(w)),
// u * c_{K-1}, side="right") clamped to K - 1, which rsmlib.multinomial_counts
// computes without this op. The output (N, K), in the dtype of `weights`, counts the
// words picked in each row.
//
// A row costs O(K + D_n log K): one pass for the running sum (kept in a buffer of K
// doubles, so no (N, K) cumulative array is allocated) and a branchless binary search
// per draw. It replaces four TensorFlow kernels (the float64 cast, cumsum,
// searchsorted, bincount), each a pass over an (N, K) array. Rows are independent and
// are shared out over the CPU device's threads.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"

namespace rsmlib {

using tensorflow::DEVICE_CPU;
using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::TensorShape;
using tensorflow::errors::InvalidArgument;

REGISTER_OP("RsmlibCountsFromUniforms")
    .Input("weights: T")
    .Input("uniforms: float64")
    .Input("lengths: int32")
    .Output("counts: T")
    .Attr("T: {float, double}")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(0));
      return absl::OkStatus();
    });

template <typename T>
class CountsFromUniformsOp : public OpKernel {
 public:
  explicit CountsFromUniformsOp(OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(OpKernelContext* context) override {
    const Tensor& weights = context->input(0);
    const Tensor& uniforms = context->input(1);
    const Tensor& lengths = context->input(2);
    OP_REQUIRES(context, weights.dims() == 2,
                InvalidArgument("weights must be a matrix (N, K); got shape ",
                                weights.shape().DebugString()));
    OP_REQUIRES(context, uniforms.dims() == 2,
                InvalidArgument("uniforms must be a matrix (N, M); got shape ",
                                uniforms.shape().DebugString()));
    OP_REQUIRES(context, lengths.dims() == 1,
                InvalidArgument("lengths must be a vector (N,); got shape ",
                                lengths.shape().DebugString()));
    const int64_t N = weights.dim_size(0), K = weights.dim_size(1);
    const int64_t M = uniforms.dim_size(1);
    OP_REQUIRES(context, uniforms.dim_size(0) == N && lengths.dim_size(0) == N,
                InvalidArgument("weights, uniforms and lengths must have the same "
                                "number of rows; got ",
                                N, ", ", uniforms.dim_size(0), " and ",
                                lengths.dim_size(0)));
    OP_REQUIRES(context, K >= 1 || N == 0,
                InvalidArgument("weights must have at least one column"));
    const auto D = lengths.flat<int32_t>();
    for (int64_t n = 0; n < N; ++n) {
      OP_REQUIRES(context, D(n) <= M,
                  InvalidArgument("lengths[", n, "] = ", D(n),
                                  " exceeds the M = ", M, " uniforms per row"));
    }
    Tensor* counts = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, weights.shape(), &counts));
    const T* w = weights.flat<T>().data();
    const double* u = uniforms.flat<double>().data();
    T* out = counts->flat<T>().data();

    auto rows = [&](int64_t first, int64_t last) {
      std::vector<double> cdf(K);
      for (int64_t n = first; n < last; ++n) {
        const T* w_n = w + n * K;
        T* out_n = out + n * K;
        std::fill(out_n, out_n + K, T(0));
        const int64_t d = std::max<int32_t>(D(n), 0);  // as tf.sequence_mask
        if (d == 0) continue;
        double c = 0.0;  // c_k, summed in the order of tf.math.cumsum
        for (int64_t k = 0; k < K; ++k) {
          c += static_cast<double>(w_n[k]);
          cdf[k] = c;
        }
        const double total = cdf[K - 1];
        for (int64_t j = 0; j < d; ++j) {
          // the first k with c_k > u * total, or K - 1: std::upper_bound's answer
          // (that of tf.searchsorted), by a branchless binary search. `base` only
          // moves right past elements with !(target < c), as upper_bound does, so
          // ties and a NaN target (k = K) come out the same. No branch depends on
          // the uniform (benchmarks/RESULTS.md times it against the branching search).
          const double target = u[n * M + j] * total;
          const double* base = cdf.data();
          int64_t len = K;
          while (len > 1) {
            const int64_t half = len / 2;
            base += !(target < base[half]) ? half : 0;
            len -= half;
          }
          const int64_t k = (base - cdf.data()) + !(target < *base);
          out_n[std::min<int64_t>(k, K - 1)] += T(1);
        }
      }
    };
    const auto& workers = *context->device()->tensorflow_cpu_worker_threads();
    // per row: K additions and stores, M binary searches of ~log2(K) steps
    const int64_t cost = 5 * K + 40 * M;
    tensorflow::Shard(workers.num_threads, workers.workers, N, cost, rows);
  }
};

#define REGISTER(T)                                                      \
  REGISTER_KERNEL_BUILDER(Name("RsmlibCountsFromUniforms")              \
                              .Device(DEVICE_CPU)                       \
                              .TypeConstraint<T>("T"),                  \
                          CountsFromUniformsOp<T>);
REGISTER(float);
REGISTER(double);
#undef REGISTER

}  // namespace rsmlib
