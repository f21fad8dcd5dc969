/* inferctl bench: CONC threads, each with its own connection, share N
 * requests; prints throughput, latency percentiles and errors by code. The
 * input is random data shaped as the model's inputs (from the daemon's
 * `models` reply), or a JPEG. Random, not zero, data: zeros can run faster
 * than real inputs. */
#include "inferctl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CODES 32

struct code_count {
    int code;
    long n;
    char example[256]; /* the first message seen with this code */
};

struct bench;

struct worker {
    struct bench *b;
    pthread_t thread;
    uint64_t *lat_us; /* successful requests' latencies */
    size_t nlat, cap;
    long ok;
    struct code_count codes[MAX_CODES];
    int ncodes;
    bool connected;
};

struct bench {
    const struct ctl_args *a;
    struct inferd_client_input inputs[INFERD_CLIENT_MAX_IO];
    size_t ninputs;
    char *names[INFERD_CLIENT_MAX_IO];
    uint8_t *data[INFERD_CLIENT_MAX_IO];
    char describe[512];   /* what the input is, for the report */
    long next;            /* requests claimed so far (atomic) */
    pthread_mutex_t lock; /* ready and go: every connection opens and warms up first */
    pthread_cond_t cond;
    int ready;
    bool go;
    struct worker *w;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static double rng_normal(uint64_t *s)
{
    double u1 = ((double)(rng_next(s) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(rng_next(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* binary16 bits of a small float (|x| < 65504), truncating the mantissa. */
static uint16_t half_bits(float x)
{
    uint32_t f;
    memcpy(&f, &x, sizeof(f));
    uint16_t sign = (uint16_t)((f >> 16) & 0x8000u);
    int e = (int)((f >> 23) & 0xff) - 127 + 15;
    if (e <= 0) return sign; /* too small for a normal half: zero */
    if (e >= 31) return (uint16_t)(sign | 0x7bffu);
    return (uint16_t)(sign | (uint16_t)(e << 10) | (uint16_t)((f >> 13) & 0x3ffu));
}

static void fill_random(uint8_t *p, size_t size, const char *dt, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    size_t es = inferd_client_dtype_size(dt);
    size_t n = es ? size / es : 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(dt, "FP32") == 0) {
            float v = (float)rng_normal(&s);
            memcpy(p + i * 4, &v, 4);
        } else if (strcmp(dt, "FP64") == 0) {
            double v = rng_normal(&s);
            memcpy(p + i * 8, &v, 8);
        } else if (strcmp(dt, "FP16") == 0) {
            uint16_t v = half_bits((float)rng_normal(&s));
            memcpy(p + i * 2, &v, 2);
        } else if (strcmp(dt, "BOOL") == 0) {
            p[i] = (uint8_t)(rng_next(&s) & 1);
        } else if (strcmp(dt, "UINT8") == 0) {
            p[i] = (uint8_t)rng_next(&s);
        } else {
            /* integer inputs are mostly indices: keep them small and valid */
            uint64_t v = rng_next(&s) % 10;
            memcpy(p + i * es, &v, es); /* little-endian: the low bytes */
        }
    }
}

/* The datatype name as a string that outlives the parsed JSON. */
static const char *dtype_static(const char *name)
{
    static const char *const known[] = { "BOOL",   "UINT8", "INT8", "UINT16", "INT16", "FP16",
                                         "UINT32", "INT32", "FP32", "UINT64", "INT64", "FP64" };
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
        if (strcmp(name, known[k]) == 0) return known[k];
    return NULL;
}

static int fail_usage(const char *msg, const char *model)
{
    fprintf(stderr, "inferctl: bench: %s%s%s\n", msg, model ? " " : "", model ? model : "");
    return EXIT_ANSWER;
}

/* Random inputs shaped as the model's, from the daemon's `models` reply. */
static int inputs_from_models(struct bench *b, const char *models_json)
{
    const char *model = b->a->model;
    int ex = EXIT_ANSWER;
    cJSON *root = cJSON_Parse(models_json);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "models"), *m, *found = NULL;
    char names[512] = "";
    size_t off = 0;
    cJSON_ArrayForEach(m, list)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
        if (!cJSON_IsString(name)) continue;
        if (strcmp(name->valuestring, model) == 0) found = m;
        int n =
            snprintf(names + off, sizeof(names) - off, "%s%s", off ? ", " : "", name->valuestring);
        if (n > 0 && off + (size_t)n < sizeof(names)) off += (size_t)n;
    }
    if (!found) {
        fprintf(stderr, "inferctl: bench: the daemon has no model '%s' (it has: %s)\n", model,
                off ? names : "none");
        goto out;
    }
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(found, "inputs"), *in;
    off = 0;
    cJSON_ArrayForEach(in, ins)
    {
        if (b->ninputs == INFERD_CLIENT_MAX_IO) {
            ex = fail_usage("too many inputs on model", model);
            goto out;
        }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "name");
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(in, "datatype");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(in, "shape"), *d;
        if (!cJSON_IsString(name) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) ||
            cJSON_GetArraySize(shape) > INFERD_CLIENT_MAX_DIMS) {
            ex = fail_usage("cannot read the inputs in the 'models' reply for", model);
            goto out;
        }
        const char *dtype = dtype_static(dt->valuestring);
        size_t es = inferd_client_dtype_size(dtype);
        if (es == 0) {
            fprintf(stderr, "inferctl: bench: input '%s' of %s is %s: use --image\n",
                    name->valuestring, model, dt->valuestring);
            goto out;
        }
        struct inferd_client_input *t = &b->inputs[b->ninputs];
        size_t size = es;
        cJSON_ArrayForEach(d, shape)
        {
            /* a symbolic dimension (batch) shows as 0 or less: send 1 */
            int64_t v = cJSON_IsNumber(d) && d->valuedouble >= 1 ? (int64_t)d->valuedouble : 1;
            if (v > (1 << 30) || size > ((size_t)1 << 32) / (size_t)v) {
                ex = fail_usage("input too large for random data on model", model);
                goto out;
            }
            t->shape[t->ndim++] = v;
            size *= (size_t)v;
        }
        b->names[b->ninputs] = strdup(name->valuestring);
        b->data[b->ninputs] = malloc(size ? size : 1);
        if (!b->names[b->ninputs] || !b->data[b->ninputs]) {
            ex = fail_usage("out of memory", NULL);
            goto out;
        }
        fill_random(b->data[b->ninputs], size, dt->valuestring, b->ninputs + 1);
        t->name = b->names[b->ninputs];
        t->datatype = dtype;
        t->data = b->data[b->ninputs];
        t->size = size;
        b->ninputs++;
        int n = snprintf(b->describe + off, sizeof(b->describe) - off, "%s%s: random %s [",
                         off ? ", " : "", name->valuestring, dt->valuestring);
        for (int i = 0; n > 0 && i < t->ndim; i++) {
            off += (size_t)n;
            if (off >= sizeof(b->describe)) break;
            n = snprintf(b->describe + off, sizeof(b->describe) - off, "%s%lld", i ? "," : "",
                         (long long)t->shape[i]);
        }
        if (n > 0) off += (size_t)n;
        if (off < sizeof(b->describe)) {
            n = snprintf(b->describe + off, sizeof(b->describe) - off, "]");
            if (n > 0) off += (size_t)n;
        }
        if (off >= sizeof(b->describe)) off = sizeof(b->describe) - 1;
    }
    if (b->ninputs == 0) {
        ex = fail_usage("no inputs listed for model", model);
        goto out;
    }
    ex = EXIT_OK;
out:
    cJSON_Delete(root);
    return ex;
}

