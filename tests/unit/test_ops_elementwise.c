/* Element-wise operators: shape inference and reference kernels, checked
 * through one-node graphs with constant inputs (infer, then fold through
 * eval), against numbers computed by hand or with numpy. This file: the
 * harness, broadcasting, binary, variadic and ternary ops, errors and the
 * registry rows; test_ops_elementwise_unary.c: unary ops, Clip, Cast. */
#include "test_ops_elementwise.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inferd_error.h"

/* --- harness ------------------------------------------------------------- */

void run_op(struct run *r, int opset, const char *op, const struct tin *ins, int nin,
            const struct attr *attrs, int nattrs)
{
    memset(r, 0, sizeof(*r));
    r->g = oh_graph(opset);
    assert_non_null(r->g);
    int vin[8];
    assert_true(nin <= 8);
    for (int k = 0; k < nin; k++) {
        char name[16];
        snprintf(name, sizeof(name), "in%d", k);
        if (ins[k].dtype == IR_DT_UNDEFINED)
            vin[k] = -1;
        else if (ins[k].runtime)
            vin[k] = oh_input(r->g, name, ins[k].dtype, ins[k].ndim, ins[k].dims);
        else
            vin[k] = oh_const(r->g, name, ins[k].dtype, ins[k].ndim, ins[k].dims, ins[k].data);
        assert_true(vin[k] >= -1);
    }
    r->node = oh_node(r->g, op, nin, vin, 1);
    assert_true(r->node >= 0);
    for (int a = 0; a < nattrs; a++) {
        if (attrs[a].type == IR_ATTR_INT)
            assert_int_equal(ir_node_attr_set_int(r->g, r->node, attrs[a].name, attrs[a].i), 0);
        else
            assert_int_equal(ir_node_attr_set_float(r->g, r->node, attrs[a].name, attrs[a].f), 0);
    }
    r->rc = oh_infer(r->g, r->err, sizeof(r->err));
    r->out = oh_out(r->g, r->node, 0);
}

/* Runs an op that must succeed and fold; checks the output dtype and shape. */
void run_ok(struct run *r, int opset, const char *op, const struct tin *ins, int nin,
            const struct attr *attrs, int nattrs, int dtype, int ndim, const int64_t *dims)
{
    run_op(r, opset, op, ins, nin, attrs, nattrs);
    if (r->rc != 0) fail_msg("%s failed: %s", op, r->err);
    assert_int_equal(r->out->dtype, dtype);
    assert_int_equal(r->out->shape.ndim, ndim);
    for (int d = 0; d < ndim; d++) assert_int_equal(r->out->shape.dims[d], dims[d]);
    assert_true(r->out->flags & IR_VALUE_CONST);
    assert_non_null(r->out->data);
}

/* Runs an op that must fail with code, its message containing want. */
void run_fail(int opset, const char *op, const struct tin *ins, int nin, const struct attr *attrs,
              int nattrs, int code, const char *want)
{
    struct run r;
    run_op(&r, opset, op, ins, nin, attrs, nattrs);
    if (r.rc != code || !strstr(r.err, want))
        fail_msg("%s: got %d '%s', wanted %d with '%s'", op, r.rc, r.err, code, want);
    ir_graph_free(r.g);
}

static bool same_f32(float got, float want, float rtol)
{
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabsf(got - want) <= rtol * fmaxf(1.0f, fabsf(want));
}

void check_f32(const char *what, const float *got, const float *want, size_t n, float rtol)
{
    for (size_t i = 0; i < n; i++)
        if (!same_f32(got[i], want[i], rtol))
            fail_msg("%s[%zu]: got %.9g, want %.9g", what, i, (double)got[i], (double)want[i]);
}

void check_i64(const char *what, const int64_t *got, const int64_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s[%zu]: got %lld, want %lld", what, i, (long long)got[i],
                     (long long)want[i]);
}

void check_u8(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) fail_msg("%s[%zu]: got %d, want %d", what, i, got[i], want[i]);
}

/* A 1-D float32 constant of n values. */
struct tin vec_f32(const float *v, int64_t n)
{
    return (struct tin){ IR_DT_F32, 1, { n }, v, 0 };
}

/* Runs eval as a backend would at run time, on tensors it owns. */
int eval_node(const struct run *r, const struct ir_tensor *in, int nin, struct ir_tensor *out)
{
    const struct ir_node *n = &r->g->nodes[r->node];
    return n->op->eval(n->params, in, nin, out, 1);
}

struct ir_tensor tensor_f32(float *data, int ndim, const int64_t *dims)
{
    struct ir_tensor t = { IR_DT_F32, ndim, { 0 }, data, 0 };
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= t.dims[d] = dims[d];
    t.nbytes = (size_t)n * sizeof(float);
    return t;
}

/* --- broadcasting -------------------------------------------------------- */

/* Offset of output element i in an input of shape (ndim, dims) broadcast to
 * the output shape: the definition, with no stride tricks. */
