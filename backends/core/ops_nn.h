/* Neural-network operators: the parameter blocks their infer functions leave
 * in n->params, and the infer/eval pairs the table in ops_nn.c lists.
 *
 * Everything here is resolved at load, so a kernel never re-reads attributes
 * or the graph: pads are final (auto_pad and output_shape already applied),
 * the output shapes are those of the node's outputs, and per-axis arrays hold
 * the spatial axes only (index 0 is the axis after the channel axis). The CPU
 * backend reads the same structs for its fast kernels and checks them against
 * the reference kernels (ir_*_eval) declared below. */
#ifndef INFERD_OPS_NN_H
#define INFERD_OPS_NN_H

#include "ir.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Conv and ConvTranspose. X is [N, C, D...].
 * Conv: W is [M, C/group, k...]; Y[n, m, o] = B[m] + sum over the channels c
 *   of m's group and kernel taps k of X[n, c, o*stride - pad_begin + k*dilation]
 *   * W[m, c - group_start, k]; taps falling in the padding read 0.
 * ConvTranspose: W is [C, M/group, k...]; each X[n, c, i] adds
 *   X * W[c, m - group_start, k] to Y[n, m, i*stride - pad_begin + k*dilation]
 *   when that lands inside Y. Pads may be negative here (an output_shape larger
 *   than the natural one), which shifts or extends the output. */
struct ir_conv_params {
    int nspatial;   /* spatial axes: input rank - 2 */
    int64_t group;  /* channel groups (depthwise: group == C) */
    bool has_bias;  /* input 2 is present */
    bool transpose; /* ConvTranspose */
    int64_t kernel[IR_MAX_DIMS];
    int64_t strides[IR_MAX_DIMS];
    int64_t dilations[IR_MAX_DIMS];
    int64_t pads[2 * IR_MAX_DIMS];       /* begins of every axis, then ends (ONNX order) */
    int64_t output_padding[IR_MAX_DIMS]; /* ConvTranspose; already in the output shape */
};

enum ir_pool_kind {
    IR_POOL_MAX = 0,
    IR_POOL_AVG = 1,
};

/* MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool over X [N, C, D...].
 * Window taps at o*stride - pad_begin + k*dilation; taps in the padding are
 * skipped by MAX, and by AVG unless count_include_pad, in which case taps in
 * [-pad_begin, D + pad_end) count (a ceil_mode window that runs past the end
 * padding does not count what lies beyond it). MaxPool's optional Indices
 * output (int64) holds, for the first maximum, (n*C + c) * prod(D) plus its
 * spatial offset (row-major, or column-major with storage_order 1); -1 for
 * a window that holds no input element. Global pools are stored as a window
 * over the whole spatial extent. X and Y are float32, or for MaxPool from
 * opset 12 also int8 or uint8 (Y has X's dtype). */
struct ir_pool_params {
    int kind; /* enum ir_pool_kind */
    int nspatial;
    bool global;            /* Global*Pool */
    bool count_include_pad; /* AVG */
    bool ceil_mode;         /* already in the output shape */
    int storage_order;      /* MaxPool Indices: 0 row-major, 1 column-major spatial index */
    int64_t kernel[IR_MAX_DIMS];
    int64_t strides[IR_MAX_DIMS];
    int64_t dilations[IR_MAX_DIMS];
    int64_t pads[2 * IR_MAX_DIMS]; /* begins, then ends */
};

/* Gemm: Y[M, N] = alpha * A' B' + beta * C, A' = transA ? A^T : A (A' is M x K),
 * B' = transB ? B^T : B (K x N). C broadcasts to [M, N]: element (i, j) reads
 * C[(c_m == 1 ? 0 : i) * c_n + (c_n == 1 ? 0 : j)]. */
struct ir_gemm_params {
    float alpha, beta;
    bool trans_a, trans_b;
    bool has_c;
    int64_t m, n, k;
    int64_t c_m, c_n; /* C as a c_m x c_n matrix: c_m in {1, m}, c_n in {1, n} */
};

/* MatMul (numpy matmul): a batch of [m, k] x [k, n] products. A 1-D A is one
 * row (m = 1), a 1-D B one column (n = 1); the output shape already drops
 * those dims. Batch dims broadcast: for batch index b (row-major over
 * batch[]), A's matrix starts at sum_i b_i * a_stride[i] elements, B's at
 * sum_i b_i * b_stride[i] (0 where that operand broadcasts). */
