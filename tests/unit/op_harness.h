/* Builds one-node graphs whose inputs are all constant, so ir_graph_infer runs
 * the op's shape inference and then its reference kernel (by folding): what a
 * unit test of an operator needs, without ONNX files. */
#ifndef INFERD_OP_HARNESS_H
#define INFERD_OP_HARNESS_H

#include "ir.h"
#include "ops.h"

#include <stdint.h>

/* A graph at the given default-domain opset. */
struct ir_graph *oh_graph(int opset);
/* A constant value of dtype with the given shape, data copied. Returns its index. */
int oh_const(struct ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims,
             const void *data);
int oh_const_f32(struct ir_graph *g, const char *name, int ndim, const int64_t *dims,
                 const float *data);
int oh_const_i64(struct ir_graph *g, const char *name, int ndim, const int64_t *dims,
                 const int64_t *data);
/* A runtime graph input (not constant) of dtype and shape. */
int oh_input(struct ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims);
/* A node reading in[0..nin) (-1 = absent) and writing nout new values named
 * "<name>_out<k>" (k from 0); the first is also made a graph output. Returns the
 * node index. */
int oh_node(struct ir_graph *g, const char *op_type, int nin, const int *in, int nout);
/* Sorts and infers (folding the node). Returns 0 or the negative code, with
 * the message in err. */
int oh_infer(struct ir_graph *g, char *err, size_t errlen);
/* Output k of node `node` as a value (shape, dtype, data when folded). */
const struct ir_value *oh_out(const struct ir_graph *g, int node, int k);

#endif
