/* Graph passes run before any backend sees the graph: drop Identity and
 * inference-time Dropout, fold BatchNormalization into the Conv before it,
 * fuse activations (also the gated ones, x * sigmoid(x)) into their producer
 * and residual additions into the Conv before them, remove nodes nobody
 * reads.
 *
 * Each rewrite keeps the names of graph outputs (clients see them) and
 * re-runs the touched node's infer so its params match its new inputs. */
#include "ir.h"
#include "ops.h"

#include "inferd_error.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_op(const struct ir_node *n, const char *op_type)
{
    return !n->dead && strcmp(n->op_type, op_type) == 0;
}

static bool value_is_runtime_product(const struct ir_graph *g, int v)
{
    const struct ir_value *val = &g->values[v];
    return val->producer >= 0 && !(val->flags & (IR_VALUE_INPUT | IR_VALUE_CONST));
}

/* Replaces every read of value `from` by `to` in live nodes. */
static void value_reads_replace(struct ir_graph *g, int from, int to)
{
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == from) n->in[k] = to;
    }
}

/* The single live node reading value v, or NULL when zero or several read it. */
static struct ir_node *value_sole_reader(struct ir_graph *g, int v)
{
    struct ir_node *found = NULL;
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->nin; k++) {
            if (n->in[k] != v) continue;
            if (found) return NULL;
            found = n;
            break;
        }
    }
    return found;
}

/* Makes node `producer` write straight into value `dst` instead of its output
 * k (`src`), for when the node reading src is being removed. */
static void output_retarget(struct ir_graph *g, struct ir_node *producer, int k, int dst)
{
    producer->out[k] = dst;
    g->values[dst].producer = (int)(producer - g->nodes);
}

static int identities_remove(struct ir_graph *g)
{
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        if (!is_op(n, "Identity") && !is_op(n, "Dropout")) continue;
        if (n->nin < 1 || n->in[0] < 0 || n->out[0] < 0) continue;
        /* Dropout's mask output, when someone reads it, keeps the node. */
        bool mask_used = false;
        for (int k = 1; k < n->nout; k++)
            if (n->out[k] >= 0 && (g->values[n->out[k]].nconsumers > 0 ||
                                   (g->values[n->out[k]].flags & IR_VALUE_OUTPUT)))
                mask_used = true;
        if (mask_used) continue;
        int src = n->in[0], dst = n->out[0];
        if (!(g->values[dst].flags & IR_VALUE_OUTPUT)) {
            value_reads_replace(g, dst, src);
            n->dead = true;
            continue;
        }
        /* dst is a graph output: keep its name by making src's producer write
         * dst directly, when src is an ordinary intermediate. */
        if (!value_is_runtime_product(g, src) || (g->values[src].flags & IR_VALUE_OUTPUT)) continue;
        struct ir_node *p = &g->nodes[g->values[src].producer];
        for (int k = 0; k < p->nout; k++)
            if (p->out[k] == src) output_retarget(g, p, k, dst);
        value_reads_replace(g, src, dst);
        n->dead = true;
    }
    ir_graph_uses_count(g);
    return 0;
}

/* Conv(X, W, B) -> BatchNormalization(scale, bias, mean, var) becomes
 * Conv(X, W * s, (B - mean) * s + bias) with s = scale / sqrt(var + eps). */
