/* Shape operators: Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout,
 * Concat, Split, Slice, Gather, Shape, Constant, ConstantOfShape, and the
 * exporters' Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain. Inputs
 * are constants, so each node runs its infer and then its eval (by folding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

/* err after a failing infer, checked without printing it as a failure. */
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

static void check_f32(const struct ir_value *v, int ndim, const int64_t *dims, const float *want)
{
    check_shape(v, ndim, dims);
    assert_int_equal(v->dtype, IR_DT_F32);
    assert_true(v->flags & IR_VALUE_CONST);
    int64_t n = ir_shape_numel(&v->shape);
    const float *got = v->data;
    for (int64_t i = 0; i < n; i++) {
        if (got[i] != want[i]) print_message("element %lld\n", (long long)i);
        assert_true(got[i] == want[i]);
    }
}

static void check_i64(const struct ir_value *v, int ndim, const int64_t *dims, const int64_t *want)
{
    check_shape(v, ndim, dims);
    assert_int_equal(v->dtype, IR_DT_I64);
    assert_true(v->flags & IR_VALUE_CONST);
    int64_t n = ir_shape_numel(&v->shape);
    const int64_t *got = v->data;
    for (int64_t i = 0; i < n; i++) assert_int_equal(got[i], want[i]);
}

/* 0, 1, 2, ... as float32 in a constant of the given shape. */
static int iota_f32(struct ir_graph *g, const char *name, int ndim, const int64_t *dims)
{
    struct ir_shape s = { .ndim = ndim };
    for (int i = 0; i < ndim; i++) s.dims[i] = dims[i];
    int64_t n = ir_shape_numel(&s);
    float *data = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) data[i] = (float)i;
    int v = oh_const_f32(g, name, ndim, dims, data);
    free(data);
    return v;
}

/* --- Flatten / Reshape ---------------------------------------------------- */

static void test_flatten(void **state)
{
    (void)state;
    static const struct {
        int64_t axis;
        int64_t d0, d1;
    } cases[] = { { 0, 1, 120 }, { 1, 2, 60 }, { 2, 6, 20 }, { 4, 120, 1 }, { -1, 24, 5 } };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct ir_graph *g = oh_graph(13);
        int x = iota_f32(g, "x", 4, DIMS(2, 3, 4, 5));
        int n = oh_node(g, "Flatten", 1, &x, 1);
        ir_node_attr_set_int(g, n, "axis", cases[c].axis);
        assert_int_equal(infer(g), 0);
        const struct ir_value *y = oh_out(g, n, 0);
        check_shape(y, 2, DIMS(cases[c].d0, cases[c].d1));
        assert_true(g->nodes[n].op->flags & IR_OP_ALIAS);
        assert_int_equal(((const float *)y->data)[119], 119.0f);
        ir_graph_free(g);
    }
}

static void test_reshape(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 3, DIMS(2, 3, 4));
    int s = oh_const_i64(g, "s", 1, DIMS(3), I64(0, -1, 2));
    int n = oh_node(g, "Reshape", 2, IN(x, s), 1);
    assert_int_equal(infer(g), 0);
    const struct ir_value *y = oh_out(g, n, 0);
    check_shape(y, 3, DIMS(2, 6, 2));
    assert_int_equal(((const float *)y->data)[23], 23.0f);
    assert_true(g->nodes[n].op->flags & IR_OP_ALIAS);
    ir_graph_free(g);
}

