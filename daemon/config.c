/* Config loading: one table of fields per JSON object; the same walker parses
 * and validates every level, rejecting unknown keys (nginx's ngx_command_t and
 * Redis's static_configs[] work this way). */
#include "config.h"

#include "inferd_error.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_FILE_MAX (4 << 20)

static const char *const known_backends[] = { "cpu", "cuda", "fpga", NULL };

struct parse_ctx {
    const char *base_dir;
    char *err;
    size_t errlen;
};

static int conf_error(struct parse_ctx *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int conf_error(struct parse_ctx *p, const char *path, const char *fmt, ...)
{
    int off = snprintf(p->err, p->errlen, "%s: ", path);
    if (off > 0 && (size_t)off < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + off, p->errlen - (size_t)off, fmt, ap);
        va_end(ap);
    }
    return INFERD_E_BAD_CONFIG;
}

/* "path" + fmt into buf; a path too long for buf is cut (messages only). */
static const char *subpath(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *subpath(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0) buf[0] = 0;
    return buf;
}

static const char *json_type_name(const cJSON *j)
{
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsObject(j)) return "an object";
    return "an unknown value";
}

/* --- field tables ------------------------------------------------------- */

enum field_type {
    F_STRING,  /* char * */
    F_PATH,    /* char *, resolved against the config folder */
    F_INT,     /* int within [min, max] */
    F_U64,     /* uint64_t within [min, max] */
    F_MODE,    /* unsigned, octal string "0660" */
    F_STRINGS, /* char **, count at offset2 */
    F_ENUM,    /* int index into names */
    F_CUSTOM,  /* parse() */
};

struct field {
    const char *key;
    int type;
    size_t offset;
    size_t offset2; /* F_STRINGS: int count */
    long long min, max;
    const char *const *names; /* F_ENUM */
    int (*parse)(struct parse_ctx *p, const char *path, const cJSON *j, void *obj);
};

static char *path_resolve(const char *base_dir, const char *s)
{
    if (s[0] == '/' || !base_dir || !base_dir[0]) return strdup(s);
    size_t len = strlen(base_dir) + strlen(s) + 2;
    char *r = malloc(len);
    if (r) snprintf(r, len, "%s/%s", base_dir, s);
    return r;
}

static int field_parse(struct parse_ctx *p, const char *path, const struct field *f, const cJSON *j,
                       void *obj)
{
    char *base = obj;
    switch (f->type) {
    case F_STRING:
    case F_PATH: {
        if (!cJSON_IsString(j) || !j->valuestring[0])
            return conf_error(p, path, "expected a non-empty string, got %s", json_type_name(j));
        if (strlen(j->valuestring) > 4000) return conf_error(p, path, "string too long");
        char **dst = (char **)(base + f->offset);
        free(*dst);
        *dst =
            f->type == F_PATH ? path_resolve(p->base_dir, j->valuestring) : strdup(j->valuestring);
        return *dst ? 0 : -ENOMEM;
    }
    case F_INT:
    case F_U64: {
        double v = cJSON_IsNumber(j) ? j->valuedouble : NAN;
        if (!cJSON_IsNumber(j))
            return conf_error(p, path, "expected an integer from %lld to %lld, got %s", f->min,
                              f->max, json_type_name(j));
        if (v != floor(v) || v < (double)f->min || v > (double)f->max)
            return conf_error(p, path, "expected an integer from %lld to %lld, got %g", f->min,
                              f->max, v);
        if (f->type == F_INT)
            *(int *)(base + f->offset) = (int)v;
        else
            *(uint64_t *)(base + f->offset) = (uint64_t)v;
        return 0;
    }
    case F_MODE: {
        char *end = NULL;
        long v = cJSON_IsString(j) ? strtol(j->valuestring, &end, 8) : -1;
        if (!cJSON_IsString(j) || !j->valuestring[0] || *end || v < 0 || v > 0777)
            return conf_error(p, path, "expected an octal file mode string such as \"0660\"");
        *(unsigned *)(base + f->offset) = (unsigned)v;
        return 0;
    }
    case F_STRINGS: {
        if (!cJSON_IsArray(j))
            return conf_error(p, path, "expected an array of strings, got %s", json_type_name(j));
        int n = cJSON_GetArraySize(j);
        if (n > 64) return conf_error(p, path, "at most 64 entries");
        char **list = calloc((size_t)n + 1, sizeof(char *));
        if (!list) return -ENOMEM;
        char ***dst = (char ***)(base + f->offset);
        int *count = (int *)(base + f->offset2);
        for (int i = 0; i < *count; i++) free((*dst)[i]);
        free(*dst);
        *dst = list;
        *count = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, j)
        {
            if (!cJSON_IsString(e) || !e->valuestring[0])
                return conf_error(p, path, "entry %d: expected a non-empty string, got %s", *count,
                                  json_type_name(e));
            list[*count] = strdup(e->valuestring);
            if (!list[*count]) return -ENOMEM;
            (*count)++;
        }
        return 0;
    }
    case F_ENUM: {
        if (cJSON_IsString(j))
            for (int i = 0; f->names[i]; i++)
                if (strcmp(f->names[i], j->valuestring) == 0) {
                    *(int *)(base + f->offset) = i;
                    return 0;
                }
        char known[256] = "";
        for (int i = 0; f->names[i]; i++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                     f->names[i]);
        if (cJSON_IsString(j))
            return conf_error(p, path, "unknown value \"%s\" (known: %s)", j->valuestring, known);
        return conf_error(p, path, "expected one of: %s", known);
    }
    case F_CUSTOM: return f->parse(p, path, j, obj);
    }
    return INFERD_E_INTERNAL;
}

