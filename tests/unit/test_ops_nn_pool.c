/* MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool: values against the
 * ONNX node tests and torch.nn.functional (inputs from nn_fill), ceil_mode
 * and padding edge cases, the Indices output, and error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_error.h"
#include "nn_test.h"
#include "ops_nn.h"

/* 1..n*n as [1,1,n,n], as the ONNX pool tests feed. */
static int square(struct ir_graph *g, int side)
{
    int64_t d[] = { 1, 1, side, side };
    float x[25];
    for (int i = 0; i < side * side; i++) x[i] = (float)(i + 1);
    return oh_const_f32(g, "x", 4, d, x);
}

static void test_maxpool_onnx_pads_indices(void **state)
{
    (void)state;
    /* test_maxpool_with_argmax_2d_precomputed_pads */
    static const float y[] = { 13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25,
                               25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25 };
    static const int64_t z[] = { 12, 13, 14, 14, 14, 17, 18, 19, 19, 19, 22, 23, 24,
                                 24, 24, 22, 23, 24, 24, 24, 22, 23, 24, 24, 24 };
    static const int64_t od[] = { 1, 1, 5, 5 }, ks[] = { 5, 5 }, pads[] = { 2, 2, 2, 2 };
    struct ir_graph *g = oh_graph(12);
    int in[] = { square(g, 5) };
    int n = oh_node(g, "MaxPool", 1, in, 2);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, y, 0);
    nn_expect_i64(oh_out(g, n, 1), 4, od, z);
    ir_graph_free(g);
}

static void test_maxpool_int8_uint8(void **state)
{
    (void)state;
    /* test_maxpool_2d_uint8 (the precomputed-pads case on 1..25), and int8
     * on the same values shifted by -13. */
    static const uint8_t y[] = { 13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25,
                                 25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25 };
    static const int64_t d[] = { 1, 1, 5, 5 }, ks[] = { 5, 5 }, pads[] = { 2, 2, 2, 2 };
    for (int dt = 0; dt < 2; dt++) {
        int dtype = dt ? IR_DT_I8 : IR_DT_U8;
        uint8_t xu[25];
        int8_t xi[25];
        for (int i = 0; i < 25; i++) {
            xu[i] = (uint8_t)(i + 1);
            xi[i] = (int8_t)(i + 1 - 13);
        }
        struct ir_graph *g = oh_graph(12);
        int in[] = { oh_const(g, "x", dtype, 4, d, dt ? (const void *)xi : (const void *)xu) };
        int n = oh_node(g, "MaxPool", 1, in, 1);
        ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
        ir_node_attr_set_ints(g, n, "pads", pads, 4);
        nn_infer_ok(g);
        const struct ir_value *v = oh_out(g, n, 0);
        assert_int_equal(v->dtype, dtype);
        nn_expect_shape(v, 4, d);
        for (int i = 0; i < 25; i++) {
            if (dt)
                assert_int_equal(((const int8_t *)v->data)[i], y[i] - 13);
            else
                assert_int_equal(((const uint8_t *)v->data)[i], y[i]);
        }
        ir_graph_free(g);
    }
}

static void test_maxpool_storage_order(void **state)
{
    (void)state;
    /* test_maxpool_with_argmax_2d_precomputed_strides (storage_order=1) */
    static const float y[] = { 7, 9, 17, 19 };
    static const int64_t z_col[] = { 6, 16, 8, 18 }, z_row[] = { 6, 8, 16, 18 };
    static const int64_t od[] = { 1, 1, 2, 2 }, ks[] = { 2, 2 }, strides[] = { 2, 2 };
    for (int order = 0; order < 2; order++) {
        struct ir_graph *g = oh_graph(12);
        int in[] = { square(g, 5) };
        int n = oh_node(g, "MaxPool", 1, in, 2);
        ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
        ir_node_attr_set_ints(g, n, "strides", strides, 2);
        ir_node_attr_set_int(g, n, "storage_order", order);
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 4, od, y, 0);
        nn_expect_i64(oh_out(g, n, 1), 4, od, order ? z_col : z_row);
        ir_graph_free(g);
    }
}