static void test_reshape_allowzero(void **state)
{
    (void)state;
    /* allowzero=1 (opset 14): 0 is a real zero dim, not "copy". */
    struct ir_graph *g = oh_graph(14);
    int x = oh_const_f32(g, "x", 3, DIMS(0, 3, 4), NULL);
    int s = oh_const_i64(g, "s", 1, DIMS(3), I64(3, 4, 0));
    int n = oh_node(g, "Reshape", 2, IN(x, s), 1);
    ir_node_attr_set_int(g, n, "allowzero", 1);
    assert_int_equal(infer(g), 0);
    check_shape(oh_out(g, n, 0), 3, DIMS(3, 4, 0));
    ir_graph_free(g);

    /* Without it, the 0 copies input dim 2 (4): 3*4*4 != 0 elements. */
    g = oh_graph(14);
    x = oh_const_f32(g, "x", 3, DIMS(0, 3, 4), NULL);
    s = oh_const_i64(g, "s", 1, DIMS(3), I64(3, 4, 0));
    n = oh_node(g, "Reshape", 2, IN(x, s), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "cannot reshape [0,3,4] (0 elements) to [3,4,0]"));
    ir_graph_free(g);
}

static void test_reshape_errors(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 3, DIMS(1, 3, 4));
    int s = oh_const_i64(g, "s", 1, DIMS(2), I64(5, -1));
    oh_node(g, "Reshape", 2, IN(x, s), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_string_equal(err, "test.onnx: node 'Reshape_0' (Reshape): cannot reshape [1,3,4] (12 "
                             "elements) to [5,-1]");
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 3, DIMS(1, 3, 4));
    s = oh_const_i64(g, "s", 1, DIMS(3), I64(-1, 3, -1));
    oh_node(g, "Reshape", 2, IN(x, s), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "more than one -1"));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 3, DIMS(1, 3, 4));
    s = oh_const_i64(g, "s", 1, DIMS(2), I64(-3, 4));
    oh_node(g, "Reshape", 2, IN(x, s), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "invalid dim -3"));
    ir_graph_free(g);

    /* A shape computed at run time is refused, naming the input. */
    g = oh_graph(13);
    x = oh_input(g, "x", IR_DT_F32, 3, DIMS(1, 3, 4));
    s = oh_input(g, "dyn_shape", IR_DT_I64, 1, DIMS(2));
    oh_node(g, "Reshape", 2, IN(x, s), 1);
    assert_int_equal(infer_fail(g), INFERD_E_UNSUPPORTED);
    assert_non_null(strstr(err, "'dyn_shape' must be constant"));
    ir_graph_free(g);
}

/* --- Squeeze / Unsqueeze / Identity / Dropout ---------------------------- */

static void test_squeeze(void **state)
{
    (void)state;
    /* Opset 11: axes attribute. */
    struct ir_graph *g = oh_graph(11);
    int x = iota_f32(g, "x", 4, DIMS(1, 3, 1, 2));
    int n = oh_node(g, "Squeeze", 1, &x, 1);
    ir_node_attr_set_ints(g, n, "axes", I64(-2), 1);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 3, DIMS(1, 3, 2), F32(0, 1, 2, 3, 4, 5));
    ir_graph_free(g);

    /* Opset 13: axes input; without it every 1 goes. */
    g = oh_graph(13);
    x = iota_f32(g, "x", 4, DIMS(1, 3, 1, 2));
    int a = oh_const_i64(g, "a", 1, DIMS(1), I64(0));
    n = oh_node(g, "Squeeze", 2, IN(x, a), 1);
    int m = oh_node(g, "Squeeze", 1, &x, 1);
    assert_int_equal(infer(g), 0);
    check_shape(oh_out(g, n, 0), 3, DIMS(3, 1, 2));
    check_shape(oh_out(g, m, 0), 2, DIMS(3, 2));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 4, DIMS(1, 3, 1, 2));
    a = oh_const_i64(g, "a", 1, DIMS(1), I64(1));
    oh_node(g, "Squeeze", 2, IN(x, a), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "cannot squeeze axis 1 of input [1,3,1,2]"));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 4, DIMS(1, 3, 1, 2));
    a = oh_const_i64(g, "a", 1, DIMS(1), I64(4));
    oh_node(g, "Squeeze", 2, IN(x, a), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "axes value 4 is out of range for rank 4"));
    ir_graph_free(g);
}

