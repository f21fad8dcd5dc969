/* Element-wise operators: shape inference and reference kernels, checked
 * through one-node graphs with constant inputs (infer, then fold through
 * eval), against numbers computed by hand or with numpy. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_error.h"
#include "op_harness.h"
#include "ops_elementwise.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- harness ------------------------------------------------------------- */

/* An input: dtype IR_DT_UNDEFINED leaves it out (an empty name in ONNX);
 * runtime makes it a graph input instead of a constant. */
struct tin {
    int dtype;
    int ndim;
    int64_t dims[IR_MAX_DIMS];
    const void *data;
    int runtime;
};

struct attr {
    const char *name;
    int type;
    int64_t i;
    float f;
};

#define AI(n, v)                                                                                   \
    {                                                                                              \
        n, IR_ATTR_INT, v, 0                                                                       \
    }
#define AF(n, v)                                                                                   \
    {                                                                                              \
        n, IR_ATTR_FLOAT, 0, v                                                                     \
    }
#define ABSENT                                                                                     \
    {                                                                                              \
        IR_DT_UNDEFINED, 0, { 0 }, NULL, 0                                                         \
    }

struct run {
    struct ir_graph *g;
    int node;
    int rc;
    char err[512];
    const struct ir_value *out;
};

static void run_op(struct run *r, int opset, const char *op, const struct tin *ins, int nin,
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
static void run_ok(struct run *r, int opset, const char *op, const struct tin *ins, int nin,
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
static void run_fail(int opset, const char *op, const struct tin *ins, int nin,
                     const struct attr *attrs, int nattrs, int code, const char *want)
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

static void check_f32(const char *what, const float *got, const float *want, size_t n, float rtol)
{
    for (size_t i = 0; i < n; i++)
        if (!same_f32(got[i], want[i], rtol))
            fail_msg("%s[%zu]: got %.9g, want %.9g", what, i, (double)got[i], (double)want[i]);
}

static void check_i64(const char *what, const int64_t *got, const int64_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s[%zu]: got %lld, want %lld", what, i, (long long)got[i],
                     (long long)want[i]);
}

static void check_u8(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) fail_msg("%s[%zu]: got %d, want %d", what, i, got[i], want[i]);
}

