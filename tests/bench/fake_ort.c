/* A stand-in for libonnxruntime.so, for the self-test of ort_run (selftest.py):
 * it serves the start of ONNX Runtime's C API function table, enough for
 * ort_run's table check, and refuses to create an environment, so that
 * ort_run's loading, version and error paths run without ONNX Runtime.
 *
 * Environment: FAKE_ORT_VERSION (default "1.30.0") is the version it reports;
 * FAKE_ORT_BAD_TABLE=1 makes GetErrorCode answer wrongly, as a table laid out
 * otherwise would. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*ort_fn)(void);

struct fake_status {
    int code;
    char msg[160];
};

struct fake_api_base {
    const void *(*get_api)(uint32_t version);
    const char *(*get_version_string)(void);
};

const struct fake_api_base *OrtGetApiBase(void);

static struct fake_status *create_status(int code, const char *msg)
{
    struct fake_status *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->code = code;
    snprintf(s->msg, sizeof(s->msg), "%s", msg);
    return s;
}

static int get_error_code(const struct fake_status *s)
{
    return getenv("FAKE_ORT_BAD_TABLE") ? s->code + 1 : s->code;
}

static const char *get_error_message(const struct fake_status *s)
{
    return s->msg;
}

static void release_status(struct fake_status *s)
{
    free(s);
}

static struct fake_status *create_env(int level, const char *logid, void **out)
{
    *out = NULL;
    return create_status(1, "fake runtime: no sessions here");
}

static const char *version_string(void)
{
    const char *v = getenv("FAKE_ORT_VERSION");
    return v ? v : "1.30.0";
}

static ort_fn table[128];

/* Serves only the API version that its version string names, as a real
 * library serves no version newer than its own. */
static const void *get_api(uint32_t version)
{
    unsigned major = 0, minor = 0;
    if (sscanf(version_string(), "%u.%u", &major, &minor) != 2 || version != minor) return NULL;
    table[0] = (ort_fn)create_status;
    table[1] = (ort_fn)get_error_code;
    table[2] = (ort_fn)get_error_message;
    table[3] = (ort_fn)create_env;
    table[93] = (ort_fn)release_status;
    return table;
}

const struct fake_api_base *OrtGetApiBase(void)
{
    static const struct fake_api_base base = { get_api, version_string };
    return &base;
}