static void test_unsqueeze(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 3, DIMS(3, 4, 5));
    int a = oh_const_i64(g, "a", 1, DIMS(3), I64(5, -2, 2)); /* unsorted, negative */
    int n = oh_node(g, "Unsqueeze", 2, IN(x, a), 1);
    assert_int_equal(infer(g), 0);
    const struct ir_value *y = oh_out(g, n, 0);
    check_shape(y, 6, DIMS(3, 4, 1, 5, 1, 1));
    assert_int_equal(((const float *)y->data)[59], 59.0f);
    ir_graph_free(g);

    g = oh_graph(11);
    x = iota_f32(g, "x", 1, DIMS(2));
    n = oh_node(g, "Unsqueeze", 1, &x, 1);
    ir_node_attr_set_ints(g, n, "axes", I64(0, 2), 2);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 3, DIMS(1, 2, 1), F32(0, 1));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 1, DIMS(2));
    a = oh_const_i64(g, "a", 1, DIMS(2), I64(0, -3));
    oh_node(g, "Unsqueeze", 2, IN(x, a), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "axes names axis 0 twice"));
    ir_graph_free(g);
}

static void test_identity_dropout(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 2, DIMS(2, 2));
    int r = oh_const_f32(g, "r", 0, NULL, F32(0.3f));
    int i = oh_node(g, "Identity", 1, &x, 1);
    int d = oh_node(g, "Dropout", 2, IN(x, r), 2);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, i, 0), 2, DIMS(2, 2), F32(0, 1, 2, 3));
    check_f32(oh_out(g, d, 0), 2, DIMS(2, 2), F32(0, 1, 2, 3));
    const struct ir_value *mask = oh_out(g, d, 1);
    assert_int_equal(mask->dtype, IR_DT_BOOL);
    for (int k = 0; k < 4; k++) assert_int_equal(((const uint8_t *)mask->data)[k], 1);
    ir_graph_free(g);

    /* Opset 7: the mask has the input's type. */
    g = oh_graph(7);
    x = iota_f32(g, "x", 1, DIMS(3));
    d = oh_node(g, "Dropout", 1, &x, 2);
    ir_node_attr_set_float(g, d, "ratio", 0.5f);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, d, 1), 1, DIMS(3), F32(1, 1, 1));
    ir_graph_free(g);

    /* Training mode would drop at random: refused. */
    g = oh_graph(13);
    x = iota_f32(g, "x", 1, DIMS(3));
    r = oh_const_f32(g, "r", 0, NULL, F32(0.5f));
    uint8_t yes = 1;
    int t = oh_const(g, "t", IR_DT_BOOL, 0, NULL, &yes);
    oh_node(g, "Dropout", 3, IN(x, r, t), 1);
    assert_int_equal(infer_fail(g), INFERD_E_UNSUPPORTED);
    assert_non_null(strstr(err, "training mode"));
    ir_graph_free(g);
}

/* --- Concat / Split ------------------------------------------------------- */

static void test_concat(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int a = oh_const_i64(g, "a", 2, DIMS(2, 1), I64(1, 2));
    int b = oh_const_i64(g, "b", 2, DIMS(2, 2), I64(3, 4, 5, 6));
    int c = oh_const_i64(g, "c", 2, DIMS(2, 0), NULL);
    int n = oh_node(g, "Concat", 3, IN(a, b, c), 1);
    ir_node_attr_set_int(g, n, "axis", -1);
    assert_int_equal(infer(g), 0);
    check_i64(oh_out(g, n, 0), 2, DIMS(2, 3), I64(1, 3, 4, 2, 5, 6));
    ir_graph_free(g);

    g = oh_graph(13);
    a = iota_f32(g, "a", 2, DIMS(2, 3));
    b = iota_f32(g, "b", 2, DIMS(3, 3));
    n = oh_node(g, "Concat", 2, IN(a, b), 1);
    ir_node_attr_set_int(g, n, "axis", 0);
    assert_int_equal(infer(g), 0);
    const struct ir_value *y = oh_out(g, n, 0);
    check_shape(y, 2, DIMS(5, 3));
    assert_int_equal(((const float *)y->data)[6], 0.0f);
    assert_int_equal(((const float *)y->data)[14], 8.0f);
    ir_graph_free(g);

    g = oh_graph(13);
    a = iota_f32(g, "a", 2, DIMS(2, 3));
    b = iota_f32(g, "b", 2, DIMS(2, 4));
    n = oh_node(g, "Concat", 2, IN(a, b), 1);
    ir_node_attr_set_int(g, n, "axis", 0);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "input 1 'b' has shape [2,4], which does not match input 0 [2,3] "
                                "outside axis 0"));
    ir_graph_free(g);
}

