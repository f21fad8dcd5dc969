/* Graph passes: BatchNormalization folded into Conv, the activation fused,
 * Identity and inference Dropout removed, unused nodes dropped, graph output
 * names kept; and the optimized graph computes what the original did. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "op_harness.h"

/* Runs every live node's reference kernel in order (plus its fused
 * activation) with x as the graph's only runtime input; returns output 0. */
static float *graph_run(struct ir_graph *g, const float *x, size_t *n)
{
    void **buf = calloc((size_t)g->nvalues, sizeof(void *));
    assert_non_null(buf);
    struct ir_tensor t;
    ir_value_tensor(g, g->inputs[0], &t);
    buf[g->inputs[0]] = (void *)x;
    for (int i = 0; i < g->nnodes; i++) {
        const struct ir_node *nd = &g->nodes[i];
        if (nd->dead) continue;
        struct ir_tensor in[8], out[8];
        for (int k = 0; k < nd->nin; k++) {
            memset(&in[k], 0, sizeof(in[k]));
            if (nd->in[k] < 0) continue;
            ir_value_tensor(g, nd->in[k], &in[k]);
            if (!in[k].data) in[k].data = buf[nd->in[k]];
        }
        for (int k = 0; k < nd->nout; k++) {
            memset(&out[k], 0, sizeof(out[k]));
            if (nd->out[k] < 0) continue;
            ir_value_tensor(g, nd->out[k], &out[k]);
            out[k].data = buf[nd->out[k]] = ir_alloc(out[k].nbytes);
        }
        assert_int_equal(nd->op->eval(nd->params, in, nd->nin, out, nd->nout), 0);
        if (nd->act.kind != IR_ACT_NONE)
            ir_act_apply(&nd->act, out[0].data, out[0].nbytes / sizeof(float));
    }
    ir_value_tensor(g, g->outputs[0], &t);
    *n = t.nbytes / sizeof(float);
    float *y = malloc(t.nbytes);
    memcpy(y, buf[g->outputs[0]], t.nbytes);
    for (int v = 0; v < g->nvalues; v++)
        if (v != g->inputs[0]) ir_free(buf[v]);
    free(buf);
    return y;
}

static float rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void test_conv_bn_relu_identity(void **state)
{
    (void)state;
    enum { C = 3, M = 4, H = 5, W = 5 };
    unsigned seed = 7;
    struct ir_graph *g = oh_graph(13);
    int64_t xd[] = { 1, C, H, W }, wd[] = { M, C, 3, 3 }, md[] = { M };
    float w[M * C * 9], b[M], scale[M], bias[M], mean[M], var[M];
    for (int i = 0; i < M * C * 9; i++) w[i] = rnd(&seed);
    for (int i = 0; i < M; i++) {
        b[i] = rnd(&seed);
        scale[i] = 1.0f + 0.5f * rnd(&seed);
        bias[i] = rnd(&seed);
        mean[i] = rnd(&seed);
        var[i] = 1.5f + rnd(&seed);
    }
    int x = oh_input(g, "x", IR_DT_F32, 4, xd);
    int vw = oh_const_f32(g, "w", 4, wd, w), vb = oh_const_f32(g, "b", 1, md, b);
    int vs = oh_const_f32(g, "s", 1, md, scale), vbb = oh_const_f32(g, "bb", 1, md, bias);
    int vm = oh_const_f32(g, "m", 1, md, mean), vv = oh_const_f32(g, "v", 1, md, var);
    int conv = oh_node(g, "Conv", 3, (int[]){ x, vw, vb }, 1);
    ir_node_attr_set_ints(g, conv, "pads", (int64_t[]){ 1, 1, 1, 1 }, 4);
    int cy = g->nodes[conv].out[0];
    int bn = oh_node(g, "BatchNormalization", 5, (int[]){ cy, vs, vbb, vm, vv }, 1);
    int relu = oh_node(g, "Relu", 1, (int[]){ g->nodes[bn].out[0] }, 1);
    int idn = oh_node(g, "Identity", 1, (int[]){ g->nodes[relu].out[0] }, 1);
    /* Only the last node's output is the graph's. */
    for (int v = 0; v < g->nvalues; v++) g->values[v].flags &= ~(uint32_t)IR_VALUE_OUTPUT;
    int y = g->nodes[idn].out[0];
    g->outputs[0] = y;
    g->noutputs = 1;
    g->values[y].flags |= IR_VALUE_OUTPUT;
    free(g->values[y].name);
    g->values[y].name = strdup("prob");

    char err[256];
    assert_int_equal(oh_infer(g, err, sizeof(err)), 0);
    float xin[C * H * W];
    for (int i = 0; i < C * H * W; i++) xin[i] = rnd(&seed);
    size_t n0, n1;
    float *want = graph_run(g, xin, &n0);

    assert_int_equal(ir_graph_optimize(g, err, sizeof(err)), 0);
    assert_int_equal(g->nnodes, 1);
    assert_string_equal(g->nodes[0].op_type, "Conv");
    assert_int_equal(g->nodes[0].act.kind, IR_ACT_RELU);
    assert_string_equal(g->values[g->outputs[0]].name, "prob"); /* the output keeps its name */
    float *got = graph_run(g, xin, &n1);
    assert_int_equal(n0, n1);
    assert_int_equal(n0, (size_t)(M * H * W));
    for (size_t i = 0; i < n0; i++) assert_true(fabsf(got[i] - want[i]) <= 1e-5f);
    free(want);
    free(got);
    ir_graph_free(g);
}