/* A 1-D float32 constant of n values. */
static struct tin vec_f32(const float *v, int64_t n)
{
    return (struct tin){ IR_DT_F32, 1, { n }, v, 0 };
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

/* --- unary ops ----------------------------------------------------------- */

/* Inputs and numpy's float32 results (tests/unit: generated once with
 * numpy 1.24 from the formulas of the ONNX operator spec). */
static const float ux[] = { -3.5f, -1.0f, -0.25f, 0.0f, 0.3f, 1.0f, 2.5f, 7.0f };
static const float u_relu[] = { 0.0f, 0.0f, 0.0f, 0.0f, 0.3f, 1.0f, 2.5f, 7.0f };
static const float u_leaky_relu[] = { -0.35f, -0.1f, -0.025f, 0.0f, 0.3f, 1.0f, 2.5f, 7.0f };
static const float u_sigmoid[] = { 0.02931223f, 0.26894143f, 0.4378235f, 0.5f,
                                   0.5744425f,  0.7310586f,  0.9241418f, 0.99908894f };
static const float u_hard_sigmoid[] = { 0.0f, 0.3f, 0.45f, 0.5f, 0.56f, 0.7f, 1.0f, 1.0f };
static const float u_hard_swish[] = { -0.0f,  -0.3333333f, -0.114583336f, 0.0f,
                                      0.165f, 0.6666667f,  2.2916667f,    7.0f };
static const float u_tanh[] = { -0.9981779f, -0.7615942f, -0.24491866f, 0.0f,
                                0.29131263f, 0.7615942f,  0.9866143f,   0.99999833f };
static const float u_elu[] = {
    -1.9396052f, -1.2642412f, -0.44239855f, 0.0f, 0.3f, 1.0f, 2.5f, 7.0f
};
static const float u_selu[] = { -1.7050093f, -1.1113307f, -0.3888903f, 0.0f,
                                0.3152103f,  1.050701f,   2.6267526f,  7.354907f };
static const float u_celu[] = {
    -1.354542f, -0.7298743f, -0.23027739f, 0.0f, 0.3f, 1.0f, 2.5f, 7.0f
};
static const float u_thresholded_relu[] = { 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 2.5f, 7.0f };
static const float u_softplus[] = { 0.029750418f, 0.3132617f, 0.5759394f, 0.6931472f,
                                    0.8543553f,   1.3132616f, 2.5788898f, 7.000911f };
static const float u_softsign[] = { -0.7777778f, -0.5f, -0.2f,       0.0f,
                                    0.23076925f, 0.5f,  0.71428573f, 0.875f };
static const float u_shrink[] = { -3.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f, 6.5f };
static const float u_exp[] = { 0.030197384f, 0.36787942f, 0.7788007f, 1.0f,
                               1.3498588f,   2.718282f,   12.182493f, 1096.6332f };
static const float u_neg[] = { 3.5f, 1.0f, 0.25f, -0.0f, -0.3f, -1.0f, -2.5f, -7.0f };
static const float u_abs[] = { 3.5f, 1.0f, 0.25f, 0.0f, 0.3f, 1.0f, 2.5f, 7.0f };
static const float u_reciprocal[] = { -0.2857143f, -1.0f, -4.0f, INFINITY,
                                      3.3333333f,  1.0f,  0.4f,  0.14285715f };
static const float u_erf[] = { -0.9999993f, -0.8427008f, -0.2763264f, 0.0f,
                               0.32862678f, 0.8427008f,  0.999593f,   1.0f };
static const float u_floor[] = { -4.0f, -1.0f, -1.0f, 0.0f, 0.0f, 1.0f, 2.0f, 7.0f };
static const float u_ceil[] = { -3.0f, -1.0f, -0.0f, 0.0f, 1.0f, 1.0f, 3.0f, 7.0f };
static const float u_sign[] = { -1.0f, -1.0f, -1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f };
static const float u_sin[] = { 0.35078323f, -0.841471f, -0.24740396f, 0.0f,
                               0.29552022f, 0.841471f,  0.5984722f,   0.6569866f };
static const float u_cos[] = { -0.9364567f, 0.5403023f, 0.9689124f,  1.0f,
                               0.9553365f,  0.5403023f, -0.8011436f, 0.75390226f };
static const float u_atan[] = { -1.2924967f, -0.7853982f, -0.24497867f, 0.0f,
                                0.29145682f, 0.7853982f,  1.19029f,     1.4288993f };
static const float u_sinh[] = { -16.542627f, -1.1752012f, -0.25261232f, 0.0f,
                                0.3045203f,  1.1752012f,  6.0502043f,   548.3161f };
static const float u_asinh[] = { -1.9657204f, -0.8813736f, -0.24746646f, 0.0f,
                                 0.29567307f, 0.8813736f,  1.6472311f,   2.6441207f };
static const float px[] = { 0.01f, 0.25f, 1.0f, 2.0f, 9.0f, 100.0f };
static const float u_sqrt[] = { 0.1f, 0.5f, 1.0f, 1.4142135f, 3.0f, 10.0f };
static const float u_log[] = { -4.6051702f, -1.3862944f, 0.0f, 0.6931472f, 2.1972246f, 4.6051702f };
static const float ax[] = { 1.0f, 1.5f, 2.0f, 9.0f, 100.0f };
static const float u_acosh[] = { 0.0f, 0.9624236f, 1.316958f, 2.887271f, 5.298292f };
static const float hx[] = { -0.9f, -0.5f, 0.0f, 0.2f, 0.75f };
static const float u_asin[] = { -1.1197696f, -0.5235988f, 0.0f, 0.20135793f, 0.84806216f };
static const float u_acos[] = { 2.6905658f, 2.0943952f, 1.5707964f, 1.3694384f, 0.7227342f };
static const float u_atanh[] = { -1.4722193f, -0.54930615f, 0.0f, 0.20273256f, 0.97295505f };
static const float u_tan[] = { -1.2601581f, -0.5463025f, 0.0f, 0.20271003f, 0.93159646f };
static const float u_cosh[] = { 1.4330864f, 1.1276261f, 1.0f, 1.0200667f, 1.2946833f };
static const float rx[] = { 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49f, 2.51f, -7.2f };
static const float u_round[] = { 0.0f, 2.0f, 2.0f, -0.0f, -2.0f, -2.0f, 0.0f, 3.0f, -7.0f };

struct unary_case {
    const char *op;
    int opset;
    const float *x, *want;
    size_t n;
    struct attr attrs[2];
    int nattrs;
};

static const struct unary_case unary_cases[] = {
    { "Relu", 14, ux, u_relu, N(ux), { { 0 } }, 0 },
    { "LeakyRelu", 16, ux, u_leaky_relu, N(ux), { AF("alpha", 0.1f) }, 1 },
    { "Sigmoid", 13, ux, u_sigmoid, N(ux), { { 0 } }, 0 },
    { "HardSigmoid", 6, ux, u_hard_sigmoid, N(ux), { { 0 } }, 0 }, /* defaults 0.2, 0.5 */
    { "HardSwish", 14, ux, u_hard_swish, N(ux), { { 0 } }, 0 },
    { "Tanh", 13, ux, u_tanh, N(ux), { { 0 } }, 0 },
    { "Elu", 6, ux, u_elu, N(ux), { AF("alpha", 2.0f) }, 1 },
    { "Selu", 6, ux, u_selu, N(ux), { { 0 } }, 0 }, /* default alpha, gamma */
    { "Celu", 12, ux, u_celu, N(ux), { AF("alpha", 1.5f) }, 1 },
    { "ThresholdedRelu", 10, ux, u_thresholded_relu, N(ux), { { 0 } }, 0 },
    { "Softplus", 1, ux, u_softplus, N(ux), { { 0 } }, 0 },
    { "Softsign", 1, ux, u_softsign, N(ux), { { 0 } }, 0 },
    { "Shrink", 9, ux, u_shrink, N(ux), { AF("lambd", 1.5f), AF("bias", 0.5f) }, 2 },
    { "Exp", 13, ux, u_exp, N(ux), { { 0 } }, 0 },
    { "Neg", 13, ux, u_neg, N(ux), { { 0 } }, 0 },
    { "Abs", 13, ux, u_abs, N(ux), { { 0 } }, 0 },
    { "Reciprocal", 13, ux, u_reciprocal, N(ux), { { 0 } }, 0 },
    { "Erf", 13, ux, u_erf, N(ux), { { 0 } }, 0 },
    { "Floor", 13, ux, u_floor, N(ux), { { 0 } }, 0 },
    { "Ceil", 13, ux, u_ceil, N(ux), { { 0 } }, 0 },
    { "Sign", 13, ux, u_sign, N(ux), { { 0 } }, 0 },
    { "Sin", 7, ux, u_sin, N(ux), { { 0 } }, 0 },
    { "Cos", 7, ux, u_cos, N(ux), { { 0 } }, 0 },
    { "Atan", 7, ux, u_atan, N(ux), { { 0 } }, 0 },
    { "Sinh", 9, ux, u_sinh, N(ux), { { 0 } }, 0 },
    { "Asinh", 9, ux, u_asinh, N(ux), { { 0 } }, 0 },
    { "Sqrt", 13, px, u_sqrt, N(px), { { 0 } }, 0 },
    { "Log", 13, px, u_log, N(px), { { 0 } }, 0 },
    { "Acosh", 9, ax, u_acosh, N(ax), { { 0 } }, 0 },
    { "Asin", 7, hx, u_asin, N(hx), { { 0 } }, 0 },
    { "Acos", 7, hx, u_acos, N(hx), { { 0 } }, 0 },
    { "Atanh", 9, hx, u_atanh, N(hx), { { 0 } }, 0 },
    { "Tan", 7, hx, u_tan, N(hx), { { 0 } }, 0 },
    { "Cosh", 9, hx, u_cosh, N(hx), { { 0 } }, 0 },
    { "Round", 11, rx, u_round, N(rx), { { 0 } }, 0 },
};

static void test_unary_values(void **state)
{
    (void)state;
    for (size_t c = 0; c < N(unary_cases); c++) {
        const struct unary_case *u = &unary_cases[c];
        struct run r;
        /* As [n] and as [1,n,1]: the shape passes through. */
        struct tin in = vec_f32(u->x, (int64_t)u->n);
        run_ok(&r, u->opset, u->op, &in, 1, u->attrs, u->nattrs, IR_DT_F32, 1,
               (int64_t[]){ (int64_t)u->n });
        check_f32(u->op, r.out->data, u->want, u->n, 2e-6f);
        ir_graph_free(r.g);
        struct tin in3 = { IR_DT_F32, 3, { 1, (int64_t)u->n, 1 }, u->x, 0 };
        run_ok(&r, u->opset, u->op, &in3, 1, u->attrs, u->nattrs, IR_DT_F32, 3,
               (int64_t[]){ 1, (int64_t)u->n, 1 });
        check_f32(u->op, r.out->data, u->want, u->n, 2e-6f);
        ir_graph_free(r.g);
    }
}

/* float64 instances of the same kernels. */
static void test_unary_f64(void **state)
{
    (void)state;
    const double x[] = { -2.0, -0.5, 0.0, 0.5, 3.0 };
    const double want_sig[] = { 1 / (1 + exp(2.0)), 1 / (1 + exp(0.5)), 0.5, 1 / (1 + exp(-0.5)),
                                1 / (1 + exp(-3.0)) };
    const double want_hs[] = { 0.1, 0.4, 0.5, 0.6, 1.0 };
    struct run r;
    struct tin in = { IR_DT_F64, 1, { 5 }, x, 0 };
    run_ok(&r, 13, "Sigmoid", &in, 1, NULL, 0, IR_DT_F64, 1, (int64_t[]){ 5 });
    for (int i = 0; i < 5; i++) assert_true(fabs(((double *)r.out->data)[i] - want_sig[i]) < 1e-15);
    ir_graph_free(r.g);
    run_ok(&r, 6, "HardSigmoid", &in, 1, NULL, 0, IR_DT_F64, 1, (int64_t[]){ 5 });
    for (int i = 0; i < 5; i++) assert_true(fabs(((double *)r.out->data)[i] - want_hs[i]) < 1e-7);
    ir_graph_free(r.g);
}

/* The activations a backend fuses must give what ir_act_apply gives, to the
 * bit, over a sweep that crosses every kink. */
static void test_unary_matches_fused(void **state)
{
    (void)state;
    float x[401];
    for (int i = 0; i < 401; i++) x[i] = (float)(i - 200) * 0.05f;
    const struct {
        const char *op;
        struct ir_act act;
        struct attr attrs[2];
        int nattrs;
    } cases[] = {
        { "Relu", { IR_ACT_RELU, 0, 0 }, { { 0 } }, 0 },
        { "LeakyRelu", { IR_ACT_LEAKY_RELU, 0.1f, 0 }, { AF("alpha", 0.1f) }, 1 },
        { "Sigmoid", { IR_ACT_SIGMOID, 0, 0 }, { { 0 } }, 0 },
        { "HardSigmoid",
          { IR_ACT_HARD_SIGMOID, 1.0f / 6, 0.5f },
          { AF("alpha", 1.0f / 6), AF("beta", 0.5f) },
          2 },
        { "HardSwish", { IR_ACT_HARD_SWISH, 0, 0 }, { { 0 } }, 0 },
        { "Tanh", { IR_ACT_TANH, 0, 0 }, { { 0 } }, 0 },
        { "Clip", { IR_ACT_CLIP, 0, 6 }, { AF("min", 0), AF("max", 6) }, 2 },
    };
    for (size_t c = 0; c < N(cases); c++) {
        float want[401];
        memcpy(want, x, sizeof(x));
        ir_act_apply(&cases[c].act, want, 401);
        struct run r;
        struct tin in = vec_f32(x, 401);
        run_ok(&r, cases[c].act.kind == IR_ACT_CLIP ? 6 : 14, cases[c].op, &in, 1, cases[c].attrs,
               cases[c].nattrs, IR_DT_F32, 1, (int64_t[]){ 401 });
        if (memcmp(r.out->data, want, sizeof(want)) != 0)
            fail_msg("%s differs from ir_act_apply", cases[c].op);
        ir_graph_free(r.g);
    }
}

static void test_unary_int(void **state)
{
    (void)state;
    const int64_t x[] = { INT64_MIN, -7, -1, 0, 3, INT64_MAX };
    struct tin in = { IR_DT_I64, 1, { 6 }, x, 0 };
    struct run r;
    run_ok(&r, 13, "Neg", &in, 1, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 6 });
    check_i64("Neg", r.out->data, (int64_t[]){ INT64_MIN, 7, 1, 0, -3, -INT64_MAX }, 6);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Abs", &in, 1, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 6 });
    check_i64("Abs", r.out->data, (int64_t[]){ INT64_MIN, 7, 1, 0, 3, INT64_MAX }, 6);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Sign", &in, 1, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 6 });
    check_i64("Sign", r.out->data, (int64_t[]){ -1, -1, -1, 0, 1, 1 }, 6);
    ir_graph_free(r.g);
    run_ok(&r, 14, "Relu", &in, 1, NULL, 0, IR_DT_I64, 1, (int64_t[]){ 6 });
    check_i64("Relu", r.out->data, (int64_t[]){ 0, 0, 0, 0, 3, INT64_MAX }, 6);
    ir_graph_free(r.g);
    const int32_t x32[] = { INT32_MIN, -5, 5 };
    struct tin in32 = { IR_DT_I32, 1, { 3 }, x32, 0 };
    run_ok(&r, 13, "Abs", &in32, 1, NULL, 0, IR_DT_I32, 1, (int64_t[]){ 3 });
    const int32_t *o = r.out->data;
    assert_true(o[0] == INT32_MIN && o[1] == 5 && o[2] == 5);
    ir_graph_free(r.g);
    const int8_t x8[] = { -128, -3, 4 };
    struct tin in8 = { IR_DT_I8, 1, { 3 }, x8, 0 };
    run_ok(&r, 13, "Neg", &in8, 1, NULL, 0, IR_DT_I8, 1, (int64_t[]){ 3 });
    const int8_t *o8 = r.out->data;
    assert_true(o8[0] == -128 && o8[1] == 3 && o8[2] == -4);
    ir_graph_free(r.g);
}