static bool code_is_wire(int code)
{
    return code <= INFERD_E_BAD_FRAME && code >= INFERD_E_INTERNAL;
}

/* Failures of the connection itself (reset, refused, ...) share one row: the
 * example message says which. */
#define CODE_CONNECTION (-ECONNRESET)

static void code_count(struct worker *w, int code, const char *msg)
{
    if (!code_is_wire(code)) code = CODE_CONNECTION;
    for (int i = 0; i < w->ncodes; i++)
        if (w->codes[i].code == code) {
            w->codes[i].n++;
            return;
        }
    if (w->ncodes == MAX_CODES) return;
    struct code_count *cc = &w->codes[w->ncodes++];
    cc->code = code;
    cc->n = 1;
    snprintf(cc->example, sizeof(cc->example), "%s", msg);
}

static void code_merge(struct worker *w, const struct code_count *cc)
{
    for (int i = 0; i < w->ncodes; i++)
        if (w->codes[i].code == cc->code) {
            w->codes[i].n += cc->n;
            return;
        }
    if (w->ncodes < MAX_CODES) w->codes[w->ncodes++] = *cc;
}

static void lat_add(struct worker *w, uint64_t us)
{
    if (w->nlat == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024;
        uint64_t *p = realloc(w->lat_us, cap * sizeof(*p));
        if (!p) return;
        w->lat_us = p;
        w->cap = cap;
    }
    w->lat_us[w->nlat++] = us;
}

