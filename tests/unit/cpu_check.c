#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cpu_check.h"
#include "guard_alloc.h"

#include "inferd_backend.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CPU_PLUGIN_DIR
#error "CPU_PLUGIN_DIR must name the folder of inferd-backend-cpu.so"
#endif

uint32_t cc_u32(struct cc_rng *r)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->s >> 33);
}

int64_t cc_int(struct cc_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(cc_u32(r) % (uint32_t)(hi - lo + 1));
}

float cc_float(struct cc_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)(cc_u32(r) >> 8) / (float)(1u << 23);
}

struct ir_graph *cc_graph(void)
{
    struct ir_graph *g = ir_graph_new("check.onnx");
    assert_non_null(g);
    g->opset = 13;
    return g;
}

int cc_input(struct ir_graph *g, const char *name, int ndim, const int64_t *dims)
{
    int v = ir_graph_value_add(g, name, IR_DT_F32);
    assert_true(v >= 0);
    struct ir_value *val = &g->values[v];
    val->shape.ndim = ndim;
    for (int i = 0; i < ndim; i++) val->shape.dims[i] = dims[i];
    val->shape_known = true;
    val->flags |= IR_VALUE_INPUT;
    int *inputs = realloc(g->inputs, sizeof(int) * (size_t)(g->ninputs + 1));
    assert_non_null(inputs);
    g->inputs = inputs;
    g->inputs[g->ninputs++] = v;
    return v;
}

int cc_const_data(struct ir_graph *g, int ndim, const int64_t *dims, const float *data)
{
    char name[32];
    snprintf(name, sizeof(name), "const_%d", g->nvalues);
    int v = ir_graph_value_add(g, name, IR_DT_F32);
    assert_true(v >= 0);
    struct ir_shape s = { .ndim = ndim };
    for (int i = 0; i < ndim; i++) s.dims[i] = dims[i];
    size_t nbytes = (size_t)ir_shape_numel(&s) * sizeof(float);
    float *p = ir_alloc(nbytes ? nbytes : 4);
    assert_non_null(p);
    if (nbytes) memcpy(p, data, nbytes);
    ir_value_set_const(g, v, &s, p, nbytes);
    return v;
}

int cc_const(struct ir_graph *g, struct cc_rng *rng, int ndim, const int64_t *dims, float lo,
             float hi)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    assert_non_null(p);
    for (int64_t i = 0; i < n; i++) p[i] = cc_float(rng, lo, hi);
    int v = cc_const_data(g, ndim, dims, p);
    free(p);
    return v;
}

int cc_node(struct ir_graph *g, const char *op_type, int nin, const int *in)
{
    char name[64];
    snprintf(name, sizeof(name), "%s_%d", op_type, g->nnodes);
    int n = ir_graph_node_add(g, name, op_type, nin, 1);
    assert_true(n >= 0);
    for (int k = 0; k < nin; k++) g->nodes[n].in[k] = in[k];
    char vname[96];
    snprintf(vname, sizeof(vname), "%s_out", name);
    int v = ir_graph_value_add(g, vname, IR_DT_UNDEFINED);
    assert_true(v >= 0);
    g->nodes[n].out[0] = v;
    return n;
}

int cc_out(const struct ir_graph *g, int node)
{
    return g->nodes[node].out[0];
}

void cc_output(struct ir_graph *g, int v)
{
    int *outputs = realloc(g->outputs, sizeof(int) * (size_t)(g->noutputs + 1));
    assert_non_null(outputs);
    g->outputs = outputs;
    g->outputs[g->noutputs++] = v;
    g->values[v].flags |= IR_VALUE_OUTPUT;
}

void cc_attr_int(struct ir_graph *g, int node, const char *name, int64_t v)
{
    assert_int_equal(ir_node_attr_set_int(g, node, name, v), 0);
}

void cc_attr_ints(struct ir_graph *g, int node, const char *name, const int64_t *v, int n)
{
    assert_int_equal(ir_node_attr_set_ints(g, node, name, v, n), 0);
}

void cc_attr_float(struct ir_graph *g, int node, const char *name, float v)
{
    assert_int_equal(ir_node_attr_set_float(g, node, name, v), 0);
}

/* --- the check ------------------------------------------------------------- */

static struct inferd_plugin plugin;
static bool plugin_loaded;
static unsigned levels_seen;

int cc_levels_run(void)
{
    int n = 0;
    for (int i = 0; i < 3; i++) n += (levels_seen >> i) & 1;
    return n;
}

static struct ir_graph *graph_built(cc_build_fn *build, const void *arg, uint64_t seed,
                                    bool optimize)
{
    struct cc_rng rng = { seed };
    struct ir_graph *g = cc_graph();
    build(g, &rng, arg);
    char err[512] = "";
    int rc = ir_graph_sort(g, err, sizeof(err));
    if (rc == 0) rc = ir_graph_infer(g, err, sizeof(err));
    if (rc == 0 && optimize) rc = ir_graph_optimize(g, err, sizeof(err));
    if (rc < 0) fail_msg("building the graph failed: %s", err);
    return g;
}

