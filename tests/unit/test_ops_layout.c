/* Data-movement operators: Transpose, DepthToSpace, SpaceToDepth, Expand,
 * Tile, Pad, Resize and Upsample. Inputs are constants, so each node runs its
 * infer and then its eval (by folding). Expected Resize values come from the
 * ONNX reference implementation (onnx/backend/test/case/node/resize.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_error.h"
#include "op_harness.h"

#define DIMS(...) ((const int64_t[]){ __VA_ARGS__ })
#define F32(...)  ((const float[]){ __VA_ARGS__ })
#define I64(...)  ((const int64_t[]){ __VA_ARGS__ })
#define IN(...)   ((const int[]){ __VA_ARGS__ })

static char err[512];

static int infer(struct ir_graph *g)
{
    err[0] = 0;
    int rc = oh_infer(g, err, sizeof(err));
    if (rc < 0) print_message("infer: %s\n", err);
    return rc;
}

static int infer_fail(struct ir_graph *g)
{
    err[0] = 0;
    return oh_infer(g, err, sizeof(err));
}

static void check_shape(const struct ir_value *v, int ndim, const int64_t *dims)
{
    assert_true(v->shape_known);
    assert_int_equal(v->shape.ndim, ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(v->shape.dims[i], dims[i]);
}

/* Float output against want, within tol (0: exact). */
static void check_f32(const struct ir_value *v, int ndim, const int64_t *dims, const float *want,
                      float tol)
{
    check_shape(v, ndim, dims);
    assert_int_equal(v->dtype, IR_DT_F32);
    assert_true(v->flags & IR_VALUE_CONST);
    int64_t n = ir_shape_numel(&v->shape);
    const float *got = v->data;
    for (int64_t i = 0; i < n; i++) {
        if (!(fabsf(got[i] - want[i]) <= tol))
            print_message("element %lld: got %.7g, want %.7g\n", (long long)i, got[i], want[i]);
        assert_true(fabsf(got[i] - want[i]) <= tol);
    }
}

static void check_i64(const struct ir_value *v, int ndim, const int64_t *dims, const int64_t *want)
{
    check_shape(v, ndim, dims);
    assert_int_equal(v->dtype, IR_DT_I64);
    int64_t n = ir_shape_numel(&v->shape);
    for (int64_t i = 0; i < n; i++) assert_int_equal(((const int64_t *)v->data)[i], want[i]);
}

static int iota_f32(struct ir_graph *g, const char *name, int ndim, const int64_t *dims,
                    float first)
{
    struct ir_shape s = { .ndim = ndim };
    for (int i = 0; i < ndim; i++) s.dims[i] = dims[i];
    int64_t n = ir_shape_numel(&s);
    float *data = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) data[i] = first + (float)i;
    int v = oh_const_f32(g, name, ndim, dims, data);
    free(data);
    return v;
}

static int iota_i64(struct ir_graph *g, const char *name, int ndim, const int64_t *dims)
{
    struct ir_shape s = { .ndim = ndim };
    for (int i = 0; i < ndim; i++) s.dims[i] = dims[i];
    int64_t n = ir_shape_numel(&s);
    int64_t *data = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) data[i] = i;
    int v = oh_const_i64(g, name, ndim, dims, data);
    free(data);
    return v;
}

/* --- Transpose / DepthToSpace / SpaceToDepth ----------------------------- */