/* Walks the members of object j, dispatching each to its table row. */
static int object_parse(struct parse_ctx *p, const char *path, const cJSON *j,
                        const struct field *fields, void *obj)
{
    if (!cJSON_IsObject(j))
        return conf_error(p, path[0] ? path : "(top level)", "expected an object, got %s",
                          json_type_name(j));
    const cJSON *m;
    cJSON_ArrayForEach(m, j)
    {
        char sub[512];
        subpath(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", m->string);
        const struct field *f = fields;
        while (f->key && strcmp(f->key, m->string) != 0) f++;
        if (!f->key) {
            char known[512] = "";
            for (const struct field *k = fields; k->key; k++)
                snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                         k == fields ? "" : ", ", k->key);
            return conf_error(p, sub, "unknown key (known: %s)", known);
        }
        int rc = field_parse(p, sub, f, m, obj);
        if (rc < 0) return rc;
    }
    return 0;
}

/* --- image -------------------------------------------------------------- */

static int floats_parse(struct parse_ctx *p, const char *path, const cJSON *j, float *out, int *n)
{
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) < 1 || cJSON_GetArraySize(j) > 3)
        return conf_error(p, path, "expected an array of 1 to 3 numbers");
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
    {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            return conf_error(p, path, "entry %d: expected a number", i);
        out[i++] = (float)e->valuedouble;
    }
    *n = i;
    return 0;
}

static int image_mean_parse(struct parse_ctx *p, const char *path, const cJSON *j, void *obj)
{
    struct inferd_image_conf *im = obj;
    return floats_parse(p, path, j, im->mean, &im->nmean);
}

static int image_std_parse(struct parse_ctx *p, const char *path, const cJSON *j, void *obj)
{
    struct inferd_image_conf *im = obj;
    int rc = floats_parse(p, path, j, im->std, &im->nstd);
    for (int i = 0; rc == 0 && i < im->nstd; i++)
        if (!(im->std[i] > 0.0f)) return conf_error(p, path, "entry %d: std must be > 0", i);
    return rc;
}

static int image_size_parse(struct parse_ctx *p, const char *path, const cJSON *j, void *obj)
{
    struct inferd_image_conf *im = obj;
    const cJSON *w = cJSON_GetArrayItem(j, 0), *h = cJSON_GetArrayItem(j, 1);
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != 2 || !cJSON_IsNumber(w) ||
        !cJSON_IsNumber(h) || w->valuedouble < 1 || h->valuedouble < 1 || w->valuedouble > 16384 ||
        h->valuedouble > 16384 || w->valuedouble != floor(w->valuedouble) ||
        h->valuedouble != floor(h->valuedouble))
        return conf_error(p, path, "expected [width, height], integers from 1 to 16384");
    im->width = (int)w->valuedouble;
    im->height = (int)h->valuedouble;
    return 0;
}

static const char *const channel_orders[] = { "rgb", "bgr", NULL };
static const char *const layouts[] = { "nchw", "nhwc", NULL };

static const struct field image_fields[] = {
    { "size", F_CUSTOM, 0, 0, 0, 0, NULL, image_size_parse },
    { "mean", F_CUSTOM, 0, 0, 0, 0, NULL, image_mean_parse },
    { "std", F_CUSTOM, 0, 0, 0, 0, NULL, image_std_parse },
    { "channel_order", F_ENUM, offsetof(struct inferd_image_conf, channel_order), 0, 0, 0,
      channel_orders, NULL },
    { "layout", F_ENUM, offsetof(struct inferd_image_conf, layout), 0, 0, 0, layouts, NULL },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL },
};

