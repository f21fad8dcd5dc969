/* BatchNormalization, InstanceNormalization, LRN, Gemm, MatMul, Softmax,
 * LogSoftmax, Reduce*, ArgMax/ArgMin: values against numpy/torch (inputs from
 * nn_fill), opset variants, and error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_error.h"
#include "nn_test.h"
#include "ops_nn.h"

static const int64_t d1[] = { 1 };

/* One node over the given inputs at opset, nout outputs. */
static int node(struct ir_graph *g, const char *op, int nin, const int *in, int nout)
{
    int n = oh_node(g, op, nin, in, nout);
    assert_true(n >= 0);
    return n;
}

/* --- BatchNormalization ------------------------------------------------ */

static const float bn_var[] = { 1.5f, 1.25f, 1.25f };

static struct ir_graph *bn_graph(int opset, int nout, int *n)
{
    static const int64_t xd[] = { 2, 3, 2, 2 }, cd[] = { 3 };
    struct ir_graph *g = oh_graph(opset);
    int in[] = { nn_const_filled(g, "x", 4, xd, 1), nn_const_filled(g, "scale", 1, cd, 2),
                 nn_const_filled(g, "bias", 1, cd, 3), nn_const_filled(g, "mean", 1, cd, 4),
                 oh_const_f32(g, "var", 1, cd, bn_var) };
    *n = node(g, "BatchNormalization", 5, in, nout);
    return g;
}

static void test_batchnorm_opsets(void **state)
{
    (void)state;
    /* F.batch_norm(x, mean, var, scale, bias, training=False, eps=1e-5) */
    static const float expect[] = {
        0.75f,       0.75f,      0.75f,      0.75f,      -0.41459113f, -2.7624531f,
        -0.75f,      1.2624532f, 1.3913105f, 1.0559015f, 1.4472119f,   1.1118031f,
        0.75f,       0.75f,      0.75f,      0.75f,      -2.4270444f,  -0.41459113f,
        -2.7624531f, -0.75f,     1.0f,       1.3913105f, 1.0559015f,   1.4472119f,
    };
    static const int64_t xd[] = { 2, 3, 2, 2 };
    static const int opsets[] = { 7, 9, 14, 15 };
    for (int i = 0; i < 4; i++) {
        int n;
        struct ir_graph *g = bn_graph(opsets[i], 1, &n);
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 4, xd, expect, 1e-6);
        const struct ir_batchnorm_params *p = g->nodes[n].params;
        assert_false(p->per_activation);
        assert_true(p->epsilon == 1e-5f);
        ir_graph_free(g);
    }
}

static void test_batchnorm_spatial0(void **state)
{
    (void)state;
    /* Opset 7, spatial=0: statistics per element of [C, H, W];
     * (x - mean) / sqrt(var + 0.01) * scale + bias in numpy. */
    static const float expect[] = {
        0.75f,      -2.0863061f, 1.2227176f,    -1.5172355f, 1.7475185f,  -1.0037783f,
        2.3603089f, 1.1902708f,  -0.099719919f, 1.0435138f,  0.18384834f, 0.92400032f,
        0.75f,      0.25222966f, 1.5567943f,    0.26292667f, 2.4937966f,  0.31533378f,
        3.6507726f, 0.39675692f, -2.55021f,     0.51450461f, -2.3253863f, 0.64133346f,
    };
    static const float var[] = { 1.5, 1.25, 1.25, 1.5, 1, 1.75, 0.75, 2, 0.5, 2, 0.75, 1.75 };
    static const int64_t xd[] = { 2, 3, 2, 2 }, sd[] = { 3, 2, 2 };
    struct ir_graph *g = oh_graph(7);
    int in[] = { nn_const_filled(g, "x", 4, xd, 1), nn_const_filled(g, "scale", 3, sd, 2),
                 nn_const_filled(g, "bias", 3, sd, 3), nn_const_filled(g, "mean", 3, sd, 4),
                 oh_const_f32(g, "var", 3, sd, var) };
    int n = node(g, "BatchNormalization", 5, in, 1);
    ir_node_attr_set_int(g, n, "spatial", 0);
    ir_node_attr_set_float(g, n, "epsilon", 0.01f);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, xd, expect, 1e-6);
    ir_graph_free(g);
}