static int batchnorm_fold(struct ir_graph *g, char *err, size_t errlen)
{
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *bn = &g->nodes[i];
        if (!is_op(bn, "BatchNormalization") || bn->nin < 5 || bn->out[0] < 0) continue;
        bool extra_outputs = false;
        for (int k = 1; k < bn->nout; k++)
            if (bn->out[k] >= 0) extra_outputs = true;
        if (extra_outputs) continue;
        int y = bn->in[0];
        if (!value_is_runtime_product(g, y) || (g->values[y].flags & IR_VALUE_OUTPUT)) continue;
        if (g->values[y].nconsumers != 1) continue;
        struct ir_node *conv = &g->nodes[g->values[y].producer];
        if (!is_op(conv, "Conv") || conv->act.kind != IR_ACT_NONE || conv->out[0] != y) continue;
        const struct ir_value *w = ir_node_input(g, conv, 1);
        const struct ir_value *b = ir_node_input(g, conv, 2);
        if (!w || !(w->flags & IR_VALUE_CONST) || !w->data || w->dtype != IR_DT_F32) continue;
        if (b && (!(b->flags & IR_VALUE_CONST) || !b->data || b->dtype != IR_DT_F32)) continue;
        const struct ir_value *p[4];
        bool ok = true;
        int64_t m = w->shape.dims[0];
        for (int k = 0; k < 4; k++) {
            p[k] = ir_node_input(g, bn, k + 1);
            if (!p[k] || !(p[k]->flags & IR_VALUE_CONST) || !p[k]->data ||
                p[k]->dtype != IR_DT_F32 || ir_shape_numel(&p[k]->shape) != m)
                ok = false;
        }
        if (!ok || w->shape.ndim < 3 || (b && ir_shape_numel(&b->shape) != m)) continue;

        float eps = ir_node_attr_float(bn, "epsilon", 1e-5f);
        const float *scale = p[0]->data, *bias = p[1]->data, *mean = p[2]->data, *var = p[3]->data;
        int64_t per = ir_shape_numel(&w->shape) / m;
        float *nw = ir_alloc(w->nbytes);
        float *nb = ir_alloc((size_t)m * sizeof(float));
        if (!nw || !nb) {
            ir_free(nw);
            ir_free(nb);
            return ir_node_error(g, bn, -ENOMEM, err, errlen, "out of memory folding into Conv");
        }
        const float *ow = w->data, *ob = b ? b->data : NULL;
        for (int64_t o = 0; o < m; o++) {
            float s = scale[o] / sqrtf(var[o] + eps);
            for (int64_t j = 0; j < per; j++) nw[o * per + j] = ow[o * per + j] * s;
            nb[o] = ((ob ? ob[o] : 0.0f) - mean[o]) * s + bias[o];
        }
        /* New constant values: the old weight may be shared with another node. */
        int conv_idx = (int)(conv - g->nodes), bn_idx = i;
        int vw = ir_graph_value_add(g, g->values[conv->in[1]].name, IR_DT_F32);
        if (vw < 0) {
            ir_free(nw);
            ir_free(nb);
            return vw;
        }
        struct ir_shape wshape = g->values[g->nodes[conv_idx].in[1]].shape;
        ir_value_set_const(g, vw, &wshape, nw, (size_t)(per * m) * sizeof(float));
        char bname[256];
        snprintf(bname, sizeof(bname), "%s.folded_bias", g->nodes[conv_idx].name);
        int vb = ir_graph_value_add(g, bname, IR_DT_F32);
        if (vb < 0) {
            ir_free(nb);
            return vb;
        }
        struct ir_shape bshape = { .ndim = 1, .dims = { m } };
        ir_value_set_const(g, vb, &bshape, nb, (size_t)m * sizeof(float));
        conv = &g->nodes[conv_idx];
        bn = &g->nodes[bn_idx];
        if (conv->nin < 3) {
            int *in = realloc(conv->in, sizeof(int) * 3);
            if (!in) return -ENOMEM;
            conv->in = in;
            conv->in[2] = -1;
            conv->nin = 3;
        }
        conv->in[1] = vw;
        conv->in[2] = vb;
        output_retarget(g, conv, 0, bn->out[0]);
        bn->dead = true;
        int rc = conv->op->infer(g, conv, err, errlen);
        if (rc < 0) return rc;
        ir_graph_uses_count(g);
    }
    return 0;
}