static int model_image_parse(struct parse_ctx *p, const char *path, const cJSON *j, void *obj)
{
    struct inferd_model_conf *mc = obj;
    struct inferd_image_conf *im = &mc->image;
    im->present = true;
    return object_parse(p, path, j, image_fields, im);
}

/* --- models ------------------------------------------------------------- */

static bool backend_known(const char *name)
{
    for (int i = 0; known_backends[i]; i++)
        if (strcmp(known_backends[i], name) == 0) return true;
    return false;
}

static const struct field model_fields[] = {
    { "name", F_STRING, offsetof(struct inferd_model_conf, name), 0, 0, 0, NULL, NULL },
    { "path", F_PATH, offsetof(struct inferd_model_conf, path), 0, 0, 0, NULL, NULL },
    { "backend", F_STRING, offsetof(struct inferd_model_conf, backend), 0, 0, 0, NULL, NULL },
    { "fallback", F_STRINGS, offsetof(struct inferd_model_conf, fallback),
      offsetof(struct inferd_model_conf, nfallback), 0, 0, NULL, NULL },
    { "instances", F_INT, offsetof(struct inferd_model_conf, instances), 0, 1, 64, NULL, NULL },
    { "max_queue", F_INT, offsetof(struct inferd_model_conf, max_queue), 0, 1, 65536, NULL, NULL },
    { "timeout_ms", F_INT, offsetof(struct inferd_model_conf, timeout_ms), 0, 1, 3600000, NULL,
      NULL },
    { "image", F_CUSTOM, 0, 0, 0, 0, NULL, model_image_parse },
    { "labels", F_PATH, offsetof(struct inferd_model_conf, labels), 0, 0, 0, NULL, NULL },
    { "topk", F_INT, offsetof(struct inferd_model_conf, topk), 0, 0, 1000, NULL, NULL },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL },
};

static int backend_name_check(struct parse_ctx *p, const char *path, const char *name)
{
    if (backend_known(name)) return 0;
    return conf_error(p, path, "unknown backend \"%s\" (known: cpu, cuda, fpga)", name);
}

static int model_check(struct parse_ctx *p, const char *path, struct inferd_model_conf *mc)
{
    char sub[512];
    if (!mc->name) return conf_error(p, path, "missing key \"name\"");
    if (!mc->path) return conf_error(p, path, "missing key \"path\"");
    subpath(sub, sizeof(sub), "%s.name", path);
    size_t len = strlen(mc->name);
    if (len > INFERD_CONF_NAME_MAX)
        return conf_error(p, sub, "longer than %d characters", INFERD_CONF_NAME_MAX);
    for (const char *c = mc->name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '.'))
            return conf_error(p, sub, "\"%s\": use letters, digits, '_', '-' and '.'", mc->name);
    if (!mc->backend && !(mc->backend = strdup("cpu"))) return -ENOMEM;
    subpath(sub, sizeof(sub), "%s.backend", path);
    int rc = backend_name_check(p, sub, mc->backend);
    for (int i = 0; rc == 0 && i < mc->nfallback; i++) {
        subpath(sub, sizeof(sub), "%s.fallback[%d]", path, i);
        rc = backend_name_check(p, sub, mc->fallback[i]);
    }
    if (rc < 0) return rc;
    const struct inferd_image_conf *im = &mc->image;
    if (im->present && im->nmean && im->nstd && im->nmean != im->nstd && im->nmean != 1 &&
        im->nstd != 1) {
        subpath(sub, sizeof(sub), "%s.image", path);
        return conf_error(p, sub, "mean has %d entries and std %d", im->nmean, im->nstd);
    }
    return 0;
}

