/* ort_run: runs an ONNX model in ONNX Runtime's CPU provider and times it the
 * way `inferd-run --bench` times inferd, so that the benchmark (bench.py) can
 * put the two side by side: same input, same warm-up, same output lines.
 *
 * libonnxruntime.so comes from the onnxruntime-node package that ort_install.py
 * puts into the build tree. That package ships no C header, so the few entries
 * of ONNX Runtime's C API function table (struct OrtApi) that we call are
 * declared here by their position in the table. The table is append-only: a
 * position never changes from one release to the next, which is what lets
 * programs built against an old header run on a newer library. A start-up
 * check (api_check) calls four of them and refuses a library whose table does
 * not answer as expected.
 *
 * The library is dlopen'ed, so this program builds without it and the peak RSS
 * it reports is ONNX Runtime's own, with no JavaScript runtime around it. */
#include "ir.h"
#include "tensor_io.h"

#include <dlfcn.h>
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

/* Opaque ONNX Runtime objects. */
typedef struct ort_status ort_status;
typedef struct ort_env ort_env;
typedef struct ort_session_options ort_session_options;
typedef struct ort_session ort_session;
typedef struct ort_value ort_value;
typedef struct ort_memory_info ort_memory_info;
typedef struct ort_type_info ort_type_info;
typedef struct ort_tensor_info ort_tensor_info;
typedef struct ort_allocator ort_allocator;

/* Positions in the OrtApi table (a struct of function pointers only). */
enum ort_slot {
    SLOT_CREATE_STATUS = 0,
    SLOT_GET_ERROR_CODE = 1,
    SLOT_GET_ERROR_MESSAGE = 2,
    SLOT_CREATE_ENV = 3,
    SLOT_CREATE_SESSION = 7,
    SLOT_RUN = 9,
    SLOT_CREATE_SESSION_OPTIONS = 10,
    SLOT_SET_OPTIMIZED_MODEL_FILE_PATH = 11,
    SLOT_SET_EXECUTION_MODE = 13,
    SLOT_ENABLE_PROFILING = 14,
    SLOT_SET_GRAPH_OPTIMIZATION_LEVEL = 23,
    SLOT_SET_INTRA_OP_THREADS = 24,
    SLOT_SET_INTER_OP_THREADS = 25,
    SLOT_SESSION_INPUT_COUNT = 30,
    SLOT_SESSION_OUTPUT_COUNT = 31,
    SLOT_SESSION_INPUT_TYPE_INFO = 33,
    SLOT_SESSION_INPUT_NAME = 36,
    SLOT_SESSION_OUTPUT_NAME = 37,
    SLOT_CREATE_TENSOR_WITH_DATA = 49,
    SLOT_GET_TENSOR_MUTABLE_DATA = 51,
    SLOT_CAST_TYPE_INFO_TO_TENSOR_INFO = 55,
    SLOT_GET_TENSOR_ELEMENT_TYPE = 60,
    SLOT_GET_DIMENSIONS_COUNT = 61,
    SLOT_GET_DIMENSIONS = 62,
    SLOT_GET_TENSOR_TYPE_AND_SHAPE = 65,
    SLOT_CREATE_CPU_MEMORY_INFO = 69,
    SLOT_ALLOCATOR_FREE = 76,
    SLOT_GET_ALLOCATOR_WITH_DEFAULT_OPTIONS = 78,
    SLOT_RELEASE_ENV = 92,
    SLOT_RELEASE_STATUS = 93,
    SLOT_RELEASE_MEMORY_INFO = 94,
    SLOT_RELEASE_SESSION = 95,
    SLOT_RELEASE_VALUE = 96,
    SLOT_RELEASE_TYPE_INFO = 98,
    SLOT_RELEASE_TENSOR_INFO = 99,
    SLOT_RELEASE_SESSION_OPTIONS = 100,
};

/* Values of the C API's enums we pass (all int-sized in the C ABI). */
enum {
    ORT_ERR_INVALID_ARGUMENT = 2, /* OrtErrorCode */
    ORT_LOG_WARNING = 2,          /* OrtLoggingLevel */
    ORT_EXEC_SEQUENTIAL = 0,      /* ExecutionMode */
    ORT_OPT_ENABLE_ALL = 99,      /* GraphOptimizationLevel */
    ORT_ARENA_ALLOCATOR = 1,      /* OrtAllocatorType */
    ORT_MEM_DEFAULT = 0,          /* OrtMemType */
};
/* ONNXTensorElementDataType is numbered as TensorProto.DataType, as enum
 * ir_dtype is, so dtypes cross unchanged. */

