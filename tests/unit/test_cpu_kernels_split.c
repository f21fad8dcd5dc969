/* How the CPU backend splits layers over its threads where the split depends
 * on the neighbouring layers, against the reference kernels at 1 and 3
 * threads (cpu_check.h): a 1x1 product after a depthwise layer splits its
 * depth (each thread multiplies the channels its share of the depthwise
 * layer wrote, and the partial products are added after), with a bias, an
 * activation, a fused residual, and depths that do not split evenly; a 1x1
 * expansion runs inside the strided depthwise layer that reads it, and a
 * first convolution inside the max pooling that reads it, in row bands of
 * each thread's share (cpu_mbconv.c, cpu_conv_pool.c); a transposed product
 * split by output rows puts back its own rows (conv_gemm_tr); a deep 3x3
 * product on a small plane splits its depth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "cpu_check.h"

#include <stdio.h>
#include <stdlib.h>

/* y [+ an input r of shape rd (r the Add's first input when r_first)]
 * [-> Relu] as the graph's output */
static void add_relu_output(struct ir_graph *g, int y, const int64_t *rd, bool r_first, bool relu)
{
    if (rd) {
        const int r = cc_input(g, "r", 4, rd);
        int add[] = { r_first ? r : y, r_first ? y : r };
        y = cc_out(g, cc_node(g, "Add", 2, add));
    }
    if (relu) y = cc_out(g, cc_node(g, "Relu", 1, &y));
    cc_output(g, y);
}

struct dw_pw_case {
    int64_t c, m, h;
    bool bias, relu, residual;
    int64_t w; /* 0: h */
};

/* x -> depthwise 3x3 -> Relu -> 1x1 (c -> m) [+ r] [-> Relu] */
static void dw_pw_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct dw_pw_case *c = arg;
    const int64_t w = c->w ? c->w : c->h;
    const int64_t xd[] = { 1, c->c, c->h, w }, yd[] = { 1, c->m, c->h, w };
    const int64_t dwd[] = { c->c, 1, 3, 3 }, dbd[] = { c->c }, pwd[] = { c->m, c->c, 1, 1 };
    const int64_t bd[] = { c->m }, pads[] = { 1, 1, 1, 1 };
    int in[] = { cc_input(g, "x", 4, xd), cc_const(g, rng, 4, dwd, -1.0f, 1.0f),
                 cc_const(g, rng, 1, dbd, -1.0f, 1.0f) };
    int dw = cc_node(g, "Conv", 3, in);
    cc_attr_int(g, dw, "group", c->c);
    cc_attr_ints(g, dw, "pads", pads, 4);
    int d = cc_out(g, dw);
    d = cc_out(g, cc_node(g, "Relu", 1, &d));
    int pin[] = { d, cc_const(g, rng, 4, pwd, -0.2f, 0.2f),
                  c->bias ? cc_const(g, rng, 1, bd, -1.0f, 1.0f) : -1 };
    int y = cc_out(g, cc_node(g, "Conv", c->bias ? 3 : 2, pin));
    add_relu_output(g, y, c->residual ? yd : NULL, true, c->relu);
}

/* Each case at AVX-512 (where the transposed product reads its input in
 * place), kernel_mt the 1x1 layer's kernel on more than one thread. */
static void dw_pw_check(const struct dw_pw_case *cases, size_t n, const char *kernel_mt,
                        uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        const struct dw_pw_case *c = &cases[i];
        char what[128];
        snprintf(what, sizeof(what), "depthwise %lld -> 1x1 %lld at %lldx%lld", (long long)c->c,
                 (long long)c->m, (long long)c->h, (long long)(c->w ? c->w : c->h));
        struct cc_expect e = { .kernel = "conv_gemm_t",
                               .kernel_mt = kernel_mt,
                               .steps = 2,
                               .tol = 5e-5,
                               .levels = 1u << 2 };
        cc_check(what, dw_pw_build, c, seed + i, &e);
    }
}

