/* Worker-side processing of one job: inputs from the frame (tensors copied to
 * aligned buffers, images decoded and normalised), the backend run, top-k,
 * and the reply frame. Runs on a model's worker thread, never on the loop. */
#include "job.h"

#include "image.h"
#include "inferd_error.h"
#include "models.h"
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker_ctx {
    struct served_model *m;
    int instance;
    struct ir_tensor *in, *out;
    struct inferd_image_ctx *image;
    struct inferd_image_spec spec;
    int *order; /* top-k scratch: class indices */
    float *probs;
    size_t scratch_n;
};

void job_free(struct inferd_job *job)
{
    if (!job) return;
    inferd_request_free(job->req);
    free(job->frame);
    free(job->reply);
    free(job);
}

static int frame_build(uint64_t request_id, int kind, const char *meta, size_t meta_len,
                       const void *data, size_t data_len, uint8_t **frame, size_t *len)
{
    struct inferd_frame_header h = {
        .kind = (uint16_t)kind,
        .meta_len = (uint32_t)meta_len,
        .request_id = request_id,
        .data_len = data_len,
    };
    size_t total = INFERD_FRAME_HEADER_SIZE + meta_len + data_len;
    uint8_t *buf = malloc(total);
    if (!buf) return -ENOMEM;
    int rc = inferd_frame_write(buf, total, &h, meta, data);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *frame = buf;
    *len = total;
    return 0;
}

int job_error_frame(uint64_t request_id, int code, const char *message, uint8_t **frame,
                    size_t *len)
{
    char *json = NULL;
    size_t json_len = 0;
    int rc = inferd_error_meta_encode(code, message, &json, &json_len);
    if (rc < 0) return rc;
    rc = frame_build(request_id, INFERD_KIND_ERROR, json, json_len, NULL, 0, frame, len);
    free(json);
    return rc;
}

struct worker_ctx *worker_ctx_new(struct served_model *m, int instance)
{
    struct worker_ctx *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->m = m;
    w->instance = instance;
    w->in = calloc((size_t)m->ninputs + 1, sizeof(*w->in));
    w->out = calloc((size_t)m->noutputs + 1, sizeof(*w->out));
    if (!w->in || !w->out) goto fail;
    for (int i = 0; i < m->ninputs; i++) {
        const struct inferd_io_spec *s = &m->inputs[i];
        w->in[i].dtype = s->dtype;
        w->in[i].ndim = s->ndim;
        memcpy(w->in[i].dims, s->dims, sizeof(s->dims));
        w->in[i].nbytes = s->nbytes;
        if (!(w->in[i].data = ir_alloc(s->nbytes))) goto fail;
    }
    size_t most = 1;
    for (int i = 0; i < m->noutputs; i++) {
        const struct inferd_io_spec *s = &m->outputs[i];
        w->out[i].dtype = s->dtype;
        w->out[i].ndim = s->ndim;
        memcpy(w->out[i].dims, s->dims, sizeof(s->dims));
        w->out[i].nbytes = s->nbytes;
        if (!(w->out[i].data = ir_alloc(s->nbytes))) goto fail;
        if (s->nbytes / 4 > most) most = s->nbytes / 4;
    }
    w->scratch_n = most;
    w->order = malloc(sizeof(int) * most);
    w->probs = malloc(sizeof(float) * most);
    if (!w->order || !w->probs) goto fail;
    if (m->image_input >= 0) {
        const struct inferd_image_conf *im = &m->conf.image;
        w->spec.width = m->image_width;
        w->spec.height = m->image_height;
        w->spec.channels = m->image_channels;
        for (int c = 0; c < 3; c++) {
            w->spec.mean[c] = im->nmean > 1 ? im->mean[c] : im->nmean == 1 ? im->mean[0] : 0.0f;
            w->spec.std[c] = im->nstd > 1 ? im->std[c] : im->nstd == 1 ? im->std[0] : 1.0f;
        }
        w->spec.channel_order =
            im->channel_order == INFERD_BGR ? INFERD_IMAGE_ORDER_BGR : INFERD_IMAGE_ORDER_RGB;
        w->spec.layout =
            im->layout == INFERD_NHWC ? INFERD_IMAGE_LAYOUT_NHWC : INFERD_IMAGE_LAYOUT_NCHW;
        if (!(w->image = inferd_image_ctx_new())) goto fail;
    }
    return w;
fail:
    worker_ctx_free(w);
    return NULL;
}