static int models_parse(struct parse_ctx *p, const char *path, const cJSON *j, void *obj)
{
    struct inferd_conf *c = obj;
    if (!cJSON_IsArray(j))
        return conf_error(p, path, "expected an array of models, got %s", json_type_name(j));
    int n = cJSON_GetArraySize(j);
    if (n > 256) return conf_error(p, path, "at most 256 models");
    c->models = calloc((size_t)n + 1, sizeof(*c->models));
    if (!c->models) return -ENOMEM;
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
    {
        char sub[512];
        subpath(sub, sizeof(sub), "%s[%d]", path, c->nmodels);
        struct inferd_model_conf *mc = &c->models[c->nmodels++];
        mc->instances = 1;
        mc->max_queue = 32;
        mc->topk = 5;
        mc->image.std[0] = mc->image.std[1] = mc->image.std[2] = 1.0f;
        int rc = object_parse(p, sub, e, model_fields, mc);
        if (rc == 0) rc = model_check(p, sub, mc);
        if (rc < 0) return rc;
        for (int i = 0; i < c->nmodels - 1; i++)
            if (strcmp(c->models[i].name, mc->name) == 0)
                return conf_error(p, sub, "model name \"%s\" is already used by models[%d]",
                                  mc->name, i);
    }
    return 0;
}

/* --- backends ----------------------------------------------------------- */

static int backends_parse(struct parse_ctx *p, const char *path, const cJSON *j, void *obj)
{
    struct inferd_conf *c = obj;
    if (!cJSON_IsObject(j))
        return conf_error(p, path, "expected an object of backends, got %s", json_type_name(j));
    int n = cJSON_GetArraySize(j);
    c->backends = calloc((size_t)n + 1, sizeof(*c->backends));
    if (!c->backends) return -ENOMEM;
    const cJSON *b;
    cJSON_ArrayForEach(b, j)
    {
        char sub[512];
        subpath(sub, sizeof(sub), "%s.%s", path, b->string);
        int rc = backend_name_check(p, sub, b->string);
        if (rc < 0) return rc;
        if (!cJSON_IsObject(b))
            return conf_error(p, sub, "expected an object of options, got %s", json_type_name(b));
        struct inferd_backend_conf *bc = &c->backends[c->nbackends++];
        bc->name = strdup(b->string);
        int nopts = cJSON_GetArraySize(b);
        bc->opts = calloc((size_t)nopts + 1, sizeof(*bc->opts));
        if (!bc->name || !bc->opts) return -ENOMEM;
        const cJSON *o;
        cJSON_ArrayForEach(o, b)
        {
            char val[64];
            const char *v = NULL;
            if (cJSON_IsString(o)) {
                v = o->valuestring;
            } else if (cJSON_IsNumber(o)) {
                snprintf(val, sizeof(val), "%.17g", o->valuedouble);
                v = val;
            } else if (cJSON_IsBool(o)) {
                v = cJSON_IsTrue(o) ? "1" : "0";
            } else {
                return conf_error(p, sub, "option \"%s\": expected a string, number or boolean",
                                  o->string);
            }
            char *k = strdup(o->string), *vv = strdup(v);
            if (!k || !vv) {
                free(k);
                free(vv);
                return -ENOMEM;
            }
            bc->opts[bc->nopts].key = k;
            bc->opts[bc->nopts].value = vv;
            bc->nopts++;
        }
    }
    return 0;
}

/* --- top level ---------------------------------------------------------- */

static const struct field listen_fields[] = {
    { "unix", F_PATH, offsetof(struct inferd_conf, unix_path), 0, 0, 0, NULL, NULL },
    { "unix_mode", F_MODE, offsetof(struct inferd_conf, unix_mode), 0, 0, 0, NULL, NULL },
    { "nanomsg", F_STRINGS, offsetof(struct inferd_conf, nanomsg),
      offsetof(struct inferd_conf, nnanomsg), 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL },
};

static const struct field limits_fields[] = {
    { "max_frame_bytes", F_U64, offsetof(struct inferd_conf, max_frame_bytes), 0, 1024,
      INT64_C(4) << 30, NULL, NULL },
    { "max_clients", F_INT, offsetof(struct inferd_conf, max_clients), 0, 1, 65536, NULL, NULL },
    { "idle_timeout_ms", F_INT, offsetof(struct inferd_conf, idle_timeout_ms), 0, 0, 86400000, NULL,
      NULL },
    { "request_timeout_ms", F_INT, offsetof(struct inferd_conf, request_timeout_ms), 0, 1, 3600000,
      NULL, NULL },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL },
};

static int listen_parse(struct parse_ctx *p, const char *path, const cJSON *j, void *obj)
{
    return object_parse(p, path, j, listen_fields, obj);
}

static int limits_parse(struct parse_ctx *p, const char *path, const cJSON *j, void *obj)
{
    return object_parse(p, path, j, limits_fields, obj);
}

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

