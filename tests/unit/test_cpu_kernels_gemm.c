/* The CPU plugin's GEMM-based kernels (Conv, Gemm, MatMul) against the
 * reference kernels, through the plugin's own ABI: each case is a one-node
 * graph with a run-time input, compiled and run at every ISA level this CPU
 * has (generic, avx2, avx512) with one and two threads, its output compared
 * with the op's eval plus the fused activation. Shapes are chosen to hit the
 * edges: odd sizes, M/N/K not multiples of any register tile, k deeper than
 * one cache block, padding, strides, dilations, groups, planes small enough
 * for the transposed product, and every activation the tile epilogue knows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "guard_alloc.h"
#include "inferd_backend.h"
#include "inferd_config.h"
#include "inferd_error.h"
#include "op_harness.h"
#include "ops_nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static struct inferd_plugin plugin;

/* Deterministic values in [-1, 1) from a seed (xorshift). */
static void fill_random(float *p, int64_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1u;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        p[i] = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
    }
}

static int const_random(struct ir_graph *g, const char *name, int ndim, const int64_t *dims,
                        uint32_t seed)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    assert_non_null(p);
    fill_random(p, n, seed);
    int v = oh_const_f32(g, name, ndim, dims, p);
    free(p);
    assert_true(v >= 0);
    return v;
}

/* A case builds its one-node graph (the same every call) and returns the
 * node; the harness infers it and sets the fused activation. */
typedef int (*build_fn)(struct ir_graph *g, const void *spec);

struct run_inputs {
    int n;
    struct ir_tensor t[4];
};

static void inputs_make(const struct ir_graph *g, struct run_inputs *ri)
{
    ri->n = g->ninputs;
    assert_true(ri->n <= 4);
    for (int i = 0; i < ri->n; i++) {
        ir_value_tensor(g, g->inputs[i], &ri->t[i]);
        ri->t[i].data = guard_alloc(ri->t[i].nbytes);
        assert_non_null(ri->t[i].data);
        fill_random(ri->t[i].data, (int64_t)(ri->t[i].nbytes / sizeof(float)), 1000u + (unsigned)i);
    }
}

static void inputs_free(struct run_inputs *ri)
{
    for (int i = 0; i < ri->n; i++) guard_free(ri->t[i].data, ri->t[i].nbytes);
}

/* act->sum set: the node gets a residual input of its output's shape, as
 * the passes leave a Conv with a fused Add (input 3, ir_act.sum). */
static struct ir_graph *graph_make(build_fn build, const void *spec, const struct ir_act *act,
                                   int *node)
{
    struct ir_graph *g = oh_graph(13);
    assert_non_null(g);
    int n = build(g, spec);
    assert_true(n >= 0);
    char err[512];
    if (oh_infer(g, err, sizeof(err)) < 0) fail_msg("%s", err);
    if (act->sum) {
        const struct ir_value *y = &g->values[g->nodes[n].out[0]];
        int64_t dims[IR_MAX_DIMS];
        memcpy(dims, y->shape.dims, sizeof(dims));
        int r = oh_input(g, "residual", IR_DT_F32, y->shape.ndim, dims);
        assert_true(r >= 0);
        struct ir_node *nd = &g->nodes[n];
        int *in = realloc(nd->in, sizeof(int) * 4);
        assert_non_null(in);
        nd->in = in;
        for (int k = nd->nin; k < 3; k++) nd->in[k] = -1;
        nd->in[3] = r;
        nd->nin = 4;
    }
    g->nodes[n].act = *act;
    if (act->sum) g->nodes[n].act.sum = 3;
    *node = n;
    return g;
}

/* Output 0 by the op's reference kernel, then the activation; *rms: the
 * root mean square of the output before the activation. */
static float *reference(const struct ir_graph *g, int node, const struct run_inputs *ri,
                        int64_t *ny, double *rms)
{
    const struct ir_node *n = &g->nodes[node];
    struct ir_tensor in[4], out;
    assert_true(n->nin <= 4);
    for (int k = 0; k < n->nin; k++) {
        if (n->in[k] < 0) {
            memset(&in[k], 0, sizeof(in[k]));
            continue;
        }
        ir_value_tensor(g, n->in[k], &in[k]);
        for (int i = 0; i < ri->n; i++)
            if (g->inputs[i] == n->in[k]) in[k].data = ri->t[i].data;
    }
    ir_value_tensor(g, n->out[0], &out);
    *ny = (int64_t)(out.nbytes / sizeof(float));
    out.data = malloc(out.nbytes ? out.nbytes : 1);
    assert_non_null(out.data);
    assert_int_equal(n->op->eval(n->params, in, n->nin, &out, 1), 0);
    const float *y = out.data;
    double sum = 0;
    for (int64_t i = 0; i < *ny; i++) sum += (double)y[i] * y[i];
    *rms = *ny ? sqrt(sum / (double)*ny) : 0;
    ir_act_apply_sum(&n->act, out.data, n->act.sum ? in[n->act.sum].data : NULL, (size_t)*ny);
    return out.data;
}

