/* Kernel selection for the CPU backend: specialised kernels take the steps
 * they serve; everything else runs the op's reference kernel. */
#include "cpu.h"

#include <string.h>

struct kernel_choice {
    const char *op_type;
    int (*prepare)(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                   const struct ir_node *n, char *err, size_t errlen);
};

static const struct kernel_choice choices[] = {
    { "Conv", cpu_conv_prepare },
    { "Gemm", cpu_gemm_prepare },
    { "MatMul", cpu_matmul_prepare },
    { NULL, NULL },
};

int cpu_kernel_choose(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                      const struct ir_node *n, char *err, size_t errlen)
{
    for (const struct kernel_choice *c = choices; c->op_type; c++) {
        if (strcmp(c->op_type, n->op_type) != 0) continue;
        int rc = c->prepare(m, s, g, n, err, errlen);
        if (rc != 0) return rc;
    }
    return 0;
}