static void test_predicates(void **state)
{
    (void)state;
    struct run r;
    const uint8_t b[] = { 1, 0, 0, 1 };
    struct tin inb = { IR_DT_BOOL, 2, { 2, 2 }, b, 0 };
    run_ok(&r, 1, "Not", &inb, 1, NULL, 0, IR_DT_BOOL, 2, (int64_t[]){ 2, 2 });
    check_u8("Not", r.out->data, (uint8_t[]){ 0, 1, 1, 0 }, 4);
    ir_graph_free(r.g);
    const float x[] = { 1.0f, NAN, INFINITY, -INFINITY, -0.0f };
    struct tin in = vec_f32(x, 5);
    run_ok(&r, 13, "IsNaN", &in, 1, NULL, 0, IR_DT_BOOL, 1, (int64_t[]){ 5 });
    check_u8("IsNaN", r.out->data, (uint8_t[]){ 0, 1, 0, 0, 0 }, 5);
    ir_graph_free(r.g);
    run_ok(&r, 10, "IsInf", &in, 1, NULL, 0, IR_DT_BOOL, 1, (int64_t[]){ 5 });
    check_u8("IsInf", r.out->data, (uint8_t[]){ 0, 0, 1, 1, 0 }, 5);
    ir_graph_free(r.g);
    struct attr neg_only[] = { AI("detect_positive", 0) };
    run_ok(&r, 10, "IsInf", &in, 1, neg_only, 1, IR_DT_BOOL, 1, (int64_t[]){ 5 });
    check_u8("IsInf negative", r.out->data, (uint8_t[]){ 0, 0, 0, 1, 0 }, 5);
    ir_graph_free(r.g);
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
             "input 0 'in0' has dtype float32, expected bool");
    struct tin bad2[] = { in[0], in[1], in2[1] };
    run_fail(9, "Where", bad2, 3, NULL, 0, INFERD_E_BAD_MODEL,
             "input 2 'in2' has dtype int64 but input 1 'in1' has dtype float32");
}

