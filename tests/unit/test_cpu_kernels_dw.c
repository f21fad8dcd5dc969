/* CPU backend kernels for depthwise, squeeze-excite and shuffle networks,
 * against the reference kernels on every instruction-set level this machine
 * has: depthwise convolution (any kernel, stride, dilation, padding,
 * channel multiplier, with bias, fused activations and fused residual
 * additions), max and average pooling, global pooling, ReduceMean,
 * broadcasting Add/Sub/Mul/Div, activation ops, and the graph fusions that
 * feed them (SiLU, HardSwish, residual Add into Conv, squeeze-excite). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "cpu_check.h"

#include <stdio.h>
#include <string.h>

enum act {
    ACT_NONE = 0,
    ACT_RELU,
    ACT_CLIP6,
    ACT_LEAKY,
    ACT_SIGMOID,
    ACT_HARD_SIGMOID,
    ACT_TANH,
    ACT_HARD_SWISH, /* the HardSwish op */
    ACT_SILU,       /* Sigmoid -> Mul(x, .) */
    ACT_HSWISH_MUL, /* HardSigmoid(1/6, 1/2) -> Mul(x, .) */
    ACT_COUNT,
};

static const char *const act_names[] = { "none",    "relu", "clip6",  "leaky", "sigmoid",
                                         "hardsig", "tanh", "hswish", "silu",  "hswish-mul" };

/* Applies act to value v; returns the activated value. */
static int act_add(struct ir_graph *g, int v, int act, bool swap_mul)
{
    static const float lo = 0.0f, hi = 6.0f;
    int n;
    switch (act) {
    case ACT_NONE: return v;
    case ACT_RELU: n = cc_node(g, "Relu", 1, &v); break;
    case ACT_CLIP6: {
        int in[] = { v, cc_const_data(g, 0, NULL, &lo), cc_const_data(g, 0, NULL, &hi) };
        n = cc_node(g, "Clip", 3, in);
        break;
    }
    case ACT_LEAKY:
        n = cc_node(g, "LeakyRelu", 1, &v);
        cc_attr_float(g, n, "alpha", 0.07f);
        break;
    case ACT_SIGMOID: n = cc_node(g, "Sigmoid", 1, &v); break;
    case ACT_HARD_SIGMOID:
        n = cc_node(g, "HardSigmoid", 1, &v);
        cc_attr_float(g, n, "alpha", 0.3f);
        cc_attr_float(g, n, "beta", 0.4f);
        break;
    case ACT_TANH: n = cc_node(g, "Tanh", 1, &v); break;
    case ACT_HARD_SWISH:
        g->opset = 14;
        n = cc_node(g, "HardSwish", 1, &v);
        break;
    default: {
        int gate;
        if (act == ACT_SILU) {
            gate = cc_node(g, "Sigmoid", 1, &v);
        } else {
            gate = cc_node(g, "HardSigmoid", 1, &v);
            cc_attr_float(g, gate, "alpha", 1.0f / 6.0f);
            cc_attr_float(g, gate, "beta", 0.5f);
        }
        int in[] = { v, cc_out(g, gate) };
        if (swap_mul) {
            in[0] = cc_out(g, gate);
            in[1] = v;
        }
        n = cc_node(g, "Mul", 2, in);
        break;
    }
    }
    return cc_out(g, n);
}

/* --- depthwise convolution ------------------------------------------------ */

struct dw_case {
    int64_t n, c, mult, h, w, kh, kw, sh, sw, dh, dw, pads[4];
    bool bias;
    int act;
    int residual; /* 0: none, 1: Add(conv, r), 2: Add(r, conv) */
    bool relu_after_add;
    bool weight_input; /* weights fed at run time: no fast kernel takes it */
};

static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe)
{
    return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

static void dw_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct dw_case *c = arg;
    const int64_t m = c->c * c->mult;
    const int64_t xd[] = { c->n, c->c, c->h, c->w }, wd[] = { m, 1, c->kh, c->kw }, bd[] = { m };
    int in[3] = { cc_input(g, "x", 4, xd), -1, -1 };
    in[1] = c->weight_input ? cc_input(g, "w", 4, wd) : cc_const(g, rng, 4, wd, -1.0f, 1.0f);
    if (c->bias) in[2] = cc_const(g, rng, 1, bd, -1.0f, 1.0f);
    int conv = cc_node(g, "Conv", c->bias ? 3 : 2, in);
    const int64_t ks[] = { c->kh, c->kw }, st[] = { c->sh, c->sw }, di[] = { c->dh, c->dw };
    cc_attr_int(g, conv, "group", c->c);
    cc_attr_ints(g, conv, "kernel_shape", ks, 2);
    cc_attr_ints(g, conv, "strides", st, 2);
    cc_attr_ints(g, conv, "dilations", di, 2);
    cc_attr_ints(g, conv, "pads", c->pads, 4);
    int y = act_add(g, cc_out(g, conv), c->act, (cc_u32(rng) & 1) != 0);
    if (c->residual) {
        const int64_t yd[] = { c->n, m, out_size(c->h, c->kh, c->sh, c->dh, c->pads[0], c->pads[2]),
                               out_size(c->w, c->kw, c->sw, c->dw, c->pads[1], c->pads[3]) };
        int r = cc_input(g, "r", 4, yd);
        int add_in[] = { c->residual == 1 ? y : r, c->residual == 1 ? r : y };
        y = cc_out(g, cc_node(g, "Add", 2, add_in));
        if (c->relu_after_add) y = cc_out(g, cc_node(g, "Relu", 1, &y));
    }
    cc_output(g, y);
}