static void test_split(void **state)
{
    (void)state;
    /* Opset 13: sizes from an input. */
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 2, DIMS(2, 6));
    int s = oh_const_i64(g, "s", 1, DIMS(3), I64(1, 3, 2));
    int n = oh_node(g, "Split", 2, IN(x, s), 3);
    ir_node_attr_set_int(g, n, "axis", 1);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 2, DIMS(2, 1), F32(0, 6));
    check_f32(oh_out(g, n, 1), 2, DIMS(2, 3), F32(1, 2, 3, 7, 8, 9));
    check_f32(oh_out(g, n, 2), 2, DIMS(2, 2), F32(4, 5, 10, 11));
    ir_graph_free(g);

    /* Opset 11: sizes from the attribute; equal parts when absent. */
    g = oh_graph(11);
    x = iota_f32(g, "x", 1, DIMS(6));
    n = oh_node(g, "Split", 1, &x, 2);
    ir_node_attr_set_ints(g, n, "split", I64(4, 2), 2);
    int m = oh_node(g, "Split", 1, &x, 3);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 1), 1, DIMS(2), F32(4, 5));
    check_f32(oh_out(g, m, 2), 1, DIMS(2), F32(4, 5));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 1, DIMS(6));
    s = oh_const_i64(g, "s", 1, DIMS(2), I64(2, 3));
    oh_node(g, "Split", 2, IN(x, s), 2);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "split sizes [2,3] do not sum to the size 6 of axis 0"));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 1, DIMS(7));
    oh_node(g, "Split", 1, &x, 2);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "does not split into 2 equal parts"));
    ir_graph_free(g);
}

static void test_split_unused_output(void **state)
{
    (void)state;
    /* An output left out ("") still takes its part of the input. */
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 1, DIMS(6));
    int s = oh_const_i64(g, "s", 1, DIMS(3), I64(1, 2, 3));
    int n = oh_node(g, "Split", 2, IN(x, s), 3);
    g->nodes[n].out[1] = -1;
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 1, DIMS(1), F32(0));
    check_f32(oh_out(g, n, 2), 1, DIMS(3), F32(3, 4, 5));
    ir_graph_free(g);
}

/* --- Slice ---------------------------------------------------------------- */

