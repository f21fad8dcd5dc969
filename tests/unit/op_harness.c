#include "op_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ir_graph *oh_graph(int opset)
{
    struct ir_graph *g = ir_graph_new("test.onnx");
    if (g) g->opset = opset;
    return g;
}

int oh_const(struct ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims,
             const void *data)
{
    int v = ir_graph_value_add(g, name, dtype);
    if (v < 0) return v;
    struct ir_shape s = { .ndim = ndim };
    for (int i = 0; i < ndim; i++) s.dims[i] = dims[i];
    size_t nbytes = (size_t)ir_shape_numel(&s) * ir_dtype_size(dtype);
    void *p = ir_alloc(nbytes);
    if (!p) return -1;
    if (nbytes) memcpy(p, data, nbytes);
    ir_value_set_const(g, v, &s, p, nbytes);
    return v;
}

int oh_const_f32(struct ir_graph *g, const char *name, int ndim, const int64_t *dims,
                 const float *data)
{
    return oh_const(g, name, IR_DT_F32, ndim, dims, data);
}

int oh_const_i64(struct ir_graph *g, const char *name, int ndim, const int64_t *dims,
                 const int64_t *data)
{
    return oh_const(g, name, IR_DT_I64, ndim, dims, data);
}

int oh_input(struct ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims)
{
    int v = ir_graph_value_add(g, name, dtype);
    if (v < 0) return v;
    struct ir_value *val = &g->values[v];
    val->shape.ndim = ndim;
    for (int i = 0; i < ndim; i++) val->shape.dims[i] = dims[i];
    val->shape_known = true;
    val->flags |= IR_VALUE_INPUT;
    int *inputs = realloc(g->inputs, sizeof(int) * (size_t)(g->ninputs + 1));
    if (!inputs) return -1;
    g->inputs = inputs;
    g->inputs[g->ninputs++] = v;
    return v;
}

int oh_node(struct ir_graph *g, const char *op_type, int nin, const int *in, int nout)
{
    char name[64];
    snprintf(name, sizeof(name), "%s_%d", op_type, g->nnodes);
    int n = ir_graph_node_add(g, name, op_type, nin, nout);
    if (n < 0) return n;
    for (int k = 0; k < nin; k++) g->nodes[n].in[k] = in[k];
    for (int k = 0; k < nout; k++) {
        char vname[96];
        snprintf(vname, sizeof(vname), "%s_out%d", name, k);
        int v = ir_graph_value_add(g, vname, IR_DT_UNDEFINED);
        if (v < 0) return v;
        g->nodes[n].out[k] = v;
        if (k == 0) {
            int *outputs = realloc(g->outputs, sizeof(int) * (size_t)(g->noutputs + 1));
            if (!outputs) return -1;
            g->outputs = outputs;
            g->outputs[g->noutputs++] = v;
            g->values[v].flags |= IR_VALUE_OUTPUT;
        }
    }
    return n;
}

int oh_infer(struct ir_graph *g, char *err, size_t errlen)
{
    int rc = ir_graph_sort(g, err, errlen);
    if (rc < 0) return rc;
    return ir_graph_infer(g, err, errlen);
}

const struct ir_value *oh_out(const struct ir_graph *g, int node, int k)
{
    return &g->values[g->nodes[node].out[k]];
}
