/* Operators: the neural-network family. One row per op and opset range; the
 * infer functions read n->opset where versions inside a range differ in
 * details (Gemm's optional C from 11, BatchNormalization's spatial before 9
 * and training_mode from 14, Softmax's 2-D coercion before 13, ReduceSum's
 * axes input from 13). Implementations: ops_conv.c, ops_pool.c, ops_norm.c,
 * ops_gemm.c, ops_softmax.c, ops_reduce.c. */
#include "ops.h"
#include "ops_nn.h"

#include <stddef.h>

const struct ir_op ir_ops_nn[] = {
    { "Conv", 1, 0, ir_conv_infer, ir_conv_eval, 0 },
    { "ConvTranspose", 1, 0, ir_conv_transpose_infer, ir_conv_transpose_eval, 0 },
    { "MaxPool", 1, 0, ir_maxpool_infer, ir_pool_eval, 0 },
    /* AveragePool gains dilations at 19, which this row does not promise. */
    { "AveragePool", 1, 18, ir_avgpool_infer, ir_pool_eval, 0 },
    { "GlobalMaxPool", 1, 0, ir_global_pool_infer, ir_pool_eval, 0 },
    { "GlobalAveragePool", 1, 0, ir_global_pool_infer, ir_pool_eval, 0 },
    /* BatchNormalization-6 and older carry is_test and consumed_inputs. */
    { "BatchNormalization", 7, 0, ir_batchnorm_infer, ir_batchnorm_eval, IR_OP_INPLACE },
    { "InstanceNormalization", 6, 0, ir_instancenorm_infer, ir_instancenorm_eval, IR_OP_INPLACE },
    { "LRN", 1, 0, ir_lrn_infer, ir_lrn_eval, 0 },
    /* Gemm-6 and older carry the broadcast attribute. */
    { "Gemm", 7, 0, ir_gemm_infer, ir_gemm_eval, 0 },
    { "MatMul", 1, 0, ir_matmul_infer, ir_matmul_eval, 0 },
    { "Softmax", 1, 0, ir_softmax_infer, ir_softmax_eval, IR_OP_INPLACE },
    { "LogSoftmax", 1, 0, ir_softmax_infer, ir_softmax_eval, IR_OP_INPLACE },
    { "ReduceSum", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ReduceMean", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ReduceMax", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ReduceMin", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ReduceProd", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ReduceL1", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ReduceL2", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ReduceSumSquare", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ReduceLogSum", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ReduceLogSumExp", 1, 0, ir_reduce_infer, ir_reduce_eval, 0 },
    { "ArgMax", 1, 0, ir_argmax_infer, ir_argmax_eval, 0 },
    { "ArgMin", 1, 0, ir_argmax_infer, ir_argmax_eval, 0 },
    { NULL, 0, 0, NULL, NULL, 0 },
};