static void test_slice(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 2, DIMS(3, 5));
    int st = oh_const_i64(g, "st", 1, DIMS(2), I64(-1, 4));
    int en = oh_const_i64(g, "en", 1, DIMS(2), I64(INT64_MIN, 0));
    int ax = oh_const_i64(g, "ax", 1, DIMS(2), I64(0, -1));
    int sp = oh_const_i64(g, "sp", 1, DIMS(2), I64(-2, -3));
    int n = oh_node(g, "Slice", 5, IN(x, st, en, ax, sp), 1);
    assert_int_equal(infer(g), 0);
    /* rows 2, 0; columns 4, 1 */
    check_f32(oh_out(g, n, 0), 2, DIMS(2, 2), F32(14, 11, 4, 1));
    ir_graph_free(g);

    /* Default axes and steps; out-of-range starts and ends clamp. */
    g = oh_graph(13);
    x = iota_f32(g, "x", 2, DIMS(3, 5));
    st = oh_const_i64(g, "st", 1, DIMS(2), I64(1, -100));
    en = oh_const_i64(g, "en", 1, DIMS(2), I64(1000, 2));
    n = oh_node(g, "Slice", 3, IN(x, st, en), 1);
    int m;
    {
        int st2 = oh_const_i64(g, "st2", 1, DIMS(1), I64(1000));
        int en2 = oh_const_i64(g, "en2", 1, DIMS(1), I64(1000));
        int ax2 = oh_const_i64(g, "ax2", 1, DIMS(1), I64(1));
        m = oh_node(g, "Slice", 4, IN(x, st2, en2, ax2), 1);
    }
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 2, DIMS(2, 2), F32(5, 6, 10, 11));
    check_shape(oh_out(g, m, 0), 2, DIMS(3, 0));
    ir_graph_free(g);

    /* Opset 9: attributes, int64 data (shape arithmetic). */
    g = oh_graph(9);
    x = oh_const_i64(g, "x", 1, DIMS(4), I64(1, 3, 224, 224));
    n = oh_node(g, "Slice", 1, &x, 1);
    ir_node_attr_set_ints(g, n, "starts", I64(2), 1);
    ir_node_attr_set_ints(g, n, "ends", I64(INT64_MAX), 1);
    ir_node_attr_set_ints(g, n, "axes", I64(0), 1);
    assert_int_equal(infer(g), 0);
    check_i64(oh_out(g, n, 0), 1, DIMS(2), I64(224, 224));
    ir_graph_free(g);
}

static void test_slice_errors(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 1, DIMS(5));
    int st = oh_const_i64(g, "st", 1, DIMS(1), I64(0));
    int en = oh_const_i64(g, "en", 1, DIMS(1), I64(5));
    int ax = oh_const_i64(g, "ax", 1, DIMS(1), I64(0));
    int sp = oh_const_i64(g, "sp", 1, DIMS(1), I64(0));
    oh_node(g, "Slice", 5, IN(x, st, en, ax, sp), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "step of axis 0 is 0"));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 1, DIMS(5));
    st = oh_const_i64(g, "st", 1, DIMS(2), I64(0, 0));
    en = oh_const_i64(g, "en", 1, DIMS(1), I64(5));
    oh_node(g, "Slice", 3, IN(x, st, en), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "different lengths"));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 1, DIMS(5));
    st = oh_input(g, "starts_rt", IR_DT_I64, 1, DIMS(1));
    en = oh_const_i64(g, "en", 1, DIMS(1), I64(5));
    oh_node(g, "Slice", 3, IN(x, st, en), 1);
    assert_int_equal(infer_fail(g), INFERD_E_UNSUPPORTED);
    assert_non_null(strstr(err, "'starts_rt' must be constant"));
    ir_graph_free(g);
}

/* --- Gather --------------------------------------------------------------- */

static void test_gather(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 2, DIMS(2, 4));
    int32_t idx[] = { 3, -4, -1 };
    int i = oh_const(g, "i", IR_DT_I32, 2, DIMS(1, 3), idx);
    int n = oh_node(g, "Gather", 2, IN(x, i), 1);
    ir_node_attr_set_int(g, n, "axis", 1);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, n, 0), 3, DIMS(2, 1, 3), F32(3, 0, 3, 7, 4, 7));
    ir_graph_free(g);

    /* A scalar index drops the axis: what Shape -> Gather does. */
    g = oh_graph(13);
    x = oh_const_i64(g, "x", 1, DIMS(4), I64(1, 3, 7, 9));
    i = oh_const_i64(g, "i", 0, NULL, I64(-2));
    n = oh_node(g, "Gather", 2, IN(x, i), 1);
    assert_int_equal(infer(g), 0);
    check_i64(oh_out(g, n, 0), 0, NULL, I64(7));
    ir_graph_free(g);

    g = oh_graph(13);
    x = iota_f32(g, "x", 1, DIMS(4));
    i = oh_const_i64(g, "i", 1, DIMS(2), I64(1, 4));
    oh_node(g, "Gather", 2, IN(x, i), 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "index 4 is out of range for axis 0 of size 4"));
    ir_graph_free(g);
}