struct ort_api_base {
    const void *(*get_api)(uint32_t version);
    const char *(*get_version_string)(void);
};

/* The entries we call, typed. */
struct ort {
    ort_status *(*create_status)(int code, const char *msg);
    int (*get_error_code)(const ort_status *st);
    const char *(*get_error_message)(const ort_status *st);
    ort_status *(*create_env)(int log_level, const char *logid, ort_env **out);
    ort_status *(*create_session)(const ort_env *env, const char *path,
                                  const ort_session_options *opts, ort_session **out);
    ort_status *(*run)(ort_session *s, const void *run_options, const char *const *in_names,
                       const ort_value *const *in, size_t nin, const char *const *out_names,
                       size_t nout, ort_value **out);
    ort_status *(*create_session_options)(ort_session_options **out);
    ort_status *(*set_optimized_model_file_path)(ort_session_options *o, const char *path);
    ort_status *(*set_execution_mode)(ort_session_options *o, int mode);
    ort_status *(*enable_profiling)(ort_session_options *o, const char *prefix);
    ort_status *(*set_graph_optimization_level)(ort_session_options *o, int level);
    ort_status *(*set_intra_op_threads)(ort_session_options *o, int n);
    ort_status *(*set_inter_op_threads)(ort_session_options *o, int n);
    ort_status *(*session_input_count)(const ort_session *s, size_t *out);
    ort_status *(*session_output_count)(const ort_session *s, size_t *out);
    ort_status *(*session_input_type_info)(const ort_session *s, size_t i, ort_type_info **out);
    ort_status *(*session_input_name)(const ort_session *s, size_t i, ort_allocator *a, char **out);
    ort_status *(*session_output_name)(const ort_session *s, size_t i, ort_allocator *a,
                                       char **out);
    ort_status *(*create_tensor_with_data)(const ort_memory_info *mi, void *data, size_t nbytes,
                                           const int64_t *dims, size_t ndim, int dtype,
                                           ort_value **out);
    ort_status *(*get_tensor_mutable_data)(ort_value *v, void **out);
    ort_status *(*cast_type_info_to_tensor_info)(const ort_type_info *ti,
                                                 const ort_tensor_info **out);
    ort_status *(*get_tensor_element_type)(const ort_tensor_info *ti, int *out);
    ort_status *(*get_dimensions_count)(const ort_tensor_info *ti, size_t *out);
    ort_status *(*get_dimensions)(const ort_tensor_info *ti, int64_t *dims, size_t n);
    ort_status *(*get_tensor_type_and_shape)(const ort_value *v, ort_tensor_info **out);
    ort_status *(*create_cpu_memory_info)(int alloc_type, int mem_type, ort_memory_info **out);
    ort_status *(*allocator_free)(ort_allocator *a, void *p);
    ort_status *(*get_allocator_with_default_options)(ort_allocator **out);
    void (*release_env)(ort_env *);
    void (*release_status)(ort_status *);
    void (*release_memory_info)(ort_memory_info *);
    void (*release_session)(ort_session *);
    void (*release_value)(ort_value *);
    void (*release_type_info)(ort_type_info *);
    void (*release_tensor_info)(ort_tensor_info *);
    void (*release_session_options)(ort_session_options *);
};

typedef void (*ort_fn)(void);

#define BIND(field, slot) (o->field = (__typeof__(o->field))table[slot])

