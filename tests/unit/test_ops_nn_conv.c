/* Conv and ConvTranspose: values against the ONNX node tests and torch
 * (inputs from nn_fill; expected arrays computed with torch.nn.functional,
 * asymmetric pads applied with F.pad), padding modes, and error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_error.h"
#include "nn_test.h"
#include "ops_nn.h"

/* The ONNX conv.py input: 0..24 as [1,1,5,5]. */
static int onnx_x5(struct ir_graph *g)
{
    static const int64_t d[] = { 1, 1, 5, 5 };
    float x[25];
    for (int i = 0; i < 25; i++) x[i] = (float)i;
    return oh_const_f32(g, "x", 4, d, x);
}

static int ones(struct ir_graph *g, const char *name, int ndim, const int64_t *dims)
{
    float w[64];
    for (int i = 0; i < 64; i++) w[i] = 1.0f;
    return oh_const_f32(g, name, ndim, dims, w);
}

static const int64_t k33[] = { 1, 1, 3, 3 };

static void test_conv_onnx_padding(void **state)
{
    (void)state;
    /* test_basic_conv_with_padding */
    static const float expect[] = { 12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
                                    117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84 };
    static const int64_t od[] = { 1, 1, 5, 5 }, pads[] = { 1, 1, 1, 1 }, ks[] = { 3, 3 };
    struct ir_graph *g = oh_graph(11);
    int in[] = { onnx_x5(g), ones(g, "w", 4, k33) };
    int n = oh_node(g, "Conv", 2, in, 1);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 0);
    ir_graph_free(g);
}

static void test_conv_onnx_strides_asymmetric(void **state)
{
    (void)state;
    /* test_conv_with_strides_and_asymmetric_padding on a 7x5 input */
    static const float expect[] = { 21, 33, 99, 117, 189, 207, 171, 183 };
    static const int64_t xd[] = { 1, 1, 7, 5 }, od[] = { 1, 1, 4, 2 };
    static const int64_t pads[] = { 1, 0, 1, 0 }, strides[] = { 2, 2 };
    float x[35];
    for (int i = 0; i < 35; i++) x[i] = (float)i;
    struct ir_graph *g = oh_graph(13);
    int in[] = { oh_const_f32(g, "x", 4, xd, x), ones(g, "w", 4, k33) };
    int n = oh_node(g, "Conv", 2, in, 1);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    ir_node_attr_set_ints(g, n, "strides", strides, 2);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 0);
    const struct ir_conv_params *p = g->nodes[n].params;
    assert_int_equal(p->nspatial, 2);
    assert_int_equal(p->pads[0], 1);
    assert_int_equal(p->pads[1], 0);
    assert_int_equal(p->pads[2], 1);
    assert_int_equal(p->pads[3], 0);
    ir_graph_free(g);
}

/* 0..24 with a 4x4 kernel of ones, stride 2: the total pad of 3 splits 1+2
 * for SAME_UPPER and 2+1 for SAME_LOWER. */
static void run_auto_pad(const char *mode, int64_t pb, const int64_t *od, const float *expect)
{
    static const int64_t wd[] = { 1, 1, 4, 4 }, strides[] = { 2, 2 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { onnx_x5(g), ones(g, "w", 4, wd) };
    int n = oh_node(g, "Conv", 2, in, 1);
    ir_node_attr_set_ints(g, n, "strides", strides, 2);
    ir_node_attr_set_string(g, n, "auto_pad", mode);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 0);
    const struct ir_conv_params *p = g->nodes[n].params;
    assert_int_equal(p->pads[0], pb);
    assert_int_equal(p->pads[1], pb);
    ir_graph_free(g);
}

static void test_conv_auto_pad(void **state)
{
    (void)state;
    static const int64_t od3[] = { 1, 1, 3, 3 }, od1[] = { 1, 1, 1, 1 };
    static const float upper[] = { 54, 90, 51, 162, 240, 128, 111, 160, 84 };
    static const float lower[] = { 12, 32, 33, 64, 144, 126, 93, 198, 162 };
    static const float valid[] = { 144 };
    run_auto_pad("SAME_UPPER", 1, od3, upper);
    run_auto_pad("SAME_LOWER", 2, od3, lower);
    run_auto_pad("VALID", 0, od1, valid);
}