static void test_gather_runtime_index(void **state)
{
    (void)state;
    /* Indices known only at run time: eval itself refuses a bad one. */
    struct ir_graph *g = oh_graph(13);
    int x = iota_f32(g, "x", 1, DIMS(4));
    int i = oh_input(g, "i", IR_DT_I64, 1, DIMS(2));
    int n = oh_node(g, "Gather", 2, IN(x, i), 1);
    assert_int_equal(infer(g), 0);
    const struct ir_node *node = &g->nodes[n];
    assert_false(oh_out(g, n, 0)->flags & IR_VALUE_CONST);

    struct ir_tensor in[2], out[1];
    ir_value_tensor(g, x, &in[0]);
    int64_t idx[2] = { 2, -5 };
    in[1] = (struct ir_tensor){
        .dtype = IR_DT_I64, .ndim = 1, .dims = { 2 }, .data = idx, .nbytes = sizeof(idx)
    };
    float y[2] = { -1, -1 };
    out[0] = (struct ir_tensor){
        .dtype = IR_DT_F32, .ndim = 1, .dims = { 2 }, .data = y, .nbytes = sizeof(y)
    };
    assert_int_equal(node->op->eval(node->params, in, 2, out, 1), INFERD_E_BAD_INPUT);
    idx[1] = -4;
    assert_int_equal(node->op->eval(node->params, in, 2, out, 1), 0);
    assert_true(y[0] == 2.0f && y[1] == 0.0f);
    ir_graph_free(g);
}

/* --- Shape / Constant / ConstantOfShape ---------------------------------- */

static void test_shape(void **state)
{
    (void)state;
    /* The input is a runtime input: Shape is constant all the same. */
    struct ir_graph *g = oh_graph(15);
    int x = oh_input(g, "x", IR_DT_F32, 4, DIMS(1, 3, 224, 200));
    int a = oh_node(g, "Shape", 1, &x, 1);
    int b = oh_node(g, "Shape", 1, &x, 1);
    ir_node_attr_set_int(g, b, "start", -3);
    ir_node_attr_set_int(g, b, "end", -1);
    int c = oh_node(g, "Shape", 1, &x, 1);
    ir_node_attr_set_int(g, c, "start", -10);
    ir_node_attr_set_int(g, c, "end", 1);
    assert_int_equal(infer(g), 0);
    check_i64(oh_out(g, a, 0), 1, DIMS(4), I64(1, 3, 224, 200));
    check_i64(oh_out(g, b, 0), 1, DIMS(2), I64(3, 224));
    check_i64(oh_out(g, c, 0), 1, DIMS(1), I64(1));
    assert_true(g->nodes[a].dead);
    ir_graph_free(g);

    /* Before opset 15, start and end do not exist. */
    g = oh_graph(13);
    x = oh_input(g, "x", IR_DT_F32, 2, DIMS(5, 6));
    a = oh_node(g, "Shape", 1, &x, 1);
    ir_node_attr_set_int(g, a, "start", 1);
    assert_int_equal(infer(g), 0);
    check_i64(oh_out(g, a, 0), 1, DIMS(2), I64(5, 6));
    ir_graph_free(g);
}