static void test_maxpool_ceil_dilations(void **state)
{
    (void)state;
    /* test_maxpool_2d_ceil and test_maxpool_2d_dilations share the output;
     * without ceil_mode the 4x4 input gives one window. */
    static const float y[] = { 11, 12, 15, 16 }, y_floor[] = { 11 };
    static const int64_t od[] = { 1, 1, 2, 2 }, od_floor[] = { 1, 1, 1, 1 };
    static const int64_t ks[] = { 3, 3 }, ks2[] = { 2, 2 }, strides[] = { 2, 2 }, dil[] = { 2, 2 };
    for (int variant = 0; variant < 3; variant++) {
        struct ir_graph *g = oh_graph(12);
        int in[] = { square(g, 4) };
        int n = oh_node(g, "MaxPool", 1, in, 1);
        if (variant < 2) {
            ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
            ir_node_attr_set_ints(g, n, "strides", strides, 2);
            ir_node_attr_set_int(g, n, "ceil_mode", variant == 0);
        } else {
            ir_node_attr_set_ints(g, n, "kernel_shape", ks2, 2);
            ir_node_attr_set_ints(g, n, "dilations", dil, 2);
        }
        nn_infer_ok(g);
        if (variant == 1)
            nn_expect_f32(oh_out(g, n, 0), 4, od_floor, y_floor, 0);
        else
            nn_expect_f32(oh_out(g, n, 0), 4, od, y, 0);
        ir_graph_free(g);
    }
}

/* A 1-D pool over x with kernel 2 or 3, stride 2, pads (p, p). */
static struct ir_graph *pool_1d(const char *op, const float *x, int64_t len, int64_t k, int64_t p,
                                int ceil, int include_pad, int *node)
{
    int64_t xd[] = { 1, 1, len }, ks[] = { k }, strides[] = { 2 }, pads[] = { p, p };
    struct ir_graph *g = oh_graph(13);
    int in[] = { oh_const_f32(g, "x", 3, xd, x) };
    int n = oh_node(g, op, 1, in, 1);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks, 1);
    ir_node_attr_set_ints(g, n, "strides", strides, 1);
    ir_node_attr_set_ints(g, n, "pads", pads, 2);
    ir_node_attr_set_int(g, n, "ceil_mode", ceil);
    if (include_pad) ir_node_attr_set_int(g, n, "count_include_pad", 1);
    *node = n;
    return g;
}

static void test_pool_ceil_mode_edges(void **state)
{
    (void)state;
    static const float x[] = { 1, 5, 2, 4, 3, 6 };
    static const int64_t od2[] = { 1, 1, 2 }, od3[] = { 1, 1, 3 }, od4[] = { 1, 1, 4 };
    int n;
    /* Length 5, kernel 2, stride 2: ceil_mode adds a window over the last
     * element alone ([5,4,3] vs [5,4], as torch). */
    static const float ceil3[] = { 5, 4, 3 }, floor2[] = { 5, 4 };
    struct ir_graph *g = pool_1d("MaxPool", x, 5, 2, 0, 1, 0, &n);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 3, od3, ceil3, 0);
    ir_graph_free(g);
    g = pool_1d("MaxPool", x, 5, 2, 0, 0, 0, &n);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 3, od2, floor2, 0);
    ir_graph_free(g);

    /* With pads (1, 1) the ceil'd fourth window would start in the end
     * padding: it is dropped, so ceil_mode gives 3 outputs (torch: [1,5,4]). */
    static const float padded[] = { 1, 5, 4 };
    g = pool_1d("MaxPool", x, 5, 2, 1, 1, 0, &n);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 3, od3, padded, 0);
    const struct ir_pool_params *p = g->nodes[n].params;
    assert_true(p->ceil_mode);
    assert_int_equal(p->kind, IR_POOL_MAX);
    ir_graph_free(g);

    /* AveragePool, kernel 3, stride 2, pads (1, 1), ceil_mode: the last
     * window holds x[5], one pad and one tap past the padding; with
     * count_include_pad the divisor counts the pad but not what lies beyond
     * (torch: [2, 3.6667, 4.3333, 3]); without it, only x[5]. */
    static const float with_pad[] = { 2.0f, 3.6666667f, 4.3333335f, 3.0f };
    static const float without[] = { 3.0f, 3.6666667f, 4.3333335f, 6.0f };
    g = pool_1d("AveragePool", x, 6, 3, 1, 1, 1, &n);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 3, od4, with_pad, 1e-6);
    ir_graph_free(g);
    g = pool_1d("AveragePool", x, 6, 3, 1, 1, 0, &n);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 3, od4, without, 1e-6);
    ir_graph_free(g);
}