static void test_conv_onnx_same_lower(void **state)
{
    (void)state;
    /* test_conv_with_autopad_same */
    static const float expect[] = { 12, 27, 24, 63, 108, 81, 72, 117, 84 };
    static const int64_t od[] = { 1, 1, 3, 3 }, strides[] = { 2, 2 }, ks[] = { 3, 3 };
    struct ir_graph *g = oh_graph(11);
    int in[] = { onnx_x5(g), ones(g, "w", 4, k33) };
    int n = oh_node(g, "Conv", 2, in, 1);
    ir_node_attr_set_ints(g, n, "strides", strides, 2);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
    ir_node_attr_set_string(g, n, "auto_pad", "SAME_LOWER");
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 0);
    ir_graph_free(g);
}

static void test_conv_group_dilation_bias(void **state)
{
    (void)state;
    /* F.conv2d(F.pad(x, [0,1,1,0]), w, b, stride=[2,1], dilation=[1,2], groups=2) */
    static const float expect[] = {
        1.875f,   1.875f,   0.25f,   0.625f,   2.3125f,  -1.9375f, 1.9375f,  0.0625f, 2.0625f,
        -2.1875f, 2.5f,     0.6875f, -2.8125f, -3.75f,   1.0f,     -2.1875f, 2.75f,   -0.875f,
        -2.0625f, -1.0625f, 1.4375f, 2.6875f,  -2.5625f, 1.875f,   3.0625f,  1.1875f, 1.75f,
        0.6875f,  -2.5f,    -0.625f, -2.0f,    0.25f,    1.625f,   2.6875f,  2.9375f, 0.625f,
        1.0625f,  -5.8125f, 1.125f,  -2.25f,   1.6875f,  -0.6875f, -3.0625f, 3.875f,  0.6875f,
        1.5625f,  0.8125f,  0.875f,  1.875f,   0.5625f,  1.6875f,  0.125f,   -2.625f, 5.375f,
        -2.0625f, 0.375f,   1.8125f, 2.5f,     1.5625f,  1.3125f,  -1.375f,  -2.0f,   -1.0f,
        2.5f,     3.625f,   -4.0f,   -0.25f,   1.75f,    -3.5625f, 2.625f,   -3.375f, 2.5625f,
    };
    static const int64_t xd[] = { 1, 4, 6, 5 }, wd[] = { 6, 2, 3, 2 }, bd[] = { 6 };
    static const int64_t od[] = { 1, 6, 3, 4 };
    static const int64_t strides[] = { 2, 1 }, dil[] = { 1, 2 }, pads[] = { 1, 0, 0, 1 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { nn_const_filled(g, "x", 4, xd, 1), nn_const_filled(g, "w", 4, wd, 2),
                 nn_const_filled(g, "b", 1, bd, 3) };
    int n = oh_node(g, "Conv", 3, in, 1);
    ir_node_attr_set_int(g, n, "group", 2);
    ir_node_attr_set_ints(g, n, "strides", strides, 2);
    ir_node_attr_set_ints(g, n, "dilations", dil, 2);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 1e-6);
    ir_graph_free(g);
}

static void test_conv_depthwise(void **state)
{
    (void)state;
    /* F.conv2d(x, w, stride=2, padding=1, groups=3) */
    static const float expect[] = { -2.625f,  -0.5625f, -0.0625f, 0.625f,   -0.0625f, -0.0625f,
                                    -1.9375f, -1.3125f, 0.1875f,  -1.8125f, 2.875f,   5.5625f };
    static const int64_t xd[] = { 1, 3, 4, 4 }, wd[] = { 3, 1, 3, 3 }, od[] = { 1, 3, 2, 2 };
    static const int64_t strides[] = { 2, 2 }, pads[] = { 1, 1, 1, 1 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { nn_const_filled(g, "x", 4, xd, 4), nn_const_filled(g, "w", 4, wd, 5) };
    int n = oh_node(g, "Conv", 2, in, 1);
    ir_node_attr_set_int(g, n, "group", 3);
    ir_node_attr_set_ints(g, n, "strides", strides, 2);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 1e-6);
    ir_graph_free(g);
}