static int64_t naive_offset(int64_t i, int ondim, const int64_t *odims, int ndim,
                            const int64_t *dims)
{
    int64_t off = 0, stride = 1;
    for (int d = ondim - 1; d >= 0; d--) {
        int64_t coord = i % odims[d];
        i /= odims[d];
        int j = d - (ondim - ndim);
        if (j < 0) continue;
        if (dims[j] != 1) off += coord * stride;
        stride *= dims[j];
    }
    return off;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void test_broadcast_by_hand(void **state)
{
    (void)state;
    struct run r;
    /* [2,3] + [3] */
    const float a[] = { 1, 2, 3, 4, 5, 6 }, b[] = { 10, 20, 30 };
    const float ab[] = { 11, 22, 33, 14, 25, 36 };
    struct tin in1[] = { { IR_DT_F32, 2, { 2, 3 }, a, 0 }, vec_f32(b, 3) };
    run_ok(&r, 13, "Add", in1, 2, NULL, 0, IR_DT_F32, 2, (int64_t[]){ 2, 3 });
    check_f32("Add [2,3]+[3]", r.out->data, ab, 6, 0);
    ir_graph_free(r.g);
    /* [2,1] - [1,3]: both sides broadcast */
    const float c[] = { 100, 200 };
    const float cb[] = { 90, 80, 70, 190, 180, 170 };
    struct tin in2[] = { { IR_DT_F32, 2, { 2, 1 }, c, 0 }, { IR_DT_F32, 2, { 1, 3 }, b, 0 } };
    run_ok(&r, 13, "Sub", in2, 2, NULL, 0, IR_DT_F32, 2, (int64_t[]){ 2, 3 });
    check_f32("Sub [2,1]-[1,3]", r.out->data, cb, 6, 0);
    ir_graph_free(r.g);
    /* rank-0 scalar on either side, and both */
    const float s[] = { 2 };
    const float a2[] = { 2, 4, 6, 8, 10, 12 },
                two_over[] = { 2, 1, 2.0f / 3, 0.5f, 0.4f, 2.0f / 6 };
    struct tin in3[] = { { IR_DT_F32, 2, { 2, 3 }, a, 0 }, { IR_DT_F32, 0, { 0 }, s, 0 } };
    run_ok(&r, 13, "Mul", in3, 2, NULL, 0, IR_DT_F32, 2, (int64_t[]){ 2, 3 });
    check_f32("Mul [2,3]*[]", r.out->data, a2, 6, 0);
    ir_graph_free(r.g);
    struct tin in4[] = { { IR_DT_F32, 0, { 0 }, s, 0 }, { IR_DT_F32, 2, { 2, 3 }, a, 0 } };
    run_ok(&r, 13, "Div", in4, 2, NULL, 0, IR_DT_F32, 2, (int64_t[]){ 2, 3 });
    check_f32("Div []/[2,3]", r.out->data, two_over, 6, 1e-7f);
    ir_graph_free(r.g);
    struct tin in5[] = { { IR_DT_F32, 0, { 0 }, s, 0 }, { IR_DT_F32, 0, { 0 }, b, 0 } };
    run_ok(&r, 13, "Add", in5, 2, NULL, 0, IR_DT_F32, 0, NULL);
    assert_true(((float *)r.out->data)[0] == 12.0f);
    ir_graph_free(r.g);
    /* [1] with [2,3] keeps rank 2 */
    struct tin in6[] = { vec_f32(s, 1), { IR_DT_F32, 2, { 2, 3 }, a, 0 } };
    run_ok(&r, 13, "Sub", in6, 2, NULL, 0, IR_DT_F32, 2, (int64_t[]){ 2, 3 });
    check_f32("Sub [1]-[2,3]", r.out->data, (float[]){ 1, 0, -1, -2, -3, -4 }, 6, 0);
    ir_graph_free(r.g);
}

/* Size-1 dims in the middle of both inputs: [2,1,3] + [4,1] -> [2,4,3]. */
static void test_broadcast_middle_ones(void **state)
{
    (void)state;
    const float a[] = { 1, 2, 3, 4, 5, 6 };
    const float b[] = { 10, 20, 30, 40 };
    float want[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++) want[(i * 4 + j) * 3 + k] = a[i * 3 + k] + b[j];
    struct run r;
    struct tin in[] = { { IR_DT_F32, 3, { 2, 1, 3 }, a, 0 }, { IR_DT_F32, 2, { 4, 1 }, b, 0 } };
    run_ok(&r, 13, "Add", in, 2, NULL, 0, IR_DT_F32, 3, (int64_t[]){ 2, 4, 3 });
    check_f32("Add [2,1,3]+[4,1]", r.out->data, want, 24, 0);
    ir_graph_free(r.g);
    /* [1,3,1,1] * [2,1,2,1]: the 1s must not be merged into the wrong dim */
    const float c[] = { 1, 2, 3 }, d[] = { 1, 10, 100, 1000 };
    float want2[12];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++) want2[(i * 3 + j) * 2 + k] = c[j] * d[i * 2 + k];
    struct tin in2[] = { { IR_DT_F32, 4, { 1, 3, 1, 1 }, c, 0 },
                         { IR_DT_F32, 4, { 2, 1, 2, 1 }, d, 0 } };
    run_ok(&r, 13, "Mul", in2, 2, NULL, 0, IR_DT_F32, 4, (int64_t[]){ 2, 3, 2, 1 });
    check_f32("Mul [1,3,1,1]*[2,1,2,1]", r.out->data, want2, 12, 0);
    ir_graph_free(r.g);
}

static void test_broadcast_empty(void **state)
{
    (void)state;
    const float b[] = { 1, 2, 3 };
    struct run r;
    struct tin in[] = { { IR_DT_F32, 2, { 0, 3 }, b, 0 }, vec_f32(b, 3) };
    run_op(&r, 13, "Add", in, 2, NULL, 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.out->shape.ndim, 2);
    assert_int_equal(r.out->shape.dims[0], 0);
    assert_int_equal(r.out->shape.dims[1], 3);
    ir_graph_free(r.g);
}

/* Numpy's rule, spelled out: align at the right, take the dim that is not 1. */
static int naive_shape(const struct tin *in, int n, int64_t *odims)
{
    int rank = 0;
    for (int k = 0; k < n; k++) rank = in[k].ndim > rank ? in[k].ndim : rank;
    for (int d = 0; d < rank; d++) {
        odims[d] = 1;
        for (int k = 0; k < n; k++) {
            int j = d - (rank - in[k].ndim);
            if (j >= 0 && in[k].dims[j] != 1) odims[d] = in[k].dims[j];
        }
    }
    return rank;
}

/* Random shapes of rank 0-5 with dims of 1-3, where each input keeps or
 * drops (to 1) each dim of a base shape and may be of lower rank: Add (two
 * inputs) and Where (three) against naive_offset. */