static void test_transpose(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_i64(g, "x", 3, DIMS(2, 3, 4));
    int a = oh_node(g, "Transpose", 1, &x, 1); /* default: reversed */
    int b = oh_node(g, "Transpose", 1, &x, 1);
    ir_node_attr_set_ints(g, b, "perm", I64(2, 0, 1), 3);
    int8_t five[12];
    for (int i = 0; i < 12; i++) five[i] = (int8_t)(i - 6);
    int y = oh_const(g, "y", IR_DT_I8, 5, DIMS(1, 2, 3, 1, 2), five);
    int c = oh_node(g, "Transpose", 1, &y, 1);
    ir_node_attr_set_ints(g, c, "perm", I64(0, 2, 1, 3, 4), 5);
    assert_int_equal(infer(g), 0);
    const struct ir_value *ta = oh_out(g, a, 0);
    check_shape(ta, 3, DIMS(4, 3, 2));
    assert_int_equal(((const int64_t *)ta->data)[1], 12);
    assert_int_equal(((const int64_t *)ta->data)[23], 23);
    check_i64(
        oh_out(g, b, 0), 3, DIMS(4, 2, 3),
        I64(0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23));
    const struct ir_value *tc = oh_out(g, c, 0);
    check_shape(tc, 5, DIMS(1, 3, 2, 1, 2));
    static const int8_t want[] = { 0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11 };
    for (int i = 0; i < 12; i++) assert_int_equal(((const int8_t *)tc->data)[i], want[i] - 6);
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_i64(g, "x", 3, DIMS(2, 3, 4));
    a = oh_node(g, "Transpose", 1, &x, 1);
    ir_node_attr_set_ints(g, a, "perm", I64(0, 2, 2), 3);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "perm [0,2,2] is not a permutation of 0..2"));
    ir_graph_free(g);
}

static void test_depth_space(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 4, DIMS(1, 8, 1, 2), 0);
    int dcr = oh_node(g, "DepthToSpace", 1, &x, 1);
    ir_node_attr_set_int(g, dcr, "blocksize", 2);
    int crd = oh_node(g, "DepthToSpace", 1, &x, 1);
    ir_node_attr_set_int(g, crd, "blocksize", 2);
    ir_node_attr_set_string(g, crd, "mode", "CRD");
    int y = iota_f32(g, "y", 4, DIMS(1, 1, 4, 4), 0);
    int s2d = oh_node(g, "SpaceToDepth", 1, &y, 1);
    ir_node_attr_set_int(g, s2d, "blocksize", 2);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, dcr, 0), 4, DIMS(1, 2, 2, 4),
              F32(0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15), 0);
    check_f32(oh_out(g, crd, 0), 4, DIMS(1, 2, 2, 4),
              F32(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15), 0);
    check_f32(oh_out(g, s2d, 0), 4, DIMS(1, 4, 2, 2),
              F32(0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15), 0);
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 4, DIMS(1, 6, 1, 2), 0);
    dcr = oh_node(g, "DepthToSpace", 1, &x, 1);
    ir_node_attr_set_int(g, dcr, "blocksize", 2);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "input channels 6 are not a multiple of blocksize^2 = 4"));
    ir_graph_free(g);
}

/* --- Expand / Tile -------------------------------------------------------- */

static void test_expand_tile(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 2, DIMS(3, 1), 1);
    int s = oh_const_i64(g, "s", 1, DIMS(3), I64(2, 1, 2));
    int e = oh_node(g, "Expand", 2, IN(x, s), 1);
    int r = oh_const_i64(g, "r", 1, DIMS(2), I64(1, 3));
    int t = oh_node(g, "Tile", 2, IN(x, r), 1);
    int y = iota_f32(g, "y", 2, DIMS(2, 2), 0);
    int r2 = oh_const_i64(g, "r2", 1, DIMS(2), I64(2, 2));
    int t2 = oh_node(g, "Tile", 2, IN(y, r2), 1);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, e, 0), 3, DIMS(2, 3, 2), F32(1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3), 0);
    check_f32(oh_out(g, t, 0), 2, DIMS(3, 3), F32(1, 1, 1, 2, 2, 2, 3, 3, 3), 0);
    check_f32(oh_out(g, t2, 0), 2, DIMS(4, 4), F32(0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3),
              0);
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 2, DIMS(3, 2), 1);
    s = oh_const_i64(g, "s", 1, DIMS(2), I64(3, 4));
    oh_node(g, "Expand", 2, IN(x, s), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "input [3,2] cannot be broadcast to shape [3,4]"));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 2, DIMS(3, 2), 1);
    r = oh_const_i64(g, "r", 1, DIMS(1), I64(3));
    oh_node(g, "Tile", 2, IN(x, r), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "repeats [3] has 1 values, input has rank 2"));
    ir_graph_free(g);

    /* Past the element limit: refused before any allocation. */
    g = oh_graph(13);
    x = iota_f32(g, "x", 1, DIMS(1), 1);
    s = oh_const_i64(g, "s", 1, DIMS(2), I64(INT64_C(1) << 31, INT64_C(1) << 31));
    oh_node(g, "Expand", 2, IN(x, s), 1);
    assert_int_equal(infer_fail(g), INFERD_E_TOO_LARGE);
    ir_graph_free(g);
}

