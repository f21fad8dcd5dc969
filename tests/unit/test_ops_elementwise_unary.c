/* Element-wise operators: unary maps, Clip and Cast (see
 * test_ops_elementwise.c for the harness and the other ops). */
#include "test_ops_elementwise.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "inferd_error.h"

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

void test_unary_values(void **state)
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
void test_unary_f64(void **state)
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
void test_unary_matches_fused(void **state)
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
        { "Relu", { IR_ACT_RELU, 0, 0, 0 }, { { 0 } }, 0 },
        { "LeakyRelu", { IR_ACT_LEAKY_RELU, 0.1f, 0, 0 }, { AF("alpha", 0.1f) }, 1 },
        { "Sigmoid", { IR_ACT_SIGMOID, 0, 0, 0 }, { { 0 } }, 0 },
        { "HardSigmoid",
          { IR_ACT_HARD_SIGMOID, 1.0f / 6, 0.5f, 0 },
          { AF("alpha", 1.0f / 6), AF("beta", 0.5f) },
          2 },
        { "HardSwish", { IR_ACT_HARD_SWISH, 0, 0, 0 }, { { 0 } }, 0 },
        { "Tanh", { IR_ACT_TANH, 0, 0, 0 }, { { 0 } }, 0 },
        { "Clip", { IR_ACT_CLIP, 0, 6, 0 }, { AF("min", 0), AF("max", 6) }, 2 },
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

void test_unary_int(void **state)
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

void test_predicates(void **state)
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

/* --- Clip ------------------------------------------------------------------ */

void test_clip_attrs(void **state)
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

void test_clip_inputs(void **state)
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

/* min and max computed at run time: infer only checks shapes, eval reads the
 * bounds from its inputs. */
void test_clip_runtime_bounds(void **state)
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

void test_cast_half(void **state)
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

void test_cast_numbers(void **state)
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

void test_cast_errors(void **state)
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

/* --- float16 -------------------------------------------------------------- */

static void check_bits(const char *what, const uint16_t *got, const uint16_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) fail_msg("%s[%zu]: 0x%04x, want 0x%04x", what, i, got[i], want[i]);
}

/* float16 kernels compute in float32 and round once; expected bits from
 * numpy's float16 arithmetic (which rounds after every step: for Sigmoid,
 * from numpy's float32 result instead). */
void test_float16(void **state)
{
    (void)state;
    struct run r;
    const uint16_t a[] = { 0x3c00, 0x2e66, 0x7bff, 0xc300 }; /* 1, 0.1, 65504, -3.5 */
    const uint16_t b[] = { 0x4000, 0x3266, 0x7bff, 0x3d00 }; /* 2, 0.2, 65504, 1.25 */
    struct tin in[] = { { IR_DT_F16, 1, { 4 }, a, 0 }, { IR_DT_F16, 1, { 4 }, b, 0 } };
    const struct {
        const char *op;
        uint16_t want[4];
    } bin[] = {
        { "Add", { 0x4200, 0x34cc, 0x7c00, 0xc080 } },
        { "Mul", { 0x4000, 0x251e, 0x7c00, 0xc460 } },
        { "Div", { 0x3800, 0x3800, 0x3c00, 0xc19a } },
        { "Max", { 0x4000, 0x3266, 0x7bff, 0x3d00 } },
        { "Mean", { 0x3e00, 0x30cc, 0x7c00, 0xbc80 } },
    };
    for (size_t c = 0; c < N(bin); c++) {
        run_ok(&r, 13, bin[c].op, in, 2, NULL, 0, IR_DT_F16, 1, (int64_t[]){ 4 });
        check_bits(bin[c].op, r.out->data, bin[c].want, 4);
        ir_graph_free(r.g);
    }
    run_ok(&r, 13, "Less", in, 2, NULL, 0, IR_DT_BOOL, 1, (int64_t[]){ 4 });
    check_u8("Less f16", r.out->data, (uint8_t[]){ 1, 1, 0, 1 }, 4);
    ir_graph_free(r.g);
    /* test_mod_mixed_sign_float16 */
    const uint16_t x[] = { 0xc44d, 0x4733, 0x4500, 0x444d, 0xc733, 0x4800 };
    const uint16_t y[] = { 0x4033, 0xc2cd, 0x4800, 0xc033, 0x42cd, 0x4500 };
    struct tin inm[] = { { IR_DT_F16, 1, { 6 }, x, 0 }, { IR_DT_F16, 1, { 6 }, y, 0 } };
    run_ok(&r, 13, "Mod", inm, 2, (struct attr[]){ AI("fmod", 1) }, 1, IR_DT_F16, 1,
           (int64_t[]){ 6 });
    check_bits("Mod f16", r.out->data,
               (uint16_t[]){ 0xae80, 0x3660, 0x4500, 0x2e80, 0xb660, 0x4200 }, 6);
    ir_graph_free(r.g);
    /* unary and Clip; s = -2, -0.5, 0, 0.7, 3 */
    const uint16_t s[] = { 0xc000, 0xb800, 0x0000, 0x399a, 0x4200 };
    struct tin ins = { IR_DT_F16, 1, { 5 }, s, 0 };
    run_ok(&r, 13, "Sigmoid", &ins, 1, NULL, 0, IR_DT_F16, 1, (int64_t[]){ 5 });
    check_bits("Sigmoid f16", r.out->data, (uint16_t[]){ 0x2fa1, 0x360a, 0x3800, 0x3959, 0x3b9f },
               5);
    ir_graph_free(r.g);
    run_ok(&r, 14, "Relu", &ins, 1, NULL, 0, IR_DT_F16, 1, (int64_t[]){ 5 });
    check_bits("Relu f16", r.out->data, (uint16_t[]){ 0, 0, 0, 0x399a, 0x4200 }, 5);
    ir_graph_free(r.g);
    const uint16_t lo[] = { 0xbc00 }, hi[] = { 0x3800 }; /* -1, 0.5 */
    struct tin inc[] = { ins, { IR_DT_F16, 0, { 0 }, lo, 0 }, { IR_DT_F16, 0, { 0 }, hi, 0 } };
    run_ok(&r, 13, "Clip", inc, 3, NULL, 0, IR_DT_F16, 1, (int64_t[]){ 5 });
    check_bits("Clip f16", r.out->data, (uint16_t[]){ 0xbc00, 0xb800, 0x0000, 0x3800, 0x3800 }, 5);
    ir_graph_free(r.g);
    run_ok(&r, 6, "Clip", &ins, 1, (struct attr[]){ AF("min", -1), AF("max", 0.5f) }, 2, IR_DT_F16,
           1, (int64_t[]){ 5 });
    check_bits("Clip-6 f16", r.out->data, (uint16_t[]){ 0xbc00, 0xb800, 0x0000, 0x3800, 0x3800 },
               5);
    ir_graph_free(r.g);
    const uint16_t nan[] = { 0x7e00, 0x3c00, 0x7c00 };
    struct tin inn = { IR_DT_F16, 1, { 3 }, nan, 0 };
    run_ok(&r, 13, "IsNaN", &inn, 1, NULL, 0, IR_DT_BOOL, 1, (int64_t[]){ 3 });
    check_u8("IsNaN f16", r.out->data, (uint8_t[]){ 1, 0, 0 }, 3);
    ir_graph_free(r.g);
}