void worker_ctx_free(struct worker_ctx *w)
{
    if (!w) return;
    for (int i = 0; w->in && i < w->m->ninputs; i++) ir_free(w->in[i].data);
    for (int i = 0; w->out && i < w->m->noutputs; i++) ir_free(w->out[i].data);
    free(w->in);
    free(w->out);
    free(w->order);
    free(w->probs);
    inferd_image_ctx_free(w->image);
    free(w);
}

static int job_fail(struct inferd_job *job, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int job_fail(struct inferd_job *job, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->message, sizeof(job->message), fmt, ap);
    va_end(ap);
    job->status = code;
    return code;
}

static bool shape_same(const struct inferd_tensor_meta *t, const struct inferd_io_spec *s)
{
    if (t->ndim != s->ndim) return false;
    for (int d = 0; d < s->ndim; d++)
        if (t->dims[d] != s->dims[d]) return false;
    return true;
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *dims)
{
    struct ir_shape s = { .ndim = ndim < 0 || ndim > IR_MAX_DIMS ? 0 : ndim };
    memcpy(s.dims, dims, sizeof(int64_t) * (size_t)s.ndim);
    ir_shape_str(&s, buf, len);
}

/* Fills the worker's input tensors from the request. */
static int inputs_fill(struct worker_ctx *w, struct inferd_job *job)
{
    struct served_model *m = w->m;
    const struct inferd_request *req = job->req;
    bool filled[INFERD_MAX_INPUTS + 1] = { false };
    if (m->ninputs > INFERD_MAX_INPUTS)
        return job_fail(job, INFERD_E_BAD_INPUT, "model has more inputs than the protocol allows");
    for (size_t i = 0; i < req->ninputs; i++) {
        const struct inferd_tensor_meta *t = &req->inputs[i];
        const uint8_t *src = job->data + t->offset;
        int target = -1;
        if (t->image != INFERD_IMAGE_NONE) {
            if (m->image_input < 0)
                return job_fail(job, INFERD_E_BAD_INPUT,
                                "model '%s' takes no images (no [1,C,H,W] float input)",
                                m->conf.name);
            target = m->image_input;
        } else {
            for (int k = 0; k < m->ninputs; k++)
                if ((t->name && strcmp(t->name, m->inputs[k].name) == 0) ||
                    ((!t->name || !t->name[0]) && m->ninputs == 1))
                    target = k;
            if (target < 0)
                return job_fail(job, INFERD_E_BAD_INPUT, "model '%s' has no input named '%s'",
                                m->conf.name, t->name ? t->name : "");
        }
        if (filled[target])
            return job_fail(job, INFERD_E_BAD_INPUT, "input '%s' given twice",
                            m->inputs[target].name);
        filled[target] = true;
        struct ir_tensor *dst = &w->in[target];
        const struct inferd_io_spec *spec = &m->inputs[target];
        char err[256] = "";
        int rc = 0;
        if (t->image == INFERD_IMAGE_JPEG) {
            rc = inferd_image_from_jpeg(w->image, src, (size_t)t->nbytes, &w->spec, dst->data, err,
                                        sizeof(err));
        } else if (t->image == INFERD_IMAGE_RGB8 || t->image == INFERD_IMAGE_BGR8) {
            rc = inferd_image_from_pixels(w->image, src, (int)t->width, (int)t->height,
                                          t->image == INFERD_IMAGE_BGR8 ? INFERD_IMAGE_ORDER_BGR
                                                                        : INFERD_IMAGE_ORDER_RGB,
                                          &w->spec, dst->data, err, sizeof(err));
        } else {
            char got[128], want[128];
            if (t->dtype != spec->dtype || !shape_same(t, spec)) {
                shape_str(got, sizeof(got), t->ndim, t->dims);
                shape_str(want, sizeof(want), spec->ndim, spec->dims);
                const char *gd = inferd_dtype_name(t->dtype), *wd = inferd_dtype_name(spec->dtype);
                return job_fail(job, INFERD_E_BAD_INPUT, "input '%s': got %s %s, model takes %s %s",
                                spec->name, gd ? gd : "?", got, wd ? wd : "?", want);
            }
            if (t->nbytes != spec->nbytes)
                return job_fail(job, INFERD_E_BAD_INPUT, "input '%s': %llu bytes, expected %zu",
                                spec->name, (unsigned long long)t->nbytes, spec->nbytes);
            memcpy(dst->data, src, spec->nbytes);
        }
        if (rc < 0) return job_fail(job, INFERD_E_BAD_INPUT, "input '%s': %s", spec->name, err);
    }
    for (int k = 0; k < m->ninputs; k++)
        if (!filled[k])
            return job_fail(job, INFERD_E_BAD_INPUT, "input '%s' is missing", m->inputs[k].name);
    return 0;
}

