/* stress: many concurrent clients of one daemon over both transports, mixed
 * models, every answer checked against the reference output for its input,
 * so nothing lost, nothing crossed between clients, models or request ids.
 *
 * usage: stress UNIX_ADDR IPC_ADDR REFDIR CLIENTS REQUESTS
 * REFDIR holds in_S.bin (a [1,1,8,8] float32 input) and MODEL_S.bin (the
 * model's output for it) for S = 0.., and models.txt (one model name and its
 * input name per line). Even clients use the Unix socket with 4 requests in
 * flight, odd ones nanomsg. Prints one summary line; exit 0 when every request
 * got the right answer. */
#include "inferd_client.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 64
#define MAX_MODELS  4
#define DEPTH       4

static char model_names[MAX_MODELS][64], input_names[MAX_MODELS][64];
static int nmodels, nsamples;
static float inputs[MAX_SAMPLES][64];
static float *expected[MAX_MODELS][MAX_SAMPLES];
static size_t expected_n[MAX_MODELS][MAX_SAMPLES];
static const char *addr_unix, *addr_ipc;
static int requests_per_client;

struct client_stats {
    int index;
    long ok, wrong, errors, lost;
    char first_problem[1024];
};

static int file_read(const char *path, void *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    *len = fread(buf, 1, cap, f);
    fclose(f);
    return 0;
}