static void test_broadcast_random(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    for (int iter = 0; iter < 300; iter++) {
        const int rank = (int)(lcg(&seed) % 6);
        int64_t base[IR_MAX_DIMS];
        for (int d = 0; d < rank; d++) base[d] = 1 + lcg(&seed) % 3;
        struct tin in[3];
        float *fdata[3] = { NULL, NULL, NULL };
        uint8_t *cond = NULL;
        for (int k = 0; k < 3; k++) {
            int nd = rank - (int)(lcg(&seed) % (rank + 1)) / 2;
            in[k] = (struct tin){ k == 0 ? IR_DT_BOOL : IR_DT_F32, nd, { 0 }, NULL, 0 };
            int64_t numel = 1;
            for (int j = 0; j < nd; j++) {
                in[k].dims[j] = lcg(&seed) % 3 == 0 ? 1 : base[j + rank - nd];
                numel *= in[k].dims[j];
            }
            if (k == 0) {
                cond = malloc((size_t)numel + 1);
                assert_non_null(cond);
                for (int64_t i = 0; i < numel; i++) cond[i] = lcg(&seed) & 1;
                in[k].data = cond;
            } else {
                fdata[k] = malloc(sizeof(float) * ((size_t)numel + 1));
                assert_non_null(fdata[k]);
                for (int64_t i = 0; i < numel; i++) fdata[k][i] = (float)(k * 1000 + i);
                in[k].data = fdata[k];
            }
        }
        int64_t odims[IR_MAX_DIMS];
        struct run r;

        int ond = naive_shape(&in[1], 2, odims);
        run_ok(&r, 13, "Add", &in[1], 2, NULL, 0, IR_DT_F32, ond, odims);
        const float *got = r.out->data;
        for (int64_t i = 0; i < ir_shape_numel(&r.out->shape); i++) {
            float want = fdata[1][naive_offset(i, ond, odims, in[1].ndim, in[1].dims)] +
                         fdata[2][naive_offset(i, ond, odims, in[2].ndim, in[2].dims)];
            if (got[i] != want) fail_msg("iteration %d: Add element %lld", iter, (long long)i);
        }
        ir_graph_free(r.g);

        ond = naive_shape(in, 3, odims);
        run_ok(&r, 16, "Where", in, 3, NULL, 0, IR_DT_F32, ond, odims);
        got = r.out->data;
        for (int64_t i = 0; i < ir_shape_numel(&r.out->shape); i++) {
            int c = cond[naive_offset(i, ond, odims, in[0].ndim, in[0].dims)];
            int k = c ? 1 : 2;
            float want = fdata[k][naive_offset(i, ond, odims, in[k].ndim, in[k].dims)];
            if (got[i] != want) fail_msg("iteration %d: Where element %lld", iter, (long long)i);
        }
        ir_graph_free(r.g);
        free(cond);
        free(fdata[1]);
        free(fdata[2]);
    }
}

/* --- binary ops ---------------------------------------------------------- */

static void test_arith_f32(void **state)
{
    (void)state;
    const float a[] = { 1, 2, 3, 4, 5, 6 }, b[] = { 3 };
    struct tin in[] = { { IR_DT_F32, 2, { 2, 3 }, a, 0 }, vec_f32(b, 1) };
    struct run r;
    run_ok(&r, 14, "Div", in, 2, NULL, 0, IR_DT_F32, 2, (int64_t[]){ 2, 3 });
    /* numpy: np.array([[1,2,3],[4,5,6]], np.float32) / np.float32(3) */
    check_f32("Div", r.out->data,
              (float[]){ 0.33333334f, 0.6666667f, 1.0f, 1.3333334f, 1.6666666f, 2.0f }, 6, 0);
    ir_graph_free(r.g);
    const float z[] = { 0 }, one[] = { 1, -1, 0 };
    struct tin in0[] = { vec_f32(one, 3), vec_f32(z, 1) };
    run_ok(&r, 7, "Div", in0, 2, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 3 });
    check_f32("Div by 0", r.out->data, (float[]){ INFINITY, -INFINITY, NAN }, 3, 0);
    ir_graph_free(r.g);
}

/* Shape arithmetic as exporters write it (shufflenet: channels / groups). */
static void test_int64_div_mul(void **state)
{
    (void)state;
    const int64_t a[] = { 7, -7, 7, -7, 0, 116, INT64_MIN, 5 };
    const int64_t b[] = { 2, 2, -2, -2, 3, 2, -1, 0 };
    struct tin in[] = { { IR_DT_I64, 1, { 8 }, a, 0 }, { IR_DT_I64, 1, { 8 }, b, 0 } };
    struct run r;
    run_ok(&r, 13, "Div", in, 2, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 8 });
    /* Truncation toward zero; INT64_MIN / -1 wraps; x / 0 is defined as 0. */
    check_i64("Div", r.out->data, (int64_t[]){ 3, -3, -3, 3, 0, 58, INT64_MIN, 0 }, 8);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Mul", in, 2, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 8 });
    check_i64("Mul", r.out->data, (int64_t[]){ 14, -14, -14, 14, 0, 232, INT64_MIN, 0 }, 8);
    ir_graph_free(r.g);
    /* Mul that overflows wraps instead of trapping. */
    const int64_t big[] = { INT64_MAX }, two[] = { 2 };
    struct tin inw[] = { { IR_DT_I64, 0, { 0 }, big, 0 }, { IR_DT_I64, 1, { 1 }, two, 0 } };
    run_ok(&r, 13, "Mul", inw, 2, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 1 });
    assert_true(((int64_t *)r.out->data)[0] == -2);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Add", inw, 2, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 1 });
    assert_true(((int64_t *)r.out->data)[0] == INT64_MIN + 1);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Sub", (struct tin[]){ inw[1], inw[0] }, 2, NULL, 0, IR_DT_I64, 1,
           (int64_t[]){ 1 });
    assert_true(((int64_t *)r.out->data)[0] == 2 - INT64_MAX);
    ir_graph_free(r.g);
}