/* --- Clip ------------------------------------------------------------------ */

static void test_clip_attrs(void **state)
{
    (void)state;
    const float x[] = { -2, 0, 2, 1e30f };
    struct tin in = vec_f32(x, 4);
    struct run r;
    struct attr both[] = { AF("min", -1), AF("max", 1) };
    run_ok(&r, 6, "Clip", &in, 1, both, 2, IR_DT_F32, 1, (int64_t[]){ 4 });
    check_f32("Clip", r.out->data, (float[]){ -1, 0, 1, 1 }, 4, 0);
    ir_graph_free(r.g);
    struct attr lo[] = { AF("min", 0) };
    run_ok(&r, 10, "Clip", &in, 1, lo, 1, IR_DT_F32, 1, (int64_t[]){ 4 });
    check_f32("Clip min only", r.out->data, (float[]){ 0, 0, 2, 1e30f }, 4, 0);
    ir_graph_free(r.g);
    run_ok(&r, 6, "Clip", &in, 1, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 4 });
    check_f32("Clip no bounds", r.out->data, x, 4, 0);
    ir_graph_free(r.g);
    /* Opset 10 has no min/max inputs. */
    struct tin two[] = { in, vec_f32(x, 1) };
    run_fail(10, "Clip", two, 2, NULL, 0, INFERD_E_BAD_MODEL, "expects 1 input, got 2");
}