/* --- Pad ------------------------------------------------------------------ */

static void test_pad(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 2, DIMS(2, 3), 0);
    int p1 = oh_const_i64(g, "p1", 1, DIMS(4), I64(1, 2, 1, 2));
    int reflect = oh_node(g, "Pad", 2, IN(x, p1), 1);
    ir_node_attr_set_string(g, reflect, "mode", "reflect");
    int p2 = oh_const_i64(g, "p2", 1, DIMS(4), I64(0, 1, 1, 0));
    int edge = oh_node(g, "Pad", 2, IN(x, p2), 1);
    ir_node_attr_set_string(g, edge, "mode", "edge");
    /* Negative pads crop: drop column 0, add a row before and a column after. */
    int p3 = oh_const_i64(g, "p3", 1, DIMS(4), I64(1, -1, 0, 1));
    int v = oh_const_f32(g, "v", 0, NULL, F32(9));
    int constant = oh_node(g, "Pad", 3, IN(x, p3, v), 1);
    assert_int_equal(infer(g), 0);
    check_f32(
        oh_out(g, reflect, 0), 2, DIMS(4, 7),
        F32(5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0, 5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0), 0);
    check_f32(oh_out(g, edge, 0), 2, DIMS(3, 4), F32(0, 0, 1, 2, 3, 3, 4, 5, 3, 3, 4, 5), 0);
    check_f32(oh_out(g, constant, 0), 2, DIMS(3, 3), F32(9, 9, 9, 1, 2, 9, 4, 5, 9), 0);
    ir_graph_free(g);

    /* Opset 10: pads and value are attributes; int64 data. */
    g = oh_graph(10);
    x = oh_const_i64(g, "x", 1, DIMS(2), I64(7, 8));
    int n = oh_node(g, "Pad", 1, &x, 1);
    ir_node_attr_set_ints(g, n, "pads", I64(2, 1), 2);
    ir_node_attr_set_float(g, n, "value", -1.0f);
    assert_int_equal(infer(g), 0);
    check_i64(oh_out(g, n, 0), 1, DIMS(5), I64(-1, -1, 7, 8, -1));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 2, DIMS(2, 3), 0);
    p1 = oh_const_i64(g, "p1", 1, DIMS(2), I64(1, 2));
    oh_node(g, "Pad", 2, IN(x, p1), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "pads has 2 values, expected 4 (2 x rank 2)"));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 2, DIMS(2, 3), 0);
    p1 = oh_const_i64(g, "p1", 1, DIMS(4), I64(0, -2, 0, -2));
    oh_node(g, "Pad", 2, IN(x, p1), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "crop axis 1 of size 3 below zero"));
    ir_graph_free(g);
}

/* --- Resize / Upsample ---------------------------------------------------- */

/* Resize of x = 1..16 as [1,1,4,4] with the given scales or sizes. */
static struct ir_graph *resize_graph(int opset, const float *scales, const int64_t *sizes,
                                     const float *roi, int *node)
{
    struct ir_graph *g = oh_graph(opset);
    int x = iota_f32(g, "x", 4, DIMS(1, 1, 4, 4), 1);
    int r = roi ? oh_const_f32(g, "roi", 1, DIMS(8), roi) : -1;
    int s = scales ? oh_const_f32(g, "scales", 1, DIMS(4), scales) : -1;
    int z = sizes ? oh_const_i64(g, "sizes", 1, DIMS(4), sizes) : -1;
    *node = oh_node(g, "Resize", 4, IN(x, r, s, z), 1);
    return g;
}

