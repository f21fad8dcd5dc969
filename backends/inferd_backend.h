/* The backend plugin ABI.
 *
 * A backend is a shared library exporting one symbol, inferd_backend_v1(),
 * which returns a const table of function pointers. The host (the daemon,
 * inferd-run) refuses a table whose abi differs from INFERD_BACKEND_ABI and
 * says both numbers. The table only grows by appending members; a host reads
 * a member past the ones it knows only when table->size says it is there
 * (SQLite's sqlite3_vfs and ggml's backend interface work the same way).
 *
 * The model IR (core/ir.h) crosses this boundary, so its struct layout is part
 * of the ABI: changing it bumps INFERD_BACKEND_ABI.
 *
 * Lifetime and unload order, decided once:
 *   1. stop submitting work and wait for every run() in flight to return;
 *   2. release() every model compiled by the backend;
 *   3. close() the backend;
 *   4. dlclose() the library (inferd_backend_unload).
 * A plugin must not start threads that outlive close().
 *
 * Threads: open/compile/release/close are called from one thread at a time.
 * run() on different instances of one model may run concurrently; run() on the
 * same instance never does. */
#ifndef INFERD_BACKEND_H
#define INFERD_BACKEND_H

#include "core/ir.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INFERD_BACKEND_ABI    2
#define INFERD_BACKEND_SYMBOL "inferd_backend_v1"

/* Options as strings, the way they come from config files and command lines;
 * an array ended by an entry whose key is NULL. A backend rejects keys it does
 * not know, naming them. */
struct inferd_kv {
    const char *key;
    const char *value;
};

struct inferd_backend; /* opened backend: the plugin's own struct */
struct inferd_model;   /* compiled model: the plugin's own struct */

/* One row of a per-node profile (optional profile_get). */
struct inferd_profile_row {
    const char *node;    /* node name, valid until release() */
    const char *op_type; /* "Conv", ... */
    const char *kernel;  /* kernel chosen, e.g. "conv_im2col_sgemm" */
    double total_us;     /* summed over runs since compile */
    uint64_t calls;
};

struct inferd_backend_api {
    uint32_t abi;            /* INFERD_BACKEND_ABI the plugin was built with */
    uint32_t size;           /* sizeof(struct inferd_backend_api) the plugin was built with */
    const char *name;        /* "cpu", "cuda", "fpga" */
    const char *description; /* one line for logs and health */

    /* Opens the backend with its options (e.g. threads=2). Fails with a message
     * when it cannot run here (no device): the host then tries a fallback. */
    int (*open)(const struct inferd_kv *opts, struct inferd_backend **out, char *err,
                size_t errlen);

    /* Compiles an inferred, optimized graph for ninstances concurrent
     * instances. The backend may take over constant buffers
     * (ir_value_data_take) and node params (setting n->params to NULL) but
     * keeps no other pointer into g once it returns: the host frees g next.
     * opts: per-model options (may be NULL). */
    int (*compile)(struct inferd_backend *be, struct ir_graph *g, int ninstances,
                   const struct inferd_kv *opts, struct inferd_model **out, char *err,
                   size_t errlen);

    /* Runs one inference on an instance. in[]: the graph's runtime inputs in
     * graph order, shapes exactly as compiled. out[]: caller buffers in graph
     * output order with dtype, dims and nbytes set as compiled; the backend
     * fills data. Returns 0 or a negative code with a message. */
    int (*run)(struct inferd_model *m, int instance, const struct ir_tensor *in, size_t nin,
               struct ir_tensor *out, size_t nout, char *err, size_t errlen);

    /* Frees a compiled model. Accepts NULL. */
    void (*release)(struct inferd_model *m);

    /* Closes the backend after all its models are released. Accepts NULL. */
    void (*close)(struct inferd_backend *be);

    /* (optional) Per-node time since compile, summed over instances; enabled
     * by the compile option profile=1. Returns the row count (at most max) or
     * a negative code. */
    int (*profile_get)(struct inferd_model *m, struct inferd_profile_row *rows, size_t max);
};

typedef const struct inferd_backend_api *(*inferd_backend_entry_fn)(void);

/* --- host side (core/backend_load.c) ------------------------------------ */

struct inferd_plugin {
    void *handle; /* dlopen handle */
    const struct inferd_backend_api *api;
    char *path;
};

/* Loads dir/inferd-backend-NAME.so and checks its table: ABI version, size,
 * name, mandatory members. */
int inferd_backend_load(const char *dir, const char *name, struct inferd_plugin *out, char *err,
                        size_t errlen);
/* Searches a colon-separated list of folders for inferd-backend-NAME.so and
 * loads the first one found (a load error there is final: a broken plugin is
 * not silently skipped in favour of another copy). */
int inferd_backend_load_path(const char *dirs, const char *name, struct inferd_plugin *out,
                             char *err, size_t errlen);
/* dlclose()s a plugin whose models and backend are already released/closed. */
void inferd_backend_unload(struct inferd_plugin *p);

/* Value of key in opts, or NULL. */
const char *inferd_kv_get(const struct inferd_kv *opts, const char *key);

#ifdef __cplusplus
}
#endif
#endif