struct ir_matmul_params {
    int64_t m, n, k;
    int nbatch; /* rank of the broadcast batch shape (may be 0) */
    int64_t batch[IR_MAX_DIMS];
    int64_t a_stride[IR_MAX_DIMS];
    int64_t b_stride[IR_MAX_DIMS];
};

/* BatchNormalization, inference form: X [N, C, D...],
 * Y = (X - mean) / sqrt(var + epsilon) * scale + B.
 * Statistics are per channel; an opset-7 node with spatial=0 has them per
 * element of [C, D...] instead (per_activation). */
struct ir_batchnorm_params {
    float epsilon;
    bool per_activation;
};

/* InstanceNormalization: per (n, c) mean and variance over D...,
 * Y = (X - mean) / sqrt(var + epsilon) * scale[c] + B[c]. */
struct ir_instancenorm_params {
    float epsilon;
};

/* LRN across channels: Y = X / (bias + alpha / size * sum of X^2 over channels
 * [c - floor((size-1)/2), c + ceil((size-1)/2)]) ^ beta. */
struct ir_lrn_params {
    float alpha, beta, bias;
    int64_t size;
};

/* Softmax / LogSoftmax over rows of `len` elements spaced `inner` apart:
 * X viewed as [outer, len, inner]. Opset < 13 flattens at axis (len = product
 * of dims from axis on, inner = 1); opset 13 uses the single axis. */
struct ir_softmax_params {
    bool log;
    int64_t outer, len, inner;
};

enum ir_reduce_kind {
    IR_REDUCE_SUM = 0,
    IR_REDUCE_MEAN,
    IR_REDUCE_MAX,
    IR_REDUCE_MIN,
    IR_REDUCE_PROD,
    IR_REDUCE_L1,
    IR_REDUCE_L2,
    IR_REDUCE_SUM_SQUARE,
    IR_REDUCE_LOG_SUM,
    IR_REDUCE_LOG_SUM_EXP,
};

/* Reduce*: reduced[i] marks the input axes folded away (kept as 1 or dropped,
 * by keepdims: the element order is the same either way). noop: ReduceSum with
 * empty axes and noop_with_empty_axes, a plain copy. */
struct ir_reduce_params {
    int kind; /* enum ir_reduce_kind */
    int ndim; /* input rank */
    bool noop;
    bool reduced[IR_MAX_DIMS];
};

/* ArgMax / ArgMin: X viewed as [outer, len, inner] around axis; int64 output. */
struct ir_argmax_params {
    bool min;
    bool select_last_index;
    int64_t outer, len, inner;
};

/* --- infer / eval pairs (see struct ir_op in ops.h) --------------------- */

typedef int ir_nn_infer_fn(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
typedef int ir_nn_eval_fn(const void *params, const struct ir_tensor *in, int nin,
                          struct ir_tensor *out, int nout);

ir_nn_infer_fn ir_conv_infer, ir_conv_transpose_infer;
ir_nn_eval_fn ir_conv_eval, ir_conv_transpose_eval;

/* MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool share ir_pool_eval. */
ir_nn_infer_fn ir_maxpool_infer, ir_avgpool_infer, ir_global_pool_infer;
ir_nn_eval_fn ir_pool_eval;

ir_nn_infer_fn ir_batchnorm_infer, ir_instancenorm_infer, ir_lrn_infer;
ir_nn_eval_fn ir_batchnorm_eval, ir_instancenorm_eval, ir_lrn_eval;

ir_nn_infer_fn ir_gemm_infer, ir_matmul_infer;
ir_nn_eval_fn ir_gemm_eval, ir_matmul_eval;

/* Softmax and LogSoftmax (told apart by op_type). */
ir_nn_infer_fn ir_softmax_infer;
ir_nn_eval_fn ir_softmax_eval;

/* Every Reduce* op (kind from op_type), and ArgMax / ArgMin. */
ir_nn_infer_fn ir_reduce_infer, ir_argmax_infer;
ir_nn_eval_fn ir_reduce_eval, ir_argmax_eval;

#ifdef __cplusplus
}
#endif
#endif
