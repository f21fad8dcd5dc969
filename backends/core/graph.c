/* Graph analysis: topological order, shape inference with constant folding,
 * use counts, compaction. */
#include "ir.h"
#include "ops.h"

#include "inferd_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool value_available(const struct ir_value *v)
{
    return (v->flags & (IR_VALUE_INPUT | IR_VALUE_CONST)) != 0;
}

int ir_graph_sort(struct ir_graph *g, char *err, size_t errlen)
{
    int rc = 0;
    int *pending = calloc((size_t)g->nnodes + 1, sizeof(int));      /* unmet inputs per node */
    int *order = malloc(sizeof(int) * ((size_t)g->nnodes + 1));     /* new position -> old */
    int *users_start = calloc((size_t)g->nvalues + 1, sizeof(int)); /* CSR of value -> nodes */
    int *users = NULL;
    struct ir_node *sorted = NULL;
    if (!pending || !order || !users_start) {
        rc = -ENOMEM;
        goto out;
    }

    for (int v = 0; v < g->nvalues; v++) g->values[v].producer = -1;
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->nout; k++) {
            int v = n->out[k];
            if (v < 0) continue;
            if (g->values[v].producer >= 0 || value_available(&g->values[v])) {
                rc = ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                   "output '%s' is already produced elsewhere in the graph",
                                   g->values[v].name);
                goto out;
            }
            g->values[v].producer = i;
        }
    }

    /* Count, per node, inputs that some node must produce first. */
    int nedges = 0;
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            int v = n->in[k];
            if (v < 0 || value_available(&g->values[v])) continue;
            if (g->values[v].producer < 0) {
                rc = ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                   "input '%s' is not produced by any node, initializer or "
                                   "graph input",
                                   g->values[v].name);
                goto out;
            }
            pending[i]++;
            users_start[v + 1]++;
            nedges++;
        }
    }
    for (int v = 0; v < g->nvalues; v++) users_start[v + 1] += users_start[v];
    users = malloc(sizeof(int) * ((size_t)nedges + 1));
    int *fill = calloc((size_t)g->nvalues + 1, sizeof(int));
    if (!users || !fill) {
        free(fill);
        rc = -ENOMEM;
        goto out;
    }
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            int v = n->in[k];
            if (v < 0 || value_available(&g->values[v])) continue;
            users[users_start[v] + fill[v]++] = i;
        }
    }
    free(fill);

    /* Kahn's algorithm; the queue is the order array itself. Ready nodes are
     * taken in their original order, so an already sorted graph is unchanged. */
    int head = 0, tail = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (pending[i] == 0) order[tail++] = i;
    while (head < tail) {
        struct ir_node *n = &g->nodes[order[head++]];
        for (int k = 0; k < n->nout; k++) {
            int v = n->out[k];
            if (v < 0) continue;
            for (int u = users_start[v]; u < users_start[v + 1]; u++)
                if (--pending[users[u]] == 0) order[tail++] = users[u];
        }
    }
    if (tail != g->nnodes) {
        for (int i = 0; i < g->nnodes; i++)
            if (pending[i] > 0) {
                rc = ir_node_error(g, &g->nodes[i], INFERD_E_BAD_MODEL, err, errlen,
                                   "the graph has a cycle through this node");
                goto out;
            }
    }

    sorted = malloc(sizeof(*sorted) * ((size_t)g->nnodes + 1));
    if (!sorted) {
        rc = -ENOMEM;
        goto out;
    }
    for (int i = 0; i < g->nnodes; i++) sorted[i] = g->nodes[order[i]];
    if (g->nnodes > 0) /* nodes is NULL in a graph without any */
        memcpy(g->nodes, sorted, sizeof(*sorted) * (size_t)g->nnodes);
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i].nout; k++)
            if (g->nodes[i].out[k] >= 0) g->values[g->nodes[i].out[k]].producer = i;
out:
    free(sorted);
    free(users);
    free(users_start);
    free(order);
    free(pending);
    if (rc == -ENOMEM) ir_graph_error(g, rc, err, errlen, "out of memory while sorting the graph");
    return rc;
}

/* Evaluates node n at load when every input is constant, making its outputs
 * constants. Returns 1 when folded, 0 when not foldable, <0 on error. */