/* On 21x21 planes: 7x7 and 14x14 ones go to the 8 x 49 tiles (below). */
static void test_depth_split_after_depthwise(void **state)
{
    (void)state;
    static const struct dw_pw_case cases[] = {
        { 192, 48, 21, true, true, false, 0 },  /* 64 channels a thread */
        { 200, 48, 21, false, false, true, 0 }, /* 67 + 67 + 66 */
        { 320, 96, 21, true, false, true, 0 },  /* 107 + 107 + 106 */
        { 576, 96, 21, true, true, true, 0 },
    };
    dw_pw_check(cases, sizeof(cases) / sizeof(cases[0]), "conv_gemm_tk", 1300);
}

/* On 7x7 and 14x14 planes the 1x1 layer takes whole panels of its weights
 * in 8 x 49 tiles instead, reading all of its input (cpu_conv_p49.c). */
static void test_panels_after_depthwise_p49(void **state)
{
    (void)state;
    static const struct dw_pw_case cases[] = {
        { 192, 48, 14, true, true, false, 0 },
        { 320, 96, 7, true, false, true, 0 },
        { 160, 160, 7, true, true, true, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dw_pw_case *c = &cases[i];
        char what[128];
        snprintf(what, sizeof(what), "depthwise %lld -> 1x1 %lld at %lldx%lld", (long long)c->c,
                 (long long)c->m, (long long)c->h, (long long)c->h);
        struct cc_expect e = { .kernel = "conv_p49", .steps = 2, .tol = 5e-5, .levels = 1u << 2 };
        cc_check(what, dw_pw_build, c, 1350 + i, &e);
    }
}

/* As many outputs as inputs: the partial products would be as large as the
 * input, so the depth stays whole and the product splits its rows (planes
 * 7 wide that the 8 x 49 tiles do not take, tall enough for 3 threads) */
static void test_no_depth_split_when_square(void **state)
{
    (void)state;
    static const struct dw_pw_case cases[] = {
        { 160, 160, 12, true, true, true, 7 },
        { 144, 96, 18, true, false, false, 7 }, /* fewer outputs, but more than half */
    };
    dw_pw_check(cases, sizeof(cases) / sizeof(cases[0]), "conv_gemm_tr", 1400);
}

struct rows_case {
    int64_t c, m, h, kernel, stride;
    bool relu, residual;
};

/* x -> Conv (c -> m, kernel x kernel, stride, padded) + bias [+ r] [-> Relu]:
 * a transposed product whose input is read in place, split by output rows
 * on more than one thread (conv_gemm_tr) */
static void rows_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct rows_case *c = arg;
    const int64_t oh = (c->h + 2 * (c->kernel / 2) - c->kernel) / c->stride + 1;
    const int64_t xd[] = { 1, c->c, c->h, c->h }, yd[] = { 1, c->m, oh, oh };
    const int64_t wd[] = { c->m, c->c, c->kernel, c->kernel }, bd[] = { c->m };
    const int64_t p = c->kernel / 2, pads[] = { p, p, p, p }, st[] = { c->stride, c->stride };
    int in[] = { cc_input(g, "x", 4, xd), cc_const(g, rng, 4, wd, -0.2f, 0.2f),
                 cc_const(g, rng, 1, bd, -1.0f, 1.0f) };
    int conv = cc_node(g, "Conv", 3, in);
    cc_attr_ints(g, conv, "pads", pads, 4);
    cc_attr_ints(g, conv, "strides", st, 2);
    add_relu_output(g, cc_out(g, conv), c->residual ? yd : NULL, false, c->relu);
}

/* Each case through rows_build at AVX-512, Winograd off (the 3x3 stride-1
 * layers would run as Winograd), kernel_mt the product's kernel on more
 * than one thread. */
static void rows_check(const struct rows_case *cases, size_t n, const char *kernel_mt,
                       uint64_t seed)
{
    assert_int_equal(setenv("INFERD_CPU_WINOGRAD", "off", 1), 0);
    for (size_t i = 0; i < n; i++) {
        const struct rows_case *c = &cases[i];
        char what[128];
        snprintf(what, sizeof(what), "%lldx%lld conv %lld -> %lld at %lldx%lld, stride %lld",
                 (long long)c->kernel, (long long)c->kernel, (long long)c->c, (long long)c->m,
                 (long long)c->h, (long long)c->h, (long long)c->stride);
        struct cc_expect e = { .kernel = "conv_gemm_t",
                               .kernel_mt = kernel_mt,
                               .steps = 1,
                               .tol = 5e-5,
                               .levels = 1u << 2 };
        cc_check(what, rows_build, c, seed + i, &e);
    }
    assert_int_equal(unsetenv("INFERD_CPU_WINOGRAD"), 0);
}

