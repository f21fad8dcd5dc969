/* inferd-run: runs an ONNX model in-process through a backend plugin, with no
 * daemon. Used for conformance and model-zoo checks and for benchmarks. */
#include "inferd_config.h"

#include "inferd_backend.h"
#include "inferd_error.h"
#include "model.h"
#include "tensor_io.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_INPUTS 64

struct run_args {
    const char *model;
    const char *backend;
    int threads;
    const char *inputs[MAX_INPUTS];
    int ninputs;
    const char *output_dir;
    int bench;
    int warmup;
    bool profile;
    const char *plugin_path;
    long long max_elements;
};

static void usage_print(FILE *f)
{
    fprintf(f,
            "Usage: inferd-run MODEL.onnx [OPTION]...\n"
            "Run an ONNX model in-process through an inferd backend plugin.\n"
            "\n"
            "  -b, --backend NAME      backend plugin (default: cpu)\n"
            "  -t, --threads N         threads for the backend (default: 1)\n"
            "  -i, --input FILE        an input tensor, ONNX TensorProto (.pb) or NumPy (.npy);\n"
            "                          repeat in graph-input order. Without any, inputs are\n"
            "                          seeded random normal values (for benchmarks)\n"
            "  -o, --output-dir DIR    write output_K.pb (graph-output order) into DIR\n"
            "      --bench N           time N runs after a warm-up; print median/p90/min\n"
            "                          latency and peak RSS\n"
            "      --warmup N          warm-up runs before timing (default: 5)\n"
            "      --profile           print time per node, slowest first (with --bench:\n"
            "                          over the timed runs only)\n"
            "      --plugin-path DIRS  colon-separated folders holding backend plugins\n"
            "                          (default: $INFERD_PLUGIN_PATH, then %s)\n"
            "      --max-elements N    refuse tensors with more elements (default: %lld)\n"
            "  -h, --help              show this help\n"
            "  -V, --version           show the version\n"
            "\n"
            "The model is compiled for the inputs given: their shapes fix symbolic dims,\n"
            "and non-float inputs (shape and index tensors), and float inputs an operator\n"
            "needs at load (a Resize's scales), are folded in as constants.\n"
            "Exit status: 0 on success; 1 on any error, reported on one line as\n"
            "'MODEL: what went wrong'; 2 on bad usage.\n",
            INFERD_PLUGINDIR, (long long)IR_DEFAULT_MAX_ELEMENTS);
}