static void test_resize_linear(void **state)
{
    (void)state;
    int n;
    struct ir_graph *g = resize_graph(13, NULL, I64(1, 1, 3, 5), NULL, &n);
    ir_node_attr_set_string(g, n, "mode", "linear");
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 4, DIMS(1, 1, 3, 5),
              F32(1.666667f, 2.366667f, 3.166667f, 3.966667f, 4.666667f, 7, 7.7f, 8.5f, 9.3f, 10,
                  12.33333f, 13.03333f, 13.83333f, 14.63333f, 15.33333f),
              1e-4f);
    ir_graph_free(g);

    /* align_corners with a non-integer resized length (4 x 0.5 is fine, 4 x
     * 1.5 = 6): the reference divides by length_resized - 1. */
    g = resize_graph(13, F32(1, 1, 1.5f, 0.5f), NULL, NULL, &n);
    ir_node_attr_set_string(g, n, "mode", "linear");
    ir_node_attr_set_string(g, n, "coordinate_transformation_mode", "align_corners");
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 4, DIMS(1, 1, 6, 2),
              F32(1, 4, 3.4f, 6.4f, 5.8f, 8.8f, 8.2f, 11.2f, 10.6f, 13.6f, 13, 16), 1e-4f);
    ir_graph_free(g);

    /* n-d: trilinear on a 3-D tensor. */
    g = oh_graph(13);
    int x = iota_f32(g, "x", 3, DIMS(2, 2, 2), 0);
    int z = oh_const_i64(g, "sizes", 1, DIMS(3), I64(3, 3, 3));
    n = oh_node(g, "Resize", 4, IN(x, -1, -1, z), 1);
    ir_node_attr_set_string(g, n, "mode", "linear");
    ir_node_attr_set_string(g, n, "coordinate_transformation_mode", "align_corners");
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 3, DIMS(3, 3, 3),
              F32(0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3, 2, 2.5f, 3, 3, 3.5f, 4, 4, 4.5f, 5, 4, 4.5f,
                  5, 5, 5.5f, 6, 6, 6.5f, 7),
              1e-5f);
    ir_graph_free(g);
}

static void test_resize_cubic(void **state)
{
    (void)state;
    int n;
    struct ir_graph *g = resize_graph(13, NULL, I64(1, 1, 3, 3), NULL, &n);
    ir_node_attr_set_string(g, n, "mode", "cubic");
    assert_int_equal(infer(g), 0);
    check_f32(
        oh_out(g, n, 0), 4, DIMS(1, 1, 3, 3),
        F32(1.63079f, 3.00463f, 4.37847f, 7.12616f, 8.5f, 9.87384f, 12.6215f, 13.9954f, 15.3692f),
        2e-4f);
    ir_graph_free(g);

    /* TensorFlow's bicubic: a = -0.5, weights outside renormalized. */
    g = resize_graph(13, F32(1, 1, 2, 2), NULL, NULL, &n);
    ir_node_attr_set_string(g, n, "mode", "cubic");
    ir_node_attr_set_float(g, n, "cubic_coeff_a", -0.5f);
    ir_node_attr_set_int(g, n, "exclude_outside", 1);
    assert_int_equal(infer(g), 0);
    const struct ir_value *y = oh_out(g, n, 0);
    check_shape(y, 4, DIMS(1, 1, 8, 8));
    static const float want[16] = { 0.558824f, 0.814942f, 1.35698f, 1.89706f, 2.39706f, 2.93714f,
                                    3.47918f,  3.73529f,  1.5833f,  1.83942f, 2.38146f, 2.92153f,
                                    3.42153f,  3.96161f,  4.50365f, 4.75977f };
    for (int i = 0; i < 16; i++) assert_true(fabsf(((const float *)y->data)[i] - want[i]) < 1e-4f);
    ir_graph_free(g);
}