static void test_conv_1d_3d(void **state)
{
    (void)state;
    /* F.conv1d(F.pad(x, [2,1]), w, dilation=2) */
    static const float expect1[] = {
        -0.375f,  -2.375f,  0.3125f,  1.125f,  0.3125f,  1.0f,     1.375f,   -3.5f,    1.0625f,
        -0.8125f, 1.375f,   -3.4375f, -0.125f, 2.6875f,  -0.625f,  -0.3125f, -0.8125f, 1.0625f,
        -2.375f,  -0.3125f, 1.125f,   0.3125f, -0.5f,    -0.25f,   -3.5f,    1.375f,   -0.8125f,
        1.375f,   -4.5625f, 0.5625f,  2.6875f, -0.1875f, -0.3125f, -0.8125f, 3.5625f,  -0.25f,
    };
    /* F.conv3d(x, w, stride=[1,2,2]) */
    static const float expect3[] = { -3.0f,    -3.0f, 1.0625f,  2.6875f, 1.0625f, 1.0625f,
                                     -3.0f,    -3.0f, 2.0625f,  1.625f,  1.125f,  -0.9375f,
                                     -3.0625f, -3.5f, -1.5625f, 2.0625f };
    static const int64_t xd1[] = { 2, 2, 7 }, wd1[] = { 3, 2, 3 }, od1[] = { 2, 3, 6 };
    static const int64_t pads1[] = { 2, 1 }, dil1[] = { 2 };
    static const int64_t xd3[] = { 1, 1, 3, 4, 4 }, wd3[] = { 2, 1, 2, 2, 2 };
    static const int64_t od3[] = { 1, 2, 2, 2, 2 }, strides3[] = { 1, 2, 2 };

    struct ir_graph *g = oh_graph(13);
    int in[] = { nn_const_filled(g, "x", 3, xd1, 6), nn_const_filled(g, "w", 3, wd1, 7) };
    int n = oh_node(g, "Conv", 2, in, 1);
    ir_node_attr_set_ints(g, n, "pads", pads1, 2);
    ir_node_attr_set_ints(g, n, "dilations", dil1, 1);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 3, od1, expect1, 1e-6);
    ir_graph_free(g);

    g = oh_graph(7);
    in[0] = nn_const_filled(g, "x", 5, xd3, 8);
    in[1] = nn_const_filled(g, "w", 5, wd3, 9);
    n = oh_node(g, "Conv", 2, in, 1);
    ir_node_attr_set_ints(g, n, "strides", strides3, 3);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 5, od3, expect3, 1e-6);
    ir_graph_free(g);
}

/* A Conv over runtime inputs of the given shapes, for shape errors. */
static struct ir_graph *conv_graph(const char *op, int ndim, const int64_t *xd, const int64_t *wd,
                                   const int64_t *bd, int *node)
{
    struct ir_graph *g = oh_graph(13);
    int in[3] = { oh_input(g, "x", IR_DT_F32, ndim, xd), oh_input(g, "w", IR_DT_F32, ndim, wd),
                  -1 };
    if (bd) in[2] = oh_input(g, "b", IR_DT_F32, 1, bd);
    *node = oh_node(g, op, bd ? 3 : 2, in, 1);
    return g;
}

static void test_conv_errors(void **state)
{
    (void)state;
    static const int64_t xd[] = { 1, 4, 16, 16 }, wd[] = { 64, 3, 7, 7 };
    static const int64_t wd4[] = { 8, 4, 3, 3 }, wd2[] = { 8, 2, 3, 3 }, bd[] = { 10 };
    static const int64_t small[] = { 1, 4, 2, 2 }, ks[] = { 5, 5 }, one[] = { 1 };
    int n;
    struct ir_graph *g = conv_graph("Conv", 4, xd, wd, NULL, &n);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "weight shape [64,3,7,7] does not match input channels 4");
    ir_graph_free(g);

    g = conv_graph("Conv", 4, xd, wd, NULL, &n);
    ir_node_attr_set_int(g, n, "group", 3);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "group 3 does not divide input channels 4");
    ir_graph_free(g);

    g = conv_graph("Conv", 4, xd, wd4, NULL, &n);
    ir_node_attr_set_int(g, n, "group", 2);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "weight shape [8,4,3,3] does not match input channels 4 with group 2");
    ir_graph_free(g);

    g = conv_graph("Conv", 4, xd, wd2, bd, &n);
    ir_node_attr_set_int(g, n, "group", 2);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "bias shape [10] does not match output channels 8");
    ir_graph_free(g);

    g = conv_graph("Conv", 4, small, wd4, NULL, &n);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "kernel [3,3] (dilations [1,1]) does not fit the input: spatial axis 0 is 2 "
                    "with padding, the dilated kernel spans 3");
    ir_graph_free(g);

    g = conv_graph("Conv", 4, xd, wd4, NULL, &n);
    ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "kernel_shape [5,5] does not match weight shape [8,4,3,3]");
    ir_graph_free(g);

    g = conv_graph("Conv", 4, xd, wd4, NULL, &n);
    ir_node_attr_set_ints(g, n, "strides", one, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "attribute strides has 1 values, expected 2");
    ir_graph_free(g);

    g = conv_graph("Conv", 4, xd, wd4, NULL, &n);
    ir_node_attr_set_string(g, n, "auto_pad", "SAME");
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "auto_pad 'SAME' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    ir_graph_free(g);

    g = conv_graph("Conv", 2, xd, wd4, NULL, &n);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "input shape [1,4]: expected [N,C,D...] with at least one spatial axis");
    ir_graph_free(g);

    g = conv_graph("Conv", 3, xd, wd4, NULL, &n);
    g->values[g->nodes[n].in[1]].shape = (struct ir_shape){ .ndim = 4, .dims = { 8, 4, 3, 3 } };
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "weight shape [8,4,3,3] does not match the rank of input shape [1,4,16]");
    ir_graph_free(g);

    /* Non-float input. */
    g = oh_graph(13);
    int in[] = { oh_input(g, "x", IR_DT_I64, 4, xd), oh_input(g, "w", IR_DT_F32, 4, wd4) };
    n = oh_node(g, "Conv", 2, in, 1);
    nn_expect_error(g, n, INFERD_E_UNSUPPORTED,
                    "input 0 'x' has dtype int64, not supported here (expected float32)");
    ir_graph_free(g);
}

