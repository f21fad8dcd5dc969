/* How the CPU backend splits layers over its threads where the split depends
 * on the neighbouring layers, against the reference kernels at 1 and 3
 * threads (cpu_check.h): a 1x1 product after a depthwise layer splits its
 * depth (each thread multiplies the channels its share of the depthwise
 * layer wrote, and the partial products are added after), with a bias, an
 * activation, a fused residual, and depths that do not split evenly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "cpu_check.h"

#include <stdio.h>

struct dw_pw_case {
    int64_t c, m, h;
    bool bias, relu, residual;
};

/* x -> depthwise 3x3 -> Relu -> 1x1 (c -> m) [+ r] [-> Relu] */
static void dw_pw_build(struct ir_graph *g, struct cc_rng *rng, const void *arg)
{
    const struct dw_pw_case *c = arg;
    const int64_t xd[] = { 1, c->c, c->h, c->h }, yd[] = { 1, c->m, c->h, c->h };
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
    if (c->residual) {
        int add[] = { cc_input(g, "r", 4, yd), y };
        y = cc_out(g, cc_node(g, "Add", 2, add));
    }
    if (c->relu) y = cc_out(g, cc_node(g, "Relu", 1, &y));
    cc_output(g, y);
}

static void test_depth_split_after_depthwise(void **state)
{
    (void)state;
    static const struct dw_pw_case cases[] = {
        { 192, 48, 14, true, true, false },  /* 64 channels a thread */
        { 200, 48, 14, false, false, true }, /* 67 + 67 + 66 */
        { 320, 96, 7, true, false, true },   /* 7x7, 107 + 107 + 106 */
        { 576, 96, 14, true, true, true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dw_pw_case *c = &cases[i];
        char what[128];
        snprintf(what, sizeof(what), "depthwise %lld -> 1x1 %lld at %lldx%lld", (long long)c->c,
                 (long long)c->m, (long long)c->h, (long long)c->h);
        /* the transposed product reads the input in place at AVX-512 only */
        struct cc_expect e = { .kernel = "conv_gemm_t",
                               .kernel_mt = "conv_gemm_tk",
                               .steps = 2,
                               .tol = 5e-5,
                               .levels = 1u << 2 };
        cc_check(what, dw_pw_build, c, 1300 + i, &e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_split_after_depthwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