static void dw_check(const struct dw_case *c, uint64_t seed)
{
    char what[256];
    snprintf(what, sizeof(what),
             "depthwise n%lld c%lld x%lld %lldx%lld k%lldx%lld s%lld,%lld d%lld,%lld "
             "p%lld,%lld,%lld,%lld bias%d %s res%d%s%s",
             (long long)c->n, (long long)c->c, (long long)c->mult, (long long)c->h, (long long)c->w,
             (long long)c->kh, (long long)c->kw, (long long)c->sh, (long long)c->sw,
             (long long)c->dh, (long long)c->dw, (long long)c->pads[0], (long long)c->pads[1],
             (long long)c->pads[2], (long long)c->pads[3], c->bias, act_names[c->act], c->residual,
             c->relu_after_add ? "+relu" : "", c->weight_input ? " runtime-weights" : "");
    /* Everything fuses into the conv, except an activation before the
     * residual Add (that Add then runs on its own). */
    struct cc_expect e = {
        .kernel = c->weight_input ? NULL : "depthwise",
        .steps = 1 + (c->residual && c->act != ACT_NONE),
        .tol = 3e-5,
    };
    cc_check(what, dw_build, c, seed, &e);
}

static void test_depthwise_shapes(void **state)
{
    (void)state;
    /* The shapes the zoo networks use, at reduced channel counts. */
    static const struct dw_case fixed[] = {
        { 1, 32, 1, 56, 56, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_CLIP6, 0, false, false },
        { 1, 24, 1, 56, 56, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, true, ACT_CLIP6, 0, false, false },
        { 1, 16, 1, 28, 28, 5, 5, 1, 1, 1, 1, { 2, 2, 2, 2 }, true, ACT_SILU, 0, false, false },
        { 1,
          16,
          1,
          28,
          28,
          5,
          5,
          2,
          2,
          1,
          1,
          { 2, 2, 2, 2 },
          true,
          ACT_HSWISH_MUL,
          0,
          false,
          false },
        { 1, 40, 1, 7, 7, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_RELU, 1, false, false },
        { 1, 12, 1, 14, 14, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, false, ACT_NONE, 2, true, false },
        { 2, 5, 3, 9, 11, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_LEAKY, 0, false, false },
        { 1, 4, 1, 17, 33, 5, 5, 1, 2, 1, 1, { 2, 1, 2, 3 }, true, ACT_TANH, 0, false, false },
        { 1, 3, 1, 20, 20, 3, 3, 1, 1, 2, 2, { 2, 2, 2, 2 }, true, ACT_SIGMOID, 1, true, false },
        { 1, 6, 2, 13, 13, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_NONE, 1, true, true },
        { 1,
          64,
          1,
          30,
          30,
          3,
          3,
          1,
          1,
          1,
          1,
          { 1, 1, 1, 1 },
          true,
          ACT_HARD_SWISH,
          0,
          false,
          false },
        /* Stride 2 with "same" padding, rows wide enough for chunks inside
         * the row (row_taps_s2_mid): a row not a whole number of vectors,
         * the 5x5 kernel's last column on the row's end, and inside. */
        { 1, 3, 1, 9, 100, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, true, ACT_RELU, 0, false, false },
        { 1, 3, 1, 11, 64, 5, 5, 2, 2, 1, 1, { 2, 2, 2, 2 }, false, ACT_NONE, 0, false, false },
        { 1, 2, 1, 7, 128, 5, 5, 2, 2, 1, 1, { 2, 2, 2, 2 }, true, ACT_CLIP6, 0, false, false },
        /* Big enough to be split over threads. */
        { 1, 64, 1, 56, 56, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_CLIP6, 1, false, false },
        { 1, 256, 1, 14, 14, 5, 5, 1, 1, 1, 1, { 2, 2, 2, 2 }, true, ACT_SILU, 0, false, false },
        /* 16 channels at a time (stride 2 onto 7x7), each task in its own
         * scratch */
        { 1, 160, 1, 14, 14, 5, 5, 2, 2, 1, 1, { 2, 2, 2, 2 }, true, ACT_RELU, 1, false, false },
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) dw_check(&fixed[i], 100 + i);
}

/* Small planes at stride 1 whose output is the input's size run flat at
 * AVX-512 (cpu_depthwise_flat_avx512.c): every kernel size and padding the
 * flat layout takes, a residual, the activations, a batch, channel counts
 * that split oddly over two threads. */