static void test_constant(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int a = oh_node(g, "Constant", 0, NULL, 1);
    struct ir_attr *at = ir_node_attr_add(g, a, "value", IR_ATTR_TENSOR);
    at->t = calloc(1, sizeof(*at->t));
    *at->t = (struct ir_tensor){ .dtype = IR_DT_F32, .ndim = 2, .dims = { 1, 2 }, .nbytes = 8 };
    at->t->data = ir_alloc(8);
    memcpy(at->t->data, F32(1.5f, -2), 8);
    int b = oh_node(g, "Constant", 0, NULL, 1);
    ir_node_attr_set_ints(g, b, "value_ints", I64(4, 5, 6), 3);
    int c = oh_node(g, "Constant", 0, NULL, 1);
    ir_node_attr_set_float(g, c, "value_float", 0.25f);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, a, 0), 2, DIMS(1, 2), F32(1.5f, -2));
    check_i64(oh_out(g, b, 0), 1, DIMS(3), I64(4, 5, 6));
    check_f32(oh_out(g, c, 0), 0, NULL, F32(0.25f));
    ir_graph_free(g);

    g = oh_graph(13);
    a = oh_node(g, "Constant", 0, NULL, 1);
    ir_node_attr_add(g, a, "sparse_value", IR_ATTR_TENSOR);
    assert_int_equal(infer_fail(g), INFERD_E_UNSUPPORTED);
    assert_non_null(strstr(err, "'sparse_value' is not supported"));
    ir_graph_free(g);

    /* value_* attributes arrived in opset 12. */
    g = oh_graph(11);
    a = oh_node(g, "Constant", 0, NULL, 1);
    ir_node_attr_set_int(g, a, "value_int", 3);
    assert_int_equal(infer_fail(g), INFERD_E_UNSUPPORTED);
    ir_graph_free(g);
}

static void test_constant_of_shape(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int s = oh_const_i64(g, "s", 1, DIMS(2), I64(2, 3));
    int a = oh_node(g, "ConstantOfShape", 1, &s, 1);
    int b = oh_node(g, "ConstantOfShape", 1, &s, 1);
    struct ir_attr *at = ir_node_attr_add(g, b, "value", IR_ATTR_TENSOR);
    at->t = calloc(1, sizeof(*at->t));
    *at->t = (struct ir_tensor){ .dtype = IR_DT_I32, .ndim = 1, .dims = { 1 }, .nbytes = 4 };
    at->t->data = ir_alloc(4);
    *(int32_t *)at->t->data = -7;
    int e = oh_const_i64(g, "e", 1, DIMS(0), NULL);
    int c = oh_node(g, "ConstantOfShape", 1, &e, 1);
    assert_int_equal(infer(g), 0);
    check_f32(oh_out(g, a, 0), 2, DIMS(2, 3), F32(0, 0, 0, 0, 0, 0));
    const struct ir_value *y = oh_out(g, b, 0);
    check_shape(y, 2, DIMS(2, 3));
    assert_int_equal(y->dtype, IR_DT_I32);
    for (int k = 0; k < 6; k++) assert_int_equal(((const int32_t *)y->data)[k], -7);
    check_f32(oh_out(g, c, 0), 0, NULL, F32(0));
    ir_graph_free(g);

    g = oh_graph(13);
    s = oh_const_i64(g, "s", 1, DIMS(2), I64(2, -3));
    oh_node(g, "ConstantOfShape", 1, &s, 1);
    assert_int_equal(infer_fail(g), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "negative dim"));
    ir_graph_free(g);

    /* Over the element limit. */
    g = oh_graph(13);
    s = oh_const_i64(g, "s", 1, DIMS(3), I64(1 << 20, 1 << 20, 1 << 20));
    oh_node(g, "ConstantOfShape", 1, &s, 1);
    assert_int_equal(infer_fail(g), INFERD_E_TOO_LARGE);
    assert_non_null(strstr(err, "over the limit"));
    ir_graph_free(g);
}

/* --- the exporters' shape chain ----------------------------------------- */