/* A runtime input keeps the node unfolded: only the shape is inferred. */
static void test_conv_runtime_input_shape(void **state)
{
    (void)state;
    static const int64_t xd[] = { 1, 3, 224, 224 }, wd[] = { 64, 3, 7, 7 };
    static const int64_t od[] = { 1, 64, 112, 112 }, strides[] = { 2, 2 }, pads[] = { 3, 3, 3, 3 };
    int n;
    struct ir_graph *g = conv_graph("Conv", 4, xd, wd, NULL, &n);
    ir_node_attr_set_ints(g, n, "strides", strides, 2);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    nn_infer_ok(g);
    nn_expect_shape(oh_out(g, n, 0), 4, od);
    assert_null(oh_out(g, n, 0)->data);
    ir_graph_free(g);
}

static const int64_t ct_x3[] = { 1, 1, 3, 3 }, ct_w[] = { 1, 2, 3, 3 };

static int ct_x(struct ir_graph *g)
{
    float x[9];
    for (int i = 0; i < 9; i++) x[i] = (float)i;
    return oh_const_f32(g, "x", 4, ct_x3, x);
}

static void test_convtranspose_onnx_pads(void **state)
{
    (void)state;
    /* test_convtranspose_pads: one channel of the [1,2,7,3] output. */
    static const float ch[] = { 1, 1, 3, 1, 1, 3, 7, 4, 9, 7, 4, 9, 7, 4, 9, 13, 7, 15, 13, 7, 15 };
    static const int64_t od[] = { 1, 2, 7, 3 }, strides[] = { 3, 2 }, pads[] = { 1, 2, 1, 2 };
    float expect[42];
    memcpy(expect, ch, sizeof(ch));
    memcpy(expect + 21, ch, sizeof(ch));
    struct ir_graph *g = oh_graph(13);
    int in[] = { ct_x(g), ones(g, "w", 4, ct_w) };
    int n = oh_node(g, "ConvTranspose", 2, in, 1);
    ir_node_attr_set_ints(g, n, "strides", strides, 2);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 0);
    ir_graph_free(g);
}