static void api_bind(struct ort *o, const ort_fn *table)
{
    BIND(create_status, SLOT_CREATE_STATUS);
    BIND(get_error_code, SLOT_GET_ERROR_CODE);
    BIND(get_error_message, SLOT_GET_ERROR_MESSAGE);
    BIND(create_env, SLOT_CREATE_ENV);
    BIND(create_session, SLOT_CREATE_SESSION);
    BIND(run, SLOT_RUN);
    BIND(create_session_options, SLOT_CREATE_SESSION_OPTIONS);
    BIND(set_optimized_model_file_path, SLOT_SET_OPTIMIZED_MODEL_FILE_PATH);
    BIND(set_execution_mode, SLOT_SET_EXECUTION_MODE);
    BIND(enable_profiling, SLOT_ENABLE_PROFILING);
    BIND(set_graph_optimization_level, SLOT_SET_GRAPH_OPTIMIZATION_LEVEL);
    BIND(set_intra_op_threads, SLOT_SET_INTRA_OP_THREADS);
    BIND(set_inter_op_threads, SLOT_SET_INTER_OP_THREADS);
    BIND(session_input_count, SLOT_SESSION_INPUT_COUNT);
    BIND(session_output_count, SLOT_SESSION_OUTPUT_COUNT);
    BIND(session_input_type_info, SLOT_SESSION_INPUT_TYPE_INFO);
    BIND(session_input_name, SLOT_SESSION_INPUT_NAME);
    BIND(session_output_name, SLOT_SESSION_OUTPUT_NAME);
    BIND(create_tensor_with_data, SLOT_CREATE_TENSOR_WITH_DATA);
    BIND(get_tensor_mutable_data, SLOT_GET_TENSOR_MUTABLE_DATA);
    BIND(cast_type_info_to_tensor_info, SLOT_CAST_TYPE_INFO_TO_TENSOR_INFO);
    BIND(get_tensor_element_type, SLOT_GET_TENSOR_ELEMENT_TYPE);
    BIND(get_dimensions_count, SLOT_GET_DIMENSIONS_COUNT);
    BIND(get_dimensions, SLOT_GET_DIMENSIONS);
    BIND(get_tensor_type_and_shape, SLOT_GET_TENSOR_TYPE_AND_SHAPE);
    BIND(create_cpu_memory_info, SLOT_CREATE_CPU_MEMORY_INFO);
    BIND(allocator_free, SLOT_ALLOCATOR_FREE);
    BIND(get_allocator_with_default_options, SLOT_GET_ALLOCATOR_WITH_DEFAULT_OPTIONS);
    BIND(release_env, SLOT_RELEASE_ENV);
    BIND(release_status, SLOT_RELEASE_STATUS);
    BIND(release_memory_info, SLOT_RELEASE_MEMORY_INFO);
    BIND(release_session, SLOT_RELEASE_SESSION);
    BIND(release_value, SLOT_RELEASE_VALUE);
    BIND(release_type_info, SLOT_RELEASE_TYPE_INFO);
    BIND(release_tensor_info, SLOT_RELEASE_TENSOR_INFO);
    BIND(release_session_options, SLOT_RELEASE_SESSION_OPTIONS);
}

/* A status object must carry back the code and message it was made with: a
 * table laid out otherwise than we think fails here, not in a crash later. */
static int api_check(const struct ort *o)
{
    static const char probe[] = "ort_run slot check";
    ort_status *st = o->create_status(ORT_ERR_INVALID_ARGUMENT, probe);
    if (!st) return -1;
    int ok = o->get_error_code(st) == ORT_ERR_INVALID_ARGUMENT &&
             strcmp(o->get_error_message(st), probe) == 0;
    o->release_status(st);
    return ok ? 0 : -1;
}

struct run_args {
    const char *model;
    const char *lib;
    const char *inputs[MAX_INPUTS];
    int ninputs;
    const char *output_dir;
    int threads;
    int bench;
    int warmup;
    const char *profile;   /* prefix of ONNX Runtime's JSON trace; NULL for none */
    const char *optimized; /* where to save the graph ONNX Runtime runs; NULL for nowhere */
};

struct run_state {
    struct run_args args;
    void *dl;
    struct ort o;
    const char *version;
    ort_env *env;
    ort_session_options *opts;
    ort_session *sess;
    ort_memory_info *mem;
    ort_allocator *alloc;
    size_t nin, nout;
    char **in_names, **out_names;
    struct ir_tensor *in; /* data: ir_alloc'd, ours */
    ort_value **in_vals, **out_vals;
};