static void test_int32_ops(void **state)
{
    (void)state;
    const int32_t a[] = { 10, -10, INT32_MIN, 9 }, b[] = { 3, 3, -1, 0 };
    struct tin in[] = { { IR_DT_I32, 1, { 4 }, a, 0 }, { IR_DT_I32, 1, { 4 }, b, 0 } };
    struct run r;
    const struct {
        const char *op;
        int32_t want[4];
    } cases[] = {
        { "Add", { 13, -7, INT32_MAX, 9 } },
        { "Sub", { 7, -13, INT32_MIN + 1, 9 } },
        { "Mul", { 30, -30, INT32_MIN, 0 } },
        { "Div", { 3, -3, INT32_MIN, 0 } },
    };
    for (size_t c = 0; c < N(cases); c++) {
        run_ok(&r, 14, cases[c].op, in, 2, NULL, 0, IR_DT_I32, 1, (int64_t[]){ 4 });
        const int32_t *o = r.out->data;
        for (int i = 0; i < 4; i++)
            if (o[i] != cases[c].want[i])
                fail_msg("%s[%d]: %d, want %d", cases[c].op, i, o[i], cases[c].want[i]);
        ir_graph_free(r.g);
    }
    /* uint8 wraps modulo 256, as in the ONNX test_add_uint8. */
    const uint8_t u[] = { 200, 3 }, v[] = { 100, 250 };
    struct tin inu[] = { { IR_DT_U8, 1, { 2 }, u, 0 }, { IR_DT_U8, 1, { 2 }, v, 0 } };
    run_ok(&r, 14, "Add", inu, 2, NULL, 0, IR_DT_U8, 1, (int64_t[]){ 2 });
    check_u8("Add uint8", r.out->data, (uint8_t[]){ 44, 253 }, 2);
    ir_graph_free(r.g);
    run_ok(&r, 14, "Mul", inu, 2, NULL, 0, IR_DT_U8, 1, (int64_t[]){ 2 });
    check_u8("Mul uint8", r.out->data, (uint8_t[]){ 32, 238 }, 2);
    ir_graph_free(r.g);
    /* uint16 * uint16 promotes to int in C: must still wrap, not overflow. */
    const uint16_t w[] = { 65535 };
    struct tin inw[] = { { IR_DT_U16, 1, { 1 }, w, 0 }, { IR_DT_U16, 1, { 1 }, w, 0 } };
    run_ok(&r, 14, "Mul", inw, 2, NULL, 0, IR_DT_U16, 1, (int64_t[]){ 1 });
    assert_int_equal(((uint16_t *)r.out->data)[0], 1);
    ir_graph_free(r.g);
}

/* The ONNX Mod test values. */
static void test_mod(void **state)
{
    (void)state;
    const int64_t a[] = { -4, 7, 5, 4, -7, 8, 3 }, b[] = { 2, -3, 8, -2, 3, 5, 0 };
    struct tin in[] = { { IR_DT_I64, 1, { 7 }, a, 0 }, { IR_DT_I64, 1, { 7 }, b, 0 } };
    struct run r;
    run_ok(&r, 13, "Mod", in, 2, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 7 });
    check_i64("Mod", r.out->data, (int64_t[]){ 0, -2, 5, 0, 2, 3, 0 }, 7);
    ir_graph_free(r.g);
    struct attr fmod1[] = { AI("fmod", 1) };
    run_ok(&r, 13, "Mod", in, 2, fmod1, 1, IR_DT_I64, 1, (int64_t[]){ 7 });
    check_i64("Mod fmod", r.out->data, (int64_t[]){ 0, 1, 5, 0, -1, 3, 0 }, 7);
    ir_graph_free(r.g);
    const float x[] = { -4.3f, 7.2f, 5.0f, 4.3f, -7.2f, 8.0f };
    const float y[] = { 2.1f, -3.4f, 8.0f, -2.1f, 3.4f, 5.0f };
    struct tin inf[] = { vec_f32(x, 6), vec_f32(y, 6) };
    run_ok(&r, 13, "Mod", inf, 2, fmod1, 1, IR_DT_F32, 1, (int64_t[]){ 6 });
    check_f32("Mod float", r.out->data,
              (float[]){ -0.10000038f, 0.39999962f, 5.0f, 0.10000038f, -0.39999962f, 3.0f }, 6, 0);
    ir_graph_free(r.g);
    run_fail(13, "Mod", inf, 2, NULL, 0, INFERD_E_BAD_MODEL,
             "Mod of float32 inputs needs the attribute fmod=1");
    /* int8: INT8_MIN % -1 is 0, not a trap. */
    const int8_t c[] = { -128, -7 }, d[] = { -1, 3 };
    struct tin in8[] = { { IR_DT_I8, 1, { 2 }, c, 0 }, { IR_DT_I8, 1, { 2 }, d, 0 } };
    run_ok(&r, 13, "Mod", in8, 2, NULL, 0, IR_DT_I8, 1, (int64_t[]){ 2 });
    const int8_t *o = r.out->data;
    assert_true(o[0] == 0 && o[1] == 2);
    ir_graph_free(r.g);
}