static void problem(struct client_stats *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the first problem a client met, for the summary. */
static void problem(struct client_stats *st, const char *fmt, ...)
{
    if (st->first_problem[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->first_problem, sizeof(st->first_problem), fmt, ap);
    va_end(ap);
}

/* Which model and sample request i of client c asks for. */
static void pick(int c, int i, int *model, int *sample)
{
    *model = (c + i) % nmodels;
    *sample = (c * 7 + i * 3) % nsamples;
}

static void request_fill(struct inferd_client_request *req, struct inferd_client_input *in,
                         int model, int sample)
{
    memset(req, 0, sizeof(*req));
    memset(in, 0, sizeof(*in));
    in->name = input_names[model];
    in->datatype = "FP32";
    in->ndim = 4;
    in->shape[0] = 1;
    in->shape[1] = 1;
    in->shape[2] = 8;
    in->shape[3] = 8;
    in->data = inputs[sample];
    in->size = sizeof(inputs[sample]);
    req->model = model_names[model];
    req->inputs = in;
    req->ninputs = 1;
    req->topk = INFERD_CLIENT_TOPK_NONE;
}

static void result_check(struct client_stats *st, const struct inferd_client_result *r, int model,
                         int sample)
{
    if (strcmp(r->model, model_names[model]) != 0 || r->noutputs != 1 ||
        r->outputs[0].size != expected_n[model][sample] * sizeof(float)) {
        st->wrong++;
        problem(st, "answer from model %s to a request for %s", r->model, model_names[model]);
        return;
    }
    const float *got = r->outputs[0].data;
    for (size_t k = 0; k < expected_n[model][sample]; k++)
        if (fabsf(got[k] - expected[model][sample][k]) > 1e-6f) {
            st->wrong++;
            problem(st, "wrong output value from %s", model_names[model]);
            return;
        }
    st->ok++;
}

static void *client_unix(void *p)
{
    struct client_stats *st = p;
    struct inferd_client *c = NULL;
    char err[512];
    if (inferd_client_connect(addr_unix, 30000, &c, err, sizeof(err)) < 0) {
        problem(st, "connect: %s", err);
        st->lost = requests_per_client;
        return NULL;
    }
    uint64_t ids[DEPTH];
    int which[DEPTH], inflight = 0, sent = 0;
    while (sent < requests_per_client || inflight > 0) {
        while (inflight < DEPTH && sent < requests_per_client) {
            int model, sample;
            pick(st->index, sent, &model, &sample);
            struct inferd_client_request req;
            struct inferd_client_input in;
            request_fill(&req, &in, model, sample);
            if (inferd_client_send(c, &req, &ids[inflight], err, sizeof(err)) < 0) {
                problem(st, "send %d: %s", sent, err);
                st->lost += requests_per_client - sent + inflight;
                inferd_client_close(c);
                return NULL;
            }
            which[inflight++] = sent++;
        }
        struct inferd_client_result *r = NULL;
        uint64_t id = 0;
        int rc = inferd_client_recv(c, &r, &id, err, sizeof(err));
        int slot = -1;
        for (int k = 0; k < inflight; k++)
            if (ids[k] == id) slot = k;
        if (slot < 0) {
            problem(st, "reply to an unknown request id %llu: %s", (unsigned long long)id, err);
            st->lost += inflight;
            inferd_client_result_free(r);
            break;
        }
        int model, sample;
        pick(st->index, which[slot], &model, &sample);
        if (rc < 0) {
            st->errors++;
            problem(st, "request %d: error reply: %s", which[slot], err);
        } else {
            result_check(st, r, model, sample);
        }
        inferd_client_result_free(r);
        ids[slot] = ids[inflight - 1];
        which[slot] = which[inflight - 1];
        inflight--;
    }
    inferd_client_close(c);
    return NULL;
}

static void *client_nn(void *p)
{
    struct client_stats *st = p;
    struct inferd_client *c = NULL;
    char err[512];
    if (inferd_client_connect(addr_ipc, 30000, &c, err, sizeof(err)) < 0) {
        problem(st, "connect: %s", err);
        st->lost = requests_per_client;
        return NULL;
    }
    for (int i = 0; i < requests_per_client; i++) {
        int model, sample;
        pick(st->index, i, &model, &sample);
        struct inferd_client_request req;
        struct inferd_client_input in;
        request_fill(&req, &in, model, sample);
        struct inferd_client_result *r = NULL;
        if (inferd_client_infer(c, &req, &r, err, sizeof(err)) < 0) {
            st->errors++;
            problem(st, "request %d: %s", i, err);
        } else {
            result_check(st, r, model, sample);
        }
        inferd_client_result_free(r);
    }
    inferd_client_close(c);
    return NULL;
}

static int refs_load(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/models.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (nmodels < MAX_MODELS &&
           fscanf(f, "%63s %63s", model_names[nmodels], input_names[nmodels]) == 2)
        nmodels++;
    fclose(f);
    for (nsamples = 0; nsamples < MAX_SAMPLES; nsamples++) {
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/in_%d.bin", dir, nsamples);
        if (file_read(path, inputs[nsamples], sizeof(inputs[nsamples]), &len) < 0) break;
        if (len != sizeof(inputs[nsamples])) return -1;
        for (int m = 0; m < nmodels; m++) {
            float buf[4096];
            snprintf(path, sizeof(path), "%s/%s_%d.bin", dir, model_names[m], nsamples);
            if (file_read(path, buf, sizeof(buf), &len) < 0) return -1;
            expected[m][nsamples] = malloc(len ? len : 1);
            if (!expected[m][nsamples]) return -1;
            memcpy(expected[m][nsamples], buf, len);
            expected_n[m][nsamples] = len / sizeof(float);
        }
    }
    return nmodels > 0 && nsamples > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: stress UNIX_ADDR IPC_ADDR REFDIR CLIENTS REQUESTS\n");
        return 2;
    }
    addr_unix = argv[1];
    addr_ipc = argv[2];
    int clients = atoi(argv[4]);
    requests_per_client = atoi(argv[5]);
    if (refs_load(argv[3]) < 0 || clients < 1 || clients > 256 || requests_per_client < 1) {
        fprintf(stderr, "stress: bad reference folder or counts\n");
        return 2;
    }
    pthread_t th[256];
    struct client_stats st[256];
    memset(st, 0, sizeof(st));
    for (int i = 0; i < clients; i++) {
        st[i].index = i;
        pthread_create(&th[i], NULL, i % 2 ? client_nn : client_unix, &st[i]);
    }
    long ok = 0, wrong = 0, errors = 0, lost = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        ok += st[i].ok;
        wrong += st[i].wrong;
        errors += st[i].errors;
        lost += st[i].lost;
        if (st[i].first_problem[0])
            fprintf(stderr, "client %d (%s): %s\n", i, i % 2 ? "nanomsg" : "unix",
                    st[i].first_problem);
    }
    long total = (long)clients * requests_per_client;
    printf("stress: %d clients x %d requests: %ld ok, %ld wrong, %ld errors, %ld lost (of %ld)\n",
           clients, requests_per_client, ok, wrong, errors, lost, total);
    for (int m = 0; m < nmodels; m++)
        for (int s = 0; s < nsamples; s++) free(expected[m][s]);
    return ok == total ? 0 : 1;
}