static void test_convtranspose_onnx_output_shape(void **state)
{
    (void)state;
    /* test_convtranspose_output_shape: one channel of [1,2,10,8]. */
    static const float ch[] = {
        0, 0, 1, 1, 3,  2, 2,  0, 0, 0, 1, 1, 3,  2, 2,  0, 0, 0, 1, 1, 3, 2, 2, 0,  3, 3,  7,
        4, 9, 5, 5, 0,  3, 3,  7, 4, 9, 5, 5, 0,  3, 3,  7, 4, 9, 5, 5, 0, 6, 6, 13, 7, 15, 8,
        8, 0, 6, 6, 13, 7, 15, 8, 8, 0, 6, 6, 13, 7, 15, 8, 8, 0, 0, 0, 0, 0, 0, 0,  0, 0,
    };
    static const int64_t od[] = { 1, 2, 10, 8 }, strides[] = { 3, 2 }, os[] = { 10, 8 };
    static const int64_t os_full[] = { 1, 2, 10, 8 }, op[] = { 1, 1 };
    float expect[160];
    memcpy(expect, ch, sizeof(ch));
    memcpy(expect + 80, ch, sizeof(ch));
    for (int variant = 0; variant < 3; variant++) {
        struct ir_graph *g = oh_graph(13);
        int in[] = { ct_x(g), ones(g, "w", 4, ct_w) };
        int n = oh_node(g, "ConvTranspose", 2, in, 1);
        ir_node_attr_set_ints(g, n, "strides", strides, 2);
        if (variant == 0) ir_node_attr_set_ints(g, n, "output_shape", os, 2);
        /* test_convtranspose_pad: output_padding gives the same result. */
        if (variant == 1) ir_node_attr_set_ints(g, n, "output_padding", op, 2);
        /* The whole output shape, as some exporters write it. */
        if (variant == 2) ir_node_attr_set_ints(g, n, "output_shape", os_full, 4);
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 0);
        const struct ir_conv_params *p = g->nodes[n].params;
        assert_true(p->transpose);
        /* A total padding of -1 puts the extra row and column at the end. */
        assert_int_equal(p->pads[0], 0);
        assert_int_equal(p->pads[1], 0);
        assert_int_equal(p->pads[2], variant == 1 ? 0 : -1);
        assert_int_equal(p->pads[3], variant == 1 ? 0 : -1);
        ir_graph_free(g);
    }
}

static void test_convtranspose_auto_pad(void **state)
{
    (void)state;
    /* test_convtranspose_autopad_same (SAME_UPPER), and SAME_LOWER, whose odd
     * pad goes to the beginning (cropped from the torch full output). */
    static const float upper[] = { 0, 0, 1, 1, 3, 2, 0, 0, 1,  1,  3,  2,  3, 3, 8,  5, 12, 7,
                                   3, 3, 7, 4, 9, 5, 9, 9, 20, 11, 24, 13, 6, 6, 13, 7, 15, 8 };
    static const float lower[] = { 0, 1,  1,  3,  2,  2,  3, 8,  5, 12, 7, 7, 3, 7,  4, 9,  5, 5,
                                   9, 20, 11, 24, 13, 13, 6, 13, 7, 15, 8, 8, 6, 13, 7, 15, 8, 8 };
    static const int64_t od[] = { 1, 2, 6, 6 }, strides[] = { 2, 2 };
    for (int lo = 0; lo < 2; lo++) {
        float expect[72];
        memcpy(expect, lo ? lower : upper, sizeof(upper));
        memcpy(expect + 36, lo ? lower : upper, sizeof(upper));
        struct ir_graph *g = oh_graph(13);
        int in[] = { ct_x(g), ones(g, "w", 4, ct_w) };
        int n = oh_node(g, "ConvTranspose", 2, in, 1);
        ir_node_attr_set_ints(g, n, "strides", strides, 2);
        ir_node_attr_set_string(g, n, "auto_pad", lo ? "SAME_LOWER" : "SAME_UPPER");
        nn_infer_ok(g);
        nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 0);
        ir_graph_free(g);
    }
}

static void test_convtranspose_group_bias(void **state)
{
    (void)state;
    /* F.conv_transpose2d(x, w, b, stride=2, output_padding=[1,0], groups=2,
     * dilation=[1,2])[:, :, 1:, :-1]: pads [1,0,0,1]. */
    static const float expect[] = {
        1.8125f, 0.75f,  -1.9375f, 0.75f,  3.9375f,  0.75f,  0.75f,  0.75f,  0.375f,  0.75f,
        -0.125f, 0.75f,  1.375f,   0.75f,  -0.3125f, 0.75f,  0.0f,   0.75f,  0.75f,   0.75f,
        0.75f,   0.75f,  0.75f,    0.75f,  0.0625f,  -0.75f, -2.5f,  -0.75f, 2.25f,   -0.75f,
        -1.0f,   -0.75f, -1.0f,    -0.75f, -2.625f,  -0.75f, 0.375f, -0.75f, -2.625f, -0.75f,
        2.25f,   -0.75f, -0.75f,   -0.75f, -0.75f,   -0.75f, -0.75f, -0.75f,
    };
    static const int64_t xd[] = { 1, 4, 2, 2 }, wd[] = { 4, 1, 2, 3 }, bd[] = { 2 };
    static const int64_t od[] = { 1, 2, 4, 6 }, strides[] = { 2, 2 }, op[] = { 1, 0 };
    static const int64_t dil[] = { 1, 2 }, pads[] = { 1, 0, 0, 1 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { nn_const_filled(g, "x", 4, xd, 1), nn_const_filled(g, "w", 4, wd, 2),
                 nn_const_filled(g, "b", 1, bd, 3) };
    int n = oh_node(g, "ConvTranspose", 3, in, 1);
    ir_node_attr_set_int(g, n, "group", 2);
    ir_node_attr_set_ints(g, n, "strides", strides, 2);
    ir_node_attr_set_ints(g, n, "output_padding", op, 2);
    ir_node_attr_set_ints(g, n, "dilations", dil, 2);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 4, od, expect, 1e-6);
    ir_graph_free(g);
}