static const char *const isas[] = { "generic", "avx2", "avx512" };

/* The backend's winograd= option for the cases that follow ("auto": its own
 * choice). */
static const char *winograd_mode = "auto";

/* For the cases that follow, the kernel expected at the avx512 level instead
 * of the other SIMD levels' prefix; "!name": any kernel but one containing
 * name. NULL: as the other levels. */
static const char *avx512_prefix;

/* Opens the backend at an ISA level, or NULL when this CPU lacks it. */
static struct inferd_backend *backend_open(const char *isa, int threads)
{
    char th[8], err[512];
    snprintf(th, sizeof(th), "%d", threads);
    struct inferd_kv opts[] = {
        { "threads", th }, { "isa", isa }, { "winograd", winograd_mode }, { NULL, NULL }
    };
    struct inferd_backend *be = NULL;
    int rc = plugin.api->open(opts, &be, err, sizeof(err));
    if (rc == INFERD_E_BAD_CONFIG && strstr(err, "supports up to")) return NULL;
    if (rc < 0) fail_msg("open isa=%s: %s", isa, err);
    return be;
}

/* Runs the case at every level and thread count; the kernel chosen must
 * contain generic_prefix at the generic level and simd_prefix at the others
 * ("" for any kernel), and end with the level's name; "=name": be exactly
 * name (a kernel that is the same code at every level). */
static void check_case_levels(build_fn build, const void *spec, const struct ir_act *act,
                              const char *label, const char *generic_prefix,
                              const char *simd_prefix, double tol)
{
    int node;
    struct ir_graph *g = graph_make(build, spec, act, &node);
    struct run_inputs ri;
    inputs_make(g, &ri);
    int64_t ny;
    double scale;
    float *want = reference(g, node, &ri, &ny, &scale);
    ir_graph_free(g);
    float *got = malloc(sizeof(float) * (size_t)(ny ? ny : 1));
    assert_non_null(got);
    /* Errors are measured against the RMS of the output before the
     * activation (at least 1): a sum of k products carries rounding of the
     * size of its terms, and Winograd's transforms spread it over a tile. */
    if (scale < 1) scale = 1;

    for (size_t l = 0; l < sizeof(isas) / sizeof(isas[0]); l++) {
        for (int threads = 1; threads <= 2; threads++) {
            struct inferd_backend *be = backend_open(isas[l], threads);
            if (!be) continue;
            g = graph_make(build, spec, act, &node);
            struct ir_tensor out;
            ir_value_tensor(g, g->nodes[node].out[0], &out);
            out.data = got;
            struct inferd_kv mopts[] = { { "profile", "1" }, { "poison", "1" }, { NULL, NULL } };
            struct inferd_model *m = NULL;
            char err[512];
            if (plugin.api->compile(be, g, 1, mopts, &m, err, sizeof(err)) < 0)
                fail_msg("%s: compile: %s", label, err);
            ir_graph_free(g);
            memset(got, 0xff, sizeof(float) * (size_t)ny); /* NaN: unwritten shows */
            if (plugin.api->run(m, 0, ri.t, (size_t)ri.n, &out, 1, err, sizeof(err)) < 0)
                fail_msg("%s: run: %s", label, err);

            struct inferd_profile_row row;
            assert_int_equal(plugin.api->profile_get(m, &row, 1), 1);
            const char *kernel_prefix = l == 0                    ? generic_prefix
                                        : l == 2 && avx512_prefix ? avx512_prefix
                                                                  : simd_prefix;
            if (kernel_prefix[0] == '!') {
                if (strstr(row.kernel, kernel_prefix + 1))
                    fail_msg("%s (%s): kernel %s, expected another", label, isas[l], row.kernel);
                kernel_prefix = "";
            }
            if (kernel_prefix[0] == '=') {
                if (strcmp(row.kernel, kernel_prefix + 1) != 0)
                    fail_msg("%s (%s): kernel %s, expected %s", label, isas[l], row.kernel,
                             kernel_prefix + 1);
                kernel_prefix = "";
            }
            if (kernel_prefix[0] && !strstr(row.kernel, kernel_prefix))
                fail_msg("%s (%s): kernel %s, expected %s...", label, isas[l], row.kernel,
                         kernel_prefix);
            size_t kl = strlen(row.kernel), il = strlen(isas[l]);
            if (kernel_prefix[0] && (kl < il || strcmp(row.kernel + kl - il, isas[l]) != 0))
                fail_msg("%s (%s): kernel %s is not the %s one", label, isas[l], row.kernel,
                         isas[l]);
            for (int64_t i = 0; i < ny; i++) {
                double bound = tol * (fabs(want[i]) + scale);
                if (!(fabs((double)got[i] - want[i]) <= bound))
                    fail_msg("%s (%s, %d threads, kernel %s): element %lld: got %.7g, "
                             "expected %.7g",
                             label, isas[l], threads, row.kernel, (long long)i, got[i], want[i]);
            }
            plugin.api->release(m);
            plugin.api->close(be);
        }
    }
    free(got);
    free(want);
    inputs_free(&ri);
}