static void test_batchnorm_errors(void **state)
{
    (void)state;
    int n;
    struct ir_graph *g = bn_graph(15, 1, &n);
    ir_node_attr_set_int(g, n, "training_mode", 1);
    nn_expect_error(g, n, INFERD_E_UNSUPPORTED,
                    "training_mode=1 is not supported: inferd runs inference only");
    ir_graph_free(g);

    g = bn_graph(9, 5, &n);
    nn_expect_error(g, n, INFERD_E_UNSUPPORTED,
                    "output 1 'BatchNormalization_0_out1' (running or saved statistics) is not "
                    "supported: inferd runs inference only");
    ir_graph_free(g);

    static const int64_t xd[] = { 1, 4, 2, 2 }, cd[] = { 4 }, bad[] = { 3 };
    g = oh_graph(14);
    int in[] = { oh_input(g, "x", IR_DT_F32, 4, xd), oh_input(g, "s", IR_DT_F32, 1, cd),
                 oh_input(g, "b", IR_DT_F32, 1, bad), oh_input(g, "m", IR_DT_F32, 1, cd),
                 oh_input(g, "v", IR_DT_F32, 1, cd) };
    n = node(g, "BatchNormalization", 5, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "bias shape [3] does not match 4 channels");
    ir_graph_free(g);

    g = oh_graph(14);
    in[0] = oh_input(g, "x", IR_DT_F32, 4, xd);
    in[1] = oh_input(g, "s", IR_DT_F32, 1, cd);
    in[2] = -1;
    in[3] = oh_input(g, "m", IR_DT_F32, 1, cd);
    in[4] = oh_input(g, "v", IR_DT_F32, 1, cd);
    n = node(g, "BatchNormalization", 5, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "required input 2 is missing");
    ir_graph_free(g);
}

/* --- InstanceNormalization, LRN --------------------------------------- */

static void test_instancenorm(void **state)
{
    (void)state;
    /* test_instancenorm_example */
    static const float x[] = { -1, 0, 1, 2, 3, 4 }, s[] = { 1.0f, 1.5f }, b[] = { 0, 1 };
    static const float expect[] = { -1.2247356f, 0.0f, 1.2247356f, -0.83710349f, 1.0f, 2.8371034f };
    static const int64_t xd[] = { 1, 2, 1, 3 }, cd[] = { 2 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { oh_const_f32(g, "x", 4, xd, x), oh_const_f32(g, "s", 1, cd, s),
                 oh_const_f32(g, "b", 1, cd, b) };
    int n = node(g, "InstanceNormalization", 3, in, 1);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, xd, expect, 1e-6);
    ir_graph_free(g);

    g = oh_graph(13);
    in[0] = oh_input(g, "x", IR_DT_F32, 4, xd);
    in[1] = oh_const_f32(g, "s", 1, d1, s);
    in[2] = oh_const_f32(g, "b", 1, cd, b);
    n = node(g, "InstanceNormalization", 3, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "scale shape [1] does not match 2 channels");
    ir_graph_free(g);
}

static void test_lrn(void **state)
{
    (void)state;
    /* The ONNX formula in numpy: channels [c - floor((size-1)/2),
     * c + ceil((size-1)/2)]; for size 2 that is c and c+1 (torch's
     * local_response_norm takes c-1 and c instead). */
    static const float lrn3[] = { -0.2480645f, 0.98585427f,  0.0f,        -0.88843715f,
                                  0.24065916f, -0.80367202f, 0.48131832f, -0.76588398f };
    static const float lrn2[] = { -0.2471098f, 0.85225993f,  0.0f,        -0.90791196f,
                                  0.2362861f,  -0.86228937f, 0.47777486f, -0.84589702f };
    static const int64_t xd[] = { 1, 4, 1, 2 };
    for (int size = 2; size <= 3; size++) {
        struct ir_graph *g = oh_graph(13);
        int in[] = { nn_const_filled(g, "x", 4, xd, 6) };
        int n = node(g, "LRN", 1, in, 1);
        ir_node_attr_set_int(g, n, "size", size);
        ir_node_attr_set_float(g, n, "alpha", 0.5f);
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 4, xd, size == 3 ? lrn3 : lrn2, 1e-6);
        ir_graph_free(g);
    }
    struct ir_graph *g = oh_graph(13);
    int in[] = { nn_const_filled(g, "x", 4, xd, 6) };
    int n = node(g, "LRN", 1, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "attribute size is required");
    ir_graph_free(g);
}

/* --- Gemm, MatMul ------------------------------------------------------ */