static void test_depthwise_flat(void **state)
{
    (void)state;
    static const struct dw_case cases[] = {
        { 1, 40, 1, 7, 7, 5, 5, 1, 1, 1, 1, { 2, 2, 2, 2 }, true, ACT_SILU, 0, false, false },
        { 1, 33, 1, 7, 7, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_RELU, 1, true, false },
        { 2, 17, 1, 8, 8, 5, 5, 1, 1, 1, 1, { 2, 2, 2, 2 }, false, ACT_CLIP6, 2, false, false },
        { 1, 9, 1, 4, 4, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_TANH, 0, false, false },
        { 1, 12, 1, 7, 7, 3, 3, 1, 1, 2, 2, { 2, 2, 2, 2 }, true, ACT_HARD_SWISH, 0, false, false },
        { 1, 10, 1, 6, 9, 2, 2, 1, 1, 1, 1, { 0, 1, 1, 0 }, true, ACT_LEAKY, 0, false, false },
        { 1, 7, 1, 5, 11, 1, 5, 1, 1, 1, 1, { 0, 2, 0, 2 }, true, ACT_NONE, 1, false, false },
        { 1, 300, 1, 7, 7, 5, 5, 1, 1, 1, 1, { 2, 2, 2, 2 }, true, ACT_SIGMOID, 1, false, false },
        { 1, 5, 1, 1, 1, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_NONE, 0, false, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dw_case *c = &cases[i];
        char what[96];
        snprintf(what, sizeof(what), "flat depthwise c%lld %lldx%lld k%lldx%lld d%lld case %zu",
                 (long long)c->c, (long long)c->h, (long long)c->w, (long long)c->kh,
                 (long long)c->kw, (long long)c->dh, i);
        struct cc_expect e = {
            .kernel = "depthwise_flat",
            .steps = 1 + (c->residual && c->act != ACT_NONE),
            .tol = 3e-5,
            .levels = 1u << 2,
        };
        cc_check(what, dw_build, c, 300 + i, &e);
    }
}

static void test_depthwise_random(void **state)
{
    (void)state;
    struct cc_rng rng = { 12345 };
    for (int iter = 0; iter < 160; iter++) {
        struct dw_case c = { 0 };
        c.n = cc_int(&rng, 1, 4) == 4 ? 2 : 1;
        c.c = cc_int(&rng, 2, 9);
        c.mult = cc_int(&rng, 1, 5) >= 4 ? cc_int(&rng, 2, 3) : 1;
        static const int64_t ksizes[] = { 3, 3, 3, 5, 5, 1, 2, 4, 7 };
        c.kh = ksizes[cc_int(&rng, 0, 8)];
        c.kw = cc_int(&rng, 0, 3) ? c.kh : ksizes[cc_int(&rng, 0, 8)];
        c.sh = cc_int(&rng, 0, 4) ? cc_int(&rng, 1, 2) : 3;
        c.sw = cc_int(&rng, 0, 3) ? c.sh : cc_int(&rng, 1, 3);
        c.dh = cc_int(&rng, 0, 5) ? 1 : 2;
        c.dw = cc_int(&rng, 0, 3) ? c.dh : cc_int(&rng, 1, 2);
        c.pads[0] = cc_int(&rng, 0, c.kh - 1);
        c.pads[2] = cc_int(&rng, 0, 2) ? c.pads[0] : cc_int(&rng, 0, c.kh - 1);
        c.pads[1] = cc_int(&rng, 0, c.kw - 1);
        c.pads[3] = cc_int(&rng, 0, 2) ? c.pads[1] : cc_int(&rng, 0, c.kw - 1);
        c.h = cc_int(&rng, 1, cc_int(&rng, 0, 3) ? 20 : 45);
        c.w = cc_int(&rng, 1, cc_int(&rng, 0, 2) ? 20 : 70);
        /* At least one output. */
        while (c.h + c.pads[0] + c.pads[2] < (c.kh - 1) * c.dh + 1) c.h++;
        while (c.w + c.pads[1] + c.pads[3] < (c.kw - 1) * c.dw + 1) c.w++;
        c.bias = cc_int(&rng, 0, 3) != 0;
        c.act = (int)cc_int(&rng, 0, ACT_COUNT - 1);
        c.residual = cc_int(&rng, 0, 2) ? 0 : (int)cc_int(&rng, 1, 2);
        c.relu_after_add = c.residual && cc_int(&rng, 0, 1);
        dw_check(&c, 1000 + (uint64_t)iter);
    }
}

/* --- residual fusion into other convolutions -------------------------------- */

struct conv_case {
    int64_t c, m, group, h, k, nspatial;
    bool relu;
};

static void conv_res_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct conv_case *c = arg;
    int64_t xd[5] = { 1, c->c }, wd[5] = { c->m, c->c / c->group }, yd[5] = { 1, c->m };
    int64_t pads[6];
    for (int i = 0; i < c->nspatial; i++) {
        xd[2 + i] = c->h;
        wd[2 + i] = c->k;
        yd[2 + i] = c->h;
        pads[i] = pads[c->nspatial + i] = c->k / 2;
    }
    const int64_t bd[] = { c->m };
    int nd = (int)c->nspatial + 2;
    int in[] = { cc_input(g, "x", nd, xd), cc_const(g, rng, nd, wd, -1.0f, 1.0f),
                 cc_const(g, rng, 1, bd, -1.0f, 1.0f) };
    int conv = cc_node(g, "Conv", 3, in);
    cc_attr_int(g, conv, "group", c->group);
    cc_attr_ints(g, conv, "pads", pads, 2 * (int)c->nspatial);
    int add_in[] = { cc_input(g, "r", nd, yd), cc_out(g, conv) };
    int y = cc_out(g, cc_node(g, "Add", 2, add_in));
    if (c->relu) y = cc_out(g, cc_node(g, "Relu", 1, &y));
    cc_output(g, y);
}

/* Kernels that do not add the residual themselves (GEMM convolutions, the
 * reference) still give act(conv + r). */
static void test_residual_other_convs(void **state)
{
    (void)state;
    static const struct conv_case cases[] = {
        { 8, 16, 1, 9, 3, 2, true },  /* im2col */
        { 8, 12, 1, 7, 1, 2, true },  /* 1x1 */
        { 8, 8, 2, 9, 3, 2, false },  /* grouped */
        { 4, 6, 1, 6, 3, 3, true },   /* 3-D: reference */
        { 4, 6, 1, 10, 3, 1, false }, /* 1-D: reference */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[128];
        snprintf(what, sizeof(what), "residual into conv c%lld m%lld g%lld k%lld %lld-D",
                 (long long)cases[i].c, (long long)cases[i].m, (long long)cases[i].group,
                 (long long)cases[i].k, (long long)cases[i].nspatial);
        struct cc_expect e = { .steps = 1, .tol = 5e-5 };
        cc_check(what, conv_res_build, &cases[i], 200 + i, &e);
    }
}

/* --- grouped convolution ------------------------------------------------------ */

