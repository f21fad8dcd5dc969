/* The operator registry: chains the per-family tables. A linear scan is fine:
 * lookups happen once per node at load, never per inference. */
#include "ops.h"

#include <string.h>

static const struct ir_op *const op_tables[] = {
    ir_ops_elementwise,
    ir_ops_nn,
    ir_ops_shape,
};

const struct ir_op *ir_op_find(const char *op_type, int opset, bool *known)
{
    bool seen = false;
    for (size_t t = 0; t < sizeof(op_tables) / sizeof(op_tables[0]); t++) {
        for (const struct ir_op *op = op_tables[t]; op->name; op++) {
            if (strcmp(op->name, op_type) != 0) continue;
            seen = true;
            if (opset >= op->since && (op->until == 0 || opset <= op->until)) {
                if (known) *known = true;
                return op;
            }
        }
    }
    if (known) *known = seen;
    return NULL;
}