static void test_gemm_transposed(void **state)
{
    (void)state;
    /* 0.5 * A^T B^T + 2 * C, C [3,1] broadcast along N */
    static const float expect[] = { 1.34375f, 1.15625f, -1.8125f, -1.875f, 1.53125f, 1.59375f };
    static const int64_t ad[] = { 4, 3 }, bd[] = { 2, 4 }, cd[] = { 3, 1 }, od[] = { 3, 2 };
    struct ir_graph *g = oh_graph(9);
    int in[] = { nn_const_filled(g, "a", 2, ad, 1), nn_const_filled(g, "b", 2, bd, 2),
                 nn_const_filled(g, "c", 2, cd, 3) };
    int n = node(g, "Gemm", 3, in, 1);
    ir_node_attr_set_int(g, n, "transA", 1);
    ir_node_attr_set_int(g, n, "transB", 1);
    ir_node_attr_set_float(g, n, "alpha", 0.5f);
    ir_node_attr_set_float(g, n, "beta", 2.0f);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 2, od, expect, 1e-6);
    const struct ir_gemm_params *p = g->nodes[n].params;
    assert_int_equal(p->m, 3);
    assert_int_equal(p->n, 2);
    assert_int_equal(p->k, 4);
    assert_int_equal(p->c_m, 3);
    assert_int_equal(p->c_n, 1);
    ir_graph_free(g);
}

static void test_gemm_one_row(void **state)
{
    (void)state;
    /* A [1,5] x B [5,3] with C [3], C absent (opset 11+) and a scalar C. */
    static const float with_c[] = { -2.375f, 1.6875f, -2.375f };
    static const float no_c[] = { -2.125f, 0.1875f, -2.375f };
    static const float scalar_c[] = { -1.625f, 0.6875f, -1.875f };
    static const int64_t ad[] = { 1, 5 }, bd[] = { 5, 3 }, cd[] = { 3 }, od[] = { 1, 3 };
    static const float half = 0.5f;
    for (int variant = 0; variant < 3; variant++) {
        struct ir_graph *g = oh_graph(13);
        int in[] = { nn_const_filled(g, "a", 2, ad, 4), nn_const_filled(g, "b", 2, bd, 5), -1 };
        if (variant == 0) in[2] = nn_const_filled(g, "c", 1, cd, 6);
        if (variant == 2) in[2] = oh_const_f32(g, "c", 0, NULL, &half);
        int n = node(g, "Gemm", variant == 1 ? 2 : 3, in, 1);
        nn_infer_ok(g);
        const float *expect = variant == 0 ? with_c : variant == 1 ? no_c : scalar_c;
        nn_expect_f32(oh_out(g, n, 0), 2, od, expect, 1e-6);
        ir_graph_free(g);
    }
}