static void test_rows_end_to_end(void **state)
{
    (void)state;
    static const struct rows_case cases[] = {
        { 256, 64, 21, 1, 1, true, true },   /* in place, no copy; 21 rows: 7 + 7 + 7 */
        { 64, 64, 14, 3, 1, true, false },   /* through the padded copy */
        { 48, 80, 28, 3, 2, false, true },   /* stride 2: the phases; 14 rows */
        { 128, 32, 21, 3, 1, false, false }, /* 21 rows of 21 (3 tiles of 7) */
    };
    rows_check(cases, sizeof(cases) / sizeof(cases[0]), "conv_gemm_tr", 1700);
}

/* A deep 3x3 product on a small plane splits its depth on more than one
 * thread (conv_gemm_tk): each thread reads only the input channels its
 * share of the padded copy wrote and half the weights, and the partial
 * products, a fifth of the input or less, are added after. Depths that do
 * not split evenly, both strides, and a plane of 13 read through the
 * phases. */
static void test_depth_split_deep_small(void **state)
{
    (void)state;
    static const struct rows_case cases[] = {
        { 192, 96, 14, 3, 2, true, true },   /* 14 -> 7, k 1728: 576 a thread */
        { 200, 40, 13, 3, 2, false, false }, /* 13 -> 7, k 1800 */
        { 256, 64, 14, 3, 1, true, false },  /* 14x14 at stride 1, k 2304 */
    };
    rows_check(cases, sizeof(cases) / sizeof(cases[0]), "conv_gemm_tk", 1750);
}

struct mb_case {
    int64_t k, m, h, w;
    int64_t kernel, stride, dil, pads[4]; /* the depthwise layer's */
    bool bias_a, bias_d;
    bool clip_a, relu_d; /* Relu6 after the expansion, Relu after the depthwise */
    bool fused;          /* expected to run as one step */
    bool second_reader;  /* the expanded tensor is a graph output too */
    int64_t batch;       /* 0: 1 */
    int64_t group;       /* the second layer's groups; 0: depthwise (m) */
};

/* x -> 1x1 (k -> m) [-> Clip 0..6 | Relu] -> depthwise or grouped [-> Relu] */
static void mb_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct mb_case *c = arg;
    const int64_t xd[] = { c->batch ? c->batch : 1, c->k, c->h, c->w }, wa[] = { c->m, c->k, 1, 1 },
                  bd[] = { c->m };
    const int64_t wd[] = { c->m, c->group ? c->m / c->group : 1, c->kernel, c->kernel };
    int in[] = { cc_input(g, "x", 4, xd), cc_const(g, rng, 4, wa, -0.5f, 0.5f),
                 c->bias_a ? cc_const(g, rng, 1, bd, -1.0f, 1.0f) : -1 };
    int e = cc_out(g, cc_node(g, "Conv", c->bias_a ? 3 : 2, in));
    if (c->clip_a) {
        static const int64_t one[] = { 1 };
        const float lo = 0.0f, hi = 6.0f;
        int cin[] = { e, cc_const_data(g, 0, one, &lo), cc_const_data(g, 0, one, &hi) };
        e = cc_out(g, cc_node(g, "Clip", 3, cin));
    } else {
        e = cc_out(g, cc_node(g, "Relu", 1, &e));
    }
    int din[] = { e, cc_const(g, rng, 4, wd, -1.0f, 1.0f),
                  c->bias_d ? cc_const(g, rng, 1, bd, -1.0f, 1.0f) : -1 };
    int dw = cc_node(g, "Conv", c->bias_d ? 3 : 2, din);
    const int64_t st[] = { c->stride, c->stride }, dl[] = { c->dil, c->dil };
    cc_attr_int(g, dw, "group", c->group ? c->group : c->m);
    cc_attr_ints(g, dw, "strides", st, 2);
    cc_attr_ints(g, dw, "dilations", dl, 2);
    cc_attr_ints(g, dw, "pads", c->pads, 4);
    int y = cc_out(g, dw);
    if (c->relu_d) y = cc_out(g, cc_node(g, "Relu", 1, &y));
    cc_output(g, y);
    if (c->second_reader) cc_output(g, e);
}