struct grouped_case {
    int64_t n, group, cg, mg, h, w, kh, kw, sh, sw, dh, dw, pads[4];
    bool bias;
    int act;
    bool residual;
};

static void grouped_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct grouped_case *c = arg;
    const int64_t m = c->group * c->mg;
    const int64_t xd[] = { c->n, c->group * c->cg, c->h, c->w }, wd[] = { m, c->cg, c->kh, c->kw };
    const int64_t bd[] = { m };
    int in[3] = { cc_input(g, "x", 4, xd), cc_const(g, rng, 4, wd, -0.5f, 0.5f), -1 };
    if (c->bias) in[2] = cc_const(g, rng, 1, bd, -1.0f, 1.0f);
    int conv = cc_node(g, "Conv", c->bias ? 3 : 2, in);
    const int64_t ks[] = { c->kh, c->kw }, st[] = { c->sh, c->sw }, di[] = { c->dh, c->dw };
    cc_attr_int(g, conv, "group", c->group);
    cc_attr_ints(g, conv, "kernel_shape", ks, 2);
    cc_attr_ints(g, conv, "strides", st, 2);
    cc_attr_ints(g, conv, "dilations", di, 2);
    cc_attr_ints(g, conv, "pads", c->pads, 4);
    int y = cc_out(g, conv);
    if (c->residual) {
        const int64_t yd[] = { c->n, m, out_size(c->h, c->kh, c->sh, c->dh, c->pads[0], c->pads[2]),
                               out_size(c->w, c->kw, c->sw, c->dw, c->pads[1], c->pads[3]) };
        int add_in[] = { y, cc_input(g, "r", 4, yd) };
        y = cc_out(g, cc_node(g, "Add", 2, add_in));
    }
    cc_output(g, act_add(g, y, c->act, false));
}

static void test_grouped_random(void **state)
{
    (void)state;
    static const struct grouped_case fixed[] = {
        /* RegNetX-400MF's four stages, at fewer groups */
        { 1, 2, 16, 16, 56, 56, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_RELU, false },
        { 1, 3, 16, 16, 28, 28, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, true, ACT_RELU, false },
        { 1, 4, 16, 16, 14, 14, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_RELU, true },
        { 1, 5, 16, 16, 7, 7, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, ACT_RELU, false },
        { 2, 2, 4, 20, 9, 11, 5, 5, 2, 2, 1, 1, { 2, 2, 2, 2 }, false, ACT_SILU, false },
        { 1, 4, 8, 3, 13, 13, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, true, ACT_NONE, true },
        /* stride 2 onto small planes, through the phases at AVX-512: RegNet's
         * 14x14 -> 7x7, asymmetric padding on odd sizes, rows of 13 (14 of
         * 16 lanes a row), 5x5 */
        { 1, 3, 16, 16, 14, 14, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, true, ACT_RELU, true },
        { 1, 2, 12, 16, 13, 15, 3, 3, 2, 2, 1, 1, { 1, 0, 0, 1 }, true, ACT_SILU, false },
        { 1, 2, 8, 16, 20, 26, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, false, ACT_NONE, true },
        { 1, 2, 16, 16, 14, 14, 5, 5, 2, 2, 1, 1, { 2, 2, 2, 2 }, true, ACT_RELU, false },
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        struct cc_expect e = { .kernel = "grouped", .steps = 1, .tol = 5e-5, .levels = 6 };
        cc_check("grouped", grouped_build, &fixed[i], 800 + i, &e);
    }
    struct cc_rng rng = { 4242 };
    for (int iter = 0; iter < 60; iter++) {
        struct grouped_case c = { 0 };
        c.n = 1;
        c.group = cc_int(&rng, 2, 4);
        c.cg = cc_int(&rng, 2, 18);
        c.mg = cc_int(&rng, 1, 20);
        static const int64_t ks[] = { 1, 3, 3, 5, 2, 4 };
        c.kh = ks[cc_int(&rng, 0, 5)];
        c.kw = cc_int(&rng, 0, 3) ? c.kh : ks[cc_int(&rng, 0, 5)];
        c.sh = cc_int(&rng, 0, 5) ? cc_int(&rng, 1, 2) : 3;
        c.sw = cc_int(&rng, 0, 4) ? c.sh : cc_int(&rng, 1, 2);
        c.dh = c.dw = cc_int(&rng, 0, 5) ? 1 : 2;
        c.pads[0] = c.pads[2] = (c.kh - 1) * c.dh / 2;
        c.pads[1] = c.pads[3] = (c.kw - 1) * c.dw / 2;
        if (cc_int(&rng, 0, 3) == 0) {
            c.pads[2] = cc_int(&rng, 0, c.kh - 1);
            c.pads[3] = cc_int(&rng, 0, c.kw - 1);
        }
        c.h = cc_int(&rng, 1, 30);
        c.w = cc_int(&rng, 1, 40);
        while (c.h + c.pads[0] + c.pads[2] < (c.kh - 1) * c.dh + 1) c.h++;
        while (c.w + c.pads[1] + c.pads[3] < (c.kw - 1) * c.dw + 1) c.w++;
        c.bias = cc_int(&rng, 0, 3) != 0;
        c.act = (int)cc_int(&rng, 0, ACT_HARD_SWISH);
        c.residual = cc_int(&rng, 0, 2) == 0 && c.act == ACT_NONE;
        const int64_t ow = out_size(c.w, c.kw, c.sw, c.dw, c.pads[1], c.pads[3]);
        const bool flat = c.sh == 1 && c.sw == 1 && ow == c.w;
        const bool rows = c.kh == c.kw && c.kh % 2 == 1 && c.sh == c.sw && c.sh <= 2 && c.dh == 1;
        char what[160];
        snprintf(what, sizeof(what),
                 "grouped g%lld cg%lld mg%lld %lldx%lld k%lldx%lld s%lld,%lld d%lld %s%s",
                 (long long)c.group, (long long)c.cg, (long long)c.mg, (long long)c.h,
                 (long long)c.w, (long long)c.kh, (long long)c.kw, (long long)c.sh, (long long)c.sw,
                 (long long)c.dh, act_names[c.act], c.residual ? " res" : "");
        struct cc_expect e = {
            .kernel = flat || rows ? "grouped" : NULL, .steps = 1, .tol = 5e-5, .levels = 6
        };
        cc_check(what, grouped_build, &c, 8000 + (uint64_t)iter, &e);
    }
}