static void test_clip_inputs(void **state)
{
    (void)state;
    const float x[] = { -2, 0, 2, -0.5f }, lo[] = { -1 }, hi[] = { 1 }, zero[] = { 0 };
    struct run r;
    struct tin all[] = { vec_f32(x, 4),
                         { IR_DT_F32, 0, { 0 }, lo, 0 },
                         { IR_DT_F32, 0, { 0 }, hi, 0 } };
    run_ok(&r, 11, "Clip", all, 3, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 4 });
    check_f32("Clip", r.out->data, (float[]){ -1, 0, 1, -0.5f }, 4, 0);
    ir_graph_free(r.g);
    /* test_clip_default_max: min left out with an empty name. */
    struct tin no_min[] = { vec_f32(x, 4), ABSENT, { IR_DT_F32, 0, { 0 }, zero, 0 } };
    run_ok(&r, 13, "Clip", no_min, 3, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 4 });
    check_f32("Clip no min", r.out->data, (float[]){ -2, 0, 0, -0.5f }, 4, 0);
    ir_graph_free(r.g);
    /* test_clip_default_min: max not given at all. */
    struct tin no_max[] = { vec_f32(x, 4), { IR_DT_F32, 0, { 0 }, zero, 0 } };
    run_ok(&r, 12, "Clip", no_max, 2, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 4 });
    check_f32("Clip no max", r.out->data, (float[]){ 0, 0, 2, 0 }, 4, 0);
    ir_graph_free(r.g);
    /* test_clip_default_inbounds: both left out. */
    struct tin none[] = { vec_f32(x, 4), ABSENT, ABSENT };
    run_ok(&r, 11, "Clip", none, 3, NULL, 0, IR_DT_F32, 1, (int64_t[]){ 4 });
    check_f32("Clip none", r.out->data, x, 4, 0);
    ir_graph_free(r.g);
    /* int8, bound given as [1] rather than a scalar */
    const int8_t xi[] = { -100, 5, 100 }, li[] = { -3 };
    struct tin i8[] = { { IR_DT_I8, 1, { 3 }, xi, 0 }, { IR_DT_I8, 1, { 1 }, li, 0 } };
    run_ok(&r, 12, "Clip", i8, 2, NULL, 0, IR_DT_I8, 1, (int64_t[]){ 3 });
    const int8_t *o = r.out->data;
    assert_true(o[0] == -3 && o[1] == 5 && o[2] == 100);
    ir_graph_free(r.g);
    /* Bounds must be one value of X's dtype. */
    struct tin wide[] = { vec_f32(x, 4), vec_f32(x, 2) };
    run_fail(11, "Clip", wide, 2, NULL, 0, INFERD_E_BAD_MODEL,
             "min input 'in1' must hold one value, has shape [2]");
    const int64_t l64[] = { 0 };
    struct tin mixed[] = { vec_f32(x, 4), ABSENT, { IR_DT_I64, 0, { 0 }, l64, 0 } };
    run_fail(11, "Clip", mixed, 3, NULL, 0, INFERD_E_BAD_MODEL,
             "input 2 'in2' has dtype int64 but input 0 'in0' has dtype float32");
}