static void test_gemm_errors(void **state)
{
    (void)state;
    static const int64_t ad[] = { 2, 3 }, bd[] = { 4, 5 }, b3[] = { 3, 5 }, cd[] = { 3, 5 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { oh_input(g, "a", IR_DT_F32, 2, ad), oh_input(g, "b", IR_DT_F32, 2, bd) };
    int n = node(g, "Gemm", 2, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "inner dimensions differ: A [2,3] (transA=0) gives K=3, B [4,5] (transB=0) "
                    "gives K=4");
    ir_graph_free(g);

    g = oh_graph(9);
    in[0] = oh_input(g, "a", IR_DT_F32, 2, ad);
    in[1] = oh_input(g, "b", IR_DT_F32, 2, b3);
    n = node(g, "Gemm", 2, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "expects 3 inputs, got 2");
    ir_graph_free(g);

    g = oh_graph(13);
    int in3[] = { oh_input(g, "a", IR_DT_F32, 2, ad), oh_input(g, "b", IR_DT_F32, 2, b3),
                  oh_input(g, "c", IR_DT_F32, 2, cd) };
    n = node(g, "Gemm", 3, in3, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "C shape [3,5] does not broadcast to [2,5]");
    ir_graph_free(g);

    g = oh_graph(13);
    in[0] = oh_input(g, "a", IR_DT_F32, 1, ad);
    in[1] = oh_input(g, "b", IR_DT_F32, 2, b3);
    n = node(g, "Gemm", 2, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "A [2] and B [3,5] must both be matrices");
    ir_graph_free(g);
}

static void test_matmul_broadcast(void **state)
{
    (void)state;
    /* np.matmul: [2,1,2,3] x [3,3,2] -> [2,3,2,2] */
    static const float expect[] = {
        0.0f,     0.375f,  0.6875f,  -3.0625f, -0.1875f, 0.1875f, 2.5625f, -1.1875f,
        -2.0f,    0.0f,    0.375f,   0.6875f,  -0.25f,   1.625f,  -0.375f, 2.25f,
        -1.1875f, 0.6875f, -1.6875f, 0.9375f,  1.9375f,  -0.25f,  -1.375f, -0.375f,
    };
    static const int64_t ad[] = { 2, 1, 2, 3 }, bd[] = { 3, 3, 2 }, od[] = { 2, 3, 2, 2 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { nn_const_filled(g, "a", 4, ad, 1), nn_const_filled(g, "b", 3, bd, 2) };
    int n = node(g, "MatMul", 2, in, 1);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 1e-6);
    const struct ir_matmul_params *p = g->nodes[n].params;
    assert_int_equal(p->nbatch, 2);
    assert_int_equal(p->a_stride[0], 6);
    assert_int_equal(p->a_stride[1], 0);
    assert_int_equal(p->b_stride[0], 0);
    assert_int_equal(p->b_stride[1], 6);
    ir_graph_free(g);
}

static void test_matmul_vectors(void **state)
{
    (void)state;
    static const float vm[] = { 0.3125f, -1.1875f, 1.0625f, -0.4375f, 1.0f, 0.3125f };
    static const float mv[] = { -0.375f, 1.625f }, vv[] = { -2.0625f };
    static const int64_t vd[] = { 3 }, bd[] = { 3, 3, 2 }, md[] = { 2, 3 };
    static const int64_t od_vm[] = { 3, 2 }, od_mv[] = { 2 };
    struct ir_graph *g = oh_graph(13);
    int v = nn_const_filled(g, "v", 1, vd, 3);
    int in_vm[] = { v, nn_const_filled(g, "b", 3, bd, 2) };
    int in_mv[] = { nn_const_filled(g, "m", 2, md, 4), v };
    int in_vv[] = { v, nn_const_filled(g, "v2", 1, vd, 5) };
    int n_vm = node(g, "MatMul", 2, in_vm, 1);
    int n_mv = node(g, "MatMul", 2, in_mv, 1);
    int n_vv = node(g, "MatMul", 2, in_vv, 1);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n_vm, 0), 2, od_vm, vm, 1e-6);
    nn_expect_f32(oh_out(g, n_mv, 0), 1, od_mv, mv, 1e-6);
    nn_expect_f32(oh_out(g, n_vv, 0), 0, NULL, vv, 1e-6);
    ir_graph_free(g);

    static const int64_t ad[] = { 2, 2, 3 }, b4[] = { 3, 4, 2 };
    g = oh_graph(13);
    int in[] = { oh_input(g, "a", IR_DT_F32, 3, ad), oh_input(g, "b", IR_DT_F32, 3, b4) };
    int n = node(g, "MatMul", 2, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "inner dimensions differ: A [2,2,3] has K=3, B [3,4,2] has K=4");
    ir_graph_free(g);

    static const int64_t b3[] = { 3, 3, 2 };
    g = oh_graph(13);
    in[0] = oh_input(g, "a", IR_DT_F32, 3, ad);
    in[1] = oh_input(g, "b", IR_DT_F32, 3, b3);
    n = node(g, "MatMul", 2, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "batch dimensions of A [2,2,3] and B [3,3,2] do not broadcast");
    ir_graph_free(g);
}

/* --- Softmax, LogSoftmax ---------------------------------------------- */

