/* What each frame and text command gets: routing to models, error replies,
 * delivery of finished jobs. Loop thread only: meta JSON is parsed here
 * (small), images and tensors are left to the workers. */
#include "inferd_error.h"
#include "job.h"
#include "log.h"
#include "server_int.h"
#include "stats.h"
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reply_send(struct inferd_server *s, struct reply_to *to, uint8_t *buf, size_t len)
{
    s->bytes_out += len;
    if (to->conn) {
        conn_send(to->conn, buf, len);
    } else if (to->nn) {
        nn_endpoint_reply(to->nn, to->ctl, buf, len);
        to->ctl = NULL;
    } else {
        free(buf);
    }
}

void dispatch_error(struct inferd_server *s, struct reply_to *to, uint64_t request_id, int code,
                    const char *message)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    if (job_error_frame(request_id, code, message, &frame, &len) < 0) {
        log_error("out of memory encoding an error reply");
        if (to->nn && to->ctl) {
            nn_ctl_free(to->ctl);
            to->ctl = NULL;
        }
        return;
    }
    reply_send(s, to, frame, len);
}

static void model_names(const struct inferd_server *s, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < s->nmodels && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", s->models[i]->conf.name);
        if (n < 0) break;
        off += (size_t)n;
    }
}

static void request_handle(struct inferd_server *s, struct reply_to *to, uint8_t *frame,
                           const struct inferd_frame_header *h)
{
    char err[600];
    const uint8_t *meta = frame + INFERD_FRAME_HEADER_SIZE;
    if (s->shutting_down) {
        dispatch_error(s, to, h->request_id, INFERD_E_SHUTTING_DOWN, "the daemon is shutting down");
        free(frame);
        return;
    }
    if (s->starting) {
        dispatch_error(s, to, h->request_id, INFERD_E_BUSY,
                       "the daemon is starting: models are still loading");
        free(frame);
        return;
    }
    struct inferd_request *req = NULL;
    int rc = inferd_request_decode(meta, h->meta_len, h->data_len, &req, err, sizeof(err));
    if (rc < 0) {
        s->frames_bad++;
        dispatch_error(s, to, h->request_id, rc == -ENOMEM ? INFERD_E_INTERNAL : rc, err);
        free(frame);
        return;
    }
    struct served_model *m = server_model_find(s, req->model, strlen(req->model));
    if (!m) {
        char names[300];
        model_names(s, names, sizeof(names));
        snprintf(err, sizeof(err), "no model named '%.200s' (models: %s)", req->model, names);
        dispatch_error(s, to, h->request_id, INFERD_E_MODEL_NOT_FOUND, err);
        inferd_request_free(req);
        free(frame);
        return;
    }
    struct inferd_job *job = calloc(1, sizeof(*job));
    if (!job) {
        dispatch_error(s, to, h->request_id, INFERD_E_INTERNAL, "out of memory");
        inferd_request_free(req);
        free(frame);
        return;
    }
    job->model = m;
    job->conn = to->conn;
    job->nn = to->nn;
    job->nn_header = to->ctl;
    job->request_id = h->request_id;
    job->req = req;
    job->frame = frame;
    job->data = meta + h->meta_len;
    job->data_len = h->data_len;
    job->t_arrive = inferd_now_us();
    uint64_t timeout_ms = req->timeout_ms      ? req->timeout_ms
                          : m->conf.timeout_ms ? (uint64_t)m->conf.timeout_ms
                                               : (uint64_t)s->conf->request_timeout_ms;
    job->deadline = job->t_arrive + timeout_ms * 1000u;

    if (m->state != SERVED_MODEL_READY) {
        rc = INFERD_E_BACKEND_FAILED;
        snprintf(err, sizeof(err), "model '%s' is not loaded: %s", m->conf.name, m->reason);
    } else {
        rc = served_model_submit(m, job);
        if (rc == INFERD_E_BUSY)
            snprintf(err, sizeof(err), "model '%s' has %d requests queued", m->conf.name,
                     m->ring_cap);
        else if (rc < 0)
            snprintf(err, sizeof(err), "model '%s' is stopping", m->conf.name);
    }
    if (rc < 0) {
        job->status = rc;
        served_model_account(m, job);
        job->nn_header = NULL; /* still ours: the error reply uses it */
        job_free(job);
        dispatch_error(s, to, h->request_id, rc, err);
        return;
    }
    to->ctl = NULL; /* the job carries it now */
    if (job->conn) conn_job_started(job->conn);
}

void dispatch_frame(struct inferd_server *s, struct reply_to *to, uint8_t *frame, size_t len,
                    const struct inferd_frame_header *h)
{
    (void)len;
    s->bytes_in += len;
    switch (h->kind) {
    case INFERD_KIND_REQUEST: request_handle(s, to, frame, h); return;
    case INFERD_KIND_PING: {
        struct inferd_frame_header pong = { .kind = INFERD_KIND_PONG, .request_id = h->request_id };
        uint8_t *buf = malloc(INFERD_FRAME_HEADER_SIZE);
        free(frame);
        if (!buf || inferd_frame_write(buf, INFERD_FRAME_HEADER_SIZE, &pong, NULL, NULL) < 0) {
            free(buf);
            return;
        }
        reply_send(s, to, buf, INFERD_FRAME_HEADER_SIZE);
        return;
    }
    default:
        s->frames_bad++;
        free(frame);
        dispatch_error(s, to, h->request_id, INFERD_E_BAD_FRAME,
                       "only request and ping frames go to the daemon");
        return;
    }
}

char *dispatch_text(struct inferd_server *s, const char *line, size_t len)
{
    int cmd = 0;
    char err[300];
    if (inferd_text_parse(line, len, &cmd, err, sizeof(err)) < 0) {
        char *json = NULL;
        size_t json_len = 0;
        if (inferd_error_meta_encode(INFERD_E_BAD_INPUT, err, &json, &json_len) < 0) return NULL;
        char *out = realloc(json, json_len + 2);
        if (!out) {
            free(json);
            return NULL;
        }
        out[json_len] = '\n';
        out[json_len + 1] = 0;
        return out;
    }
    switch (cmd) {
    case INFERD_TEXT_HEALTH: return status_health(s);
    case INFERD_TEXT_STATS: return status_stats(s);
    case INFERD_TEXT_MODELS: return status_models(s);
    case INFERD_TEXT_VERSION: return status_version(s);
    case INFERD_TEXT_METRICS: return status_metrics(s);
    default: return NULL;
    }
}

void dispatch_job_deliver(struct inferd_server *s, struct inferd_job *job)
{
    struct served_model *m = job->model;
    __atomic_fetch_sub(&m->stats.in_flight, 1, __ATOMIC_RELAXED);
    served_model_account(m, job);
    if (job->status && job->status != INFERD_E_BAD_INPUT)
        log_debug("model %s request %llu: %s: %s", m->conf.name,
                  (unsigned long long)job->request_id, inferd_error_name(job->status),
                  job->message);
    struct reply_to to = { job->conn, job->nn, job->nn_header };
    job->nn_header = NULL;
    if (job->reply && (!to.conn || conn_is_open(to.conn))) {
        reply_send(s, &to, job->reply, job->reply_len);
        job->reply = NULL;
    } else if (to.ctl) {
        nn_ctl_free(to.ctl);
    }
    if (job->conn) {
        conn_job_finished(job->conn);
        conn_unref(job->conn);
    }
    job_free(job);
}