/* Runs eval as a backend would at run time, on tensors it owns. */
static int eval_node(const struct run *r, const struct ir_tensor *in, int nin,
                     struct ir_tensor *out)
{
    const struct ir_node *n = &r->g->nodes[r->node];
    return n->op->eval(n->params, in, nin, out, 1);
}

static struct ir_tensor tensor_f32(float *data, int ndim, const int64_t *dims)
{
    struct ir_tensor t = { IR_DT_F32, ndim, { 0 }, data, 0 };
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= t.dims[d] = dims[d];
    t.nbytes = (size_t)n * sizeof(float);
    return t;
}

/* min and max computed at run time: infer only checks shapes, eval reads the
 * bounds from its inputs. */
static void test_clip_runtime_bounds(void **state)
{
    (void)state;
    const float lo[] = { -1 };
    struct tin in[] = { { IR_DT_F32, 1, { 4 }, NULL, 1 },
                        { IR_DT_F32, 0, { 0 }, lo, 0 },
                        { IR_DT_F32, 0, { 0 }, NULL, 1 } };
    struct run r;
    run_op(&r, 13, "Clip", in, 3, NULL, 0);
    assert_int_equal(r.rc, 0);
    assert_false(r.out->flags & IR_VALUE_CONST);
    float x[] = { -2, 0, 2, 5 }, l[] = { -1 }, h[] = { 3 }, y[4];
    struct ir_tensor ti[3] = { tensor_f32(x, 1, (int64_t[]){ 4 }), tensor_f32(l, 0, NULL),
                               tensor_f32(h, 0, NULL) };
    struct ir_tensor to = tensor_f32(y, 1, (int64_t[]){ 4 });
    assert_int_equal(eval_node(&r, ti, 3, &to), 0);
    check_f32("Clip runtime", y, (float[]){ -1, 0, 2, 3 }, 4, 0);
    h[0] = 1;
    assert_int_equal(eval_node(&r, ti, 3, &to), 0);
    check_f32("Clip runtime", y, (float[]){ -1, 0, 1, 1 }, 4, 0);
    /* A max of the wrong size at run time is refused, not read past. */
    ti[2].nbytes = 0;
    assert_int_equal(eval_node(&r, ti, 3, &to), -EINVAL);
    ir_graph_free(r.g);
}

/* --- Cast ------------------------------------------------------------------ */