static void test_clip_fused_and_dead_removed(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int64_t xd[] = { 1, 2, 3, 3 }, wd[] = { 2, 2, 1, 1 }, sd[] = { 0 };
    float w[] = { 1, -2, 3, 0.5f }, lo = 0.0f, hi = 6.0f;
    int x = oh_input(g, "x", IR_DT_F32, 4, xd);
    int vw = oh_const_f32(g, "w", 4, wd, w);
    int vlo = oh_const_f32(g, "lo", 0, sd, &lo), vhi = oh_const_f32(g, "hi", 0, sd, &hi);
    int conv = oh_node(g, "Conv", 2, (int[]){ x, vw }, 1);
    int clip = oh_node(g, "Clip", 3, (int[]){ g->nodes[conv].out[0], vlo, vhi }, 1);
    /* A branch nobody reads. */
    oh_node(g, "Relu", 1, (int[]){ x }, 1);
    for (int v = 0; v < g->nvalues; v++) g->values[v].flags &= ~(uint32_t)IR_VALUE_OUTPUT;
    g->outputs[0] = g->nodes[clip].out[0];
    g->noutputs = 1;
    g->values[g->outputs[0]].flags |= IR_VALUE_OUTPUT;
    char err[256];
    assert_int_equal(oh_infer(g, err, sizeof(err)), 0);
    assert_int_equal(ir_graph_optimize(g, err, sizeof(err)), 0);
    assert_int_equal(g->nnodes, 1);
    assert_int_equal(g->nodes[0].act.kind, IR_ACT_CLIP);
    assert_true(g->nodes[0].act.a == 0.0f && g->nodes[0].act.b == 6.0f);
    ir_graph_free(g);
}

static void test_shared_producer_not_fused(void **state)
{
    (void)state;
    /* Conv's output feeds Relu and is also a graph output: no fusion. */
    struct ir_graph *g = oh_graph(13);
    int64_t xd[] = { 1, 1, 2, 2 }, wd[] = { 1, 1, 1, 1 };
    float w[] = { 2 };
    int x = oh_input(g, "x", IR_DT_F32, 4, xd);
    int vw = oh_const_f32(g, "w", 4, wd, w);
    int conv = oh_node(g, "Conv", 2, (int[]){ x, vw }, 1);
    oh_node(g, "Relu", 1, (int[]){ g->nodes[conv].out[0] }, 1);
    char err[256];
    assert_int_equal(oh_infer(g, err, sizeof(err)), 0);
    assert_int_equal(ir_graph_optimize(g, err, sizeof(err)), 0);
    assert_int_equal(g->nnodes, 2);
    assert_int_equal(g->nodes[0].act.kind, IR_ACT_NONE);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_bn_relu_identity),
        cmocka_unit_test(test_clip_fused_and_dead_removed),
        cmocka_unit_test(test_shared_producer_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