static void test_softmax_opsets(void **state)
{
    (void)state;
    /* x = 2 * fill([2,3,2], 7), axis 1. Opset 11 coerces to [2,6] and
     * normalizes each row of 6; opset 13 normalizes along axis 1 only. */
    static const float sm11[] = { 0.17748716f, 0.0088365665f, 0.29262689f,   0.014569035f,
                                  0.48246014f, 0.024020275f,  0.34246397f,   0.017050277f,
                                  0.56462759f, 0.028111152f,  0.0013995719f, 0.046347462f };
    static const float sm13[] = { 0.18632372f, 0.18632372f, 0.3071959f,    0.3071959f,
                                  0.5064804f,  0.5064804f,  0.37695906f,   0.18632372f,
                                  0.62150043f, 0.3071959f,  0.0015405454f, 0.5064804f };
    /* LogSoftmax-13 with the default axis -1. */
    static const float lsm13[] = { -0.048587341f, -3.0485873f, -0.048587341f, -3.0485873f,
                                   -0.048587341f, -3.0485873f, -0.048587341f, -3.0485873f,
                                   -0.048587341f, -3.0485873f, -3.5297503f,   -0.02975044f };
    static const int64_t xd[] = { 2, 3, 2 };
    float x[12];
    nn_fill(x, 12, 7);
    for (int i = 0; i < 12; i++) x[i] *= 2;
    for (int variant = 0; variant < 3; variant++) {
        struct ir_graph *g = oh_graph(variant == 0 ? 11 : 13);
        int in[] = { oh_const_f32(g, "x", 3, xd, x) };
        int n = node(g, variant == 2 ? "LogSoftmax" : "Softmax", 1, in, 1);
        if (variant < 2) ir_node_attr_set_int(g, n, "axis", 1);
        nn_infer_ok(g);
        const float *expect = variant == 0 ? sm11 : variant == 1 ? sm13 : lsm13;
        nn_expect_f32(oh_out(g, n, 0), 3, xd, expect, 1e-6);
        ir_graph_free(g);
    }
}

static void test_softmax_large_and_default_axis(void **state)
{
    (void)state;
    /* test_softmax_large_number: the max shift keeps 10000.. finite. */
    static const float x[] = { 0, 1, 2, 3, 10000, 10001, 10002, 10003 };
    static const float expect[] = { 0.032058604f, 0.087144323f, 0.23688281f, 0.64391428f,
                                    0.032058604f, 0.087144323f, 0.23688281f, 0.64391428f };
    static const int64_t xd[] = { 2, 4 };
    for (int opset = 11; opset <= 13; opset += 2) {
        /* Default axis: 1 before opset 13, -1 from 13; the same here. */
        struct ir_graph *g = oh_graph(opset);
        int in[] = { oh_const_f32(g, "x", 2, xd, x) };
        int n = node(g, "Softmax", 1, in, 1);
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 2, xd, expect, 1e-6);
        ir_graph_free(g);
    }
    struct ir_graph *g = oh_graph(13);
    int in[] = { oh_input(g, "x", IR_DT_F32, 2, xd) };
    int n = node(g, "Softmax", 1, in, 1);
    ir_node_attr_set_int(g, n, "axis", 2);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "axis 2 is out of range for input shape [2,4]");
    ir_graph_free(g);
}

/* --- Reduce* ----------------------------------------------------------- */

static const int64_t rx[] = { 2, 3, 2, 2 };

/* Op over fill(rx, 8) with the axes attribute (or none when naxes < 0). */
static void check_reduce(const char *op, int opset, const int64_t *axes, int naxes, int keepdims,
                         int ndim, const int64_t *od, const float *expect)
{
    struct ir_graph *g = oh_graph(opset);
    int in[] = { nn_const_filled(g, "x", 4, rx, 8) };
    int n = node(g, op, 1, in, 1);
    if (naxes >= 0) ir_node_attr_set_ints(g, n, "axes", axes, naxes);
    ir_node_attr_set_int(g, n, "keepdims", keepdims);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), ndim, od, expect, 1e-6);
    ir_graph_free(g);
}