static void test_cast_half(void **state)
{
    (void)state;
    /* numpy: np.array(v, np.float32).astype(np.float16).view(np.uint16) */
    const float v[] = { 0.0f,        -0.0f,         1.0f,           -2.5f,          0.1f,
                        65504.0f,    65519.99f,     65520.0f,       1e6f,           -1e6f,
                        6.1e-5f,     5.96e-8f,      2.98e-8f,       2.99e-8f,       1e-9f,
                        3.14159265f, 1.0009765625f, 1.00048828125f, 1.00146484375f, 1024.5f,
                        2049.0f,     INFINITY,      -INFINITY };
    const uint16_t bits[] = { 0x0000, 0x8000, 0x3c00, 0xc100, 0x2e66, 0x7bff, 0x7bff, 0x7c00,
                              0x7c00, 0xfc00, 0x03ff, 0x0001, 0x0000, 0x0001, 0x0000, 0x4248,
                              0x3c01, 0x3c00, 0x3c02, 0x6400, 0x6800, 0x7c00, 0xfc00 };
    struct run r;
    struct tin in = vec_f32(v, N(v));
    struct attr to16[] = { AI("to", IR_DT_F16) };
    run_ok(&r, 13, "Cast", &in, 1, to16, 1, IR_DT_F16, 1, (int64_t[]){ (int64_t)N(v) });
    const uint16_t *h = r.out->data;
    for (size_t i = 0; i < N(v); i++)
        if (h[i] != bits[i]) fail_msg("f32->f16 of %g: 0x%04x, want 0x%04x", v[i], h[i], bits[i]);
    ir_graph_free(r.g);
    /* Every finite and infinite half survives half -> float -> half. */
    for (uint32_t b = 0; b < 65536; b++) {
        float f = ew_half_to_float((uint16_t)b);
        if (isnan(f)) continue;
        if (ew_double_to_half(f) != b)
            fail_msg("half 0x%04x -> %g -> 0x%04x", b, f, ew_double_to_half(f));
    }
    assert_true(isnan(ew_half_to_float(ew_double_to_half(NAN))));
    /* f32 -> f16 -> f32 (numpy) */
    const float x[] = { 0.1f, -3.3f, 1000.7f, 6e-6f, 70000.0f };
    struct tin inx = vec_f32(x, 5);
    run_ok(&r, 13, "Cast", &inx, 1, to16, 1, IR_DT_F16, 1, (int64_t[]){ 5 });
    uint16_t half[5];
    memcpy(half, r.out->data, sizeof(half));
    ir_graph_free(r.g);
    struct tin inh = { IR_DT_F16, 1, { 5 }, half, 0 };
    struct attr to32[] = { AI("to", IR_DT_F32) };
    run_ok(&r, 9, "Cast", &inh, 1, to32, 1, IR_DT_F32, 1, (int64_t[]){ 5 });
    check_f32("f16 round trip", r.out->data,
              (float[]){ 0.099975586f, -3.3007812f, 1000.5f, 6.020069e-06f, INFINITY }, 5, 0);
    ir_graph_free(r.g);
}

