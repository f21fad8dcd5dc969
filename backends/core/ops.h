/* The operator registry: one row per ONNX op (and opset range) with its shape
 * inference and its reference kernel. Rows live in per-family tables
 * (ops_elementwise.c, ops_nn.c, ops_shape.c, ...); ops.c only chains them. */
#ifndef INFERD_OPS_H
#define INFERD_OPS_H

#include "ir.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ir_op_flags {
    /* Output 0 holds exactly input 0's bytes under another shape (Reshape,
     * Flatten, Squeeze, Unsqueeze, Identity, Dropout): a backend may alias it. */
    IR_OP_ALIAS = 1u << 0,
    /* eval may write output 0 over input 0 when their shapes and dtypes match
     * (element-wise ops). */
    IR_OP_INPLACE = 1u << 1,
};

struct ir_op {
    const char *name; /* ONNX op_type; NULL ends a table */
    int since;        /* first default-domain opset this row serves */
    int until;        /* last one (inclusive); 0 = no end */
    /* Validates attributes, input count, dtypes and shapes against the op's
     * spec for n->opset; sets every output's dtype and shape through
     * ir_node_output_set; stores what eval needs in n->params (one malloc'd
     * block). May read constant inputs (Reshape's shape, Slice's starts...);
     * when such an input is not constant it fails with INFERD_E_UNSUPPORTED.
     * May also make an output constant itself (Shape, Constant). Errors go
     * through ir_node_error so they name the node. */
    int (*infer)(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
    /* Reference kernel: plain, obviously-correct C. in[k].dtype is
     * IR_DT_UNDEFINED for an absent optional input. Outputs arrive with dtype,
     * dims and data set (shapes are static). Must not keep pointers. Returns 0
     * or a negative code (-ENOMEM). params is n->params after infer. */
    int (*eval)(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                int nout);
    unsigned flags; /* enum ir_op_flags */
};

/* The row for op_type at opset, or NULL. *known tells whether the op exists at
 * some other opset (for "unsupported opset" vs "unknown op"). */
const struct ir_op *ir_op_find(const char *op_type, int opset, bool *known);

/* Family tables, each ended by a row with name NULL. */
extern const struct ir_op ir_ops_elementwise[];
extern const struct ir_op ir_ops_nn[];
extern const struct ir_op ir_ops_shape[];

/* --- helpers for infer functions (op_util.c) ---------------------------- */

/* The value behind input k, or NULL when absent (k >= nin or in[k] == -1). */
struct ir_value *ir_node_input(struct ir_graph *g, const struct ir_node *n, int k);
/* Fails unless min <= nin <= max (counting trailing absent inputs as absent). */
int ir_node_inputs_check(struct ir_graph *g, const struct ir_node *n, int min, int max, char *err,
                         size_t errlen);
/* Fails unless input k is present and has dtype; the message names the input
 * and both dtypes. */
int ir_node_input_dtype_check(struct ir_graph *g, const struct ir_node *n, int k, int dtype,
                              char *err, size_t errlen);
/* Sets output k's dtype and shape, failing when the element count overflows or
 * passes g->limits.max_elements. */
int ir_node_output_set(struct ir_graph *g, struct ir_node *n, int k, int dtype,
                       const struct ir_shape *shape, char *err, size_t errlen);
/* Reads constant input k (int64 or int32) into out[max]; returns the count, or
 * INFERD_E_UNSUPPORTED with a message when the input is not constant. */
int ir_node_input_ints(struct ir_graph *g, const struct ir_node *n, int k, int64_t *out, int max,
                       char *err, size_t errlen);
/* Reads constant input k (float32) into out[max]; as ir_node_input_ints. */
int ir_node_input_floats(struct ir_graph *g, const struct ir_node *n, int k, float *out, int max,
                         char *err, size_t errlen);
/* Numpy broadcasting of a and b into out; -1 when they cannot broadcast. */
int ir_shape_broadcast(const struct ir_shape *a, const struct ir_shape *b, struct ir_shape *out);
/* Normalizes a possibly negative axis against rank; -1 when out of range. */
int ir_axis_normalize(int64_t axis, int rank);
/* malloc(size) zeroed into n->params (freeing an earlier one); NULL on failure. */
void *ir_node_params_alloc(struct ir_node *n, size_t size);

#ifdef __cplusplus
}
#endif
#endif