static void inputs_fill(const struct ir_graph *g, uint64_t seed, struct ir_tensor *in)
{
    struct cc_rng rng = { seed ^ 0x9e3779b97f4a7c15ull };
    for (int i = 0; i < g->ninputs; i++) {
        const struct ir_value *v = &g->values[g->inputs[i]];
        int64_t n = ir_shape_numel(&v->shape);
        in[i].dtype = IR_DT_F32;
        in[i].ndim = v->shape.ndim;
        memcpy(in[i].dims, v->shape.dims, sizeof(in[i].dims));
        in[i].nbytes = (size_t)n * sizeof(float);
        float *p = guard_alloc(in[i].nbytes);
        assert_non_null(p);
        for (int64_t k = 0; k < n; k++) p[k] = cc_float(&rng, -4.0f, 4.0f);
        in[i].data = p;
    }
}

/* Evaluates g (inferred, not optimized) with the reference kernels; returns
 * one buffer per value (NULL for values nothing computed). */
static void **reference_eval(struct ir_graph *g, const struct ir_tensor *in)
{
    void **buf = calloc((size_t)g->nvalues, sizeof(void *));
    bool *owned = calloc((size_t)g->nvalues, sizeof(bool));
    assert_non_null(buf);
    assert_non_null(owned);
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].flags & IR_VALUE_CONST) buf[v] = g->values[v].data;
    for (int i = 0; i < g->ninputs; i++) buf[g->inputs[i]] = in[i].data;
    for (int i = 0; i < g->nnodes; i++) {
        struct ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        bool folded = true;
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0 && !(g->values[n->out[k]].flags & IR_VALUE_CONST)) folded = false;
        if (folded) continue;
        struct ir_tensor tin[8], tout[4];
        assert_true(n->nin <= 8 && n->nout <= 4);
        for (int k = 0; k < n->nin; k++) {
            memset(&tin[k], 0, sizeof(tin[k]));
            if (n->in[k] < 0) continue;
            ir_value_tensor(g, n->in[k], &tin[k]);
            tin[k].data = buf[n->in[k]];
        }
        for (int k = 0; k < n->nout; k++) {
            memset(&tout[k], 0, sizeof(tout[k]));
            if (n->out[k] < 0) continue;
            int v = n->out[k];
            ir_value_tensor(g, v, &tout[k]);
            size_t nbytes =
                (size_t)ir_shape_numel(&g->values[v].shape) * ir_dtype_size(g->values[v].dtype);
            buf[v] = ir_alloc(nbytes ? nbytes : 4);
            assert_non_null(buf[v]);
            owned[v] = true;
            tout[k].data = buf[v];
            tout[k].nbytes = nbytes;
        }
        assert_int_equal(n->op->eval(n->params, tin, n->nin, tout, n->nout), 0);
    }
    /* Keep only what the caller frees: computed buffers. */
    for (int v = 0; v < g->nvalues; v++)
        if (!owned[v]) buf[v] = NULL;
    free(owned);
    return buf;
}

static const char *const level_names[] = { "generic", "avx2", "avx512" };

static void outputs_compare(const char *what, const char *level, int threads,
                            const struct ir_tensor *got, const float *const *want,
                            const int64_t *numel, int nout, double tol)
{
    for (int k = 0; k < nout; k++) {
        const float *y = got[k].data;
        for (int64_t i = 0; i < numel[k]; i++) {
            double w = want[k][i], d = fabs((double)y[i] - w);
            bool same = (double)y[i] == w || (isnan(w) && isnan(y[i]));
            if (!same && !(d <= tol * (1.0 + fabs(w))))
                fail_msg("%s [isa=%s threads=%d]: output %d element %lld: got %.8g, reference "
                         "%.8g",
                         what, level, threads, k, (long long)i, (double)y[i], w);
        }
    }
}

/* The kernels that ran: the expected one (with this level's suffix), and the
 * step count. */