static void test_shape_chain_folds(void **state)
{
    (void)state;
    /* x.view(x.size(0), -1) as exported: Shape -> Gather(0) -> Unsqueeze ->
     * Concat with [-1] -> Reshape. Everything but the Reshape folds. */
    struct ir_graph *g = oh_graph(13);
    int x = oh_input(g, "x", IR_DT_F32, 4, DIMS(2, 3, 4, 5));
    int shape = oh_node(g, "Shape", 1, &x, 1);
    int zero = oh_const_i64(g, "zero", 0, NULL, I64(0));
    int gather = oh_node(g, "Gather", 2, IN(g->nodes[shape].out[0], zero), 1);
    int ax0 = oh_const_i64(g, "ax0", 1, DIMS(1), I64(0));
    int unsq = oh_node(g, "Unsqueeze", 2, IN(g->nodes[gather].out[0], ax0), 1);
    int minus1 = oh_const_i64(g, "minus1", 1, DIMS(1), I64(-1));
    int concat = oh_node(g, "Concat", 2, IN(g->nodes[unsq].out[0], minus1), 1);
    ir_node_attr_set_int(g, concat, "axis", 0);
    int reshape = oh_node(g, "Reshape", 2, IN(x, g->nodes[concat].out[0]), 1);
    assert_int_equal(infer(g), 0);

    check_i64(oh_out(g, gather, 0), 0, NULL, I64(2));
    check_i64(oh_out(g, unsq, 0), 1, DIMS(1), I64(2));
    check_i64(oh_out(g, concat, 0), 1, DIMS(2), I64(2, -1));
    assert_true(g->nodes[shape].dead && g->nodes[gather].dead && g->nodes[unsq].dead &&
                g->nodes[concat].dead);
    const struct ir_value *y = oh_out(g, reshape, 0);
    check_shape(y, 2, DIMS(2, 60));
    assert_false(y->flags & IR_VALUE_CONST);
    assert_false(g->nodes[reshape].dead);
    ir_graph_free(g);
}

static void test_shape_chain_slice_concat(void **state)
{
    (void)state;
    /* shufflenet's channel shuffle shape: Shape -> Slice[0:1] -> Concat with
     * constants -> Reshape, and a Squeeze of the sliced dim. Sorting may
     * reorder the nodes, so outputs are looked up by value. */
    struct ir_graph *g = oh_graph(13);
    int x = oh_input(g, "x", IR_DT_F32, 4, DIMS(1, 116, 28, 28));
    int shape = oh_node(g, "Shape", 1, &x, 1);
    int st = oh_const_i64(g, "st", 1, DIMS(1), I64(0));
    int en = oh_const_i64(g, "en", 1, DIMS(1), I64(1));
    int sl = oh_node(g, "Slice", 3, IN(g->nodes[shape].out[0], st, en), 1);
    int rest = oh_const_i64(g, "rest", 1, DIMS(4), I64(2, 58, 28, 28));
    int cat = oh_node(g, "Concat", 2, IN(g->nodes[sl].out[0], rest), 1);
    ir_node_attr_set_int(g, cat, "axis", 0);
    int re = oh_node(g, "Reshape", 2, IN(x, g->nodes[cat].out[0]), 1);
    int ax = oh_const_i64(g, "ax", 1, DIMS(1), I64(0));
    int sq = oh_node(g, "Squeeze", 2, IN(g->nodes[sl].out[0], ax), 1);
    int cat_out = g->nodes[cat].out[0], re_out = g->nodes[re].out[0];
    int sq_out = g->nodes[sq].out[0];
    assert_int_equal(infer(g), 0);
    check_i64(&g->values[cat_out], 1, DIMS(5), I64(1, 2, 58, 28, 28));
    check_shape(&g->values[re_out], 5, DIMS(1, 2, 58, 28, 28));
    check_i64(&g->values[sq_out], 0, NULL, I64(1));
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_reshape),
        cmocka_unit_test(test_reshape_allowzero),
        cmocka_unit_test(test_reshape_errors),
        cmocka_unit_test(test_squeeze),
        cmocka_unit_test(test_unsqueeze),
        cmocka_unit_test(test_identity_dropout),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_unused_output),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_slice_errors),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_gather_runtime_index),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_constant_of_shape),
        cmocka_unit_test(test_shape_chain_folds),
        cmocka_unit_test(test_shape_chain_slice_concat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