/* --- pooling -------------------------------------------------------------- */

struct pool_case {
    const char *op;
    int64_t n, c, h, w, kh, kw, sh, sw, dh, dw, pads[4];
    bool ceil, include_pad;
};

static void pool_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct pool_case *c = arg;
    (void)rng;
    const int64_t xd[] = { c->n, c->c, c->h, c->w };
    int x = cc_input(g, "x", 4, xd);
    int p = cc_node(g, c->op, 1, &x);
    const int64_t ks[] = { c->kh, c->kw }, st[] = { c->sh, c->sw }, di[] = { c->dh, c->dw };
    cc_attr_ints(g, p, "kernel_shape", ks, 2);
    cc_attr_ints(g, p, "strides", st, 2);
    cc_attr_ints(g, p, "pads", c->pads, 4);
    if (c->ceil) cc_attr_int(g, p, "ceil_mode", 1);
    if (strcmp(c->op, "MaxPool") == 0)
        cc_attr_ints(g, p, "dilations", di, 2);
    else if (c->include_pad)
        cc_attr_int(g, p, "count_include_pad", 1);
    cc_output(g, cc_out(g, p));
}

static void test_pool_random(void **state)
{
    (void)state;
    static const struct pool_case fixed[] = {
        { "MaxPool", 1, 24, 112, 112, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, false, false },
        { "MaxPool", 1, 64, 112, 112, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, false, false },
        { "MaxPool", 1, 8, 28, 28, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, true, false },
        { "MaxPool", 1, 8, 15, 15, 3, 3, 2, 2, 1, 1, { 0, 0, 0, 0 }, true, false },
        { "AveragePool", 1, 8, 15, 15, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, true, true },
        { "AveragePool", 1, 8, 14, 14, 2, 2, 2, 2, 1, 1, { 0, 0, 0, 0 }, false, false },
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        struct cc_expect e = { .kernel = "pool", .steps = 1 };
        cc_check(fixed[i].op, pool_build, &fixed[i], 300 + i, &e);
    }
    struct cc_rng rng = { 777 };
    for (int iter = 0; iter < 80; iter++) {
        struct pool_case c = { 0 };
        c.op = cc_int(&rng, 0, 1) ? "MaxPool" : "AveragePool";
        c.n = cc_int(&rng, 1, 2);
        c.c = cc_int(&rng, 1, 6);
        c.kh = cc_int(&rng, 1, 5);
        c.kw = cc_int(&rng, 0, 2) ? c.kh : cc_int(&rng, 1, 5);
        c.sh = cc_int(&rng, 1, 3);
        c.sw = cc_int(&rng, 0, 2) ? c.sh : cc_int(&rng, 1, 3);
        c.dh = c.dw = 1;
        if (c.op[0] == 'M' && cc_int(&rng, 0, 4) == 0) c.dh = c.dw = 2;
        c.pads[0] = cc_int(&rng, 0, c.kh - 1);
        c.pads[2] = cc_int(&rng, 0, c.kh - 1);
        c.pads[1] = cc_int(&rng, 0, c.kw - 1);
        c.pads[3] = cc_int(&rng, 0, c.kw - 1);
        c.h = cc_int(&rng, 1, 40);
        c.w = cc_int(&rng, 1, 60);
        while (c.h + c.pads[0] + c.pads[2] < (c.kh - 1) * c.dh + 1) c.h++;
        while (c.w + c.pads[1] + c.pads[3] < (c.kw - 1) * c.dw + 1) c.w++;
        c.ceil = cc_int(&rng, 0, 1);
        c.include_pad = cc_int(&rng, 0, 1);
        char what[192];
        snprintf(what, sizeof(what),
                 "%s %lldx%lld k%lldx%lld s%lld,%lld d%lld p%lld,%lld,%lld,%lld%s%s", c.op,
                 (long long)c.h, (long long)c.w, (long long)c.kh, (long long)c.kw, (long long)c.sh,
                 (long long)c.sw, (long long)c.dh, (long long)c.pads[0], (long long)c.pads[1],
                 (long long)c.pads[2], (long long)c.pads[3], c.ceil ? " ceil" : "",
                 c.include_pad ? " include_pad" : "");
        struct cc_expect e = { .kernel = "pool", .steps = 1 };
        cc_check(what, pool_build, &c, 3000 + (uint64_t)iter, &e);
    }
}

struct global_case {
    const char *op;
    int ndim;
    int64_t dims[5];
    int64_t axes[3];
    int naxes;
    int keepdims;
    const char *kernel;
};

static void global_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct global_case *c = arg;
    (void)rng;
    int x = cc_input(g, "x", c->ndim, c->dims);
    int p = cc_node(g, c->op, 1, &x);
    if (c->naxes) cc_attr_ints(g, p, "axes", c->axes, c->naxes);
    if (c->keepdims >= 0) cc_attr_int(g, p, "keepdims", c->keepdims);
    cc_output(g, cc_out(g, p));
}