static void test_convtranspose_1d_3d(void **state)
{
    (void)state;
    /* test_convtranspose_1d */
    static const float expect1[] = { 0, 1, 3, 3, 2, 0, 1, 3, 3, 2 };
    /* F.conv_transpose3d(x, w) */
    static const float expect3[] = { -1.5f,   0.0f,     1.5f,     -0.25f, 2.375f, -0.5f,
                                     -0.125f, -0.5625f, -0.9375f, 0.375f, -0.75f, 0.5625f };
    static const int64_t xd1[] = { 1, 1, 3 }, wd1[] = { 1, 2, 3 }, od1[] = { 1, 2, 5 };
    static const int64_t xd3[] = { 1, 1, 2, 2, 2 }, wd3[] = { 1, 1, 2, 1, 1 };
    static const int64_t od3[] = { 1, 1, 3, 2, 2 };
    static const float x1[] = { 0, 1, 2 };
    struct ir_graph *g = oh_graph(13);
    int in[] = { oh_const_f32(g, "x", 3, xd1, x1), ones(g, "w", 3, wd1) };
    int n = oh_node(g, "ConvTranspose", 2, in, 1);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 3, od1, expect1, 0);
    ir_graph_free(g);

    g = oh_graph(9);
    in[0] = nn_const_filled(g, "x", 5, xd3, 4);
    in[1] = nn_const_filled(g, "w", 5, wd3, 5);
    n = oh_node(g, "ConvTranspose", 2, in, 1);
    nn_infer_ok(g);
    nn_expect_f32(oh_out(g, n, 0), 5, od3, expect3, 1e-6);
    ir_graph_free(g);
}

static void test_convtranspose_errors(void **state)
{
    (void)state;
    static const int64_t xd[] = { 1, 4, 5, 5 }, wd[] = { 3, 2, 3, 3 }, wd4[] = { 4, 2, 3, 3 };
    static const int64_t bd[] = { 3 }, os[] = { 9 }, pads[] = { 4, 4, 4, 4 };
    int n;
    struct ir_graph *g = conv_graph("ConvTranspose", 4, xd, wd, NULL, &n);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL,
                    "weight shape [3,2,3,3] does not match input channels 4");
    ir_graph_free(g);

    g = conv_graph("ConvTranspose", 4, xd, wd4, bd, &n);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "bias shape [3] does not match output channels 2");
    ir_graph_free(g);

    g = conv_graph("ConvTranspose", 4, xd, wd4, NULL, &n);
    ir_node_attr_set_ints(g, n, "output_shape", os, 1);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "attribute output_shape has 1 values, expected 2");
    ir_graph_free(g);

    g = conv_graph("ConvTranspose", 4, xd, wd4, NULL, &n);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    nn_expect_error(g, n, INFERD_E_BAD_MODEL, "spatial axis 0: input 5 gives output size -1");
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_onnx_padding),
        cmocka_unit_test(test_conv_onnx_strides_asymmetric),
        cmocka_unit_test(test_conv_auto_pad),
        cmocka_unit_test(test_conv_onnx_same_lower),
        cmocka_unit_test(test_conv_group_dilation_bias),
        cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_conv_1d_3d),
        cmocka_unit_test(test_conv_errors),
        cmocka_unit_test(test_conv_runtime_input_shape),
        cmocka_unit_test(test_convtranspose_onnx_pads),
        cmocka_unit_test(test_convtranspose_onnx_output_shape),
        cmocka_unit_test(test_convtranspose_auto_pad),
        cmocka_unit_test(test_convtranspose_group_bias),
        cmocka_unit_test(test_convtranspose_1d_3d),
        cmocka_unit_test(test_convtranspose_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