static void check_case(build_fn build, const void *spec, const struct ir_act *act,
                       const char *label, const char *kernel_prefix, double tol)
{
    check_case_levels(build, spec, act, label, kernel_prefix, kernel_prefix, tol);
}

static const struct ir_act acts[] = {
    { .kind = IR_ACT_NONE },
    { .kind = IR_ACT_RELU },
    { .kind = IR_ACT_CLIP, .a = -0.5f, .b = 0.75f },
    { .kind = IR_ACT_LEAKY_RELU, .a = 0.1f },
    { .kind = IR_ACT_SIGMOID },
    { .kind = IR_ACT_HARD_SWISH },
    { .kind = IR_ACT_TANH },
    { .kind = IR_ACT_HARD_SIGMOID, .a = 0.2f, .b = 0.5f },
    { .kind = IR_ACT_SILU },
};
#define NACTS ((int)(sizeof(acts) / sizeof(acts[0])))

/* --- Conv --------------------------------------------------------------- */

struct conv_spec {
    int64_t n, c, h, w, m;
    int64_t kh, kw, sh, sw, dh, dw;
    int64_t pads[4]; /* top, left, bottom, right */
    int64_t group;
    bool bias;
};

static int conv_build(struct ir_graph *g, const void *sp)
{
    const struct conv_spec *s = sp;
    const int64_t xd[] = { s->n, s->c, s->h, s->w };
    const int64_t wd[] = { s->m, s->c / s->group, s->kh, s->kw }, bd[] = { s->m };
    int in[3] = { oh_input(g, "x", IR_DT_F32, 4, xd), const_random(g, "w", 4, wd, 7),
                  s->bias ? const_random(g, "b", 1, bd, 8) : -1 };
    int n = oh_node(g, "Conv", s->bias ? 3 : 2, in, 1);
    const int64_t ks[] = { s->kh, s->kw }, st[] = { s->sh, s->sw }, dl[] = { s->dh, s->dw };
    const int64_t pads[] = { s->pads[0], s->pads[1], s->pads[2], s->pads[3] };
    ir_node_attr_set_ints(g, n, "kernel_shape", ks, 2);
    ir_node_attr_set_ints(g, n, "strides", st, 2);
    ir_node_attr_set_ints(g, n, "dilations", dl, 2);
    ir_node_attr_set_ints(g, n, "pads", pads, 4);
    ir_node_attr_set_int(g, n, "group", s->group);
    return n;
}

static void conv_check(const struct conv_spec *s, int act)
{
    char label[160];
    snprintf(label, sizeof(label),
             "conv x[%lld,%lld,%lld,%lld] m=%lld k=%lldx%lld s=%lldx%lld d=%lldx%lld "
             "pads=%lld,%lld,%lld,%lld g=%lld act=%d",
             (long long)s->n, (long long)s->c, (long long)s->h, (long long)s->w, (long long)s->m,
             (long long)s->kh, (long long)s->kw, (long long)s->sh, (long long)s->sw,
             (long long)s->dh, (long long)s->dw, (long long)s->pads[0], (long long)s->pads[1],
             (long long)s->pads[2], (long long)s->pads[3], (long long)s->group, acts[act].kind);
    /* Depthwise and narrow groups (up to 64 channels) are the direct kernels'
     * (cpu_depthwise*.c): checked here for values only. */
    bool direct = s->group > 1 && s->c / s->group <= 64;
    check_case(conv_build, s, &acts[act], label, direct ? "" : "conv_", 1e-4);
}