static int args_parse(int argc, char **argv, struct run_args *a)
{
    enum { OPT_BENCH = 256, OPT_WARMUP, OPT_PROFILE, OPT_PLUGIN_PATH, OPT_MAX_ELEMENTS };
    static const struct option longopts[] = {
        { "backend", required_argument, NULL, 'b' },
        { "threads", required_argument, NULL, 't' },
        { "input", required_argument, NULL, 'i' },
        { "output-dir", required_argument, NULL, 'o' },
        { "bench", required_argument, NULL, OPT_BENCH },
        { "warmup", required_argument, NULL, OPT_WARMUP },
        { "profile", no_argument, NULL, OPT_PROFILE },
        { "plugin-path", required_argument, NULL, OPT_PLUGIN_PATH },
        { "max-elements", required_argument, NULL, OPT_MAX_ELEMENTS },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    memset(a, 0, sizeof(*a));
    a->backend = "cpu";
    a->threads = 1;
    a->warmup = 5;
    int opt;
    while ((opt = getopt_long(argc, argv, "b:t:i:o:hV", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'b': a->backend = optarg; break;
        case 't':
            a->threads = (int)strtol(optarg, &end, 10);
            if (*end || a->threads < 1 || a->threads > 256) {
                fprintf(stderr, "inferd-run: --threads takes 1 to 256, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'i':
            if (a->ninputs == MAX_INPUTS) {
                fprintf(stderr, "inferd-run: at most %d inputs\n", MAX_INPUTS);
                return 2;
            }
            a->inputs[a->ninputs++] = optarg;
            break;
        case 'o': a->output_dir = optarg; break;
        case OPT_BENCH:
        case OPT_WARMUP: {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 1000000) {
                fprintf(stderr, "inferd-run: --%s takes 0 to 1000000, not '%s'\n",
                        opt == OPT_BENCH ? "bench" : "warmup", optarg);
                return 2;
            }
            if (opt == OPT_BENCH)
                a->bench = (int)v;
            else
                a->warmup = (int)v;
            break;
        }
        case OPT_PROFILE: a->profile = true; break;
        case OPT_PLUGIN_PATH: a->plugin_path = optarg; break;
        case OPT_MAX_ELEMENTS:
            a->max_elements = strtoll(optarg, &end, 10);
            if (*end || a->max_elements < 1) {
                fprintf(stderr, "inferd-run: --max-elements takes a positive count\n");
                return 2;
            }
            break;
        case 'h': usage_print(stdout); exit(0);
        case 'V': printf("inferd-run %s\n", INFERD_VERSION); exit(0);
        default: usage_print(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, optind >= argc ? "inferd-run: no model given\n"
                                       : "inferd-run: one model at a time\n");
        usage_print(stderr);
        return 2;
    }
    a->model = argv[optind];
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Seeded normal values: benchmarks want realistic, not zero, data. */
static void tensor_fill_random(struct ir_tensor *t, uint64_t seed)
{
    if (t->dtype != IR_DT_F32) return; /* ir_alloc zeroed the rest */
    float *x = t->data;
    size_t n = t->nbytes / sizeof(float);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i += 2) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u1 = ((double)(s >> 11) + 1.0) / 9007199254740993.0;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u2 = (double)(s >> 11) / 9007199254740992.0;
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(r * cos(6.283185307179586 * u2));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(6.283185307179586 * u2));
    }
}

static bool dtype_is_float(int dtype)
{
    return dtype == IR_DT_F32 || dtype == IR_DT_F64 || dtype == IR_DT_F16;
}

static int tensor_alloc_like(const struct ir_graph *g, int v, struct ir_tensor *t)
{
    ir_value_tensor(g, v, t);
    t->data = ir_alloc(t->nbytes);
    return t->data ? 0 : -ENOMEM;
}

struct run_state {
    struct run_args args;
    struct ir_tensor files[MAX_INPUTS]; /* inputs read from files */
    struct ir_graph *g;
    struct inferd_plugin plugin;
    struct inferd_backend *be;
    struct inferd_model *m;
    bool file_frozen[MAX_INPUTS]; /* folded into the model as a constant */
    int frozen;
    struct ir_tensor *in, *out;
    bool *in_owned; /* in[i].data is ours, not a file's */
    char **out_names;
    int nin, nout;
    /* the profile when timing began: the cold first run and the warm-up
     * are taken out of what --bench --profile prints */
    struct inferd_profile_row *prof_base;
    int prof_nbase;
};

static void state_free(struct run_state *st)
{
    free(st->prof_base);
    if (st->m) st->plugin.api->release(st->m);
    if (st->be) st->plugin.api->close(st->be);
    if (st->plugin.handle) inferd_backend_unload(&st->plugin);
    for (int i = 0; i < st->args.ninputs; i++) ir_free(st->files[i].data);
    if (st->in && st->in_owned)
        for (int i = 0; i < st->nin; i++)
            if (st->in_owned[i]) ir_free(st->in[i].data);
    free(st->in_owned);
    if (st->out)
        for (int i = 0; i < st->nout; i++) ir_free(st->out[i].data);
    if (st->out_names)
        for (int i = 0; i < st->nout; i++) free(st->out_names[i]);
    free(st->out_names);
    free(st->in);
    free(st->out);
    ir_graph_free(st->g);
}

/* The --input file feeding runtime value v (a graph input), or -1. */
static int input_file_of(const struct ir_graph *g, const struct run_state *st, const bool *freeze,
                         int v)
{
    if (v < 0) return -1;
    int runtime = 0; /* position among the inputs not frozen */
    for (int k = 0; k < g->ninputs; k++) {
        if (g->inputs[k] != v) continue;
        runtime = k;
        for (int i = 0, seen = 0; i < st->args.ninputs; i++) {
            if (freeze[i]) continue;
            if (seen++ == runtime) return i;
        }
    }
    return -1;
}

static int model_prepare(struct run_state *st, char *err, size_t errlen)
{
    struct run_args *a = &st->args;
    struct ir_import_input bind[MAX_INPUTS];
    char *names[MAX_INPUTS] = { 0 };
    int rc = 0;
    for (int i = 0; i < a->ninputs; i++) {
        rc = ir_tensor_file_read(a->inputs[i], &st->files[i], &names[i], err, errlen);
        if (rc < 0) goto out;
    }
    /* A binding without a name binds the graph input at its position.
     * Non-float inputs are folded in as constants from the start; a float
     * input that an operator needs constant (a Resize's scales) is folded in
     * on a second try, when inference names it. */
    struct ir_import_opts opts = { 0 };
    if (a->max_elements) opts.limits.max_elements = a->max_elements;
    bool freeze[MAX_INPUTS];
    for (int i = 0; i < a->ninputs; i++) freeze[i] = !dtype_is_float(st->files[i].dtype);
    for (int attempt = 0; attempt <= a->ninputs; attempt++) {
        for (int i = 0; i < a->ninputs; i++) {
            bind[i].name = NULL;
            bind[i].tensor = &st->files[i];
            bind[i].freeze = freeze[i];
        }
        opts.inputs = bind;
        opts.ninputs = (size_t)a->ninputs;
        struct ir_graph *g = NULL;
        rc = ir_onnx_load(a->model, &opts, &g, err, errlen);
        if (rc < 0) break;
        rc = ir_graph_infer(g, err, errlen);
        int file = rc < 0 ? input_file_of(g, st, freeze, g->const_wanted) : -1;
        if (file >= 0) {
            freeze[file] = true;
            ir_graph_free(g);
            continue;
        }
        if (rc == 0) rc = ir_graph_optimize(g, err, errlen);
        if (rc < 0) {
            ir_graph_free(g);
            break;
        }
        st->frozen = 0;
        for (int i = 0; i < a->ninputs; i++) {
            st->file_frozen[i] = freeze[i];
            st->frozen += freeze[i];
        }
        st->g = g;
        break;
    }
out:
    for (int i = 0; i < a->ninputs; i++) free(names[i]);
    return rc;
}

static int buffers_prepare(struct run_state *st)
{
    struct ir_graph *g = st->g;
    st->nin = g->ninputs;
    st->nout = g->noutputs;
    st->in = calloc((size_t)st->nin + 1, sizeof(*st->in));
    st->out = calloc((size_t)st->nout + 1, sizeof(*st->out));
    st->out_names = calloc((size_t)st->nout + 1, sizeof(char *));
    st->in_owned = calloc((size_t)st->nin + 1, sizeof(bool));
    if (!st->in || !st->out || !st->out_names || !st->in_owned) return -ENOMEM;
    /* Runtime inputs (frozen ones are constants now and left the list). */
    int file = 0;
    for (int i = 0; i < st->nin; i++) {
        while (file < st->args.ninputs && st->file_frozen[file]) file++;
        if (file < st->args.ninputs) {
            st->in[i] = st->files[file++];
            continue;
        }
        if (tensor_alloc_like(g, g->inputs[i], &st->in[i]) < 0) return -ENOMEM;
        st->in_owned[i] = true;
        tensor_fill_random(&st->in[i], (uint64_t)i + 1);
    }
    for (int i = 0; i < st->nout; i++) {
        if (tensor_alloc_like(g, g->outputs[i], &st->out[i]) < 0) return -ENOMEM;
        st->out_names[i] = strdup(g->values[g->outputs[i]].name);
        if (!st->out_names[i]) return -ENOMEM;
    }
    return 0;
}

static int outputs_write(struct run_state *st, char *err, size_t errlen)
{
    if (mkdir(st->args.output_dir, 0777) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", st->args.output_dir, strerror(errno));
        return -errno;
    }
    for (int i = 0; i < st->nout; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/output_%d.pb", st->args.output_dir, i);
        int rc = ir_tensor_pb_write(path, &st->out[i], st->out_names[i], err, errlen);
        if (rc < 0) return rc;
    }
    return 0;
}

static int cmp_prof(const void *a, const void *b)
{
    const struct inferd_profile_row *x = a, *y = b;
    return x->total_us < y->total_us ? 1 : x->total_us > y->total_us ? -1 : 0;
}

static bool profile_supported(const struct inferd_backend_api *api)
{
    return api->size > offsetof(struct inferd_backend_api, profile_get) && api->profile_get;
}

/* The backend's profile rows, in its node order; *n of them. */
static struct inferd_profile_row *profile_read(struct run_state *st, int *n)
{
    size_t max = (size_t)st->g->nnodes + 16;
    struct inferd_profile_row *rows = calloc(max, sizeof(*rows));
    *n = rows ? st->plugin.api->profile_get(st->m, rows, max) : 0;
    return rows;
}

static void profile_print(struct run_state *st)
{
    const struct inferd_backend_api *api = st->plugin.api;
    if (!profile_supported(api)) {
        fprintf(stderr, "inferd-run: backend %s does not profile\n", api->name);
        return;
    }
    int n;
    struct inferd_profile_row *rows = profile_read(st, &n);
    if (!rows) return;
    if (st->prof_base && st->prof_nbase == n) {
        for (int i = 0; i < n; i++) {
            rows[i].total_us -= st->prof_base[i].total_us;
            rows[i].calls -= st->prof_base[i].calls;
        }
    }
    double total = 0;
    for (int i = 0; i < n; i++) total += rows[i].total_us;
    qsort(rows, (size_t)(n > 0 ? n : 0), sizeof(*rows), cmp_prof);
    const uint64_t runs = n > 0 ? rows[0].calls : 0;
    printf("profile: %d nodes, %.3f ms per run over %llu runs\n", n,
           runs ? total / 1000.0 / (double)runs : 0.0, (unsigned long long)runs);
    printf("  %6s %10s  %-20s %-24s %s\n", "share", "ms/run", "op", "kernel", "node");
    for (int i = 0; i < n; i++) {
        double per = rows[i].calls ? rows[i].total_us / 1000.0 / (double)rows[i].calls : 0.0;
        printf("  %5.1f%% %10.4f  %-20s %-24s %s\n",
               total > 0 ? 100.0 * rows[i].total_us / total : 0.0, per, rows[i].op_type,
               rows[i].kernel, rows[i].node);
    }
    free(rows);
}

/* This process's own peak RSS. VmHWM rather than getrusage(): ru_maxrss is
 * carried across exec, so a big launcher (a Python driver) would show through. */
static double peak_rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0) kib = strtod(line + 6, NULL);
    if (f) fclose(f);
    if (kib == 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) kib = (double)ru.ru_maxrss;
    }
    return kib / 1024.0;
}