static void usage_print(FILE *f)
{
    fprintf(f, "Usage: ort_run MODEL.onnx --lib PATH/libonnxruntime.so.1 [OPTION]...\n"
               "Run an ONNX model in ONNX Runtime's CPU provider, as inferd-run runs it in\n"
               "inferd: same inputs, warm-up, timing and output lines.\n"
               "\n"
               "      --lib PATH         libonnxruntime.so to load (default: $ORT_LIB)\n"
               "  -t, --threads N        intra-op threads (default: 1); inter-op is 1 and\n"
               "                         execution sequential, graph optimizations all on\n"
               "  -i, --input FILE       an input tensor (.pb or .npy), in graph-input order;\n"
               "                         without any, seeded random normal values\n"
               "  -o, --output-dir DIR   write output_K.pb (graph-output order) into DIR\n"
               "      --bench N          time N runs after a warm-up; print median/p90/min\n"
               "                         latency and peak RSS\n"
               "      --warmup N         warm-up runs before timing (default: 5)\n"
               "      --profile PREFIX   write ONNX Runtime's trace of every node's time to\n"
               "                         PREFIX_<date>.json (for tests/bench/ort_profile.py)\n"
               "      --save-optimized PATH  save the graph ONNX Runtime runs, after its\n"
               "                         fusions, as an ONNX file\n"
               "  -h, --help             show this help\n"
               "Exit status: 0 on success, 1 on any error, 2 on bad usage.\n");
}