static void test_expansion_in_depthwise(void **state)
{
    (void)state;
    static const struct mb_case cases[] = {
        /* several bands a thread (their first input row kept from the band
         * before), Relu6 and Relu, biases */
        { 24, 128, 64, 64, 3, 2, 1, { 1, 1, 1, 1 }, true, true, true, true, true, false, 1, 0 },
        /* 5x5, odd width, no expansion bias */
        { 16, 96, 56, 57, 5, 2, 1, { 2, 2, 2, 2 }, false, true, false, false, true, false, 1, 0 },
        /* channels not a whole tile, padding on the bottom and right only */
        { 40, 120, 47, 47, 3, 2, 1, { 0, 0, 1, 1 }, true, false, true, true, true, false, 1, 0 },
        /* ShuffleNet's: a band's columns once in one B block wider than the
         * widest band's two */
        { 24, 58, 56, 56, 3, 2, 1, { 1, 1, 1, 1 }, true, true, true, false, true, false, 1, 0 },
        /* two images */
        { 16, 64, 64, 48, 3, 2, 1, { 1, 1, 1, 1 }, true, true, true, false, true, false, 2, 0 },
        /* stride 3, dilation 2 */
        { 8, 64, 61, 50, 3, 3, 2, { 2, 2, 2, 2 }, true, true, false, true, true, false, 1, 0 },
        /* not fused: stride 1; a small expanded tensor; a second reader */
        { 24, 144, 56, 56, 3, 1, 1, { 1, 1, 1, 1 }, true, true, true, false, false, false, 1, 0 },
        { 16, 32, 28, 28, 3, 2, 1, { 1, 1, 1, 1 }, true, true, true, false, false, false, 1, 0 },
        { 24, 128, 64, 64, 3, 2, 1, { 1, 1, 1, 1 }, true, true, true, true, false, true, 1, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct mb_case *c = &cases[i];
        char what[128];
        snprintf(what, sizeof(what), "1x1 %lld -> %lld, depthwise %lldx%lld s%lld at %lldx%lld",
                 (long long)c->k, (long long)c->m, (long long)c->kernel, (long long)c->kernel,
                 (long long)c->stride, (long long)c->h, (long long)c->w);
        struct cc_expect e = { .kernel = c->fused ? "mbconv" : "depthwise",
                               .steps = c->fused ? 1 : 2,
                               .tol = 5e-5 };
        cc_check(what, mb_build, c, 1400 + i, &e);
    }
}

struct cp_case {
    int64_t c, m, h, w;
    int64_t ck, cs, cpad;       /* the convolution: kernel, stride, padding */
    int64_t pk, ps, ppad, pdil; /* the pooling */
    bool ceil, bias, relu, fused, second_reader;
    int64_t batch; /* 0: 1 */
};

/* x -> Conv [-> Relu] -> MaxPool */
static void cp_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct cp_case *c = arg;
    const int64_t xd[] = { c->batch ? c->batch : 1, c->c, c->h, c->w },
                  wd[] = { c->m, c->c, c->ck, c->ck };
    const int64_t bd[] = { c->m };
    int in[] = { cc_input(g, "x", 4, xd), cc_const(g, rng, 4, wd, -0.5f, 0.5f),
                 c->bias ? cc_const(g, rng, 1, bd, -1.0f, 1.0f) : -1 };
    int conv = cc_node(g, "Conv", c->bias ? 3 : 2, in);
    const int64_t cst[] = { c->cs, c->cs }, cpads[] = { c->cpad, c->cpad, c->cpad, c->cpad };
    cc_attr_ints(g, conv, "strides", cst, 2);
    cc_attr_ints(g, conv, "pads", cpads, 4);
    int v = cc_out(g, conv);
    if (c->relu) v = cc_out(g, cc_node(g, "Relu", 1, &v));
    int pool = cc_node(g, "MaxPool", 1, &v);
    const int64_t pk[] = { c->pk, c->pk }, pst[] = { c->ps, c->ps }, pdl[] = { c->pdil, c->pdil };
    const int64_t ppads[] = { c->ppad, c->ppad, c->ppad, c->ppad };
    cc_attr_ints(g, pool, "kernel_shape", pk, 2);
    cc_attr_ints(g, pool, "strides", pst, 2);
    cc_attr_ints(g, pool, "dilations", pdl, 2);
    cc_attr_ints(g, pool, "pads", ppads, 4);
    cc_attr_int(g, pool, "ceil_mode", c->ceil);
    cc_output(g, cc_out(g, pool));
    if (c->second_reader) cc_output(g, v);
}