static void test_pow(void **state)
{
    (void)state;
    struct run r;
    const float a[] = { 1.5f, 2.0f, 3.0f, 0.5f }, b[] = { 2.2f, -1.0f, 0.5f, 3.0f };
    struct tin in[] = { vec_f32(a, 4), vec_f32(b, 4) };
    run_ok(&r, 15, "Pow", in, 2, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 4 });
    check_f32("Pow", r.out->data, (float[]){ 2.4400616f, 0.5f, 1.7320509f, 0.125f }, 4, 1e-7f);
    ir_graph_free(r.g);
    /* Base and exponent of different dtypes (ONNX test_pow_types_*). */
    const float x[] = { 1, 2, 3 };
    const int64_t e64[] = { 4, 5, 6 };
    const int32_t e32[] = { 4, 5, 6 };
    const float ef[] = { 4, 5, 6 };
    const float want[] = { 1, 32, 729 };
    struct tin f_i64[] = { vec_f32(x, 3), { IR_DT_I64, 1, { 3 }, e64, 0 } };
    run_ok(&r, 15, "Pow", f_i64, 2, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 3 });
    check_f32("Pow f32^i64", r.out->data, want, 3, 0);
    ir_graph_free(r.g);
    struct tin f_i32[] = { vec_f32(x, 3), { IR_DT_I32, 1, { 3 }, e32, 0 } };
    run_ok(&r, 15, "Pow", f_i32, 2, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 3 });
    check_f32("Pow f32^i32", r.out->data, want, 3, 0);
    ir_graph_free(r.g);
    const int64_t xi[] = { 1, 2, 3 };
    struct tin i_f[] = { { IR_DT_I64, 1, { 3 }, xi, 0 }, vec_f32(ef, 3) };
    run_ok(&r, 15, "Pow", i_f, 2, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 3 });
    check_i64("Pow i64^f32", r.out->data, (int64_t[]){ 1, 32, 729 }, 3);
    ir_graph_free(r.g);
    /* Integers both sides: exact; a negative exponent truncates 1/b^-e. */
    const int64_t bi[] = { 3, -2, 2, 1, -1, -1, 2, 0 };
    const int64_t ei[] = { 39, 5, -1, -5, -3, -2, 64, 0 };
    struct tin i_i[] = { { IR_DT_I64, 1, { 8 }, bi, 0 }, { IR_DT_I64, 1, { 8 }, ei, 0 } };
    run_ok(&r, 15, "Pow", i_i, 2, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 8 });
    check_i64("Pow i64^i64", r.out->data,
              (int64_t[]){ INT64_C(4052555153018976267), -32, 0, 1, -1, 1, 0, 1 }, 8);
    ir_graph_free(r.g);
    /* Scalar exponent broadcast (test_pow_bcast_scalar). */
    const float two[] = { 2 };
    struct tin bc[] = { vec_f32(x, 3), { IR_DT_F32, 0, { 0 }, two, 0 } };
    run_ok(&r, 7, "Pow", bc, 2, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 3 });
    check_f32("Pow bcast", r.out->data, (float[]){ 1, 4, 9 }, 3, 0);
    ir_graph_free(r.g);
}

static void test_compare(void **state)
{
    (void)state;
    const float a[] = { 1, 2, 3, 4, 5, 6 }, b[] = { 2, 5, 3 };
    struct tin in[] = { { IR_DT_F32, 2, { 2, 3 }, a, 0 }, vec_f32(b, 3) };
    const struct {
        const char *op;
        int opset;
        uint8_t want[6];
    } cases[] = {
        { "Equal", 13, { 0, 0, 1, 0, 1, 0 } },          { "Less", 13, { 1, 1, 0, 0, 0, 0 } },
        { "Greater", 13, { 0, 0, 0, 1, 0, 1 } },        { "LessOrEqual", 16, { 1, 1, 1, 0, 1, 0 } },
        { "GreaterOrEqual", 16, { 0, 0, 1, 1, 1, 1 } },
    };
    struct run r;
    for (size_t c = 0; c < N(cases); c++) {
        run_ok(&r, cases[c].opset, cases[c].op, in, 2, NULL, 0, IR_DT_BOOL, 2, (int64_t[]){ 2, 3 });
        check_u8(cases[c].op, r.out->data, cases[c].want, 6);
        ir_graph_free(r.g);
    }
    const int64_t x[] = { -1, 5, 7 }, y[] = { 5 };
    struct tin ini[] = { { IR_DT_I64, 1, { 3 }, x, 0 }, { IR_DT_I64, 0, { 0 }, y, 0 } };
    run_ok(&r, 11, "Equal", ini, 2, NULL, 0, IR_DT_BOOL, 1, (int64_t[]){ 3 });
    check_u8("Equal int64", r.out->data, (uint8_t[]){ 0, 1, 0 }, 3);
    ir_graph_free(r.g);
    run_ok(&r, 9, "Greater", ini, 2, NULL, 0, IR_DT_BOOL, 1, (int64_t[]){ 3 });
    check_u8("Greater int64", r.out->data, (uint8_t[]){ 0, 0, 1 }, 3);
    ir_graph_free(r.g);
    /* NaN compares unequal and unordered. */
    const float n[] = { NAN }, m[] = { 1 };
    struct tin inn[] = { vec_f32(n, 1), vec_f32(m, 1) };
    const char *ops[] = { "Equal", "Less", "Greater" };
    for (int i = 0; i < 3; i++) {
        run_ok(&r, 13, ops[i], inn, 2, NULL, 0, IR_DT_BOOL, 1, (int64_t[]){ 1 });
        assert_int_equal(((uint8_t *)r.out->data)[0], 0);
        ir_graph_free(r.g);
    }
}

static void test_logic(void **state)
{
    (void)state;
    const uint8_t a[] = { 0, 0, 1, 1 }, b[] = { 0, 1 };
    struct tin in[] = { { IR_DT_BOOL, 2, { 2, 2 }, a, 0 }, { IR_DT_BOOL, 1, { 2 }, b, 0 } };
    const struct {
        const char *op;
        uint8_t want[4];
    } cases[] = { { "And", { 0, 0, 0, 1 } }, { "Or", { 0, 1, 1, 1 } }, { "Xor", { 0, 1, 1, 0 } } };
    struct run r;
    for (size_t c = 0; c < N(cases); c++) {
        run_ok(&r, 7, cases[c].op, in, 2, NULL, 0, IR_DT_BOOL, 2, (int64_t[]){ 2, 2 });
        check_u8(cases[c].op, r.out->data, cases[c].want, 4);
        ir_graph_free(r.g);
    }
    const float f[] = { 1, 0 };
    struct tin inf[] = { vec_f32(f, 2), vec_f32(f, 2) };
    run_fail(7, "And", inf, 2, NULL, 0, INFERD_E_UNSUPPORTED,
             "input 0 'in0' has dtype float32, which And does not support");
}

