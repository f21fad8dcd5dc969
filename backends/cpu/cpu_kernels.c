/* Kernel selection for the CPU backend: specialised kernels take the steps
 * they serve; everything else runs the op's reference kernel. */
#include "cpu.h"

#include <string.h>

struct kernel_choice {
    const char *op_type;
    int (*prepare)(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                   const struct ir_node *n, char *err, size_t errlen);
};

/* One row per kernel; for an op, rows are tried in order. */
/* clang-format off */
static const struct kernel_choice choices[] = {
    { "Conv", cpu_depthwise_prepare },
    { "Conv", cpu_grouped_prepare },
    { "Conv", cpu_gemv_prepare },
    { "Conv", cpu_conv_prepare },
    { "Gemm", cpu_gemm_prepare },
    { "MatMul", cpu_matmul_prepare },
    { "MaxPool", cpu_pool_prepare },
    { "AveragePool", cpu_pool_prepare },
    { "GlobalAveragePool", cpu_pool_prepare },
    { "GlobalMaxPool", cpu_pool_prepare },
    { "ReduceMean", cpu_reduce_prepare },
    { "ReduceSum", cpu_reduce_prepare },
    { "ReduceMax", cpu_reduce_prepare },
    { "ReduceMin", cpu_reduce_prepare },
    { "ReduceProd", cpu_reduce_prepare },
    { "ReduceL1", cpu_reduce_prepare },
    { "ReduceL2", cpu_reduce_prepare },
    { "ReduceSumSquare", cpu_reduce_prepare },
    { "ReduceLogSum", cpu_reduce_prepare },
    { "ReduceLogSumExp", cpu_reduce_prepare },
    { "Add", cpu_binary_prepare },
    { "Sub", cpu_binary_prepare },
    { "Mul", cpu_binary_prepare },
    { "Div", cpu_binary_prepare },
    { "Relu", cpu_unary_prepare },
    { "LeakyRelu", cpu_unary_prepare },
    { "Sigmoid", cpu_unary_prepare },
    { "Tanh", cpu_unary_prepare },
    { "HardSigmoid", cpu_unary_prepare },
    { "HardSwish", cpu_unary_prepare },
    { "Clip", cpu_unary_prepare },
    { "Transpose", cpu_transpose_prepare },
    { NULL, NULL },
};
/* clang-format on */

/* A kernel that does not add the fused residual runs without the activation;
 * the sum and the activation follow over the whole output. */
static int run_sum_after(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    struct cpu_step plain = *s;
    memset(&plain.act, 0, sizeof(plain.act));
    int rc = s->inner(m, &plain, x);
    if (rc < 0) return rc;
    const struct cpu_slot *y = &m->slots[s->out[0]];
    cpu_epilogue(m->be->isa, x->ptr[s->out[0]], x->ptr[s->in[s->act.sum]], NULL, 1,
                 (int64_t)(y->nbytes / sizeof(float)), &s->act);
    return 0;
}

int cpu_kernel_choose(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                      const struct ir_node *n, char *err, size_t errlen)
{
    for (const struct kernel_choice *c = choices; c->op_type; c++) {
        if (strcmp(c->op_type, n->op_type) != 0) continue;
        int rc = c->prepare(m, s, g, n, err, errlen);
        if (rc == 1 && s->act.sum > 0 && !s->fuses_sum) {
            s->inner = s->run;
            s->run = run_sum_after;
        }
        if (rc != 0) return rc;
    }
    return 0;
}