static void test_resize_nearest(void **state)
{
    (void)state;
    int n;
    struct ir_graph *g = resize_graph(13, NULL, I64(1, 1, 3, 6), NULL, &n);
    ir_node_attr_set_string(g, n, "coordinate_transformation_mode", "asymmetric");
    ir_node_attr_set_string(g, n, "nearest_mode", "round_prefer_ceil");
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 4, DIMS(1, 1, 3, 6),
              F32(1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 8, 13, 14, 14, 15, 16, 16), 0);
    ir_graph_free(g);

    /* Nearest moves bytes of any dtype; opset 11 takes an empty scales. */
    g = oh_graph(11);
    int x = iota_i64(g, "x", 2, DIMS(2, 2));
    int roi = oh_const_f32(g, "roi", 1, DIMS(0), NULL);
    int sc = oh_const_f32(g, "scales", 1, DIMS(0), NULL);
    int z = oh_const_i64(g, "sizes", 1, DIMS(2), I64(4, 3));
    n = oh_node(g, "Resize", 4, IN(x, roi, sc, z), 1);
    ir_node_attr_set_string(g, n, "nearest_mode", "floor");
    assert_int_equal(infer(g), 0);
    check_i64(oh_out(g, n, 0), 2, DIMS(4, 3), I64(0, 0, 1, 0, 0, 1, 0, 0, 1, 2, 2, 3));
    ir_graph_free(g);
}

static void test_resize_tf_crop(void **state)
{
    (void)state;
    int n;
    struct ir_graph *g =
        resize_graph(13, NULL, I64(1, 1, 3, 3), F32(0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f), &n);
    ir_node_attr_set_string(g, n, "mode", "linear");
    ir_node_attr_set_string(g, n, "coordinate_transformation_mode", "tf_crop_and_resize");
    ir_node_attr_set_float(g, n, "extrapolation_value", 10);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 4, DIMS(1, 1, 3, 3), F32(7.6f, 10, 10, 12.4f, 10, 10, 10, 10, 10),
              1e-4f);
    ir_graph_free(g);

    /* With sizes the roi does not shape the output, so it may come at run
     * time: eval reads it from its input. */
    g = oh_graph(13);
    int x = iota_f32(g, "x", 4, DIMS(1, 1, 4, 4), 1);
    int r = oh_input(g, "roi", IR_DT_F32, 1, DIMS(8));
    int z = oh_const_i64(g, "sizes", 1, DIMS(4), I64(1, 1, 3, 3));
    n = oh_node(g, "Resize", 4, IN(x, r, -1, z), 1);
    ir_node_attr_set_string(g, n, "mode", "linear");
    ir_node_attr_set_string(g, n, "coordinate_transformation_mode", "tf_crop_and_resize");
    ir_node_attr_set_float(g, n, "extrapolation_value", 10);
    assert_int_equal(infer(g), 0);
    check_shape(oh_out(g, n, 0), 4, DIMS(1, 1, 3, 3));
    assert_false(oh_out(g, n, 0)->flags & IR_VALUE_CONST);
    struct ir_tensor in[4], out;
    memset(in, 0, sizeof(in));
    ir_value_tensor(g, x, &in[0]);
    float roi[8] = { 0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f };
    in[1] = (struct ir_tensor){
        .dtype = IR_DT_F32, .ndim = 1, .dims = { 8 }, .data = roi, .nbytes = sizeof(roi)
    };
    ir_value_tensor(g, z, &in[3]);
    float y[9];
    out = (struct ir_tensor){
        .dtype = IR_DT_F32, .ndim = 4, .dims = { 1, 1, 3, 3 }, .data = y, .nbytes = sizeof(y)
    };
    const struct ir_node *node = &g->nodes[n];
    assert_int_equal(node->op->eval(node->params, in, 4, &out, 1), 0);
    static const float want[9] = { 7.6f, 10, 10, 12.4f, 10, 10, 10, 10, 10 };
    for (int i = 0; i < 9; i++) assert_true(fabsf(y[i] - want[i]) < 1e-4f);
    ir_graph_free(g);
}