static void test_global_pool(void **state)
{
    (void)state;
    static const struct global_case cases[] = {
        { "GlobalAveragePool", 4, { 1, 40, 7, 7 }, { 0 }, 0, -1, "global_pool" },
        { "GlobalAveragePool", 4, { 2, 3, 33, 17 }, { 0 }, 0, -1, "global_pool" },
        { "GlobalAveragePool", 3, { 1, 5, 1 }, { 0 }, 0, -1, "global_pool" },
        { "GlobalAveragePool", 5, { 1, 4, 3, 5, 7 }, { 0 }, 0, -1, "global_pool" },
        { "GlobalMaxPool", 4, { 1, 9, 13, 11 }, { 0 }, 0, -1, "global_pool" },
        { "ReduceMean", 4, { 1, 24, 7, 9 }, { 2, 3 }, 2, 0, "global_pool" },
        { "ReduceMean", 4, { 2, 24, 7, 9 }, { -1, -2 }, 2, 1, "global_pool" },
        { "ReduceMean", 3, { 4, 5, 19 }, { 2 }, 1, 1, "global_pool" },
        { "ReduceMean", 4, { 1, 6, 5, 4 }, { 1 }, 1, 0, "reduce" }, /* not trailing */
        { "ReduceSum", 4, { 2, 6, 5, 4 }, { 0, 2 }, 2, 1, "reduce" },
        { "ReduceMax", 3, { 3, 7, 5 }, { 1 }, 1, 0, "reduce" },
        { "ReduceMin", 3, { 3, 7, 5 }, { 0 }, 1, 1, "reduce" },
        { "ReduceProd", 2, { 3, 4 }, { 1 }, 1, 1, "reduce" },
        { "ReduceL1", 4, { 1, 3, 4, 5 }, { 1, 3 }, 2, 0, "reduce" },
        { "ReduceL2", 4, { 1, 3, 4, 5 }, { 2 }, 1, 1, "reduce" },
        { "ReduceSumSquare", 3, { 2, 3, 4 }, { 0, 1, 2 }, 3, 0, "reduce" },
        { "ReduceLogSum", 3, { 2, 3, 4 }, { 1 }, 1, 1, "reduce" },
        { "ReduceLogSumExp", 3, { 2, 9, 4 }, { 1, 2 }, 2, 1, "reduce" },
        { "ReduceSum", 2, { 5, 6 }, { 0 }, 0, 1, "reduce" }, /* all axes */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cc_expect e = { .kernel = cases[i].kernel, .steps = 1 };
        cc_check(cases[i].op, global_build, &cases[i], 400 + i, &e);
    }
}

/* --- element-wise ----------------------------------------------------------- */

struct bin_case {
    const char *op;
    int na, nb;
    int64_t a[5], b[5];
    bool relu; /* Relu after the op (fused into Add only) */
    bool const_b;
    const char *kernel;
};

static void bin_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct bin_case *c = arg;
    int in[] = { cc_input(g, "a", c->na, c->a), c->const_b
                                                    ? cc_const(g, rng, c->nb, c->b, 0.5f, 2.0f)
                                                    : cc_input(g, "b", c->nb, c->b) };
    int y = cc_out(g, cc_node(g, c->op, 2, in));
    if (c->relu) y = cc_out(g, cc_node(g, "Relu", 1, &y));
    cc_output(g, y);
}

static void test_binary(void **state)
{
    (void)state;
    static const struct bin_case cases[] = {
        { "Add", 4, 4, { 1, 24, 56, 56 }, { 1, 24, 56, 56 }, true, false, "binary" },
        { "Add", 4, 4, { 1, 64, 128, 129 }, { 1, 64, 128, 129 }, true, false, "binary" },
        { "Mul", 4, 4, { 1, 64, 128, 127 }, { 1, 64, 1, 1 }, false, false, "binary_bcast" },
        { "Add", 1, 1, { 37 }, { 37 }, false, false, "binary" },
        { "Mul", 4, 4, { 1, 40, 7, 7 }, { 1, 40, 1, 1 }, false, false, "binary_bcast" },
        { "Mul", 4, 4, { 1, 40, 1, 1 }, { 1, 40, 7, 7 }, false, false, "binary_bcast" },
        { "Mul", 4, 3, { 2, 96, 28, 28 }, { 96, 1, 1 }, false, true, "binary_bcast" },
        { "Add", 4, 1, { 2, 3, 5, 7 }, { 7 }, true, true, "binary_bcast" },
        { "Sub", 3, 1, { 3, 5, 9 }, { 1 }, false, true, "binary_bcast" },
        { "Div", 4, 4, { 1, 7, 9, 33 }, { 1, 7, 1, 1 }, false, true, "binary_bcast" },
        { "Div", 2, 2, { 13, 29 }, { 13, 29 }, false, true, "binary" },
        { "Sub", 4, 4, { 1, 5, 1, 1 }, { 1, 5, 3, 3 }, false, false, NULL }, /* reference */
        { "Add", 4, 4, { 1, 5, 1, 7 }, { 1, 1, 6, 1 }, false, false, NULL }, /* reference */
        { "Mul", 4, 4, { 2, 6, 4, 5 }, { 1, 6, 4, 1 }, false, false, "binary_bcast" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[64];
        snprintf(what, sizeof(what), "%s case %zu", cases[i].op, i);
        struct cc_expect e = { .kernel = cases[i].kernel, .steps = 1 };
        cc_check(what, bin_build, &cases[i], 500 + i, &e);
    }
}

struct act_case {
    int act;
    int64_t n;
    bool after_add; /* gated activations: of an Add's output, fused into it */
};

static void act_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct act_case *c = arg;
    const int64_t d[] = { 1, 3, c->n };
    int x = cc_input(g, "x", 3, d);
    if (c->after_add) {
        int in[] = { x, cc_input(g, "x2", 3, d) };
        x = cc_out(g, cc_node(g, "Add", 2, in));
    }
    cc_output(g, act_add(g, x, c->act, (cc_u32(rng) & 1) != 0));
}