static int count_parse(const char *s, int lo, int hi, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int args_parse(int argc, char **argv, struct run_args *a)
{
    enum { OPT_LIB = 256, OPT_BENCH, OPT_WARMUP, OPT_PROFILE, OPT_OPTIMIZED };
    static const struct option longopts[] = {
        { "lib", required_argument, NULL, OPT_LIB },
        { "threads", required_argument, NULL, 't' },
        { "input", required_argument, NULL, 'i' },
        { "output-dir", required_argument, NULL, 'o' },
        { "bench", required_argument, NULL, OPT_BENCH },
        { "warmup", required_argument, NULL, OPT_WARMUP },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "save-optimized", required_argument, NULL, OPT_OPTIMIZED },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    memset(a, 0, sizeof(*a));
    a->threads = 1;
    a->warmup = 5;
    a->lib = getenv("ORT_LIB");
    int opt;
    while ((opt = getopt_long(argc, argv, "t:i:o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_LIB: a->lib = optarg; break;
        case 't':
            if (count_parse(optarg, 1, 256, &a->threads) < 0) {
                fprintf(stderr, "ort_run: --threads takes 1 to 256, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'i':
            if (a->ninputs == MAX_INPUTS) {
                fprintf(stderr, "ort_run: at most %d inputs\n", MAX_INPUTS);
                return 2;
            }
            a->inputs[a->ninputs++] = optarg;
            break;
        case 'o': a->output_dir = optarg; break;
        case OPT_PROFILE: a->profile = optarg; break;
        case OPT_OPTIMIZED: a->optimized = optarg; break;
        case OPT_BENCH:
        case OPT_WARMUP:
            if (count_parse(optarg, 0, 1000000, opt == OPT_BENCH ? &a->bench : &a->warmup) < 0) {
                fprintf(stderr, "ort_run: --%s takes 0 to 1000000, not '%s'\n",
                        opt == OPT_BENCH ? "bench" : "warmup", optarg);
                return 2;
            }
            break;
        case 'h': usage_print(stdout); exit(0);
        default: usage_print(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr,
                optind >= argc ? "ort_run: no model given\n" : "ort_run: one model at a time\n");
        usage_print(stderr);
        return 2;
    }
    if (!a->lib || !*a->lib) {
        fprintf(stderr, "ort_run: no library: give --lib or set ORT_LIB\n");
        return 2;
    }
    a->model = argv[optind];
    return 0;
}

/* Turns a non-NULL status into an error message and -1. */
static int status_take(struct run_state *st, ort_status *s, const char *what, char *err,
                       size_t errlen)
{
    if (!s) return 0;
    snprintf(err, errlen, "onnxruntime: %s: %s", what, st->o.get_error_message(s));
    st->o.release_status(s);
    return -1;
}

#define ORT_TRY(call, what)                                                                        \
    do {                                                                                           \
        if (status_take(st, (call), (what), err, errlen) < 0) return -1;                           \
    } while (0)

static int library_open(struct run_state *st, char *err, size_t errlen)
{
    st->dl = dlopen(st->args.lib, RTLD_NOW | RTLD_LOCAL);
    if (!st->dl) {
        snprintf(err, errlen, "cannot load ONNX Runtime: %s", dlerror());
        return -1;
    }
    const struct ort_api_base *(*get_base)(void);
    *(void **)&get_base = dlsym(st->dl, "OrtGetApiBase");
    if (!get_base) {
        snprintf(err, errlen, "%s: no OrtGetApiBase: not ONNX Runtime", st->args.lib);
        return -1;
    }
    const struct ort_api_base *base = get_base();
    st->version = base->get_version_string();
    /* Ask for the table of the library's own API version: 1.X serves API X. */
    unsigned major = 0, minor = 0;
    if (sscanf(st->version, "%u.%u", &major, &minor) != 2 || major != 1) {
        snprintf(err, errlen, "%s: ONNX Runtime %s: only 1.x is known here", st->args.lib,
                 st->version);
        return -1;
    }
    const ort_fn *table = base->get_api(minor);
    if (!table) {
        snprintf(err, errlen, "%s: ONNX Runtime %s serves no API version %u", st->args.lib,
                 st->version, minor);
        return -1;
    }
    api_bind(&st->o, table);
    if (api_check(&st->o) < 0) {
        snprintf(err, errlen,
                 "%s: ONNX Runtime %s: its function table is not laid out as "
                 "ort_run expects",
                 st->args.lib, st->version);
        return -1;
    }
    return 0;
}

static int session_open(struct run_state *st, char *err, size_t errlen)
{
    const struct ort *o = &st->o;
    ORT_TRY(o->create_env(ORT_LOG_WARNING, "ort_run", &st->env), "CreateEnv");
    ORT_TRY(o->create_session_options(&st->opts), "CreateSessionOptions");
    ORT_TRY(o->set_intra_op_threads(st->opts, st->args.threads), "SetIntraOpNumThreads");
    ORT_TRY(o->set_inter_op_threads(st->opts, 1), "SetInterOpNumThreads");
    ORT_TRY(o->set_execution_mode(st->opts, ORT_EXEC_SEQUENTIAL), "SetSessionExecutionMode");
    ORT_TRY(o->set_graph_optimization_level(st->opts, ORT_OPT_ENABLE_ALL),
            "SetSessionGraphOptimizationLevel");
    if (st->args.optimized)
        ORT_TRY(o->set_optimized_model_file_path(st->opts, st->args.optimized),
                "SetOptimizedModelFilePath");
    if (st->args.profile)
        ORT_TRY(o->enable_profiling(st->opts, st->args.profile), "EnableProfiling");
    ORT_TRY(o->create_session(st->env, st->args.model, st->opts, &st->sess), "CreateSession");
    ORT_TRY(o->get_allocator_with_default_options(&st->alloc), "GetAllocatorWithDefaultOptions");
    ORT_TRY(o->create_cpu_memory_info(ORT_ARENA_ALLOCATOR, ORT_MEM_DEFAULT, &st->mem),
            "CreateCpuMemoryInfo");
    ORT_TRY(o->session_input_count(st->sess, &st->nin), "SessionGetInputCount");
    ORT_TRY(o->session_output_count(st->sess, &st->nout), "SessionGetOutputCount");
    if (st->nin > MAX_INPUTS || st->nout > MAX_INPUTS) {
        snprintf(err, errlen, "%zu inputs and %zu outputs: at most %d each", st->nin, st->nout,
                 MAX_INPUTS);
        return -1;
    }
    if (st->args.ninputs && (size_t)st->args.ninputs != st->nin) {
        snprintf(err, errlen, "the model takes %zu inputs, %d given", st->nin, st->args.ninputs);
        return -1;
    }
    st->in_names = calloc(st->nin + 1, sizeof(char *));
    st->out_names = calloc(st->nout + 1, sizeof(char *));
    st->in = calloc(st->nin + 1, sizeof(*st->in));
    st->in_vals = calloc(st->nin + 1, sizeof(ort_value *));
    st->out_vals = calloc(st->nout + 1, sizeof(ort_value *));
    if (!st->in_names || !st->out_names || !st->in || !st->in_vals || !st->out_vals) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < st->nin; i++)
        ORT_TRY(o->session_input_name(st->sess, i, st->alloc, &st->in_names[i]),
                "SessionGetInputName");
    for (size_t i = 0; i < st->nout; i++)
        ORT_TRY(o->session_output_name(st->sess, i, st->alloc, &st->out_names[i]),
                "SessionGetOutputName");
    return 0;
}

/* The same seeded normal values inferd-run uses when given no input. */
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

/* Input i from the graph's declared type, symbolic dims taken as 1. */
static int input_make(struct run_state *st, size_t i, char *err, size_t errlen)
{
    const struct ort *o = &st->o;
    ort_type_info *ti = NULL;
    const ort_tensor_info *info = NULL;
    struct ir_tensor *t = &st->in[i];
    size_t ndim = 0;
    int rc = -1;
    if (status_take(st, o->session_input_type_info(st->sess, i, &ti), "SessionGetInputTypeInfo",
                    err, errlen) < 0)
        return -1;
    if (status_take(st, o->cast_type_info_to_tensor_info(ti, &info), "CastTypeInfoToTensorInfo",
                    err, errlen) < 0 ||
        !info)
        goto out;
    if (status_take(st, o->get_tensor_element_type(info, &t->dtype), "GetTensorElementType", err,
                    errlen) < 0 ||
        status_take(st, o->get_dimensions_count(info, &ndim), "GetDimensionsCount", err, errlen) <
            0)
        goto out;
    if (ndim > IR_MAX_DIMS) {
        snprintf(err, errlen, "input '%s' has %zu dims: at most %d", st->in_names[i], ndim,
                 IR_MAX_DIMS);
        goto out;
    }
    if (status_take(st, o->get_dimensions(info, t->dims, ndim), "GetDimensions", err, errlen) < 0)
        goto out;
    t->ndim = (int)ndim;
    size_t n = 1, size = ir_dtype_size(t->dtype);
    for (size_t d = 0; d < ndim; d++) {
        if (t->dims[d] < 1) t->dims[d] = 1;
        if ((uint64_t)t->dims[d] > (uint64_t)IR_DEFAULT_MAX_ELEMENTS / n) {
            snprintf(err, errlen, "input '%s' is too large", st->in_names[i]);
            goto out;
        }
        n *= (size_t)t->dims[d];
    }
    if (!size) {
        snprintf(err, errlen, "input '%s': dtype %d is not supported here", st->in_names[i],
                 t->dtype);
        goto out;
    }
    t->nbytes = n * size;
    t->data = ir_alloc(t->nbytes);
    if (!t->data) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    tensor_fill_random(t, (uint64_t)i + 1);
    rc = 0;
out:
    o->release_type_info(ti);
    return rc;
}

static int inputs_prepare(struct run_state *st, char *err, size_t errlen)
{
    for (size_t i = 0; i < st->nin; i++) {
        struct ir_tensor *t = &st->in[i];
        if (st->args.ninputs) {
            if (ir_tensor_file_read(st->args.inputs[i], t, NULL, err, errlen) < 0) return -1;
        } else if (input_make(st, i, err, errlen) < 0) {
            return -1;
        }
        if (status_take(st,
                        st->o.create_tensor_with_data(st->mem, t->data, t->nbytes, t->dims,
                                                      (size_t)t->ndim, t->dtype, &st->in_vals[i]),
                        "CreateTensorWithDataAsOrtValue", err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int run_once(struct run_state *st, char *err, size_t errlen)
{
    /* The first run allocates the outputs; later runs write into them, as
     * inferd-run's runs write into buffers it allocated once. */
    ort_status *s = st->o.run(st->sess, NULL, (const char *const *)st->in_names,
                              (const ort_value *const *)st->in_vals, st->nin,
                              (const char *const *)st->out_names, st->nout, st->out_vals);
    return status_take(st, s, "Run", err, errlen);
}

static int output_write(struct run_state *st, size_t k, char *err, size_t errlen)
{
    const struct ort *o = &st->o;
    ort_tensor_info *info = NULL;
    struct ir_tensor t = { 0 };
    size_t ndim = 0;
    int rc = -1;
    if (status_take(st, o->get_tensor_type_and_shape(st->out_vals[k], &info),
                    "GetTensorTypeAndShape", err, errlen) < 0)
        return -1;
    if (status_take(st, o->get_tensor_element_type(info, &t.dtype), "GetTensorElementType", err,
                    errlen) < 0 ||
        status_take(st, o->get_dimensions_count(info, &ndim), "GetDimensionsCount", err, errlen) <
            0)
        goto out;
    if (ndim > IR_MAX_DIMS || !ir_dtype_size(t.dtype)) {
        snprintf(err, errlen, "output '%s': %zu dims of dtype %d cannot be written",
                 st->out_names[k], ndim, t.dtype);
        goto out;
    }
    if (status_take(st, o->get_dimensions(info, t.dims, ndim), "GetDimensions", err, errlen) < 0 ||
        status_take(st, o->get_tensor_mutable_data(st->out_vals[k], &t.data),
                    "GetTensorMutableData", err, errlen) < 0)
        goto out;
    t.ndim = (int)ndim;
    size_t n = 1;
    for (size_t d = 0; d < ndim; d++) n *= (size_t)t.dims[d];
    t.nbytes = n * ir_dtype_size(t.dtype);
    char path[4096];
    snprintf(path, sizeof(path), "%s/output_%zu.pb", st->args.output_dir, k);
    rc = ir_tensor_pb_write(path, &t, st->out_names[k], err, errlen) < 0 ? -1 : 0;
out:
    o->release_tensor_info(info);
    return rc;
}

static int outputs_write(struct run_state *st, char *err, size_t errlen)
{
    if (mkdir(st->args.output_dir, 0777) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", st->args.output_dir, strerror(errno));
        return -1;
    }
    for (size_t k = 0; k < st->nout; k++)
        if (output_write(st, k, err, errlen) < 0) return -1;
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

static double peak_rss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0) return 0;
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

static int bench_run(struct run_state *st, char *err, size_t errlen)
{
    int n = st->args.bench;
    double *t = malloc(sizeof(double) * (size_t)n);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    double first = 0;
    for (int i = 0; i < st->args.warmup; i++) {
        double t0 = now_ms();
        if (run_once(st, err, errlen) < 0) goto fail;
        if (i == 0) first = now_ms() - t0;
    }
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        if (run_once(st, err, errlen) < 0) goto fail;
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    printf("warm-up: %d runs (first %.3f ms)\n", st->args.warmup, first);
    printf("latency over %d runs: median %.3f ms  p90 %.3f ms  min %.3f ms\n", n, t[n / 2],
           t[(int)((n - 1) * 0.9)], t[0]);
    printf("peak RSS: %.1f MiB\n", peak_rss_mib());
    free(t);
    return 0;
fail:
    free(t);
    return -1;
}

static void state_free(struct run_state *st)
{
    const struct ort *o = &st->o;
    if (!st->dl || !o->release_env) goto close;
    for (size_t i = 0; st->in_vals && i < st->nin; i++) o->release_value(st->in_vals[i]);
    for (size_t i = 0; st->out_vals && i < st->nout; i++) o->release_value(st->out_vals[i]);
    for (size_t i = 0; st->in_names && i < st->nin; i++)
        if (st->in_names[i])
            status_take(st, o->allocator_free(st->alloc, st->in_names[i]), "", NULL, 0);
    for (size_t i = 0; st->out_names && i < st->nout; i++)
        if (st->out_names[i])
            status_take(st, o->allocator_free(st->alloc, st->out_names[i]), "", NULL, 0);
    o->release_memory_info(st->mem);
    o->release_session(st->sess);
    o->release_session_options(st->opts);
    o->release_env(st->env);
close:
    for (size_t i = 0; st->in && i < st->nin; i++) ir_free(st->in[i].data);
    free(st->in);
    free(st->in_vals);
    free(st->out_vals);
    free(st->in_names);
    free(st->out_names);
    /* The library is left loaded: its static destructors run at exit. */
}

#if defined(__SANITIZE_ADDRESS__)
/* ONNX Runtime 1.30 loses 14 bytes in every CreateEnv/ReleaseEnv pair (a bare
 * program doing only those two calls shows it too): not ours to report. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libonnxruntime.so\n";
}
#endif

int main(int argc, char **argv)
{
    struct run_state st;
    memset(&st, 0, sizeof(st));
    int rc = args_parse(argc, argv, &st.args);
    if (rc) return rc;
    char err[1024] = "";
    if (library_open(&st, err, sizeof(err)) < 0 || session_open(&st, err, sizeof(err)) < 0 ||
        inputs_prepare(&st, err, sizeof(err)) < 0 || run_once(&st, err, sizeof(err)) < 0)
        goto fail;
    if (st.args.output_dir && outputs_write(&st, err, sizeof(err)) < 0) goto fail;
    if (st.args.bench > 0) {
        printf("model: %s  backend: onnxruntime %s  threads: %d\n", st.args.model, st.version,
               st.args.threads);
        if (bench_run(&st, err, sizeof(err)) < 0) goto fail;
    }
    state_free(&st);
    return 0;
fail:
    if (strncmp(err, st.args.model, strlen(st.args.model)) == 0)
        fprintf(stderr, "%s\n", err);
    else
        fprintf(stderr, "%s: %s\n", st.args.model, err);
    state_free(&st);
    return 1;
}