static void test_prelu(void **state)
{
    (void)state;
    /* X [2,2,2] with a per-channel slope [2,1,1], as PyTorch exports it. */
    const float x[] = { -1, 2, -3, 4, -5, 6, -7, 8 }, s[] = { 0.5f, 0.25f };
    struct tin in[] = { { IR_DT_F32, 3, { 2, 2, 2 }, x, 0 }, { IR_DT_F32, 3, { 2, 1, 1 }, s, 0 } };
    struct run r;
    run_ok(&r, 9, "PRelu", in, 2, NULL, 0, IR_DT_F32, 3, (int64_t[]){ 2, 2, 2 });
    check_f32("PRelu", r.out->data, (float[]){ -0.5f, 2, -1.5f, 4, -1.25f, 6, -1.75f, 8 }, 8, 0);
    ir_graph_free(r.g);
    /* Slope [2] broadcast over the last dim. */
    struct tin in2[] = { { IR_DT_F32, 3, { 2, 2, 2 }, x, 0 }, vec_f32(s, 2) };
    run_ok(&r, 16, "PRelu", in2, 2, NULL, 0, IR_DT_F32, 3, (int64_t[]){ 2, 2, 2 });
    check_f32("PRelu", r.out->data, (float[]){ -0.5f, 2, -1.5f, 4, -2.5f, 6, -3.5f, 8 }, 8, 0);
    ir_graph_free(r.g);
    /* The slope may not make X bigger. */
    struct tin bad[] = { vec_f32(s, 2), { IR_DT_F32, 2, { 2, 2 }, x, 0 } };
    run_fail(9, "PRelu", bad, 2, NULL, 0, INFERD_E_BAD_MODEL,
             "slope 'in1' of shape [2,2] does not broadcast to input 'in0' of shape [2]");
}

/* --- variadic, Where ----------------------------------------------------- */

static void test_variadic(void **state)
{
    (void)state;
    const float a[] = { 3, 0, 2 }, b[] = { 1, 3, 4 }, c[] = { 2, 6, 6 };
    struct tin in[] = { vec_f32(a, 3), vec_f32(b, 3), vec_f32(c, 3) };
    struct run r;
    run_ok(&r, 13, "Sum", in, 3, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 3 });
    check_f32("Sum", r.out->data, (float[]){ 6, 9, 12 }, 3, 0);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Max", in, 3, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 3 });
    check_f32("Max", r.out->data, (float[]){ 3, 6, 6 }, 3, 0);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Min", in, 3, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 3 });
    check_f32("Min", r.out->data, (float[]){ 1, 0, 2 }, 3, 0);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Mean", in, 3, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 3 });
    check_f32("Mean", r.out->data, (float[]){ 2, 3, 4 }, 3, 0);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Max", in, 1, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 3 });
    check_f32("Max of one", r.out->data, a, 3, 0);
    ir_graph_free(r.g);
    /* Broadcast where the first input is the smallest: [1] + [2,1] + [3]. */
    const float s[] = { 100 }, col[] = { 10, 20 };
    struct tin inb[] = { vec_f32(s, 1), { IR_DT_F32, 2, { 2, 1 }, col, 0 }, vec_f32(b, 3) };
    run_ok(&r, 8, "Sum", inb, 3, NULL, 0, IR_DT_F32, 2, (int64_t[]){ 2, 3 });
    check_f32("Sum bcast", r.out->data, (float[]){ 111, 113, 114, 121, 123, 124 }, 6, 0);
    ir_graph_free(r.g);
    run_ok(&r, 8, "Min", inb, 3, NULL, 0, IR_DT_F32, 2, (int64_t[]){ 2, 3 });
    check_f32("Min bcast", r.out->data, (float[]){ 1, 3, 4, 1, 3, 4 }, 6, 0);
    ir_graph_free(r.g);
    /* NaN propagates through Max and Min, as numpy's maximum does. */
    const float n[] = { NAN, 1 }, m[] = { 0, NAN };
    struct tin inn[] = { vec_f32(n, 2), vec_f32(m, 2) };
    run_ok(&r, 13, "Max", inn, 2, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 2 });
    assert_true(isnan(((float *)r.out->data)[0]) && isnan(((float *)r.out->data)[1]));
    ir_graph_free(r.g);
    /* Integers. */
    const int64_t i1[] = { 5, -2 }, i2[] = { 7 };
    struct tin ini[] = { { IR_DT_I64, 1, { 2 }, i1, 0 }, { IR_DT_I64, 1, { 1 }, i2, 0 } };
    run_ok(&r, 13, "Sum", ini, 2, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 2 });
    check_i64("Sum int64", r.out->data, (int64_t[]){ 12, 5 }, 2);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Max", ini, 2, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 2 });
    check_i64("Max int64", r.out->data, (int64_t[]){ 7, 7 }, 2);
    ir_graph_free(r.g);
    run_fail(13, "Mean", ini, 2, NULL, 0, INFERD_E_UNSUPPORTED,
             "input 0 'in0' has dtype int64, which Mean does not support");
}