static int node_fold(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    if (!n->op->eval) return 0;
    for (int k = 0; k < n->nin; k++) {
        if (n->in[k] < 0) continue;
        const struct ir_value *v = &g->values[n->in[k]];
        if (!(v->flags & IR_VALUE_CONST) || !v->data) return 0;
    }
    int64_t total = 0;
    for (int k = 0; k < n->nout; k++) {
        if (n->out[k] < 0) continue;
        const struct ir_value *v = &g->values[n->out[k]];
        total += ir_shape_numel(&v->shape) * (int64_t)ir_dtype_size(v->dtype);
    }
    if (total > g->limits.max_fold_bytes) return 0;

    struct ir_tensor *in = calloc((size_t)n->nin + 1, sizeof(*in));
    struct ir_tensor *out = calloc((size_t)n->nout + 1, sizeof(*out));
    if (!in || !out) {
        free(in);
        free(out);
        return -ENOMEM;
    }
    for (int k = 0; k < n->nin; k++) {
        if (n->in[k] < 0)
            memset(&in[k], 0, sizeof(in[k]));
        else
            ir_value_tensor(g, n->in[k], &in[k]);
    }
    int rc = 0;
    for (int k = 0; k < n->nout; k++) {
        memset(&out[k], 0, sizeof(out[k]));
        if (n->out[k] < 0) continue;
        ir_value_tensor(g, n->out[k], &out[k]);
        out[k].data = ir_alloc(out[k].nbytes);
        if (!out[k].data) rc = -ENOMEM;
    }
    if (rc == 0) rc = n->op->eval(n->params, in, n->nin, out, n->nout);
    if (rc < 0) {
        for (int k = 0; k < n->nout; k++) ir_free(out[k].data);
        free(in);
        free(out);
        return ir_node_error(g, n, rc, err, errlen, "constant folding failed: %s",
                             inferd_strerror(rc));
    }
    for (int k = 0; k < n->nout; k++) {
        if (n->out[k] < 0) continue;
        struct ir_value *v = &g->values[n->out[k]];
        ir_value_set_const(g, n->out[k], &v->shape, out[k].data, out[k].nbytes);
    }
    free(in);
    free(out);
    return 1;
}

int ir_graph_infer(struct ir_graph *g, char *err, size_t errlen)
{
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        bool known = false;
        n->op = ir_op_find(n->op_type, n->opset, &known);
        if (!n->op) {
            if (known)
                return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                     "operator %s is not supported at opset %d", n->op_type,
                                     n->opset);
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen, "unknown operator '%s'",
                                 n->op_type);
        }
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0) g->values[n->out[k]].shape_known = false;
        int rc = n->op->infer(g, n, err, errlen);
        if (rc < 0) return rc;
        bool all_const = true;
        for (int k = 0; k < n->nout; k++) {
            if (n->out[k] < 0) continue;
            const struct ir_value *v = &g->values[n->out[k]];
            if (!v->shape_known)
                return ir_node_error(g, n, INFERD_E_INTERNAL, err, errlen,
                                     "shape inference left output '%s' unknown", v->name);
            if (!(v->flags & IR_VALUE_CONST)) all_const = false;
        }
        if (all_const) {
            n->dead = true;
            continue;
        }
        rc = node_fold(g, n, err, errlen);
        if (rc < 0) return rc;
        if (rc == 1) n->dead = true;
    }
    for (int i = 0; i < g->noutputs; i++) {
        const struct ir_value *v = &g->values[g->outputs[i]];
        if (!v->shape_known)
            return ir_graph_error(g, INFERD_E_BAD_MODEL, err, errlen,
                                  "graph output '%s' is never computed", v->name);
    }
    return 0;
}

void ir_graph_uses_count(struct ir_graph *g)
{
    for (int v = 0; v < g->nvalues; v++) g->values[v].nconsumers = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const struct ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0) g->values[n->in[k]].nconsumers++;
    }
}

int ir_graph_compact(struct ir_graph *g)
{
    int *remap = malloc(sizeof(int) * ((size_t)g->nvalues + 1));
    char *keep = calloc((size_t)g->nvalues + 1, 1);
    if (!remap || !keep) {
        free(remap);
        free(keep);
        return -ENOMEM;
    }
    for (int i = 0; i < g->ninputs; i++) keep[g->inputs[i]] = 1;
    for (int i = 0; i < g->noutputs; i++) keep[g->outputs[i]] = 1;
    int nn = 0;
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        if (n->dead) {
            ir_node_release(n);
            continue;
        }
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0) keep[n->in[k]] = 1;
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0) keep[n->out[k]] = 1;
        g->nodes[nn++] = *n;
    }
    g->nnodes = nn;
    int nv = 0;
    for (int v = 0; v < g->nvalues; v++) {
        g->values[v].producer = -1;
        if (!keep[v]) {
            free(g->values[v].name);
            ir_free(g->values[v].data);
            remap[v] = -1;
            continue;
        }
        remap[v] = nv;
        g->values[nv++] = g->values[v];
    }
    g->nvalues = nv;
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0) n->in[k] = remap[n->in[k]];
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0) n->out[k] = remap[n->out[k]];
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0) g->values[n->out[k]].producer = i;
    }
    for (int i = 0; i < g->ninputs; i++) g->inputs[i] = remap[g->inputs[i]];
    for (int i = 0; i < g->noutputs; i++) g->outputs[i] = remap[g->outputs[i]];
    free(remap);
    free(keep);
    ir_graph_uses_count(g);
    return 0;
}