static void test_reduce_attr_axes(void **state)
{
    (void)state;
    static const float mean23[] = { 0.625f, -0.5f, 0.0f, 0.5f, -0.625f, -0.125f };
    static const float max_last[] = { 1.25f, 1.5f, 0.25f, 0.5f,  0.75f, 1.0f,
                                      1.25f, 1.5f, 0.0f,  0.25f, 0.5f,  0.75f };
    static const float min0[] = { -0.5f,  -0.25f, -0.25f, 0.0f,  -1.5f,  -1.5f,
                                  -1.25f, -1.25f, -1.0f,  -1.0f, -0.75f, -0.75f };
    static const float prod13[] = { -0.087890625f, 0.0f, -0.0f, -0.065917969f };
    static const float l2_2[] = { 1.9525625f, 0.25f,      1.9525625f,  0.559017f,
                                  1.25f,      1.25f,      0.559017f,   1.9525625f,
                                  0.25f,      1.9525625f, 0.90138781f, 1.25f };
    static const float lse02[] = { 2.2361636f, 2.2773528f, 1.0273527f,
                                   1.2361636f, 1.5273527f, 1.7361636f };
    static const float sum_all[] = { -0.5f };
    static const int64_t a23[] = { 2, 3 }, am1[] = { -1 }, a0[] = { 0 }, a13[] = { 1, 3 };
    static const int64_t a2[] = { 2 }, a02[] = { 0, 2 };
    static const int64_t od_mean[] = { 2, 3, 1, 1 }, od_max[] = { 2, 3, 2 };
    static const int64_t od_min[] = { 1, 3, 2, 2 }, od_prod[] = { 2, 2 };
    static const int64_t od_l2[] = { 2, 3, 1, 2 }, od_lse[] = { 3, 2 }, od_all[] = { 1, 1, 1, 1 };
    /* ReduceMean over (2,3) with keepdims: the zoo's pooling pattern. */
    check_reduce("ReduceMean", 13, a23, 2, 1, 4, od_mean, mean23);
    check_reduce("ReduceMax", 11, am1, 1, 0, 3, od_max, max_last);
    check_reduce("ReduceMin", 13, a0, 1, 1, 4, od_min, min0);
    check_reduce("ReduceProd", 13, a13, 2, 0, 2, od_prod, prod13);
    check_reduce("ReduceL2", 13, a2, 1, 1, 4, od_l2, l2_2);
    check_reduce("ReduceLogSumExp", 13, a02, 2, 0, 2, od_lse, lse02);
    /* No axes: everything. */
    check_reduce("ReduceSum", 11, NULL, -1, 1, 4, od_all, sum_all);
    check_reduce("ReduceSum", 11, NULL, -1, 0, 0, NULL, sum_all);
}

/* ReduceSum-13 with axes as input 1 (absent when axes is NULL). */
static struct ir_graph *reduce_sum13(const int64_t *axes, int64_t naxes, int *n)
{
    struct ir_graph *g = oh_graph(13);
    int in[] = { nn_const_filled(g, "x", 4, rx, 8), -1 };
    if (axes) in[1] = oh_const_i64(g, "axes", 1, &naxes, axes);
    *n = node(g, "ReduceSum", axes ? 2 : 1, in, 1);
    return g;
}

static void test_reduce_sum_axes_input(void **state)
{
    (void)state;
    static const float sum1[] = { -1.25f, 0.75f, -0.5f, 1.5f, 0.0f, -1.25f, 0.75f, -0.5f };
    static const float sum_all[] = { -0.5f };
    static const int64_t a1[] = { 1 }, od1[] = { 2, 2, 2 }, od_all[] = { 1, 1, 1, 1 };
    int n;
    struct ir_graph *g = reduce_sum13(a1, 1, &n);
    ir_node_attr_set_int(g, n, "keepdims", 0);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 3, od1, sum1, 1e-6);
    ir_graph_free(g);

    /* Empty axes (or none): reduce everything... */
    for (int present = 0; present < 2; present++) {
        g = reduce_sum13(present ? a1 : NULL, 0, &n);
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 4, od_all, sum_all, 1e-6);
        ir_graph_free(g);
    }
    /* ...unless noop_with_empty_axes: a copy. */
    float x[24];
    nn_fill(x, 24, 8);
    g = reduce_sum13(a1, 0, &n);
    ir_node_attr_set_int(g, n, "noop_with_empty_axes", 1);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, rx, x, 0);
    ir_graph_free(g);

    /* Opset 18 moves the other reductions' axes to an input too. */
    static const float mean23[] = { 0.625f, -0.5f, 0.0f, 0.5f, -0.625f, -0.125f };
    static const int64_t a23[] = { 2, 3 }, two = 2, od_mean[] = { 2, 3, 1, 1 };
    g = oh_graph(18);
    int in[] = { nn_const_filled(g, "x", 4, rx, 8), oh_const_i64(g, "axes", 1, &two, a23) };
    n = node(g, "ReduceMean", 2, in, 1);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od_mean, mean23, 1e-6);
    ir_graph_free(g);
}