static int cmp_desc_ctx_sort(const void *a, const void *b, void *ctx)
{
    const float *p = ctx;
    float x = p[*(const int *)a], y = p[*(const int *)b];
    if (x != y) return x > y ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

/* Top-k of one float output: softmax probabilities unless the model already
 * ends in Softmax. */
static int topk_build(struct worker_ctx *w, int o, int k, struct inferd_topk *tk)
{
    const struct served_model *m = w->m;
    const float *x = w->out[o].data;
    size_t n = w->out[o].nbytes / sizeof(float);
    if (n == 0) return 0;
    if (m->outputs[o].softmax_done) {
        memcpy(w->probs, x, n * sizeof(float));
    } else {
        float mx = -INFINITY;
        for (size_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += (w->probs[i] = expf(x[i] - mx));
        for (size_t i = 0; i < n; i++) w->probs[i] = (float)(w->probs[i] / sum);
    }
    for (size_t i = 0; i < n; i++) w->order[i] = (int)i;
    qsort_r(w->order, n, sizeof(int), cmp_desc_ctx_sort, w->probs);
    if ((size_t)k > n) k = (int)n;
    tk->output = m->outputs[o].name;
    tk->classes = calloc((size_t)k, sizeof(*tk->classes));
    if (!tk->classes) return -ENOMEM;
    tk->nclasses = (size_t)k;
    for (int i = 0; i < k; i++) {
        int c = w->order[i];
        tk->classes[i].index = c;
        tk->classes[i].score = w->probs[c];
        tk->classes[i].label = c < m->nlabels ? m->labels[c] : NULL;
    }
    return 0;
}

/* The top-k asked for output o: the output's own request, the request's, or
 * the model's default (which applies to outputs that match the labels). */
static int topk_for(const struct served_model *m, const struct inferd_request *req,
                    const struct inferd_output_request *orq, int o)
{
    int k = orq && orq->topk ? orq->topk : req->topk;
    if (k == INFERD_TOPK_NONE) return 0;
    if (m->outputs[o].dtype != IR_DT_F32) return 0;
    if (k > 0) return k;
    size_t n = m->outputs[o].nbytes / sizeof(float);
    if (m->nlabels > 0 && (size_t)m->nlabels == n) return m->conf.topk;
    return 0;
}

static int reply_build(struct worker_ctx *w, struct inferd_job *job)
{
    const struct served_model *m = w->m;
    const struct inferd_request *req = job->req;
    int sel[INFERD_MAX_OUTPUTS];
    const struct inferd_output_request *orq[INFERD_MAX_OUTPUTS] = { NULL };
    int nsel = 0;
    if (req->noutputs == 0) {
        for (int o = 0; o < m->noutputs && nsel < INFERD_MAX_OUTPUTS; o++) sel[nsel++] = o;
    } else {
        for (size_t i = 0; i < req->noutputs; i++) {
            int found = -1;
            for (int o = 0; o < m->noutputs; o++)
                if (strcmp(req->outputs[i].name, m->outputs[o].name) == 0) found = o;
            if (found < 0)
                return job_fail(job, INFERD_E_BAD_INPUT, "model '%s' has no output named '%s'",
                                m->conf.name, req->outputs[i].name);
            orq[nsel] = &req->outputs[i];
            sel[nsel++] = found;
        }
    }
    struct inferd_tensor_meta metas[INFERD_MAX_OUTPUTS];
    struct inferd_topk topks[INFERD_MAX_OUTPUTS];
    memset(metas, 0, sizeof(metas));
    memset(topks, 0, sizeof(topks));
    int nmeta = 0, ntopk = 0, rc = 0;
    size_t data_len = 0;
    for (int i = 0; i < nsel; i++) {
        int o = sel[i];
        if (!orq[i] || !orq[i]->no_tensor) {
            struct inferd_tensor_meta *t = &metas[nmeta++];
            t->name = m->outputs[o].name;
            t->dtype = m->outputs[o].dtype;
            t->ndim = m->outputs[o].ndim;
            memcpy(t->dims, m->outputs[o].dims, sizeof(t->dims));
            t->nbytes = m->outputs[o].nbytes;
            data_len += m->outputs[o].nbytes;
        }
        int k = topk_for(m, req, orq[i], o);
        if (k > 0 && (rc = topk_build(w, o, k, &topks[ntopk++])) < 0) goto out;
    }
    struct inferd_response resp = {
        .model = m->conf.name,
        .backend = (char *)m->backend_name,
        .noutputs = (size_t)nmeta,
        .outputs = metas,
        .ntopk = (size_t)ntopk,
        .topk = topks,
        .has_timing = true,
        .timing = { job->t_start - job->t_arrive, job->t_done - job->t_start,
                    job->t_done - job->t_arrive },
    };
    char *json = NULL;
    size_t json_len = 0;
    uint64_t enc_data_len = 0;
    char err[256];
    rc = inferd_response_encode(&resp, &json, &json_len, &enc_data_len, err, sizeof(err));
    if (rc < 0) {
        job_fail(job, INFERD_E_INTERNAL, "encoding the response: %s", err);
        goto out;
    }
    size_t total = INFERD_FRAME_HEADER_SIZE + json_len + data_len;
    uint8_t *buf = malloc(total);
    if (!buf) {
        free(json);
        rc = -ENOMEM;
        goto out;
    }
    struct inferd_frame_header h = { .kind = INFERD_KIND_RESPONSE,
                                     .meta_len = (uint32_t)json_len,
                                     .request_id = job->request_id,
                                     .data_len = data_len };
    /* Header and meta now; the tensors are copied straight in below. */
    rc = inferd_frame_header_encode(&h, buf);
    if (rc == 0) memcpy(buf + INFERD_FRAME_HEADER_SIZE, json, json_len);
    free(json);
    if (rc < 0) {
        free(buf);
        job_fail(job, INFERD_E_INTERNAL, "encoding the response header failed");
        goto out;
    }
    uint8_t *p = buf + INFERD_FRAME_HEADER_SIZE + json_len;
    for (int i = 0; i < nsel; i++) {
        if (orq[i] && orq[i]->no_tensor) continue;
        memcpy(p, w->out[sel[i]].data, m->outputs[sel[i]].nbytes);
        p += m->outputs[sel[i]].nbytes;
    }
    job->reply = buf;
    job->reply_len = total;
out:
    for (int i = 0; i < ntopk; i++) free(topks[i].classes);
    if (rc == -ENOMEM)
        job_fail(job, -ENOMEM, "out of memory building the reply");
    else if (rc < 0 && !job->status)
        job_fail(job, INFERD_E_INTERNAL, "building the reply failed");
    return rc;
}

void job_process(struct worker_ctx *w, struct inferd_job *job)
{
    struct served_model *m = w->m;
    job->t_start = inferd_now_us();
    if (job->t_start > job->deadline) {
        job_fail(job, INFERD_E_TIMEOUT, "deadline passed after %llu ms in the queue",
                 (unsigned long long)((job->t_start - job->t_arrive) / 1000));
    } else if (inputs_fill(w, job) == 0) {
        char err[512] = "";
        int rc = m->backend->plugin.api->run(m->compiled, w->instance, w->in, (size_t)m->ninputs,
                                             w->out, (size_t)m->noutputs, err, sizeof(err));
        job->t_done = inferd_now_us();
        if (rc < 0)
            job_fail(job, INFERD_E_BACKEND_FAILED, "%s backend: %s", m->backend_name, err);
        else if (job->t_done > job->deadline)
            job_fail(job, INFERD_E_TIMEOUT, "deadline passed while running (%llu ms)",
                     (unsigned long long)((job->t_done - job->t_start) / 1000));
        else
            reply_build(w, job);
    }
    if (!job->t_done) job->t_done = inferd_now_us();
    if (job->status != 0 && !job->reply)
        job_error_frame(job->request_id, job->status, job->message, &job->reply, &job->reply_len);
}