static void test_where(void **state)
{
    (void)state;
    /* test_where_example */
    const uint8_t c[] = { 1, 0, 1, 1 };
    const float x[] = { 1, 2, 3, 4 }, y[] = { 9, 8, 7, 6 };
    struct tin in[] = { { IR_DT_BOOL, 2, { 2, 2 }, c, 0 },
                        { IR_DT_F32, 2, { 2, 2 }, x, 0 },
                        { IR_DT_F32, 2, { 2, 2 }, y, 0 } };
    struct run r;
    run_ok(&r, 9, "Where", in, 3, NULL, 0, IR_DT_F32, 2, (int64_t[]){ 2, 2 });
    check_f32("Where", r.out->data, (float[]){ 1, 8, 3, 4 }, 4, 0);
    ir_graph_free(r.g);
    /* int64, condition [2,1], x [1,3], y scalar */
    const uint8_t c2[] = { 0, 1 };
    const int64_t xi[] = { 1, 2, 3 }, yi[] = { -1 };
    struct tin in2[] = { { IR_DT_BOOL, 2, { 2, 1 }, c2, 0 },
                         { IR_DT_I64, 2, { 1, 3 }, xi, 0 },
                         { IR_DT_I64, 0, { 0 }, yi, 0 } };
    run_ok(&r, 16, "Where", in2, 3, NULL, 0, IR_DT_I64, 2, (int64_t[]){ 2, 3 });
    check_i64("Where int64", r.out->data, (int64_t[]){ -1, -1, -1, 1, 2, 3 }, 6);
    ir_graph_free(r.g);
    /* The condition must be bool; x and y must agree. */
    struct tin bad[] = { in[1], in[1], in[2] };
    run_fail(9, "Where", bad, 3, NULL, 0, INFERD_E_UNSUPPORTED,
             "input 0 'in0' has dtype float32, not supported here (expected bool)");
    struct tin bad2[] = { in[0], in[1], in2[1] };
    run_fail(9, "Where", bad2, 3, NULL, 0, INFERD_E_BAD_MODEL,
             "input 2 'in2' has dtype int64 but input 1 'in1' has dtype float32");
}

/* --- errors, registry, in-place ------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    const float f[] = { 1, 2, 3, 4, 5, 6 };
    const int64_t i[] = { 1, 2 };
    struct tin f23 = { IR_DT_F32, 2, { 2, 3 }, f, 0 };
    struct tin f4 = vec_f32(f, 4), f3 = vec_f32(f, 3), f2 = vec_f32(f, 2);
    struct tin i2 = { IR_DT_I64, 1, { 2 }, i, 0 };
    run_fail(13, "Add", (struct tin[]){ f2, i2 }, 2, NULL, 0, INFERD_E_BAD_MODEL,
             "test.onnx: node 'Add_0' (Add): input 1 'in1' has dtype int64 but input 0 'in0' has "
             "dtype float32; Add needs them equal");
    run_fail(13, "Add", (struct tin[]){ f23, f4 }, 2, NULL, 0, INFERD_E_BAD_MODEL,
             "input 1 'in1' of shape [4] does not broadcast with input 0 'in0' of shape [2,3]");
    run_fail(13, "Sum", (struct tin[]){ f23, f3, f2 }, 3, NULL, 0, INFERD_E_BAD_MODEL,
             "input 2 'in2' of shape [2] does not broadcast with shape [2,3] of the inputs "
             "before it");
    run_fail(13, "Where", (struct tin[]){ { IR_DT_BOOL, 1, { 2 }, f, 0 }, f23, f23 }, 3, NULL, 0,
             INFERD_E_BAD_MODEL, "input 1 'in1' of shape [2,3] does not broadcast with input 0");
    run_fail(13, "Add", &f2, 1, NULL, 0, INFERD_E_BAD_MODEL, "expects 2 inputs, got 1");
    run_fail(13, "Mul", (struct tin[]){ f2, f2, f2 }, 3, NULL, 0, INFERD_E_BAD_MODEL,
             "expects 2 inputs, got 3");
    run_fail(13, "Relu", NULL, 0, NULL, 0, INFERD_E_BAD_MODEL, "expects 1 input, got 0");
    run_fail(13, "Where", (struct tin[]){ f2, f2 }, 2, NULL, 0, INFERD_E_BAD_MODEL,
             "expects 3 inputs, got 2");
    run_fail(13, "Sum", (struct tin[]){ f2, ABSENT, f2 }, 3, NULL, 0, INFERD_E_BAD_MODEL,
             "input 1 is missing");
    run_fail(14, "Relu", (struct tin[]){ { IR_DT_BOOL, 1, { 2 }, f, 0 } }, 1, NULL, 0,
             INFERD_E_UNSUPPORTED, "input 0 'in0' has dtype bool, which Relu does not support");
    run_fail(13, "Sqrt", &i2, 1, NULL, 0, INFERD_E_UNSUPPORTED,
             "input 0 'in0' has dtype int64, which Sqrt does not support");
    run_fail(13, "Add",
             (struct tin[]){ { IR_DT_BOOL, 1, { 2 }, f, 0 }, { IR_DT_BOOL, 1, { 2 }, f, 0 } }, 2,
             NULL, 0, INFERD_E_UNSUPPORTED, "dtype bool, which Add does not support");
    run_fail(13, "Pow", (struct tin[]){ f2, { IR_DT_BOOL, 1, { 2 }, f, 0 } }, 2, NULL, 0,
             INFERD_E_UNSUPPORTED, "input 1 'in1' has dtype bool, which Pow does not support");
    run_fail(13, "HardSwish", &f2, 1, NULL, 0, INFERD_E_UNSUPPORTED,
             "operator HardSwish is not supported at opset 13");
    run_fail(5, "Clip", &f2, 1, NULL, 0, INFERD_E_UNSUPPORTED,
             "operator Clip is not supported at opset 5");
}

static int row_inputs(const struct ir_op *op)
{
    if (op->infer == ew_where_infer) return 3;
    if (op->infer == ew_binary_infer || op->infer == ew_pow_infer ||
        op->infer == ew_variadic_infer || op->infer == ew_castlike_infer)
        return 2;
    return 1;
}

/* Every row infers and folds at its first opset, on float32 (bool for the
 * logic ops), and all but the variadic ones are marked in-place. */