static void test_reduce_errors(void **state)
{
    (void)state;
    static const int64_t a4[] = { 4 }, dup[] = { 1, -3 }, one = 1;
    struct ir_graph *g = oh_graph(13);
    int in[] = { oh_input(g, "x", IR_DT_F32, 4, rx), -1 };
    int n = node(g, "ReduceMean", 1, in, 1);
    ir_node_attr_set_ints(g, n, "axes", a4, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "axis 4 is out of range for input shape [2,3,2,2]");
    ir_graph_free(g);

    g = oh_graph(13);
    in[0] = oh_input(g, "x", IR_DT_F32, 4, rx);
    n = node(g, "ReduceMax", 1, in, 1);
    ir_node_attr_set_ints(g, n, "axes", dup, 2);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "axis -3 is repeated for input shape [2,3,2,2]");
    ir_graph_free(g);

    /* Axes computed at run time would make the output shape dynamic. */
    g = oh_graph(13);
    in[0] = oh_input(g, "x", IR_DT_F32, 4, rx);
    in[1] = oh_input(g, "axes", IR_DT_I64, 1, &one);
    n = node(g, "ReduceSum", 2, in, 1);
    nn_expect_error(g, n, INFERD_E_UNSUPPORTED,
                    "input 1 'axes' must be constant at load (dynamic shapes are not supported)");
    ir_graph_free(g);

    g = oh_graph(13);
    in[0] = oh_input(g, "x", IR_DT_I32, 4, rx);
    n = node(g, "ReduceSum", 1, in, 1);
    nn_expect_error(g, n, INFERD_E_UNSUPPORTED,
                    "input 0 'x' has dtype int32, not supported here (expected float32)");
    ir_graph_free(g);
}

/* --- ArgMax, ArgMin ---------------------------------------------------- */

static void test_argmax(void **state)
{
    (void)state;
    /* Ties at [0,0]/[0,2] and [1,1]/[1,2] tell first from last index. */
    static const float x[] = { 2, 1, 2, 3, 10, 10 };
    static const int64_t xd[] = { 2, 3 }, od_keep[] = { 2, 1 }, od_drop[] = { 2 };
    static const int64_t od_axis0[] = { 1, 3 };
    static const int64_t first[] = { 0, 1 }, last[] = { 2, 2 }, axis0[] = { 1, 1, 1 };
    static const int64_t min_first[] = { 1, 0 }, min_axis0[] = { 0, 0, 0 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { oh_const_f32(g, "x", 2, xd, x) };
    int n_first = node(g, "ArgMax", 1, in, 1);
    ir_node_attr_set_int(g, n_first, "axis", -1);
    int n_last = node(g, "ArgMax", 1, in, 1);
    ir_node_attr_set_int(g, n_last, "axis", 1);
    ir_node_attr_set_int(g, n_last, "keepdims", 0);
    ir_node_attr_set_int(g, n_last, "select_last_index", 1);
    int n_axis0 = node(g, "ArgMax", 1, in, 1);
    int n_min = node(g, "ArgMin", 1, in, 1);
    ir_node_attr_set_int(g, n_min, "axis", 1);
    int n_min0 = node(g, "ArgMin", 1, in, 1);
    nn_infer_ok(g);
    nn_expect_i64(oh_out(g, n_first, 0), 2, od_keep, first);
    nn_expect_i64(oh_out(g, n_last, 0), 1, od_drop, last);
    nn_expect_i64(oh_out(g, n_axis0, 0), 2, od_axis0, axis0);
    nn_expect_i64(oh_out(g, n_min, 0), 2, od_keep, min_first);
    nn_expect_i64(oh_out(g, n_min0, 0), 2, od_axis0, min_axis0);
    ir_graph_free(g);

    g = oh_graph(13);
    in[0] = oh_input(g, "x", IR_DT_F32, 2, xd);
    int n = node(g, "ArgMax", 1, in, 1);
    ir_node_attr_set_int(g, n, "axis", -3);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "axis -3 is out of range for input shape [2,3]");
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchnorm_opsets),
        cmocka_unit_test(test_batchnorm_spatial0),
        cmocka_unit_test(test_batchnorm_errors),
        cmocka_unit_test(test_instancenorm),
        cmocka_unit_test(test_lrn),
        cmocka_unit_test(test_gemm_transposed),
        cmocka_unit_test(test_gemm_one_row),
        cmocka_unit_test(test_gemm_errors),
        cmocka_unit_test(test_matmul_broadcast),
        cmocka_unit_test(test_matmul_vectors),
        cmocka_unit_test(test_softmax_opsets),
        cmocka_unit_test(test_softmax_large_and_default_axis),
        cmocka_unit_test(test_reduce_attr_axes),
        cmocka_unit_test(test_reduce_sum_axes_input),
        cmocka_unit_test(test_reduce_errors),
        cmocka_unit_test(test_argmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