/* The pair on planes of 14x14 or less (cpu_mbconv_small.c), at AVX-512,
 * the level with the position-major depthwise rows: a panel of channels at
 * a time into a buffer whose padding the kernel zeroes (the checks fill
 * scratch with NaN first), rows of 8 or fewer two at a time, channels that
 * fill neither a panel nor a vector, strides, dilation, one-sided padding,
 * 8-wide tiles, a batch; and the shapes it leaves to the layers apart. */
static void test_expansion_in_depthwise_small(void **state)
{
    (void)state;
    static const struct mb_case cases[] = {
        /* mnasnet's 14x14 and 7x7 blocks */
        { 80, 480, 14, 14, 3, 1, 1, { 1, 1, 1, 1 }, true, true, true, true, true, false, 1, 0 },
        { 96, 576, 7, 7, 5, 1, 1, { 2, 2, 2, 2 }, false, true, false, true, true, false, 1, 0 },
        { 96, 576, 14, 14, 5, 2, 1, { 2, 2, 2, 2 }, true, false, true, false, true, false, 1, 0 },
        /* channels: two panels and a half, a part vector; one channel */
        { 24, 120, 14, 14, 3, 1, 1, { 1, 1, 1, 1 }, true, true, false, true, true, false, 1, 0 },
        { 8, 40, 7, 7, 3, 1, 1, { 1, 1, 1, 1 }, true, true, true, true, true, false, 1, 0 },
        { 5, 1, 7, 7, 3, 1, 1, { 1, 1, 1, 1 }, true, true, true, true, true, false, 1, 0 },
        /* padding on the bottom and right only; dilation 2; no padding */
        { 32, 96, 14, 14, 3, 2, 1, { 0, 0, 1, 1 }, true, true, true, true, true, false, 1, 0 },
        { 16, 64, 7, 7, 3, 1, 2, { 2, 2, 2, 2 }, true, true, false, true, true, false, 1, 0 },
        { 16, 64, 14, 14, 3, 1, 1, { 0, 0, 0, 0 }, true, true, true, true, true, false, 1, 0 },
        /* a plane of 8 columns (8-row tiles), 14 rows of 7, two images */
        { 24, 144, 8, 8, 3, 1, 1, { 1, 1, 1, 1 }, true, true, true, true, true, false, 1, 0 },
        { 24, 144, 14, 7, 5, 1, 1, { 2, 2, 2, 2 }, true, true, true, true, true, false, 1, 0 },
        { 16, 96, 7, 7, 3, 1, 1, { 1, 1, 1, 1 }, true, true, true, true, true, false, 2, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct mb_case *c = &cases[i];
        char what[128];
        snprintf(what, sizeof(what),
                 "1x1 %lld -> %lld, depthwise %lldx%lld s%lld d%lld at %lldx%lld", (long long)c->k,
                 (long long)c->m, (long long)c->kernel, (long long)c->kernel, (long long)c->stride,
                 (long long)c->dil, (long long)c->h, (long long)c->w);
        struct cc_expect e = { .kernel = "mbconv_small", .tol = 5e-5, .levels = 1u << 2 };
        cc_check(what, mb_build, c, 2100 + i, &e);
    }
    /* apart: a plane of more than 14x14; rows that 7- and 8-row tiles do
     * not fill; column stride 3; a second reader of the expanded tensor */
    static const struct mb_case apart[] = {
        { 16, 96, 15, 15, 3, 1, 1, { 1, 1, 1, 1 }, true, true, true, true, false, false, 1, 0 },
        { 16, 96, 10, 10, 3, 1, 1, { 1, 1, 1, 1 }, true, true, true, true, false, false, 1, 0 },
        { 16, 96, 14, 14, 3, 3, 1, { 1, 1, 1, 1 }, true, true, true, true, false, false, 1, 0 },
        { 16, 96, 14, 14, 3, 1, 1, { 1, 1, 1, 1 }, true, true, true, true, false, true, 1, 0 },
    };
    for (size_t i = 0; i < sizeof(apart) / sizeof(apart[0]); i++) {
        const struct mb_case *c = &apart[i];
        char what[128];
        snprintf(what, sizeof(what), "apart: 1x1 %lld -> %lld, depthwise s%lld at %lldx%lld",
                 (long long)c->k, (long long)c->m, (long long)c->stride, (long long)c->h,
                 (long long)c->w);
        struct cc_expect e = { .kernel = "depthwise", .steps = 2, .tol = 5e-5 };
        cc_check(what, mb_build, c, 2200 + i, &e);
    }
}

/* The same with a grouped second layer (RegNet's 16 channels a group), at
 * the levels that have the grouped kernel (the generic level runs the two
 * layers apart; steps not checked): rows of whole vectors (B read in
 * place) and not, groups of blocks the kernel does not fill, 5x5, a batch. */
static void test_expansion_in_grouped(void **state)
{
    (void)state;
    static const struct mb_case cases[] = {
        { 32, 32, 112, 112, 3, 2, 1, { 1, 1, 1, 1 }, true, true, false, true, true, false, 1, 2 },
        { 12, 40, 61, 75, 3, 2, 1, { 1, 1, 1, 1 }, true, false, true, true, true, false, 1, 5 },
        { 16, 48, 64, 64, 5, 2, 1, { 2, 2, 2, 2 }, false, true, false, false, true, false, 2, 2 },
        { 24, 96, 48, 48, 3, 2, 1, { 0, 0, 1, 1 }, true, true, true, true, true, false, 1, 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct mb_case *c = &cases[i];
        char what[128];
        snprintf(what, sizeof(what),
                 "1x1 %lld -> %lld, grouped (%lld) %lldx%lld s%lld at %lldx%lld", (long long)c->k,
                 (long long)c->m, (long long)c->group, (long long)c->kernel, (long long)c->kernel,
                 (long long)c->stride, (long long)c->h, (long long)c->w);
        struct cc_expect e = { .kernel = "mbconv", .tol = 5e-5, .levels = (1u << 1) | (1u << 2) };
        cc_check(what, mb_build, c, 1800 + i, &e);
    }
}

static void test_first_conv_in_pool(void **state)
{
    (void)state;
    static const struct cp_case cases[] = {
        /* SqueezeNet: 3x3 s2 unpadded, pooling 3x3 s2 in ceil mode */
        { 3, 64, 129, 131, 3, 2, 0, 3, 2, 0, 1, true, true, true, true, false, 1 },
        /* ResNet: 7x7 s2 pad 3, pooling 3x3 s2 pad 1 */
        { 3, 64, 128, 128, 7, 2, 3, 3, 2, 1, 1, false, true, true, true, false, 1 },
        /* ShuffleNet-like: 24 channels, no bias; pooling 2x2 s2 */
        { 3, 24, 224, 200, 3, 2, 1, 2, 2, 0, 1, false, false, true, true, false, 1 },
        /* a dilated pooling at stride 1, no activation, one input channel */
        { 1, 32, 160, 150, 5, 2, 2, 3, 1, 2, 2, false, true, false, true, false, 1 },
        /* two images */
        { 3, 64, 96, 130, 3, 2, 1, 3, 2, 1, 1, false, true, true, true, false, 2 },
        /* not fused: the convolution's output read twice */
        { 3, 64, 128, 128, 7, 2, 3, 3, 2, 1, 1, false, true, true, false, true, 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct cp_case *c = &cases[i];
        char what[128];
        snprintf(what, sizeof(what), "conv %lldx%lld s%lld -> maxpool %lldx%lld s%lld at %lldx%lld",
                 (long long)c->ck, (long long)c->ck, (long long)c->cs, (long long)c->pk,
                 (long long)c->pk, (long long)c->ps, (long long)c->h, (long long)c->w);
        /* fused where the convolution reads its input in place (AVX2 and
         * AVX-512); at the generic level the two steps run apart */
        struct cc_expect e = { .kernel = c->fused ? "conv_pool" : "pool",
                               .tol = 5e-5,
                               .levels = c->fused ? 6u : 0u };
        cc_check(what, cp_build, c, 1500 + i, &e);
    }
}

struct cd_case {
    int64_t c, m, h, w;
    int64_t ck, cs;       /* the convolution: kernel and stride, "same" padding */
    int64_t dk, ds, dpad; /* the depthwise layer */
    int cact, dact;       /* 0: none, 1: Relu, 2: Clip(0, 6) */
    bool cbias, dbias, fused, second_reader;
    int64_t batch; /* 0: 1 */
};

static int cd_act(struct ir_graph *g, struct cc_rng *rng, int v, int act)
{
    (void)rng;
    static const float lo = 0.0f, hi = 6.0f;
    if (act == 1) return cc_out(g, cc_node(g, "Relu", 1, &v));
    if (act == 2) {
        int in[] = { v, cc_const_data(g, 0, NULL, &lo), cc_const_data(g, 0, NULL, &hi) };
        return cc_out(g, cc_node(g, "Clip", 3, in));
    }
    return v;
}

/* x -> Conv [-> act] -> depthwise Conv [-> act] */
static void cd_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct cd_case *c = arg;
    const int64_t xd[] = { c->batch ? c->batch : 1, c->c, c->h, c->w },
                  wd[] = { c->m, c->c, c->ck, c->ck }, dwd[] = { c->m, 1, c->dk, c->dk };
    const int64_t bd[] = { c->m };
    int in[] = { cc_input(g, "x", 4, xd), cc_const(g, rng, 4, wd, -0.5f, 0.5f),
                 c->cbias ? cc_const(g, rng, 1, bd, -1.0f, 1.0f) : -1 };
    int conv = cc_node(g, "Conv", c->cbias ? 3 : 2, in);
    const int64_t cst[] = { c->cs, c->cs }, cp = c->ck / 2, cpads[] = { cp, cp, cp, cp };
    cc_attr_ints(g, conv, "strides", cst, 2);
    cc_attr_ints(g, conv, "pads", cpads, 4);
    int v = cd_act(g, rng, cc_out(g, conv), c->cact);
    int din[] = { v, cc_const(g, rng, 4, dwd, -0.5f, 0.5f),
                  c->dbias ? cc_const(g, rng, 1, bd, -1.0f, 1.0f) : -1 };
    int dw = cc_node(g, "Conv", c->dbias ? 3 : 2, din);
    const int64_t dst[] = { c->ds, c->ds }, dpads[] = { c->dpad, c->dpad, c->dpad, c->dpad };
    cc_attr_int(g, dw, "group", c->m);
    cc_attr_ints(g, dw, "strides", dst, 2);
    cc_attr_ints(g, dw, "pads", dpads, 4);
    cc_output(g, cd_act(g, rng, cc_out(g, dw), c->dact));
    if (c->second_reader) cc_output(g, v);
}

/* A case's name in failures. */
static void cd_label(const struct cd_case *c, char *what, size_t n)
{
    snprintf(what, n, "conv %lldx%lld s%lld -> depthwise %lldx%lld s%lld at %lldx%lld",
             (long long)c->ck, (long long)c->ck, (long long)c->cs, (long long)c->dk,
             (long long)c->dk, (long long)c->ds, (long long)c->h, (long long)c->w);
}

/* A first layer and the depthwise layer reading it as one step
 * (cpu_conv_pool.c): MobileNet's and MnasNet's stems (3x3 s2, then 3x3 s1),
 * MobileNetV3's (a depthwise layer at stride 2), a 5x5 depthwise layer,
 * uneven sizes, two images, no biases; not fused where the first layer's
 * output is read twice. */
static void test_first_conv_in_depthwise(void **state)
{
    (void)state;
    static const struct cd_case cases[] = {
        { 3, 32, 160, 150, 3, 2, 3, 1, 1, 2, 2, true, true, true, false, 1 },
        { 3, 16, 224, 224, 3, 2, 3, 2, 1, 1, 1, true, false, true, false, 1 },
        { 3, 24, 131, 173, 3, 2, 5, 1, 2, 1, 0, false, true, true, false, 1 },
        { 1, 40, 161, 127, 5, 2, 3, 1, 1, 0, 2, true, true, true, false, 2 },
        { 3, 32, 160, 150, 3, 2, 3, 1, 1, 2, 2, true, true, false, true, 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[128];
        cd_label(&cases[i], what, sizeof(what));
        /* fused where the convolution reads its input in place (AVX2 and
         * AVX-512); at the generic level the two steps run apart */
        struct cc_expect e = { .kernel = cases[i].fused ? "conv_dw" : "depthwise",
                               .tol = 5e-5,
                               .levels = cases[i].fused ? 6u : 0u };
        cc_check(what, cd_build, &cases[i], 1600 + i, &e);
    }
}

/* x -> 1x1 (1 -> 1) -> Relu -> 3x3 s2 (one channel: depthwise and a first
 * layer at once) -> MaxPool 3x3 s2. Both pairs would fuse; a step runs one
 * pair, the first. */
static void chain_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    (void)arg;
    const int64_t xd[] = { 1, 1, 1024, 1024 }, w1[] = { 1, 1, 1, 1 }, w3[] = { 1, 1, 3, 3 };
    const int64_t one[] = { 1 }, st[] = { 2, 2 }, ks[] = { 3, 3 }, pads[] = { 1, 1, 1, 1 };
    int in[] = { cc_input(g, "x", 4, xd), cc_const(g, rng, 4, w1, 0.5f, 1.0f),
                 cc_const(g, rng, 1, one, -0.5f, 0.5f) };
    int e = cc_out(g, cc_node(g, "Conv", 3, in));
    e = cc_out(g, cc_node(g, "Relu", 1, &e));
    int din[] = { e, cc_const(g, rng, 4, w3, -1.0f, 1.0f), cc_const(g, rng, 1, one, -1.0f, 1.0f) };
    int dw = cc_node(g, "Conv", 3, din);
    cc_attr_ints(g, dw, "strides", st, 2);
    cc_attr_ints(g, dw, "pads", pads, 4);
    int pin = cc_out(g, dw);
    int pool = cc_node(g, "MaxPool", 1, &pin);
    cc_attr_ints(g, pool, "kernel_shape", ks, 2);
    cc_attr_ints(g, pool, "strides", st, 2);
    cc_attr_ints(g, pool, "pads", pads, 4);
    cc_output(g, cc_out(g, pool));
}

static void test_one_pair_a_step(void **state)
{
    (void)state;
    struct cc_expect e = { .kernel = "mbconv", .steps = 2, .tol = 5e-5 };
    cc_check("1x1 -> depthwise -> MaxPool", chain_build, NULL, 1600, &e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_split_after_depthwise),
        cmocka_unit_test(test_no_depth_split_when_square),
        cmocka_unit_test(test_panels_after_depthwise_p49),
        cmocka_unit_test(test_expansion_in_depthwise),
        cmocka_unit_test(test_expansion_in_depthwise_small),
        cmocka_unit_test(test_expansion_in_grouped),
        cmocka_unit_test(test_first_conv_in_pool),
        cmocka_unit_test(test_first_conv_in_depthwise),
        cmocka_unit_test(test_one_pair_a_step),
        cmocka_unit_test(test_rows_end_to_end),
        cmocka_unit_test(test_depth_split_deep_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