static void test_rows(void **state)
{
    (void)state;
    const float f[] = { 0.5f, 0.25f, 0.75f, 0.125f };
    const uint8_t b[] = { 1, 0, 1, 1 };
    int rows = 0;
    for (const struct ir_op *op = ir_ops_elementwise; op->name; op++, rows++) {
        const bool logic = strcmp(op->name, "Not") == 0 || strcmp(op->name, "And") == 0 ||
                           strcmp(op->name, "Or") == 0 || strcmp(op->name, "Xor") == 0;
        const int nin = row_inputs(op);
        struct tin in[3];
        for (int k = 0; k < nin; k++) {
            const bool is_bool = logic || (nin == 3 && k == 0);
            in[k] = (struct tin){ is_bool ? IR_DT_BOOL : IR_DT_F32,
                                  2,
                                  { 2, 2 },
                                  is_bool ? (const void *)b : (const void *)f,
                                  0 };
        }
        const bool cast = strcmp(op->name, "Cast") == 0;
        const bool pred = logic || op->infer == ew_binary_infer || strcmp(op->name, "IsNaN") == 0 ||
                          strcmp(op->name, "IsInf") == 0;
        const int out_dtype = cast ? IR_DT_F64 : pred ? -1 : IR_DT_F32;
        struct run r;
        /* Cast needs its target, float Mod needs fmod=1. */
        struct attr attr[] = { cast ? (struct attr)AI("to", IR_DT_F64)
                                    : (struct attr)AI("fmod", 1) };
        run_op(&r, op->since, op->name, in, nin, attr, 1);
        if (r.rc != 0) fail_msg("%s at opset %d: %s", op->name, op->since, r.err);
        assert_ptr_equal(r.g->nodes[r.node].op, op);
        assert_true(r.out->flags & IR_VALUE_CONST);
        if (out_dtype >= 0) assert_int_equal(r.out->dtype, out_dtype);
        if (op->infer == ew_variadic_infer)
            assert_false(op->flags & IR_OP_INPLACE);
        else
            assert_true(op->flags & IR_OP_INPLACE);
        ir_graph_free(r.g);
    }
    assert_true(rows >= 60);
    bool known = false;
    assert_ptr_equal(ir_op_find("Clip", 10, &known)->infer, ew_clip6_infer);
    assert_ptr_equal(ir_op_find("Clip", 11, &known)->infer, ew_clip11_infer);
    assert_ptr_equal(ir_op_find("Clip", 17, &known)->infer, ew_clip11_infer);
}

/* IR_OP_INPLACE: eval with output 0 on input 0's memory gives what it gives
 * into a separate buffer. */
static void test_inplace(void **state)
{
    (void)state;
    const struct {
        const char *op;
        int nin;
    } cases[] = { { "Add", 2 }, { "Div", 2 }, { "Relu", 1 },  { "Sub", 2 },
                  { "Mul", 2 }, { "Pow", 2 }, { "PRelu", 2 }, { "Sigmoid", 1 } };
    for (size_t c = 0; c < N(cases); c++) {
        struct tin in[3] = { { IR_DT_F32, 2, { 2, 3 }, NULL, 1 },
                             { IR_DT_F32, 1, { 3 }, NULL, 1 },
                             { IR_DT_F32, 2, { 2, 1 }, NULL, 1 } };
        struct run r;
        run_op(&r, 13, cases[c].op, in, cases[c].nin, NULL, 0);
        if (r.rc != 0) fail_msg("%s: %s", cases[c].op, r.err);
        float x[6] = { -1.5f, 2, 0.25f, -3, 4, 0.5f }, y[3] = { 2, -0.5f, 3 }, z[2] = { 1, -1 };
        float sep[6];
        struct ir_tensor ti[3] = { tensor_f32(x, 2, (int64_t[]){ 2, 3 }),
                                   tensor_f32(y, 1, (int64_t[]){ 3 }),
                                   tensor_f32(z, 2, (int64_t[]){ 2, 1 }) };
        struct ir_tensor to = tensor_f32(sep, 2, (int64_t[]){ 2, 3 });
        assert_int_equal(eval_node(&r, ti, cases[c].nin, &to), 0);
        to.data = x;
        assert_int_equal(eval_node(&r, ti, cases[c].nin, &to), 0);
        if (memcmp(x, sep, sizeof(sep)) != 0) fail_msg("%s in place differs", cases[c].op);
        ir_graph_free(r.g);
    }
    /* Add(x, x) written over x. */
    struct tin in[2] = { { IR_DT_F32, 1, { 3 }, NULL, 1 }, { IR_DT_F32, 1, { 3 }, NULL, 1 } };
    struct run r;
    run_op(&r, 13, "Add", in, 2, NULL, 0);
    assert_int_equal(r.rc, 0);
    float x[3] = { 1, -2, 3.5f };
    struct ir_tensor t = tensor_f32(x, 1, (int64_t[]){ 3 });
    struct ir_tensor ti[2] = { t, t };
    assert_int_equal(eval_node(&r, ti, 2, &t), 0);
    check_f32("Add(x, x) in place", x, (float[]){ 2, -4, 7 }, 3, 0);
    ir_graph_free(r.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_by_hand),
        cmocka_unit_test(test_broadcast_middle_ones),
        cmocka_unit_test(test_broadcast_empty),
        cmocka_unit_test(test_broadcast_random),
        cmocka_unit_test(test_unary_values),
        cmocka_unit_test(test_unary_f64),
        cmocka_unit_test(test_unary_matches_fused),
        cmocka_unit_test(test_unary_int),
        cmocka_unit_test(test_predicates),
        cmocka_unit_test(test_float16),
        cmocka_unit_test(test_arith_f32),
        cmocka_unit_test(test_int64_div_mul),
        cmocka_unit_test(test_int32_ops),
        cmocka_unit_test(test_mod),
        cmocka_unit_test(test_pow),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_logic),
        cmocka_unit_test(test_prelu),
        cmocka_unit_test(test_variadic),
        cmocka_unit_test(test_where),
        cmocka_unit_test(test_clip_attrs),
        cmocka_unit_test(test_clip_inputs),
        cmocka_unit_test(test_clip_runtime_bounds),
        cmocka_unit_test(test_cast_half),
        cmocka_unit_test(test_cast_numbers),
        cmocka_unit_test(test_cast_errors),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_inplace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