static bool claim(struct bench *b)
{
    return __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED) < b->a->requests;
}

/* Runs n requests (or claims them from the shared count when counted)
 * keeping up to depth in flight. Returns false when the connection failed
 * and could not be reopened. */
static bool worker_loop(struct worker *w, struct inferd_client **cp, long n, bool counted)
{
    struct bench *b = w->b;
    const struct inferd_client_request req = { .model = b->a->model,
                                               .inputs = b->inputs,
                                               .ninputs = b->ninputs };
    int depth = inferd_client_transport(*cp) == INFERD_CLIENT_UNIX ? b->a->depth : 1;
    int inflight = 0, rc = 0, lost_in_row = 0;
    long sent = 0;
    char err[1024];
    for (;;) {
        while (inflight < depth && (counted ? claim(b) : sent < n)) {
            sent++;
            rc = inferd_client_send(*cp, &req, NULL, err, sizeof(err));
            if (rc == 0) {
                inflight++;
                continue;
            }
            if (counted) code_count(w, rc, err);
            if (!inferd_client_usable(*cp)) goto lost;
        }
        if (inflight == 0) return true;
        struct inferd_client_result *r = NULL;
        uint64_t id = 0;
        rc = inferd_client_recv(*cp, &r, &id, err, sizeof(err));
        if (rc == 0) {
            inflight--;
            lost_in_row = 0;
            if (counted) {
                w->ok++;
                lat_add(w, r->latency_us);
            }
            inferd_client_result_free(r);
            continue;
        }
        if (id != 0) { /* an error reply to one request; the connection is fine */
            inflight--;
            if (counted) code_count(w, rc, err);
            continue;
        }
    lost:
        /* The connection failed, or a reply timed out: what is in flight is
         * lost, and a fresh connection leaves no late replies behind. */
        if (counted)
            for (; inflight > 0; inflight--) code_count(w, rc, err);
        inflight = 0;
        inferd_client_close(*cp);
        *cp = NULL;
        /* A daemon that is gone would cost a timeout per request: give up
         * after a few failures in a row with nothing answered between. */
        if (++lost_in_row == 3) return false;
        rc = inferd_client_connect(b->a->address, b->a->timeout_ms, cp, err, sizeof(err));
        if (rc < 0) {
            if (counted) code_count(w, rc, err);
            return false;
        }
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    struct inferd_client *c = NULL;
    char err[1024] = "";
    int rc = inferd_client_connect(b->a->address, b->a->timeout_ms, &c, err, sizeof(err));
    if (rc < 0) code_count(w, rc, err);
    w->connected = rc == 0;
    if (c && b->a->warmup > 0 && !worker_loop(w, &c, b->a->warmup, false)) w->connected = false;
    pthread_mutex_lock(&b->lock);
    b->ready++;
    pthread_cond_broadcast(&b->cond);
    while (!b->go) pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
    /* when reconnecting fails, the other connections take the rest */
    if (c && w->connected) worker_loop(w, &c, 0, true);
    inferd_client_close(c);
    return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static double pct_ms(const uint64_t *v, size_t n, double q)
{
    if (n == 0) return 0;
    size_t k = (size_t)ceil(q * (double)n);
    return (double)v[k ? k - 1 : 0] / 1e3;
}

static int report(struct bench *b, double secs)
{
    const struct ctl_args *a = b->a;
    size_t nlat = 0;
    long ok = 0, failed = 0;
    int connected = 0;
    struct worker all = { 0 };
    for (int i = 0; i < a->concurrency; i++) {
        struct worker *w = &b->w[i];
        nlat += w->nlat;
        ok += w->ok;
        connected += w->connected;
        for (int k = 0; k < w->ncodes; k++) {
            code_merge(&all, &w->codes[k]);
            failed += w->codes[k].n;
        }
    }
    if (connected == 0) {
        fprintf(stderr, "inferctl: bench: no connection could be opened: %s\n",
                all.ncodes ? all.codes[0].example : "unknown error");
        return EXIT_NO_DAEMON;
    }
    uint64_t *lat = malloc((nlat ? nlat : 1) * sizeof(*lat));
    if (!lat) return fail_usage("out of memory", NULL);
    size_t k = 0;
    double sum = 0;
    for (int i = 0; i < a->concurrency; i++)
        for (size_t j = 0; j < b->w[i].nlat; j++) {
            lat[k++] = b->w[i].lat_us[j];
            sum += (double)b->w[i].lat_us[j];
        }
    qsort(lat, nlat, sizeof(*lat), cmp_u64);
    printf("throughput: %.1f req/s (%ld of %ld ok in %.3f s)\n", secs > 0 ? (double)ok / secs : 0.0,
           ok, a->requests, secs);
    if (nlat)
        printf("latency:    p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  mean %.3f ms\n",
               pct_ms(lat, nlat, 0.50), pct_ms(lat, nlat, 0.90), pct_ms(lat, nlat, 0.99),
               (double)lat[nlat - 1] / 1e3, sum / (double)nlat / 1e3);
    free(lat);
    if (ok + failed < a->requests)
        printf("not sent:   %ld (the connections were lost and could not be reopened)\n",
               a->requests - ok - failed);
    if (all.ncodes == 0) {
        printf("errors:     none\n");
        return EXIT_OK;
    }
    printf("errors:     %ld\n", failed);
    for (int i = 0; i < all.ncodes; i++) {
        int code = all.codes[i].code;
        printf("  %-16s %8ld  e.g. %s\n",
               code_is_wire(code) ? inferd_client_error_name(code) : "connection", all.codes[i].n,
               all.codes[i].example);
    }
    return EXIT_ANSWER;
}

static int setup_inputs(struct bench *b)
{
    const struct ctl_args *a = b->a;
    if (a->image) {
        uint8_t *jpeg = NULL;
        size_t len = 0;
        int ex = ctl_file_read(a->image, (size_t)64 << 20, &jpeg, &len);
        if (ex) return ex;
        b->data[0] = jpeg;
        b->inputs[0] = (struct inferd_client_input){ .image = INFERD_CLIENT_IMAGE_JPEG,
                                                     .data = jpeg,
                                                     .size = len };
        b->ninputs = 1;
        snprintf(b->describe, sizeof(b->describe), "JPEG %s (%zu bytes)", a->image, len);
        return EXIT_OK;
    }
    struct inferd_client *c = NULL;
    char err[1024] = "", *models = NULL;
    int rc = inferd_client_connect(a->address, a->timeout_ms, &c, err, sizeof(err));
    if (rc == 0) rc = inferd_client_command(c, "models", &models, err, sizeof(err));
    inferd_client_close(c);
    if (rc < 0) {
        fprintf(stderr, "inferctl: bench: %s\n", err);
        return ctl_exit_for(rc);
    }
    int ex = inputs_from_models(b, models);
    free(models);
    return ex;
}

int ctl_bench(const struct ctl_args *a)
{
    struct bench b;
    memset(&b, 0, sizeof(b));
    b.a = a;
    const char *addr = a->address ? a->address : getenv("INFERD_ADDRESS");
    if (a->depth > 1 && addr &&
        (strncmp(addr, "ipc://", 6) == 0 || strncmp(addr, "tcp://", 6) == 0)) {
        fprintf(stderr, "inferctl: bench: --depth needs a Unix socket (a nanomsg connection "
                        "carries one request at a time; raise -c instead)\n");
        return EXIT_USAGE;
    }
    int ex = setup_inputs(&b);
    if (ex) goto out;
    b.w = calloc((size_t)a->concurrency, sizeof(*b.w));
    if (!b.w) {
        ex = fail_usage("out of memory", NULL);
        goto out;
    }
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, NULL);
    printf("bench: model %s, %d connection%s, %d in flight each, %ld requests, input %s\n",
           a->model, a->concurrency, a->concurrency > 1 ? "s" : "", a->depth, a->requests,
           b.describe);
    fflush(stdout);
    int started = 0;
    for (; started < a->concurrency; started++) {
        b.w[started].b = &b;
        if (pthread_create(&b.w[started].thread, NULL, worker_main, &b.w[started]) != 0) {
            fprintf(stderr, "inferctl: bench: could start only %d threads\n", started);
            break;
        }
    }
    pthread_mutex_lock(&b.lock);
    while (b.ready < started) pthread_cond_wait(&b.cond, &b.lock);
    b.go = true;
    pthread_cond_broadcast(&b.cond);
    pthread_mutex_unlock(&b.lock);
    double t0 = now_s();
    for (int i = 0; i < started; i++) pthread_join(b.w[i].thread, NULL);
    double secs = now_s() - t0;
    pthread_cond_destroy(&b.cond);
    pthread_mutex_destroy(&b.lock);
    fflush(stdout);
    ex = report(&b, secs);
out:
    if (b.w)
        for (int i = 0; i < a->concurrency; i++) free(b.w[i].lat_us);
    free(b.w);
    for (size_t i = 0; i < INFERD_CLIENT_MAX_IO; i++) {
        free(b.names[i]);
        free(b.data[i]);
    }
    return ex;
}