bool ir_act_read(const struct ir_graph *g, const struct ir_node *n, struct ir_act *act)
{
    memset(act, 0, sizeof(*act));
    if (is_op(n, "Relu")) {
        act->kind = IR_ACT_RELU;
    } else if (is_op(n, "LeakyRelu")) {
        act->kind = IR_ACT_LEAKY_RELU;
        act->a = ir_node_attr_float(n, "alpha", 0.01f);
    } else if (is_op(n, "Sigmoid")) {
        act->kind = IR_ACT_SIGMOID;
    } else if (is_op(n, "Tanh")) {
        act->kind = IR_ACT_TANH;
    } else if (is_op(n, "HardSigmoid")) {
        act->kind = IR_ACT_HARD_SIGMOID;
        act->a = ir_node_attr_float(n, "alpha", 0.2f);
        act->b = ir_node_attr_float(n, "beta", 0.5f);
    } else if (is_op(n, "HardSwish")) {
        act->kind = IR_ACT_HARD_SWISH;
    } else if (is_op(n, "Clip")) {
        act->kind = IR_ACT_CLIP;
        act->a = -FLT_MAX;
        act->b = FLT_MAX;
        if (n->opset < 11) {
            act->a = ir_node_attr_float(n, "min", -FLT_MAX);
            act->b = ir_node_attr_float(n, "max", FLT_MAX);
        } else {
            for (int k = 1; k < 3; k++) {
                if (k >= n->nin || n->in[k] < 0) continue;
                const struct ir_value *v = &g->values[n->in[k]];
                if (!(v->flags & IR_VALUE_CONST) || !v->data || v->dtype != IR_DT_F32 ||
                    ir_shape_numel(&v->shape) != 1)
                    return false;
                if (k == 1)
                    act->a = *(const float *)v->data;
                else
                    act->b = *(const float *)v->data;
            }
        }
    } else {
        return false;
    }
    return true;
}

static bool fusable_producer(const struct ir_node *p)
{
    static const char *const ops[] = { "Conv", "ConvTranspose", "Gemm", "MatMul", "Add" };
    if (p->dead || p->act.kind != IR_ACT_NONE) return false;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(p->op_type, ops[i]) == 0) return true;
    return false;
}

static int activations_fuse(struct ir_graph *g)
{
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        struct ir_act act;
        if (n->dead || n->nin < 1 || n->in[0] < 0 || n->out[0] < 0) continue;
        if (!ir_act_read(g, n, &act)) continue;
        int x = n->in[0];
        if (!value_is_runtime_product(g, x) || (g->values[x].flags & IR_VALUE_OUTPUT)) continue;
        if (g->values[x].dtype != IR_DT_F32 || g->values[x].nconsumers != 1) continue;
        struct ir_node *p = &g->nodes[g->values[x].producer];
        if (!fusable_producer(p) || p->out[0] != x) continue;
        if (value_sole_reader(g, x) != n) continue;
        p->act = act;
        output_retarget(g, p, 0, n->out[0]);
        n->dead = true;
        g->values[x].nconsumers = 0;
    }
    ir_graph_uses_count(g);
    return 0;
}

/* The live producer of value v when v is an ordinary intermediate that only
 * `readers` nodes read and that is not a graph output; else NULL. */
static struct ir_node *intermediate_producer(struct ir_graph *g, int v, int readers)
{
    if (v < 0 || !value_is_runtime_product(g, v) || (g->values[v].flags & IR_VALUE_OUTPUT))
        return NULL;
    if (g->values[v].dtype != IR_DT_F32 || g->values[v].nconsumers != readers) return NULL;
    struct ir_node *p = &g->nodes[g->values[v].producer];
    return p->dead ? NULL : p;
}

/* x * Sigmoid(x) (EfficientNet's SiLU) and x * HardSigmoid(x) with alpha 1/6,
 * beta 1/2 (how torch exports HardSwish before opset 14) become the producer
 * of x's activation: Mul(x, act(x)) with x read by exactly those two nodes. */
static int gated_activations_fuse(struct ir_graph *g)
{
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *mul = &g->nodes[i];
        if (!is_op(mul, "Mul") || mul->nin != 2 || mul->out[0] < 0 || mul->act.kind != IR_ACT_NONE)
            continue;
        for (int k = 0; k < 2; k++) {
            int x = mul->in[k], gate = mul->in[1 - k];
            struct ir_node *an = intermediate_producer(g, gate, 1);
            if (!an || an->nin < 1 || an->in[0] != x || an->out[0] != gate) continue;
            struct ir_act act;
            if (!ir_act_read(g, an, &act)) continue;
            if (act.kind == IR_ACT_SIGMOID) {
                act.kind = IR_ACT_SILU;
            } else if (act.kind == IR_ACT_HARD_SIGMOID && act.a == 1.0f / 6.0f && act.b == 0.5f) {
                act.kind = IR_ACT_HARD_SWISH;
                act.a = act.b = 0.0f;
            } else {
                continue;
            }
            struct ir_node *p = intermediate_producer(g, x, 2);
            if (!p || !fusable_producer(p) || p->out[0] != x) continue;
            if (!ir_shape_equal(&g->values[x].shape, &g->values[mul->out[0]].shape)) continue;
            p->act = act;
            output_retarget(g, p, 0, mul->out[0]);
            an->dead = true;
            mul->dead = true;
            ir_graph_uses_count(g);
            break;
        }
    }
    return 0;
}