static void test_resize_errors(void **state)
{
    (void)state;
    int n;
    struct ir_graph *g = resize_graph(13, F32(1, 1, 2, 2), I64(1, 1, 8, 8), NULL, &n);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "exactly one of scales and sizes must be given, got both"));
    ir_graph_free(g);

    g = resize_graph(13, F32(1, 1, 2, 2), NULL, NULL, &n);
    ir_node_attr_set_string(g, n, "mode", "area");
    assert_int_equal(infer_fail(g), INFERD_E_UNSUPPORTED);
    assert_non_null(strstr(err, "mode 'area' is not supported"));
    ir_graph_free(g);

    g = oh_graph(13);
    int x = oh_input(g, "x", IR_DT_F32, 4, DIMS(1, 1, 4, 4));
    int s = oh_input(g, "rt_scales", IR_DT_F32, 1, DIMS(4));
    oh_node(g, "Resize", 3, IN(x, -1, s), 1);
    assert_int_equal(infer_fail(g), INFERD_E_UNSUPPORTED);
    assert_non_null(strstr(err, "'rt_scales' must be constant"));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_i64(g, "x", 2, DIMS(2, 2));
    int z = oh_const_i64(g, "sizes", 1, DIMS(2), I64(4, 4));
    n = oh_node(g, "Resize", 4, IN(x, -1, -1, z), 1);
    ir_node_attr_set_string(g, n, "mode", "linear");
    assert_int_equal(infer_fail(g), INFERD_E_UNSUPPORTED);
    assert_non_null(strstr(err, "linear interpolation of int64 is not supported"));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_i64(g, "x", 2, DIMS(2, 2));
    z = oh_const_i64(g, "sizes", 1, DIMS(3), I64(4, 4, 4));
    oh_node(g, "Resize", 4, IN(x, -1, -1, z), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "sizes has 3 values, input has rank 2"));
    ir_graph_free(g);
}

static void test_upsample(void **state)
{
    (void)state;
    /* Upsample 7 (attribute), 9 (input) and Resize 10 share one meaning:
     * x / scale, floored for nearest. */
    static const float nearest[] = { 1, 1, 2, 3, 1, 1, 2, 3, 4, 4, 5, 6, 4, 4, 5, 6 };
    static const float linear[] = { 1, 1.5f, 2, 2.5f, 3, 3, 2.5f, 3,    3.5f, 4,    4.5f, 4.5f,
                                    4, 4.5f, 5, 5.5f, 6, 6, 4,    4.5f, 5,    5.5f, 6,    6 };
    struct ir_graph *g = oh_graph(7);
    int x = iota_f32(g, "x", 4, DIMS(1, 1, 2, 3), 1);
    int a = oh_node(g, "Upsample", 1, &x, 1);
    ir_node_attr_set_floats(g, a, "scales", F32(1, 1, 2, 1.5f), 4);
    int b = oh_node(g, "Upsample", 1, &x, 1);
    ir_node_attr_set_floats(g, b, "scales", F32(1, 1, 2, 2), 4);
    ir_node_attr_set_string(g, b, "mode", "linear");
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, a, 0), 4, DIMS(1, 1, 4, 4), nearest, 0);
    check_f32(oh_out(g, b, 0), 4, DIMS(1, 1, 4, 6), linear, 1e-6f);
    ir_graph_free(g);

    for (int opset = 9; opset <= 10; opset++) {
        g = oh_graph(opset);
        x = iota_f32(g, "x", 4, DIMS(1, 1, 2, 3), 1);
        int s1 = oh_const_f32(g, "s1", 1, DIMS(4), F32(1, 1, 2, 1.5f));
        int s2 = oh_const_f32(g, "s2", 1, DIMS(4), F32(1, 1, 2, 2));
        const char *op = opset == 9 ? "Upsample" : "Resize";
        a = oh_node(g, op, 2, IN(x, s1), 1);
        b = oh_node(g, op, 2, IN(x, s2), 1);
        ir_node_attr_set_string(g, b, "mode", "linear");
        assert_int_equal(infer(g), 0);
        check_f32(oh_out(g, a, 0), 4, DIMS(1, 1, 4, 4), nearest, 0);
        check_f32(oh_out(g, b, 0), 4, DIMS(1, 1, 4, 6), linear, 1e-6f);
        ir_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose),      cmocka_unit_test(test_depth_space),
        cmocka_unit_test(test_expand_tile),    cmocka_unit_test(test_pad),
        cmocka_unit_test(test_resize_linear),  cmocka_unit_test(test_resize_cubic),
        cmocka_unit_test(test_resize_nearest), cmocka_unit_test(test_resize_tf_crop),
        cmocka_unit_test(test_resize_errors),  cmocka_unit_test(test_upsample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