static int bench_run(struct run_state *st, char *err, size_t errlen)
{
    const struct inferd_backend_api *api = st->plugin.api;
    int n = st->args.bench;
    double *t = malloc(sizeof(double) * (size_t)n);
    if (!t) return -ENOMEM;
    double first = 0;
    for (int i = 0; i < st->args.warmup; i++) {
        double t0 = now_ms();
        int rc =
            api->run(st->m, 0, st->in, (size_t)st->nin, st->out, (size_t)st->nout, err, errlen);
        if (rc < 0) {
            free(t);
            return rc;
        }
        if (i == 0) first = now_ms() - t0;
    }
    if (st->args.profile && profile_supported(api)) {
        st->prof_base = profile_read(st, &st->prof_nbase);
        if (!st->prof_base) {
            free(t);
            return -ENOMEM;
        }
    }
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        int rc =
            api->run(st->m, 0, st->in, (size_t)st->nin, st->out, (size_t)st->nout, err, errlen);
        if (rc < 0) {
            free(t);
            return rc;
        }
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    printf("warm-up: %d runs (first %.3f ms)\n", st->args.warmup, first);
    printf("latency over %d runs: median %.3f ms  p90 %.3f ms  min %.3f ms\n", n, t[n / 2],
           t[(int)((n - 1) * 0.9)], t[0]);
    printf("peak RSS: %.1f MiB\n", peak_rss_mib());
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    struct run_state st;
    memset(&st, 0, sizeof(st));
    int rc = args_parse(argc, argv, &st.args);
    if (rc) return rc;
    struct run_args *a = &st.args;
    char err[1024] = "";

    if ((rc = model_prepare(&st, err, sizeof(err))) < 0) goto fail;
    if ((rc = buffers_prepare(&st)) < 0) goto fail;

    const char *path = a->plugin_path ? a->plugin_path : getenv("INFERD_PLUGIN_PATH");
    char default_path[8192];
    if (!path || !*path) {
        snprintf(default_path, sizeof(default_path), "%s:%s", INFERD_PLUGINDIR,
                 INFERD_BUILD_PLUGIN_PATH);
        path = default_path;
    }
    if ((rc = inferd_backend_load_path(path, a->backend, &st.plugin, err, sizeof(err))) < 0)
        goto fail;
    char threads[16];
    snprintf(threads, sizeof(threads), "%d", a->threads);
    struct inferd_kv be_opts[] = { { "threads", threads }, { NULL, NULL } };
    struct inferd_kv model_opts[] = { { "profile", a->profile ? "1" : "0" }, { NULL, NULL } };
    if ((rc = st.plugin.api->open(be_opts, &st.be, err, sizeof(err))) < 0) goto fail;
    if ((rc = st.plugin.api->compile(st.be, st.g, 1, model_opts, &st.m, err, sizeof(err))) < 0)
        goto fail;
    rc = st.plugin.api->run(st.m, 0, st.in, (size_t)st.nin, st.out, (size_t)st.nout, err,
                            sizeof(err));
    if (rc < 0) goto fail;
    if (a->output_dir && (rc = outputs_write(&st, err, sizeof(err))) < 0) goto fail;
    if (a->bench > 0) {
        printf("model: %s  backend: %s  threads: %d\n", a->model, a->backend, a->threads);
        if ((rc = bench_run(&st, err, sizeof(err))) < 0) goto fail;
    }
    if (a->profile) profile_print(&st);
    state_free(&st);
    return 0;
fail:
    if (!err[0]) snprintf(err, sizeof(err), "%s", inferd_strerror(rc));
    /* Core messages already start with the model path; others get it here. */
    if (strncmp(err, a->model, strlen(a->model)) == 0)
        fprintf(stderr, "%s\n", err);
    else
        fprintf(stderr, "%s: %s\n", a->model, err);
    state_free(&st);
    return 1;
}