static void test_cast_numbers(void **state)
{
    (void)state;
    struct run r;
    const float f[] = { 2.9f, -2.9f, 1e30f, -1e30f, NAN, 0.5f, 300.0f, -5.0f };
    struct tin inf = vec_f32(f, 8);
    /* float -> int truncates toward zero and saturates; NaN is 0. */
    run_ok(&r, 13, "Cast", &inf, 1, (struct attr[]){ AI("to", IR_DT_I64) }, 1, IR_DT_I64, 1,
           (int64_t[]){ 8 });
    check_i64("f32->i64", r.out->data, (int64_t[]){ 2, -2, INT64_MAX, INT64_MIN, 0, 0, 300, -5 },
              8);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Cast", &inf, 1, (struct attr[]){ AI("to", IR_DT_U8) }, 1, IR_DT_U8, 1,
           (int64_t[]){ 8 });
    check_u8("f32->u8", r.out->data, (uint8_t[]){ 2, 0, 255, 0, 0, 0, 255, 0 }, 8);
    ir_graph_free(r.g);
    /* anything non-zero (NaN too) is true */
    run_ok(&r, 13, "Cast", &inf, 1, (struct attr[]){ AI("to", IR_DT_BOOL) }, 1, IR_DT_BOOL, 1,
           (int64_t[]){ 8 });
    check_u8("f32->bool", r.out->data, (uint8_t[]){ 1, 1, 1, 1, 1, 1, 1, 1 }, 8);
    ir_graph_free(r.g);
    /* int64 -> narrower ints wraps, as numpy's astype */
    const int64_t i[] = { (INT64_C(1) << 32) + 5, -1, 300, INT64_C(1) << 40 };
    struct tin ini = { IR_DT_I64, 1, { 4 }, i, 0 };
    run_ok(&r, 13, "Cast", &ini, 1, (struct attr[]){ AI("to", IR_DT_I32) }, 1, IR_DT_I32, 1,
           (int64_t[]){ 4 });
    const int32_t *o32 = r.out->data;
    assert_true(o32[0] == 5 && o32[1] == -1 && o32[2] == 300 && o32[3] == 0);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Cast", &ini, 1, (struct attr[]){ AI("to", IR_DT_U8) }, 1, IR_DT_U8, 1,
           (int64_t[]){ 4 });
    check_u8("i64->u8", r.out->data, (uint8_t[]){ 5, 255, 44, 0 }, 4);
    ir_graph_free(r.g);
    run_ok(&r, 13, "Cast", &ini, 1, (struct attr[]){ AI("to", IR_DT_F32) }, 1, IR_DT_F32, 1,
           (int64_t[]){ 4 });
    check_f32("i64->f32", r.out->data, (float[]){ 4294967301.0f, -1, 300, 1099511627776.0f }, 4, 0);
    ir_graph_free(r.g);
    /* bool -> float and int; uint64 -> float */
    const uint8_t b[] = { 1, 0 };
    struct tin inb = { IR_DT_BOOL, 1, { 2 }, b, 0 };
    run_ok(&r, 13, "Cast", &inb, 1, (struct attr[]){ AI("to", IR_DT_F32) }, 1, IR_DT_F32, 1,
           (int64_t[]){ 2 });
    check_f32("bool->f32", r.out->data, (float[]){ 1, 0 }, 2, 0);
    ir_graph_free(r.g);
    const uint64_t u[] = { UINT64_MAX };
    struct tin inu = { IR_DT_U64, 1, { 1 }, u, 0 };
    run_ok(&r, 13, "Cast", &inu, 1, (struct attr[]){ AI("to", IR_DT_F32) }, 1, IR_DT_F32, 1,
           (int64_t[]){ 1 });
    check_f32("u64->f32", r.out->data, (float[]){ 18446744073709551616.0f }, 1, 0);
    ir_graph_free(r.g);
    /* float64 <-> float32 */
    const double d[] = { 0.1, 1e300 };
    struct tin ind = { IR_DT_F64, 1, { 2 }, d, 0 };
    run_ok(&r, 6, "Cast", &ind, 1, (struct attr[]){ AI("to", IR_DT_F32) }, 1, IR_DT_F32, 1,
           (int64_t[]){ 2 });
    check_f32("f64->f32", r.out->data, (float[]){ 0.1f, INFINITY }, 2, 0);
    ir_graph_free(r.g);
    run_ok(&r, 6, "Cast", &inf, 1, (struct attr[]){ AI("to", IR_DT_F64) }, 1, IR_DT_F64, 1,
           (int64_t[]){ 8 });
    assert_true(((double *)r.out->data)[0] == (double)2.9f);
    ir_graph_free(r.g);
    /* to the same dtype: a copy */
    run_ok(&r, 13, "Cast", &inf, 1, (struct attr[]){ AI("to", IR_DT_F32) }, 1, IR_DT_F32, 1,
           (int64_t[]){ 8 });
    assert_memory_equal(r.out->data, f, sizeof(f));
    ir_graph_free(r.g);
    /* CastLike takes the dtype of its second input. */
    const int32_t like[] = { 0 };
    struct tin cl[] = { inf, { IR_DT_I32, 1, { 1 }, like, 0 } };
    run_ok(&r, 15, "CastLike", cl, 2, NULL, 0, IR_DT_I32, 1, (int64_t[]){ 8 });
    assert_int_equal(((int32_t *)r.out->data)[1], -2);
    ir_graph_free(r.g);
}

static void test_cast_errors(void **state)
{
    (void)state;
    const float f[] = { 1 };
    struct tin in = vec_f32(f, 1);
    run_fail(13, "Cast", &in, 1, (struct attr[]){ AI("to", 8) }, 1, INFERD_E_UNSUPPORTED,
             "cannot cast to dtype string (ONNX type 8)");
    run_fail(13, "Cast", &in, 1, (struct attr[]){ AI("to", 16) }, 1, INFERD_E_UNSUPPORTED,
             "cannot cast to dtype unknown (ONNX type 16)");
    run_fail(13, "Cast", &in, 1, NULL, 0, INFERD_E_BAD_MODEL,
             "the integer attribute 'to' is missing");
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
             (struct tin[]){ { IR_DT_F16, 1, { 2 }, f, 0 }, { IR_DT_F16, 1, { 2 }, f, 0 } }, 2,
             NULL, 0, INFERD_E_UNSUPPORTED, "dtype float16, which Add does not support");
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
 * logic ops), and is marked in-place. */
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
    } cases[] = { { "Add", 2 }, { "Div", 2 }, { "Relu", 1 },  { "Sum", 3 },
                  { "Max", 3 }, { "Pow", 2 }, { "PRelu", 2 }, { "Sigmoid", 1 } };
    for (size_t c = 0; c < N(cases); c++) {
        struct tin in[3] = { { IR_DT_F32, 2, { 2, 3 }, NULL, 1 },
                             { IR_DT_F32, 1, { 3 }, NULL, 1 },
                             { IR_DT_F32, 2, { 2, 1 }, NULL, 1 } };
        if (strcmp(cases[c].op, "PRelu") == 0) in[1].dims[0] = 3;
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