static void test_activations(void **state)
{
    (void)state;
    for (int act = ACT_RELU; act < ACT_COUNT; act++) {
        for (int64_t n = 1; n < 90; n += 22) {
            struct act_case c = { act, n, act >= ACT_SILU };
            char what[64];
            snprintf(what, sizeof(what), "activation %s n=%lld", act_names[act], (long long)n);
            struct cc_expect e = { .kernel = c.after_add ? "binary" : "activation", .steps = 1 };
            cc_check(what, act_build, &c, 600 + (uint64_t)(act * 100 + n), &e);
        }
    }
}

/* --- layout ------------------------------------------------------------------- */

struct transpose_case {
    int ndim;
    int64_t dims[5];
    int64_t perm[5];
    bool no_perm; /* reversed axes, the default */
    const char *kernel;
};

static void transpose_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct transpose_case *c = arg;
    (void)rng;
    int x = cc_input(g, "x", c->ndim, c->dims);
    int t = cc_node(g, "Transpose", 1, &x);
    if (!c->no_perm) cc_attr_ints(g, t, "perm", c->perm, c->ndim);
    cc_output(g, cc_out(g, t));
}

static void test_transpose(void **state)
{
    (void)state;
    static const struct transpose_case cases[] = {
        { 5, { 1, 2, 58, 28, 28 }, { 0, 2, 1, 3, 4 }, false, "transpose_blocks" },
        { 5, { 1, 2, 3, 5, 7 }, { 2, 0, 1, 3, 4 }, false, "transpose_blocks" },
        { 4, { 3, 4, 5, 6 }, { 1, 3, 2, 0 }, false, NULL }, /* last axis moves */
        { 4, { 3, 4, 5, 6 }, { 2, 1, 0, 3 }, false, "transpose_blocks" },
        { 3, { 4, 5, 6 }, { 0 }, true, NULL },
        { 3, { 4, 5, 6 }, { 0, 1, 2 }, false, NULL }, /* identity */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cc_expect e = { .kernel = cases[i].kernel, .steps = 1 };
        cc_check("transpose", transpose_build, &cases[i], 900 + i, &e);
    }
}

/* --- Concat written in place by its producers ------------------------------ */

enum concat_kind {
    CONCAT_PLAIN,     /* conv, conv, pool into one Concat: elided */
    CONCAT_REREAD,    /* an input read again after the Concat, the Concat read by a conv */
    CONCAT_INPUT,     /* a graph input among its inputs: copies */
    CONCAT_ODD,       /* a slice that would not start on 64 bytes: copies */
    CONCAT_TWICE,     /* one value twice: copies */
    CONCAT_BATCH,     /* batch 2: the parts interleave, copies */
    CONCAT_AFTER_ACT, /* an activation of an input after the Concat (no in-place over it) */
};

struct concat_case {
    int kind;
    int steps; /* steps that run: the Concat among them unless elided */
};

static int concat_conv(struct ir_graph *g, struct cc_rng *rng, int x, int64_t c, int64_t m,
                       int64_t k)
{
    const int64_t wd[] = { m, c, k, k }, bd[] = { m };
    int in[] = { x, cc_const(g, rng, 4, wd, -0.5f, 0.5f), cc_const(g, rng, 1, bd, -0.5f, 0.5f) };
    int n = cc_node(g, "Conv", 3, in);
    const int64_t pads[] = { k / 2, k / 2, k / 2, k / 2 };
    cc_attr_ints(g, n, "pads", pads, 4);
    return cc_out(g, n);
}

static void concat_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct concat_case *c = arg;
    const int64_t xd[] = { c->kind == CONCAT_BATCH ? 2 : 1, 8, 10, 12 };
    int x = cc_input(g, "x", 4, xd);
    int a = concat_conv(g, rng, x, 8, c->kind == CONCAT_ODD ? 3 : 16, 1);
    a = act_add(g, a, ACT_RELU, false);
    int b = concat_conv(g, rng, x, 8, 16, 3);
    int in[3] = { a, b, x };
    int nin = 2;
    if (c->kind == CONCAT_PLAIN) {
        int p = cc_node(g, "MaxPool", 1, &x);
        const int64_t ks[] = { 3, 3 }, pads[] = { 1, 1, 1, 1 };
        cc_attr_ints(g, p, "kernel_shape", ks, 2);
        cc_attr_ints(g, p, "pads", pads, 4);
        in[2] = cc_out(g, p);
        nin = 3;
    } else if (c->kind == CONCAT_INPUT) {
        nin = 3;
    } else if (c->kind == CONCAT_TWICE) {
        in[1] = a;
    }
    int cat = cc_node(g, "Concat", nin, in);
    cc_attr_int(g, cat, "axis", 1);
    int y = cc_out(g, cat);
    if (c->kind == CONCAT_REREAD) {
        y = concat_conv(g, rng, y, 32, 8, 1);
        int add_in[] = { b, b };
        cc_output(g, cc_out(g, cc_node(g, "Add", 2, add_in)));
    } else if (c->kind == CONCAT_AFTER_ACT) {
        cc_output(g, cc_out(g, cc_node(g, "Sigmoid", 1, &b)));
    }
    cc_output(g, y);
}