static void profile_check(const char *what, const char *level, int threads, struct inferd_model *m,
                          const struct cc_expect *expect)
{
    const struct inferd_backend_api *api = plugin.api;
    struct inferd_profile_row rows[64];
    int n = api->profile_get(m, rows, 64);
    assert_true(n >= 0);
    if (expect->steps && n != expect->steps) {
        char list[1024] = "";
        for (int i = 0; i < n; i++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s(%s)", rows[i].op_type,
                     rows[i].kernel);
        fail_msg("%s [isa=%s]: %d steps run, expected %d:%s", what, level, n, expect->steps, list);
    }
    int level_bit = strcmp(level, "generic") == 0 ? 1 : strcmp(level, "avx2") == 0 ? 2 : 4;
    const char *kernel = threads > 1 && expect->kernel_mt ? expect->kernel_mt : expect->kernel;
    if (!kernel || (expect->levels && !(expect->levels & (unsigned)level_bit))) return;
    char want[96];
    snprintf(want, sizeof(want), "%s*_%s", kernel, level);
    char list[1024] = "";
    const size_t pre = strlen(kernel), suf = strlen(level) + 1;
    for (int i = 0; i < n; i++) {
        const char *k = rows[i].kernel;
        size_t len = strlen(k);
        if (strcmp(k, kernel) == 0) return; /* one kernel for every level */
        if (len >= pre + suf && strncmp(k, kernel, pre) == 0 && k[len - suf] == '_' &&
            strcmp(k + len - suf + 1, level) == 0)
            return;
        snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s(%s)", rows[i].op_type,
                 rows[i].kernel);
    }
    fail_msg("%s [isa=%s, %d threads]: kernel %s did not run; ran:%s", what, level, threads, want,
             list);
}

static void level_check(const char *what, const char *level, int threads, cc_build_fn *build,
                        const void *arg, uint64_t seed, const struct cc_expect *expect,
                        const struct ir_tensor *in, int nin, const float *const *want,
                        const int64_t *numel, int nout)
{
    const struct inferd_backend_api *api = plugin.api;
    char err[1024] = "", nthreads[16];
    snprintf(nthreads, sizeof(nthreads), "%d", threads);
    struct inferd_kv opts[] = { { "isa", level }, { "threads", nthreads }, { NULL, NULL } };
    struct inferd_backend *be = NULL;
    if (api->open(opts, &be, err, sizeof(err)) < 0) return; /* this CPU lacks the level */
    for (int i = 0; i < 3; i++)
        if (strcmp(level, level_names[i]) == 0) levels_seen |= 1u << i;

    struct ir_graph *g = graph_built(build, arg, seed, true);
    assert_int_equal(g->noutputs, nout);
    struct inferd_kv mopts[] = { { "profile", "1" }, { "poison", "1" }, { NULL, NULL } };
    struct inferd_model *m = NULL;
    if (api->compile(be, g, 1, mopts, &m, err, sizeof(err)) < 0)
        fail_msg("%s [isa=%s]: compile failed: %s", what, level, err);
    struct ir_tensor out[4];
    for (int k = 0; k < nout; k++) {
        ir_value_tensor(g, g->outputs[k], &out[k]);
        out[k].nbytes = (size_t)numel[k] * sizeof(float);
        out[k].data = malloc(out[k].nbytes + sizeof(float));
        assert_non_null(out[k].data);
    }
    ir_graph_free(g);

    /* Twice, the first time over garbage: a kernel must not depend on what
     * its output buffer held. */
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < nout; k++) memset(out[k].data, 0x7f, out[k].nbytes);
        if (api->run(m, 0, in, (size_t)nin, out, (size_t)nout, err, sizeof(err)) < 0)
            fail_msg("%s [isa=%s]: run failed: %s", what, level, err);
        outputs_compare(what, level, threads, out, want, numel, nout,
                        expect->tol > 0 ? expect->tol : 2e-5);
    }
    profile_check(what, level, threads, m, expect);
    api->release(m);
    api->close(be);
    for (int k = 0; k < nout; k++) free(out[k].data);
}

void cc_check(const char *what, cc_build_fn *build, const void *arg, uint64_t seed,
              const struct cc_expect *expect)
{
    char err[1024] = "";
    if (!plugin_loaded) {
        if (inferd_backend_load(CPU_PLUGIN_DIR, "cpu", &plugin, err, sizeof(err)) < 0)
            fail_msg("loading the cpu plugin: %s", err);
        plugin_loaded = true;
    }
    struct ir_graph *rg = graph_built(build, arg, seed, false);
    int nin = rg->ninputs, nout = rg->noutputs;
    assert_true(nin <= 8 && nout >= 1 && nout <= 4);
    struct ir_tensor in[8];
    inputs_fill(rg, seed, in);
    void **buf = reference_eval(rg, in);
    const float *want[4];
    int64_t numel[4];
    for (int k = 0; k < nout; k++) {
        want[k] = buf[rg->outputs[k]];
        numel[k] = ir_shape_numel(&rg->values[rg->outputs[k]].shape);
        assert_non_null(want[k]);
    }
    static const int threads[] = { 1, 3 };
    for (int l = 0; l < 3; l++)
        for (int t = 0; t < 2; t++)
            level_check(what, level_names[l], threads[t], build, arg, seed, expect, in, nin, want,
                        numel, nout);
    for (int v = 0; v < rg->nvalues; v++) ir_free(buf[v]);
    free(buf);
    for (int i = 0; i < nin; i++) guard_free(in[i].data, in[i].nbytes);
    ir_graph_free(rg);
}