/* Conv -> Add(other) [-> activation already fused into the Add] becomes one
 * Conv whose input 3 is `other` (ir_act.sum), so the residual is added in the
 * convolution's epilogue while its output is in cache. The Conv must come
 * after other's producer in node order (the graph stays sorted); of two Conv
 * operands the later one is taken. */
static int residual_adds_fuse(struct ir_graph *g)
{
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *add = &g->nodes[i];
        if (!is_op(add, "Add") || add->nin != 2 || add->out[0] < 0 || add->act.sum) continue;
        int y = add->out[0];
        struct ir_node *best = NULL;
        int best_k = -1;
        for (int k = 0; k < 2; k++) {
            int a = add->in[k], other = add->in[1 - k];
            if (a < 0 || other < 0) continue;
            if (!ir_shape_equal(&g->values[a].shape, &g->values[y].shape) ||
                !ir_shape_equal(&g->values[other].shape, &g->values[y].shape) ||
                g->values[other].dtype != IR_DT_F32)
                continue;
            struct ir_node *conv = intermediate_producer(g, a, 1);
            if (!conv || !is_op(conv, "Conv") || conv->act.kind != IR_ACT_NONE || conv->act.sum ||
                conv->out[0] != a || conv->nin > 3)
                continue;
            int op = g->values[other].producer;
            if (op >= 0 && op >= (int)(conv - g->nodes)) continue;
            if (!best || conv > best) {
                best = conv;
                best_k = k;
            }
        }
        if (!best) continue;
        int conv_idx = (int)(best - g->nodes), other = add->in[1 - best_k];
        int *in = realloc(best->in, sizeof(int) * 4);
        if (!in) return -ENOMEM;
        best->in = in;
        for (int k = best->nin; k < 3; k++) best->in[k] = -1;
        best->in[3] = other;
        best->nin = 4;
        best->act = add->act;
        best->act.sum = 3;
        output_retarget(g, &g->nodes[conv_idx], 0, y);
        add->dead = true;
        ir_graph_uses_count(g);
    }
    return 0;
}

/* Marks dead every node none of whose outputs is read or is a graph output,
 * walking backwards so chains die in one sweep. */
static void unused_remove(struct ir_graph *g)
{
    ir_graph_uses_count(g);
    for (int i = g->nnodes - 1; i >= 0; i--) {
        struct ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        bool used = false;
        for (int k = 0; k < n->nout; k++) {
            int v = n->out[k];
            if (v >= 0 && (g->values[v].nconsumers > 0 || (g->values[v].flags & IR_VALUE_OUTPUT)))
                used = true;
        }
        if (used) continue;
        n->dead = true;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0) g->values[n->in[k]].nconsumers--;
    }
}

int ir_graph_optimize(struct ir_graph *g, char *err, size_t errlen)
{
    int rc;
    unused_remove(g);
    if ((rc = identities_remove(g)) < 0) return rc;
    if ((rc = batchnorm_fold(g, err, errlen)) < 0) return rc;
    if ((rc = gated_activations_fuse(g)) < 0) return rc;
    if ((rc = activations_fuse(g)) < 0) return rc;
    if ((rc = residual_adds_fuse(g)) < 0)
        return ir_graph_error(g, rc, err, errlen, "out of memory fusing residual additions");
    unused_remove(g);
    if ((rc = ir_graph_compact(g)) < 0)
        return ir_graph_error(g, rc, err, errlen, "out of memory compacting the graph");
    return 0;
}