static void test_concat_in_place(void **state)
{
    (void)state;
    static const struct concat_case cases[] = {
        { CONCAT_PLAIN, 3 }, { CONCAT_REREAD, 4 }, { CONCAT_INPUT, 3 },     { CONCAT_ODD, 3 },
        { CONCAT_TWICE, 2 }, { CONCAT_BATCH, 3 },  { CONCAT_AFTER_ACT, 3 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[48];
        snprintf(what, sizeof(what), "concat case %zu", i);
        struct cc_expect e = { .steps = cases[i].steps, .tol = 1e-4 };
        cc_check(what, concat_build, &cases[i], 1200 + i, &e);
    }
}

/* --- squeeze-excite ---------------------------------------------------------- */

struct se_case {
    int64_t c, h;
    bool hard; /* HardSigmoid gate (MobileNetV3) rather than Sigmoid (EfficientNet) */
    bool swap; /* Mul(scale, x) */
};

static void se_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct se_case *c = arg;
    const int64_t xd[] = { 1, c->c, c->h, c->h }, r = c->c / 4;
    const int64_t w1[] = { r, c->c, 1, 1 }, b1[] = { r }, w2[] = { c->c, r, 1, 1 }, b2[] = { c->c };
    int x = cc_input(g, "x", 4, xd);
    int s = cc_out(g, cc_node(g, "GlobalAveragePool", 1, &x));
    int in1[] = { s, cc_const(g, rng, 4, w1, -1.0f, 1.0f), cc_const(g, rng, 1, b1, -1.0f, 1.0f) };
    s = cc_out(g, cc_node(g, "Conv", 3, in1));
    s = act_add(g, s, c->hard ? ACT_RELU : ACT_SILU, false);
    int in2[] = { s, cc_const(g, rng, 4, w2, -1.0f, 1.0f), cc_const(g, rng, 1, b2, -1.0f, 1.0f) };
    s = cc_out(g, cc_node(g, "Conv", 3, in2));
    if (c->hard) {
        int n = cc_node(g, "HardSigmoid", 1, &s);
        cc_attr_float(g, n, "alpha", 1.0f / 6.0f);
        cc_attr_float(g, n, "beta", 0.5f);
        s = cc_out(g, n);
    } else {
        s = cc_out(g, cc_node(g, "Sigmoid", 1, &s));
    }
    int mul_in[] = { c->swap ? s : x, c->swap ? x : s };
    cc_output(g, cc_out(g, cc_node(g, "Mul", 2, mul_in)));
}

static void test_squeeze_excite(void **state)
{
    (void)state;
    static const struct se_case cases[] = {
        { 16, 14, true, false },
        { 24, 7, false, true },
        { 96, 28, false, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* GlobalAveragePool, two convs with their activations, the Mul. */
        struct cc_expect e = { .kernel = "gemv", .steps = 4, .tol = 5e-5 };
        cc_check(cases[i].hard ? "squeeze-excite hard" : "squeeze-excite", se_build, &cases[i],
                 700 + i, &e);
    }
}

struct gemv_case {
    int64_t n, c, m;
    bool bias, residual;
    int act;
};

static void gemv_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct gemv_case *c = arg;
    const int64_t xd[] = { c->n, c->c, 1, 1 }, wd[] = { c->m, c->c, 1, 1 }, bd[] = { c->m };
    const int64_t yd[] = { c->n, c->m, 1, 1 };
    int in[] = { cc_input(g, "x", 4, xd), cc_const(g, rng, 4, wd, -1.0f, 1.0f),
                 c->bias ? cc_const(g, rng, 1, bd, -1.0f, 1.0f) : -1 };
    int y = cc_out(g, cc_node(g, "Conv", c->bias ? 3 : 2, in));
    if (c->residual) {
        int add_in[] = { cc_input(g, "r", 4, yd), y };
        y = cc_out(g, cc_node(g, "Add", 2, add_in));
    }
    cc_output(g, act_add(g, y, c->act, false));
}

/* 1x1 convolutions over 1x1 planes run as matrix-vector products. */
static void test_gemv(void **state)
{
    (void)state;
    static const struct gemv_case cases[] = {
        { 1, 96, 24, true, false, ACT_RELU }, { 1, 24, 96, true, false, ACT_HARD_SIGMOID },
        { 2, 37, 70, false, true, ACT_RELU }, { 1, 576, 1024, true, false, ACT_HARD_SWISH },
        { 3, 5, 131, true, false, ACT_SILU }, { 1, 8, 3, true, true, ACT_NONE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[96];
        snprintf(what, sizeof(what), "gemv n%lld c%lld m%lld %s%s", (long long)cases[i].n,
                 (long long)cases[i].c, (long long)cases[i].m, act_names[cases[i].act],
                 cases[i].residual ? " res" : "");
        struct cc_expect e = { .kernel = "gemv", .steps = 1, .tol = 5e-5 };
        cc_check(what, gemv_build, &cases[i], 1100 + i, &e);
    }
}

static void test_levels_run(void **state)
{
    (void)state;
    /* The generic level at least, and every vector level this CPU has. */
    assert_true(cc_levels_run() >= 1);
    print_message("checked on %d instruction-set level(s)\n", cc_levels_run());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depthwise_shapes),
        cmocka_unit_test(test_depthwise_flat),
        cmocka_unit_test(test_depthwise_random),
        cmocka_unit_test(test_residual_other_convs),
        cmocka_unit_test(test_grouped_random),
        cmocka_unit_test(test_pool_random),
        cmocka_unit_test(test_global_pool),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_gemv),
        cmocka_unit_test(test_squeeze_excite),
        cmocka_unit_test(test_concat_in_place),
        cmocka_unit_test(test_levels_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