static void test_avgpool_onnx_pads(void **state)
{
    (void)state;
    /* test_averagepool_2d_precomputed_pads(_count_include_pad) */
    static const float excl[] = { 7,    7.5,  8,    8.5,  9,    9.5,  10,   10.5, 11,
                                  11.5, 12,   12.5, 13,   13.5, 14,   14.5, 15,   15.5,
                                  16,   16.5, 17,   17.5, 18,   18.5, 19 };
    static const float incl[] = { 2.52f,  3.6f,  4.8f,  4.08f, 3.24f, 4.56f, 6.4f,  8.4f, 7.04f,
                                  5.52f,  7.2f,  10.f,  13.f,  10.8f, 8.4f,  6.96f, 9.6f, 12.4f,
                                  10.24f, 7.92f, 6.12f, 8.4f,  10.8f, 8.88f, 6.84f };
    static const int64_t od[] = { 1, 1, 5, 5 }, ks[] = { 5, 5 }, pads[] = { 2, 2, 2, 2 };
    for (int include = 0; include < 2; include++) {
        struct ir_graph *g = oh_graph(11);
        int in[] = { square(g, 5) };
        int n = oh_node(g, "AveragePool", 1, in, 1);
        ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
        ir_node_attr_set_ints(g, n, "pads", pads, 4);
        ir_node_attr_set_int(g, n, "count_include_pad", include);
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 4, od, include ? incl : excl, 1e-6);
        ir_graph_free(g);
    }
}

static void test_avgpool_auto_pad(void **state)
{
    (void)state;
    /* test_averagepool_2d_precomputed_same_upper: 5x5, kernel 3, stride 2. */
    static const float same5[] = { 4, 5.5, 7, 11.5, 13, 14.5, 19, 20.5, 22 };
    /* 3x3, kernel 2, stride 1: the one pad goes after (SAME_UPPER) or before
     * (SAME_LOWER) and is not counted. */
    static const float upper[] = { 3, 4, 4.5, 6, 7, 7.5, 7.5, 8.5, 9 };
    static const float lower[] = { 1, 1.5, 2.5, 2.5, 3, 4, 5.5, 6, 7 };
    static const float valid[] = { 3, 4, 6, 7 };
    static const int64_t od3[] = { 1, 1, 3, 3 }, od2[] = { 1, 1, 2, 2 };
    static const int64_t ks3[] = { 3, 3 }, ks2[] = { 2, 2 }, s2[] = { 2, 2 };
    static const char *const modes[] = { "SAME_UPPER", "SAME_UPPER", "SAME_LOWER", "VALID" };
    static const float *const expect[] = { same5, upper, lower, valid };
    for (int i = 0; i < 4; i++) {
        struct ir_graph *g = oh_graph(11);
        int in[] = { square(g, i == 0 ? 5 : 3) };
        int n = oh_node(g, "AveragePool", 1, in, 1);
        ir_node_attr_set_ints(g, n, "kernel_shape", i == 0 ? ks3 : ks2, 2);
        if (i == 0) ir_node_attr_set_ints(g, n, "strides", s2, 2);
        ir_node_attr_set_string(g, n, "auto_pad", modes[i]);
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 4, i == 3 ? od2 : od3, expect[i], 1e-6);
        ir_graph_free(g);
    }
}

static void test_pool_1d_3d(void **state)
{
    (void)state;
    /* F.max_pool3d(x, [2,2,2], [1,2,2]) */
    static const float expect3[] = { 1.25f, 1.5f, 1.5f, 1.0f };
    /* F.avg_pool1d(x, 3, 2, padding=1, count_include_pad=False) */
    static const float expect1[] = { -0.75f,  -0.83333331f, -0.58333331f, -0.125f,
                                     0.125f,  0.58333331f,  0.83333331f,  0.75f,
                                     -0.625f, -0.16666667f, 0.083333336f, 0.0f,
                                     0.25f,   0.16666667f,  0.41666666f,  -0.75f };
    static const int64_t xd3[] = { 1, 2, 3, 3, 3 }, od3[] = { 1, 2, 2, 1, 1 };
    static const int64_t ks3[] = { 2, 2, 2 }, s3[] = { 1, 2, 2 };
    static const int64_t xd1[] = { 2, 2, 7 }, od1[] = { 2, 2, 4 };
    static const int64_t ks1[] = { 3 }, s1[] = { 2 }, p1[] = { 1, 1 };
    struct ir_graph *g = oh_graph(8);
    int in[] = { nn_const_filled(g, "x", 5, xd3, 1) };
    int n = oh_node(g, "MaxPool", 1, in, 1);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks3, 3);
    ir_node_attr_set_ints(g, n, "strides", s3, 3);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 5, od3, expect3, 0);
    ir_graph_free(g);

    g = oh_graph(7);
    in[0] = nn_const_filled(g, "x", 3, xd1, 2);
    n = oh_node(g, "AveragePool", 1, in, 1);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks1, 1);
    ir_node_attr_set_ints(g, n, "strides", s1, 1);
    ir_node_attr_set_ints(g, n, "pads", p1, 2);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 3, od1, expect1, 1e-6);
    ir_graph_free(g);
}