/* Shallow products and 1x1 reductions read their input in place
 * (cpu_conv_direct.c) at the SIMD levels: first layers (3 channels, 3x3 to
 * 7x7, stride 2 and more), rows of 1 to 5 vectors and a ragged last one,
 * uneven padding, dilation, groups, batches, a residual; 1x1 reductions
 * (and 1x1 layers of as many outputs as inputs) over planes of whole
 * vectors. */
static void test_conv_direct(void **state)
{
    (void)state;
    static const struct conv_spec cases[] = {
        { 1, 3, 224, 224, 64, 7, 7, 2, 2, 1, 1, { 3, 3, 3, 3 }, 1, true },
        { 1, 3, 64, 64, 32, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 2, 3, 41, 37, 24, 3, 3, 2, 2, 1, 1, { 0, 1, 1, 0 }, 1, false },
        { 1, 3, 30, 100, 13, 5, 5, 3, 2, 1, 1, { 2, 2, 1, 0 }, 1, true },
        { 1, 4, 20, 90, 17, 3, 3, 1, 1, 2, 2, { 2, 2, 2, 2 }, 1, true },
        { 1, 6, 19, 35, 10, 3, 3, 1, 2, 1, 3, { 1, 3, 1, 3 }, 2, true },
        { 1, 16, 27, 129, 9, 2, 2, 2, 2, 1, 1, { 0, 0, 1, 1 }, 1, true },
        { 1, 64, 16, 16, 24, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 2, 40, 32, 32, 24, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, false },
        { 1, 600, 32, 32, 20, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true }, /* k > one block */
        { 1, 160, 30, 32, 48, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 2, true },
        { 1, 48, 32, 32, 48, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true }, /* as many out as in */
        /* a 28x28 reduction, which the transposed product could read in
         * place too: direct is faster (cpu_conv.c, conv_plan) */
        { 1, 96, 28, 28, 64, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        /* strided 1x1 layers on planes of whole vectors: the input
         * subsampled, then a plain product; strides 2, 3 and 2 x 1, odd
         * input sizes, a batch */
        { 1, 32, 56, 56, 64, 1, 1, 2, 2, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 2, 24, 64, 64, 40, 1, 1, 2, 2, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 20, 48, 47, 16, 1, 1, 3, 3, 1, 1, { 0, 0, 0, 0 }, 1, false },
        { 1, 16, 32, 16, 24, 1, 1, 2, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 24, 57, 63, 32, 1, 1, 2, 2, 1, 1, { 0, 0, 0, 0 }, 1, true },
        /* plain layers on planes that are not whole vectors: the last one
         * read masked (SqueezeNet's 27x27 and 55x55 reductions), a batch */
        { 1, 64, 27, 27, 24, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 2, 56, 23, 25, 48, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, false },
        { 1, 96, 55, 55, 48, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct conv_spec *s = &cases[i];
        struct ir_act act = acts[i % NACTS];
        if (i % 3 == 1) act.sum = 3;
        char label[96];
        snprintf(label, sizeof(label), "direct conv case %zu act %d sum %d", i, act.kind, act.sum);
        check_case_levels(conv_build, s, &act, label, "conv_gemm", "conv_direct", 1e-4);
    }
}

/* A case's name in failures: what it checks, its input and output shapes. */
static void conv_label(char *buf, size_t n, const char *what, const struct conv_spec *s, size_t i)
{
    snprintf(buf, n, "%s x[%lld,%lld,%lld,%lld] m=%lld case %zu", what, (long long)s->n,
             (long long)s->c, (long long)s->h, (long long)s->w, (long long)s->m, i);
}

/* 3x3 stride-1 layers with channels enough for Winograd F(4x4, 3x3): planes
 * that are not whole tiles, whole tile groups or less than one, padding on
 * some sides only, a batch, and the activations (applied in the output
 * transform or after it). */
static void test_conv_winograd(void **state)
{
    (void)state;
    static const struct conv_spec cases[] = {
        { 1, 64, 36, 36, 64, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 64, 38, 26, 72, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 2, 72, 30, 33, 80, 3, 3, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, false },
        { 1, 48, 7, 7, 64, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 65, 70, 67, 33, 3, 3, 1, 1, 1, 1, { 2, 0, 1, 2 }, 1, true },
        { 1, 96, 28, 28, 80, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 80, 38, 22, 96, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 72, 14, 60, 64, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct conv_spec *s = &cases[i];
        char label[160];
        conv_label(label, sizeof(label), "winograd", s, i);
        /* a 7x7 plane is one tile group: the level's cost model decides */
        const char *want = s->h == 7 ? "conv_" : "conv_winograd";
        check_case(conv_build, s, &acts[i % NACTS], label, want, 1e-4);
    }
}

/* Winograd forced (winograd=on) where the cost model may not choose it, on
 * the planes whose products run once per thread, so U is transformed from
 * the taps at run time (cpu_winograd_u_impl.h): the whole plane or one band
 * of it; an odd number of input channels (the last pair half zero), two k
 * blocks with an odd one last (601 channels), output channels that are no
 * multiple of any level's panel height, a batch, no padding, and a residual.
 * Then winograd=off: the direct product on a plane auto gives Winograd. */
static void test_conv_winograd_lazy(void **state)
{
    (void)state;
    static const struct conv_spec cases[] = {
        { 1, 601, 7, 7, 33, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 33, 14, 14, 40, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 2, 64, 13, 13, 72, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, false },
        { 1, 48, 9, 11, 20, 3, 3, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 96, 16, 18, 17, 3, 3, 1, 1, 1, 1, { 1, 0, 1, 2 }, 1, true },
    };
    winograd_mode = "on";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct conv_spec *s = &cases[i];
        struct ir_act act = acts[(i + 2) % NACTS];
        if (i % 2 == 1) act.sum = 3;
        char label[160];
        conv_label(label, sizeof(label), "winograd=on", s, i);
        check_case(conv_build, s, &act, label, "conv_winograd", 1e-4);
    }
    winograd_mode = "off";
    static const struct conv_spec off = { 1, 64,  36, 36, 64, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 },
                                          1, true };
    check_case_levels(conv_build, &off, &acts[1], "winograd=off", "conv_gemm", "conv_gemm", 1e-4);
    winograd_mode = "auto";
}

static void test_conv_shapes(void **state)
{
    (void)state;
    static const struct conv_spec cases[] = {
        /* 1x1 stride 1: the input rows are the B matrix */
        { 1, 16, 7, 9, 24, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 2, 33, 5, 5, 17, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 600, 3, 5, 9, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, false }, /* k > one block */
        /* expansions large enough for two threads: rows split, B packed by each */
        { 1, 24, 28, 28, 144, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 20, 27, 29, 101, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        /* 1x1 stride 2 and a padded 1x1 */
        { 1, 20, 11, 13, 30, 1, 1, 2, 2, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 5, 4, 6, 7, 1, 1, 1, 1, 1, 1, { 1, 0, 0, 2 }, 1, true },
        /* 3x3 */
        { 1, 8, 14, 14, 16, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 3, 17, 19, 10, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 16, 15, 15, 32, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 8, 12, 12, 8, 3, 3, 1, 1, 2, 2, { 2, 2, 2, 2 }, 1, false },
        { 1, 16, 9, 10, 32, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 4, true },  /* groups */
        { 1, 160, 9, 10, 24, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 2, true }, /* wide groups */
        { 1, 130, 7, 7, 26, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 2, true },
        { 1, 140, 7, 7, 40, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 2, true },
        { 2, 12, 6, 5, 18, 3, 3, 1, 2, 1, 1, { 0, 1, 2, 0 }, 3, true },
        { 1, 80, 10, 10, 20, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true }, /* k = 720 */
        /* small planes: the transposed product */
        { 1, 64, 7, 7, 80, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 96, 7, 7, 40, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 2, 64, 3, 3, 50, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 2, true },
        { 1, 70, 4, 4, 33, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, false },
        /* stride 2 read in place through the input's phases: 3x3 and 5x5,
         * odd inputs, uneven padding, groups, a 1x1 */
        { 1, 32, 28, 28, 48, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 24, 27, 27, 40, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 20, 14, 14, 28, 3, 3, 2, 2, 1, 1, { 0, 0, 1, 1 }, 1, true },
        { 1, 16, 13, 13, 24, 5, 5, 2, 2, 1, 1, { 2, 2, 2, 2 }, 1, true },
        { 2, 32, 14, 14, 64, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 2, true },
        { 1, 64, 14, 14, 40, 1, 1, 2, 2, 1, 1, { 0, 0, 0, 0 }, 1, true },
        /* several k blocks and column blocks, the k blocks outermost (the
         * phases larger than the partial sums): stride 2, and stride 1 */
        { 1, 256, 14, 14, 256, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 512, 7, 7, 200, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        /* packed whole and transposed back by two threads (odd sizes) */
        { 1, 75, 13, 13, 90, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 1, true },
        /* 7x7 output rows read in place from the padded input (AVX-512):
         * dilation, uneven padding, groups */
        { 1, 32, 9, 9, 96, 3, 3, 1, 1, 2, 2, { 2, 1, 0, 1 }, 2, true },
        { 1, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 4, true },
        { 2, 40, 7, 7, 112, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 2, true },
        { 1, 32, 30, 28, 32, 3, 3, 1, 1, 1, 1, { 0, 1, 0, 1 }, 2, false },
        /* larger kernels */
        { 1, 6, 13, 11, 9, 5, 5, 1, 1, 1, 1, { 2, 2, 2, 2 }, 1, true },
        { 1, 3, 32, 32, 16, 7, 7, 2, 2, 1, 1, { 3, 3, 3, 3 }, 1, true },
        { 1, 3, 63, 63, 16, 11, 11, 4, 4, 1, 1, { 2, 2, 2, 2 }, 1, true },
        /* few column panels for two threads: the rows split, each thread
         * packing the whole im2col matrix (odd rows and columns, a plane of
         * one panel) */
        { 1, 40, 6, 10, 128, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 48, 5, 11, 77, 3, 3, 1, 1, 1, 1, { 1, 0, 1, 0 }, 1, false },
        { 1, 100, 28, 27, 104, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 1, true },
        { 1, 45, 27, 25, 77, 3, 3, 2, 2, 1, 1, { 0, 0, 0, 0 }, 1, false },
        /* a plane wider than one column block */
        { 1, 4, 48, 48, 12, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },
        /* depthwise stays on its own kernel; checked for the epilogue */
        { 1, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 8, true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        conv_check(&cases[i], (int)(i % NACTS));
}

/* A residual Add fused into the Conv (ir_act.sum): added before the
 * activation on every path, Winograd, direct and transposed products, in
 * place or packed. */
static void test_conv_residual(void **state)
{
    (void)state;
    static const struct conv_spec cases[] = {
        { 1, 64, 36, 36, 64, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true }, /* Winograd */
        { 1, 72, 14, 60, 64, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, false },
        { 1, 16, 15, 15, 32, 3, 3, 2, 2, 1, 1, { 1, 1, 1, 1 }, 1, true }, /* direct */
        { 2, 33, 5, 5, 17, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 80, 10, 10, 20, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true }, /* k = 720 */
        { 1, 64, 7, 7, 80, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 1, true },   /* transposed */
        { 2, 96, 7, 7, 40, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, false },
        { 1, 140, 7, 7, 40, 3, 3, 1, 1, 1, 1, { 1, 1, 1, 1 }, 2, true },
        { 1, 70, 4, 4, 33, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct conv_spec *s = &cases[i];
        struct ir_act act = acts[i % NACTS];
        act.sum = 3;
        char label[96];
        snprintf(label, sizeof(label), "residual conv case %zu act %d", i, act.kind);
        check_case(conv_build, s, &act, label, "conv_", 1e-4);
    }
}

/* 1x1 layers on planes of 49 positions and a few times that (7x7, 7x14,
 * 14x14) in 8 x 49 tiles at AVX-512 (cpu_conv_p49.c): outputs that fill no
 * panel (1 to 7 rows), depths of 1 to 1024 (one k block however deep), a
 * batch, two threads taking panels, every activation (tanh after the
 * store), a residual on every other case. Inputs of at most 200 KB, which
 * fit half the L2 of any AVX-512 core (512 KB and more); one larger than
 * half of L2 on any machine (1.6 MB) goes to the other products. */
static void test_conv_p49(void **state)
{
    (void)state;
    static const struct conv_spec cases[] = {
        { 1, 96, 7, 7, 40, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 13, 7, 7, 8, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, false },
        { 1, 1, 7, 7, 3, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 2, 64, 14, 14, 100, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 37, 7, 14, 17, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 200, 14, 7, 24, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, false },
        { 1, 600, 7, 7, 20, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 1024, 7, 7, 16, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 160, 14, 14, 160, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct conv_spec *s = &cases[i];
        struct ir_act act = acts[i % NACTS];
        if (i % 2 == 1) act.sum = 3;
        char label[96];
        conv_label(label, sizeof(label), "p49 conv", s, i);
        avx512_prefix = "conv_p49";
        check_case(conv_build, s, &act, label, "conv_", 1e-4);
    }
    static const struct conv_spec apart[] = {
        { 1, 2048, 14, 14, 24, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 32, 10, 10, 24, 1, 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, 1, true },
        { 1, 32, 7, 7, 24, 1, 1, 2, 2, 1, 1, { 0, 0, 0, 0 }, 1, true },
    };
    for (size_t i = 0; i < sizeof(apart) / sizeof(apart[0]); i++) {
        char label[96];
        conv_label(label, sizeof(label), "not p49 conv", &apart[i], i);
        avx512_prefix = "!conv_p49";
        check_case(conv_build, &apart[i], &acts[1], label, "conv_", 1e-4);
    }
    avx512_prefix = NULL;
}

static uint32_t rng_state = 12345u;
static int64_t rnd(int64_t lo, int64_t hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return lo + (int64_t)(rng_state % (uint32_t)(hi - lo + 1));
}

static void test_conv_random(void **state)
{
    (void)state;
    static const int64_t ks[] = { 1, 2, 3, 5 };
    int done = 0;
    while (done < 24) {
        struct conv_spec s;
        s.n = rnd(1, 2);
        s.group = rnd(1, 3);
        s.c = s.group * rnd(1, 12);
        s.m = s.group * rnd(1, 20);
        s.h = rnd(3, 20);
        s.w = rnd(3, 20);
        s.kh = ks[rnd(0, 3)];
        s.kw = ks[rnd(0, 3)];
        s.sh = rnd(1, 3);
        s.sw = rnd(1, 3);
        s.dh = rnd(1, 2);
        s.dw = rnd(1, 2);
        for (int i = 0; i < 4; i++) s.pads[i] = rnd(0, 2);
        s.bias = rnd(0, 1);
        /* the dilated kernel must fit the padded input */
        if (s.h + s.pads[0] + s.pads[2] < s.dh * (s.kh - 1) + 1) continue;
        if (s.w + s.pads[1] + s.pads[3] < s.dw * (s.kw - 1) + 1) continue;
        conv_check(&s, (int)rnd(0, NACTS - 1));
        done++;
    }
}

/* --- Gemm --------------------------------------------------------------- */

enum c_kind { C_NONE, C_N, C_1N, C_M1, C_MN, C_SCALAR };

struct gemm_spec {
    int64_t m, n, k;
    bool ta, tb;
    float alpha, beta;
    int c;        /* enum c_kind */
    bool b_const; /* B a constant (weights) or a run-time input */
    bool c_const;
    const char *kernel;
};

static int gemm_build(struct ir_graph *g, const void *sp)
{
    const struct gemm_spec *s = sp;
    const int64_t ad[] = { s->ta ? s->k : s->m, s->ta ? s->m : s->k };
    const int64_t bd[] = { s->tb ? s->n : s->k, s->tb ? s->k : s->n };
    int a = oh_input(g, "a", IR_DT_F32, 2, ad);
    int b = s->b_const ? const_random(g, "b", 2, bd, 21) : oh_input(g, "b", IR_DT_F32, 2, bd);
    int c = -1;
    int64_t cd[2];
    int cnd = 0;
    switch (s->c) {
    case C_N: cd[0] = s->n, cnd = 1; break;
    case C_1N: cd[0] = 1, cd[1] = s->n, cnd = 2; break;
    case C_M1: cd[0] = s->m, cd[1] = 1, cnd = 2; break;
    case C_MN: cd[0] = s->m, cd[1] = s->n, cnd = 2; break;
    case C_SCALAR: cd[0] = 1, cnd = 1; break;
    default: break;
    }
    if (cnd)
        c = s->c_const ? const_random(g, "c", cnd, cd, 22) : oh_input(g, "c", IR_DT_F32, cnd, cd);
    int in[] = { a, b, c };
    int n = oh_node(g, "Gemm", c >= 0 ? 3 : 2, in, 1);
    ir_node_attr_set_int(g, n, "transA", s->ta);
    ir_node_attr_set_int(g, n, "transB", s->tb);
    ir_node_attr_set_float(g, n, "alpha", s->alpha);
    ir_node_attr_set_float(g, n, "beta", s->beta);
    return n;
}

static void test_gemm(void **state)
{
    (void)state;
    static const struct gemm_spec cases[] = {
        /* batch-1 fully connected layers: the matrix-vector kernel */
        { 1, 1000, 512, false, true, 1, 1, C_N, true, true, "gemv_" },
        { 1, 37, 19, false, true, 1, 1, C_1N, true, true, "gemv_" },
        { 1, 50, 70, true, false, 0.5f, 2, C_SCALAR, true, true, "gemv_" },
        { 1, 129, 3, false, false, 1, 1, C_NONE, true, true, "gemv_" },
        /* several rows: A packed at run time, B at compile time */
        { 5, 50, 70, false, true, 1, 1, C_N, true, true, "sgemm_" },
        { 13, 100, 600, true, false, 0.5f, 2, C_MN, true, true, "sgemm_" },
        { 9, 31, 17, false, false, 1, 0.5f, C_M1, true, true, "sgemm_" },
        { 17, 64, 40, true, true, 2, 1, C_SCALAR, true, true, "sgemm_" },
        /* run-time B and C */
        { 7, 9, 11, false, true, 1, 1, C_N, false, false, "sgemm_" },
        { 20, 33, 520, true, false, 1.5f, 1, C_MN, false, true, "sgemm_" },
        { 1, 24, 10, false, false, 1, 1, C_1N, false, true, "sgemm_" },
        { 1, 24, 10, false, true, 1, 1, C_MN, true, false, "sgemm_" },
        /* run-time B on two threads, each packing its blocks in its own scratch */
        { 64, 200, 300, false, true, 1, 1, C_N, false, true, "sgemm_" },
        { 48, 260, 180, true, false, 1, 0.5f, C_MN, false, true, "sgemm_" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct gemm_spec *s = &cases[i];
        char label[128];
        snprintf(label, sizeof(label), "gemm %lldx%lldx%lld ta=%d tb=%d c=%d b_const=%d",
                 (long long)s->m, (long long)s->n, (long long)s->k, s->ta, s->tb, s->c, s->b_const);
        check_case(gemm_build, s, &acts[i % NACTS], label, s->kernel, 1e-4);
    }
}

/* --- MatMul ------------------------------------------------------------- */

struct matmul_spec {
    int na, nb;
    int64_t ad[4], bd[4];
    bool b_const;
    const char *kernel;
};

static int matmul_build(struct ir_graph *g, const void *sp)
{
    const struct matmul_spec *s = sp;
    int in[] = { oh_input(g, "a", IR_DT_F32, s->na, s->ad),
                 s->b_const ? const_random(g, "b", s->nb, s->bd, 31)
                            : oh_input(g, "b", IR_DT_F32, s->nb, s->bd) };
    return oh_node(g, "MatMul", 2, in, 1);
}

static void test_matmul(void **state)
{
    (void)state;
    static const struct matmul_spec cases[] = {
        { 3, 2, { 3, 5, 7 }, { 7, 9 }, true, "sgemm_" },
        { 4, 4, { 2, 3, 4, 5 }, { 2, 3, 5, 6 }, false, "sgemm_" },
        { 2, 3, { 10, 33 }, { 2, 33, 50 }, false, "sgemm_" },
        { 1, 2, { 64 }, { 64, 70 }, true, "gemv_" },
        { 2, 2, { 1, 64 }, { 64, 70 }, false, "=gemv_rows" },
        { 2, 2, { 1, 3 }, { 3, 2500 }, false, "=gemv_rows" }, /* past one column block */
        { 3, 3, { 2, 1, 33 }, { 2, 33, 17 }, false, "=gemv_rows" },
        { 2, 2, { 49, 600 }, { 600, 100 }, true, "sgemm_" },
        { 2, 2, { 64, 300 }, { 300, 200 }, false, "sgemm_" }, /* run-time B, two threads */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char label[64];
        snprintf(label, sizeof(label), "matmul case %zu", i);
        check_case(matmul_build, &cases[i], &acts[i % NACTS], label, cases[i].kernel, 1e-4);
    }
}

static int group_setup(void **state)
{
    (void)state;
    const char *path = getenv("INFERD_PLUGIN_PATH");
    char err[512];
    if (!path || !*path) path = INFERD_BUILD_PLUGIN_PATH;
    if (inferd_backend_load_path(path, "cpu", &plugin, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    inferd_backend_unload(&plugin);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_shapes),   cmocka_unit_test(test_conv_random),
        cmocka_unit_test(test_conv_winograd), cmocka_unit_test(test_conv_winograd_lazy),
        cmocka_unit_test(test_conv_residual), cmocka_unit_test(test_conv_direct),
        cmocka_unit_test(test_conv_p49),      cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_matmul),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