static const struct field top_fields[] = {
    { "listen", F_CUSTOM, 0, 0, 0, 0, NULL, listen_parse },
    { "plugin_dir", F_PATH, offsetof(struct inferd_conf, plugin_dir), 0, 0, 0, NULL, NULL },
    { "backends", F_CUSTOM, 0, 0, 0, 0, NULL, backends_parse },
    { "models", F_CUSTOM, 0, 0, 0, 0, NULL, models_parse },
    { "limits", F_CUSTOM, 0, 0, 0, 0, NULL, limits_parse },
    { "log_level", F_ENUM, offsetof(struct inferd_conf, log_level), 0, 0, 0, log_levels, NULL },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL },
};

int inferd_conf_parse(const char *text, size_t len, const char *base_dir, struct inferd_conf **out,
                      char *err, size_t errlen)
{
    struct parse_ctx p = { base_dir, err, errlen };
    struct inferd_conf *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    c->unix_mode = 0660;
    c->max_frame_bytes = 64u << 20;
    c->max_clients = 256;
    c->idle_timeout_ms = 30000;
    c->request_timeout_ms = 10000;
    c->log_level = INFERD_LOG_INFO;

    int rc;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        if (!end || end < text || end > text + len) end = cJSON_GetErrorPtr();
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        int line = 1;
        for (size_t i = 0; i < at && i < len; i++) line += text[i] == '\n';
        snprintf(err, errlen, "not valid JSON near line %d (byte %zu)", line, at);
        rc = INFERD_E_BAD_CONFIG;
        goto fail;
    }
    if ((rc = object_parse(&p, "", root, top_fields, c)) < 0) goto fail;
    if (!c->unix_path && c->nnanomsg == 0) {
        rc = conf_error(&p, "listen", "no listener: set \"unix\" and/or \"nanomsg\"");
        goto fail;
    }
    if (c->nmodels == 0) {
        rc = conf_error(&p, "models", "no models configured");
        goto fail;
    }
    for (int i = 0; i < c->nnanomsg; i++)
        if (strncmp(c->nanomsg[i], "ipc://", 6) != 0 && strncmp(c->nanomsg[i], "tcp://", 6) != 0) {
            char sub[64];
            subpath(sub, sizeof(sub), "listen.nanomsg[%d]", i);
            rc = conf_error(&p, sub, "\"%s\": expected an ipc:// or tcp:// address", c->nanomsg[i]);
            goto fail;
        }
    cJSON_Delete(root);
    *out = c;
    return 0;
fail:
    if (rc == -ENOMEM) snprintf(err, errlen, "out of memory reading the configuration");
    cJSON_Delete(root);
    inferd_conf_free(c);
    return rc;
}

int inferd_conf_load(const char *path, struct inferd_conf **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    char *buf = malloc(CONF_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return -ENOMEM;
    }
    size_t len = fread(buf, 1, CONF_FILE_MAX + 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad || len > CONF_FILE_MAX) {
        snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "larger than 4 MiB");
        free(buf);
        return INFERD_E_BAD_CONFIG;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof(dir), ".");
    char msg[900];
    int rc = inferd_conf_parse(buf, len, dir, out, msg, sizeof(msg));
    free(buf);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, msg);
        return rc;
    }
    (*out)->path = strdup(path);
    if (!(*out)->path) {
        inferd_conf_free(*out);
        *out = NULL;
        return -ENOMEM;
    }
    return 0;
}

void inferd_conf_free(struct inferd_conf *c)
{
    if (!c) return;
    free(c->path);
    free(c->unix_path);
    for (int i = 0; i < c->nnanomsg; i++) free(c->nanomsg[i]);
    free(c->nanomsg);
    free(c->plugin_dir);
    for (int i = 0; c->backends && i < c->nbackends; i++) {
        free(c->backends[i].name);
        for (int k = 0; k < c->backends[i].nopts; k++) {
            free((char *)c->backends[i].opts[k].key);
            free((char *)c->backends[i].opts[k].value);
        }
        free(c->backends[i].opts);
    }
    free(c->backends);
    for (int i = 0; c->models && i < c->nmodels; i++) {
        struct inferd_model_conf *m = &c->models[i];
        free(m->name);
        free(m->path);
        free(m->backend);
        for (int k = 0; k < m->nfallback; k++) free(m->fallback[k]);
        free(m->fallback);
        free(m->labels);
    }
    free(c->models);
    free(c);
}

const struct inferd_kv *inferd_conf_backend_opts(const struct inferd_conf *c, const char *name)
{
    static const struct inferd_kv empty[] = { { NULL, NULL } };
    for (int i = 0; i < c->nbackends; i++)
        if (strcmp(c->backends[i].name, name) == 0) return c->backends[i].opts;
    return empty;
}