static void test_global_pools(void **state)
{
    (void)state;
    static const float avg9[] = { 5 }, max9[] = { 9 };
    static const float gavg[] = { 0.125f, 0.625f, -0.5f, 0.0f, 0.5f, -0.625f };
    static const float gmax[] = { 1.0f, 1.5f, 0.5f, 1.0f, 1.5f, 0.25f };
    static const int64_t od1[] = { 1, 1, 1, 1 }, xd[] = { 2, 3, 2, 2 }, od[] = { 2, 3, 1, 1 };
    for (int max = 0; max < 2; max++) {
        const char *op = max ? "GlobalMaxPool" : "GlobalAveragePool";
        struct ir_graph *g = oh_graph(13);
        int in[] = { square(g, 3) };
        int n = oh_node(g, op, 1, in, 1);
        in[0] = nn_const_filled(g, "x2", 4, xd, 3);
        int n2 = oh_node(g, op, 1, in, 1);
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 4, od1, max ? max9 : avg9, 0);
        nn_expect_f32(oh_out(g, n2, 0), 4, od, max ? gmax : gavg, 1e-6);
        const struct ir_pool_params *p = g->nodes[n].params;
        assert_true(p->global);
        assert_int_equal(p->kernel[0], 3);
        assert_int_equal(p->kernel[1], 3);
        ir_graph_free(g);
    }
}

static void test_pool_errors(void **state)
{
    (void)state;
    static const int64_t xd[] = { 1, 3, 4, 4 }, ks[] = { 5, 5 }, ks3[] = { 3, 3 };
    static const int64_t pads[] = { 1, 1 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { oh_input(g, "x", IR_DT_F32, 4, xd) };
    int n = oh_node(g, "MaxPool", 1, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "attribute kernel_shape is required");
    ir_graph_free(g);

    g = oh_graph(13);
    in[0] = oh_input(g, "x", IR_DT_F32, 4, xd);
    n = oh_node(g, "AveragePool", 1, in, 1);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "kernel [5,5] (dilations [1,1]) does not fit the input: spatial axis 0 is 4 "
                    "with padding, the dilated kernel spans 5");
    ir_graph_free(g);

    g = oh_graph(13);
    in[0] = oh_input(g, "x", IR_DT_F32, 4, xd);
    n = oh_node(g, "MaxPool", 1, in, 1);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks3, 2);
    ir_node_attr_set_ints(g, n, "pads", pads, 2);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "attribute pads has 2 values, expected 4");
    ir_graph_free(g);

    g = oh_graph(13);
    in[0] = oh_input(g, "x", IR_DT_F32, 4, xd);
    n = oh_node(g, "MaxPool", 1, in, 2);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks3, 2);
    ir_node_attr_set_int(g, n, "storage_order", 2);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "storage_order 2 must be 0 or 1");
    ir_graph_free(g);

    /* uint8 MaxPool arrived with opset 12; AveragePool stays float. */
    static const char *const ops[] = { "MaxPool", "AveragePool" };
    for (int i = 0; i < 2; i++) {
        g = oh_graph(i == 0 ? 11 : 13);
        in[0] = oh_input(g, "x", IR_DT_U8, 4, xd);
        n = oh_node(g, ops[i], 1, in, 1);
        ir_node_attr_set_ints(g, n, "kernel_shape", ks3, 2);
        nn_expect_error(g, n, INFERD_E_UNSUPPORTED,
                        "input 0 'x' has dtype uint8, not supported here (expected float32)");
        ir_graph_free(g);
    }

    g = oh_graph(13);
    in[0] = oh_input(g, "x", IR_DT_F32, 2, xd);
    n = oh_node(g, "GlobalAveragePool", 1, in, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "input shape [1,3]: expected [N,C,D...] with at least one spatial axis");
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxpool_onnx_pads_indices),
        cmocka_unit_test(test_maxpool_int8_uint8),
        cmocka_unit_test(test_maxpool_storage_order),
        cmocka_unit_test(test_maxpool_ceil_dilations),
        cmocka_unit_test(test_pool_ceil_mode_edges),
        cmocka_unit_test(test_avgpool_onnx_pads),
        cmocka_unit_test(test_avgpool_auto_pad),
        cmocka_unit_test(test_pool_1d_3d),
        cmocka_unit_test(test_global_pools),
        cmocka_unit_test(test_pool_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
