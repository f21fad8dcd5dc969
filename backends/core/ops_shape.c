/* Operators: shape family (rows are added as they are implemented). */
#include "ops.h"

const struct ir_op ir_ops_shape[] = {
    { NULL, 0, 0, NULL, NULL, 0 },
};
