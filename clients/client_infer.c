/* Requests and replies: building a request frame from the caller's inputs,
 * matching replies to requests by id (out of order, with abandoned ones
 * dropped), turning a response into a result and an error reply into its
 * code and message, and text commands. */
#include "client_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The public result and everything it points into. */
struct result_impl {
    struct inferd_client_result pub; /* first: the caller's pointer is this */
    struct inferd_response *resp;
    struct rx_frame *frame;
    struct inferd_client_output *outputs;
    struct inferd_client_topk *topk;
    struct inferd_client_class *classes;
    uint8_t *copies; /* outputs whose offset in the frame is not aligned for their type */
};

void inferd_client_result_free(struct inferd_client_result *r)
{
    struct result_impl *ri = (struct result_impl *)r;
    if (!ri) return;
    inferd_response_free(ri->resp);
    rx_frame_free(ri->frame);
    free(ri->outputs);
    free(ri->topk);
    free(ri->classes);
    free(ri->copies);
    free(ri);
}

static int input_convert(const struct inferd_client_input *in, size_t i,
                         struct inferd_tensor_meta *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->image = in->image;
    t->name = (char *)(in->name ? in->name : in->image != INFERD_CLIENT_TENSOR ? "image" : NULL);
    if (!t->name) return client_fail(-EINVAL, err, errlen, "inputs[%zu]: no name", i);
    if (in->size && !in->data)
        return client_fail(-EINVAL, err, errlen, "inputs[%zu] '%s': %zu bytes at NULL", i, t->name,
                           in->size);
    switch (in->image) {
    case INFERD_CLIENT_TENSOR: {
        t->dtype = in->datatype ? inferd_dtype_from_name(in->datatype) : INFERD_DT_INVALID;
        size_t esize = inferd_dtype_size(t->dtype);
        if (esize == 0)
            return client_fail(-EINVAL, err, errlen, "inputs[%zu] '%s': datatype '%s' %s", i,
                               t->name, in->datatype ? in->datatype : "(none)",
                               t->dtype == INFERD_DT_BYTES ? "is for JPEG images only"
                                                           : "is not known");
        if (in->ndim < 0 || in->ndim > INFERD_MAX_DIMS)
            return client_fail(-EINVAL, err, errlen, "inputs[%zu] '%s': %d dimensions (0 to %d)", i,
                               t->name, in->ndim, INFERD_MAX_DIMS);
        t->ndim = in->ndim;
        uint64_t want = esize;
        for (int d = 0; d < in->ndim; d++) {
            if (in->shape[d] < 0 || in->shape[d] > INFERD_MAX_DIM)
                return client_fail(-EINVAL, err, errlen,
                                   "inputs[%zu] '%s': shape[%d] is %lld (0 to %d)", i, t->name, d,
                                   (long long)in->shape[d], INFERD_MAX_DIM);
            t->dims[d] = in->shape[d];
            /* each factor is below 2^31 and the product is checked as it grows */
            if (want > UINT64_MAX / ((uint64_t)in->shape[d] + 1))
                return client_fail(-EINVAL, err, errlen, "inputs[%zu] '%s': shape too large", i,
                                   t->name);
            want *= (uint64_t)in->shape[d];
        }
        if (want != in->size)
            return client_fail(-EINVAL, err, errlen,
                               "inputs[%zu] '%s': %zu bytes given, its shape of %s needs %llu", i,
                               t->name, in->size, in->datatype, (unsigned long long)want);
        break;
    }
    case INFERD_CLIENT_IMAGE_JPEG:
        if (in->size == 0)
            return client_fail(-EINVAL, err, errlen, "inputs[%zu] '%s': empty JPEG", i, t->name);
        t->dtype = INFERD_DT_BYTES;
        break;
    case INFERD_CLIENT_IMAGE_RGB8:
    case INFERD_CLIENT_IMAGE_BGR8:
        if (in->width < 1 || in->width > INFERD_MAX_IMAGE || in->height < 1 ||
            in->height > INFERD_MAX_IMAGE)
            return client_fail(-EINVAL, err, errlen,
                               "inputs[%zu] '%s': image of %ux%u pixels (sides 1 to %d)", i,
                               t->name, in->width, in->height, INFERD_MAX_IMAGE);
        if ((uint64_t)in->width * in->height * 3 != in->size)
            return client_fail(-EINVAL, err, errlen,
                               "inputs[%zu] '%s': %zu bytes given, a %ux%u image has %llu", i,
                               t->name, in->size, in->width, in->height,
                               (unsigned long long)in->width * in->height * 3);
        t->dtype = INFERD_DT_UINT8;
        t->ndim = 3;
        t->dims[0] = in->height;
        t->dims[1] = in->width;
        t->dims[2] = 3;
        break;
    default:
        return client_fail(-EINVAL, err, errlen, "inputs[%zu]: unknown image format %d", i,
                           in->image);
    }
    t->nbytes = in->size;
    return 0;
}

static int topk_check(int k, const char *what, char *err, size_t errlen)
{
    if (k == INFERD_CLIENT_TOPK_NONE || (k >= 0 && k <= INFERD_MAX_TOPK)) return 0;
    return client_fail(-EINVAL, err, errlen, "%s: topk %d (0 to %d, or none)", what, k,
                       INFERD_MAX_TOPK);
}

/* Encodes req's meta into *meta (malloc'd). */
static int request_meta(const struct inferd_client_request *req, char **meta, size_t *meta_len,
                        char *err, size_t errlen)
{
    struct inferd_tensor_meta in[INFERD_MAX_INPUTS];
    struct inferd_output_request outs[INFERD_MAX_OUTPUTS];
    int rc;
    if (!req || !req->model || !*req->model)
        return client_fail(-EINVAL, err, errlen, "request names no model");
    if (req->ninputs < 1 || req->ninputs > INFERD_MAX_INPUTS || !req->inputs)
        return client_fail(-EINVAL, err, errlen, "%zu inputs (1 to %d)", req->ninputs,
                           INFERD_MAX_INPUTS);
    if (req->noutputs > INFERD_MAX_OUTPUTS || (req->noutputs && !req->outputs))
        return client_fail(-EINVAL, err, errlen, "%zu outputs asked for (at most %d)",
                           req->noutputs, INFERD_MAX_OUTPUTS);
    for (size_t i = 0; i < req->ninputs; i++)
        if ((rc = input_convert(&req->inputs[i], i, &in[i], err, errlen)) < 0) return rc;
    for (size_t i = 0; i < req->noutputs; i++) {
        const struct inferd_client_output_request *o = &req->outputs[i];
        char what[32];
        snprintf(what, sizeof(what), "outputs[%zu]", i);
        if (!o->name) return client_fail(-EINVAL, err, errlen, "%s: no name", what);
        if ((rc = topk_check(o->topk, what, err, errlen)) < 0) return rc;
        outs[i] = (struct inferd_output_request){ (char *)o->name, o->topk, o->omit_data };
    }
    if ((rc = topk_check(req->topk, "request", err, errlen)) < 0) return rc;
    if (req->timeout_ms > INFERD_MAX_TIMEOUT)
        return client_fail(-EINVAL, err, errlen, "timeout_ms %u too large", req->timeout_ms);
    struct inferd_request r = {
        .model = (char *)req->model,
        .ninputs = req->ninputs,
        .inputs = in,
        .noutputs = req->noutputs,
        .outputs = req->noutputs ? outs : NULL,
        .timeout_ms = req->timeout_ms,
        .topk = req->topk,
    };
    char why[400] = "";
    rc = inferd_request_encode(&r, meta, meta_len, NULL, why, sizeof(why));
    if (rc == -ENOMEM) return client_fail(rc, err, errlen, "out of memory");
    if (rc < 0) return client_fail(rc, err, errlen, "bad request: %s", why);
    return 0;
}

static int frame_send(struct inferd_client *c, struct iovec *iov, int iovcnt, uint64_t deadline,
                      char *err, size_t errlen)
{
    if (c->transport == INFERD_CLIENT_UNIX) return unix_send(c, iov, iovcnt, deadline, err, errlen);
    return nnc_send_frame(c, iov, iovcnt, deadline, err, errlen);
}

/* A nanomsg REQ socket carries one request: a new one cancels any abandoned
 * one (nanomsg drops its late reply) and is refused while one is live. */
static int nn_slot_take(struct inferd_client *c, char *err, size_t errlen)
{
    for (size_t i = c->npending; i-- > 0;)
        if (c->pending[i].abandoned) pending_remove(c, i);
    if (c->npending)
        return client_fail(-EBUSY, err, errlen,
                           "%s: a nanomsg connection carries one request at a time: receive the "
                           "reply to request %llu first, or open another connection",
                           c->address, (unsigned long long)c->pending[0].id);
    return 0;
}

/* Sends a frame of kind with meta and the given data parts; registers its id. */
static int frame_out(struct inferd_client *c, int kind, const char *meta, size_t meta_len,
                     const struct inferd_client_request *req, uint64_t deadline, uint64_t *id,
                     char *err, size_t errlen)
{
    struct iovec iov[INFERD_MAX_INPUTS + 2];
    uint8_t hdr[INFERD_FRAME_HEADER_SIZE];
    uint64_t data_len = 0;
    int n = 0, rc;
    if (c->transport == INFERD_CLIENT_NANOMSG && (rc = nn_slot_take(c, err, errlen)) < 0) return rc;
    iov[n++] = (struct iovec){ hdr, sizeof(hdr) };
    if (meta_len) iov[n++] = (struct iovec){ (void *)meta, meta_len };
    for (size_t i = 0; req && i < req->ninputs; i++) {
        if (req->inputs[i].size == 0) continue;
        iov[n++] = (struct iovec){ (void *)req->inputs[i].data, req->inputs[i].size };
        data_len += req->inputs[i].size;
    }
    struct inferd_frame_header h = {
        .kind = (uint16_t)kind,
        .meta_len = (uint32_t)meta_len,
        .request_id = client_id_next(c),
        .data_len = data_len,
    };
    if (meta_len > UINT32_MAX || inferd_frame_header_encode(&h, hdr) < 0)
        return client_fail(-EINVAL, err, errlen, "request too large to frame");
    /* Timed from before the write: the daemon may answer before a send
     * that woke it returns to us. */
    if ((rc = pending_add(c, h.request_id)) < 0)
        return client_fail(rc, err, errlen, "out of memory");
    rc = frame_send(c, iov, n, deadline, err, errlen);
    if (rc < 0) {
        /* Nothing of it reached the daemon unless the connection broke. */
        pending_remove(c, (size_t)pending_find(c, h.request_id));
        return rc;
    }
    *id = h.request_id;
    return 0;
}

int inferd_client_send(struct inferd_client *c, const struct inferd_client_request *req,
                       uint64_t *request_id, char *err, size_t errlen)
{
    char *meta = NULL;
    size_t meta_len = 0;
    uint64_t id = 0;
    if (request_id) *request_id = 0;
    if (c->broken) return client_broken_error(c, err, errlen);
    int rc = request_meta(req, &meta, &meta_len, err, errlen);
    if (rc < 0) return rc;
    rc = frame_out(c, INFERD_KIND_REQUEST, meta, meta_len, req, client_deadline(c->timeout_ms), &id,
                   err, errlen);
    free(meta);
    if (rc == 0 && request_id) *request_id = id;
    return rc;
}

static struct rx_frame *stash_take(struct inferd_client *c, uint64_t id)
{
    struct rx_frame **pp = &c->stash_head, *prev = NULL;
    for (; *pp; prev = *pp, pp = &(*pp)->next) {
        struct rx_frame *f = *pp;
        if (id && f->h.request_id != id) continue;
        *pp = f->next;
        if (c->stash_tail == f) c->stash_tail = prev;
        f->next = NULL;
        return f;
    }
    return NULL;
}

/* Waits for the reply to id (0: any live request). On a Unix socket other
 * replies wait in the stash, filed by unix_frame_file(). */
static int reply_await(struct inferd_client *c, uint64_t id, uint64_t deadline,
                       struct rx_frame **out, char *err, size_t errlen)
{
    struct rx_frame *f = NULL;
    int rc;
    *out = NULL;
    if (c->transport == INFERD_CLIENT_NANOMSG) {
        rc = nnc_read_frame(c, deadline, &f, err, errlen);
        if (rc < 0) {
            /* anything but a timeout consumed the one reply */
            if (rc != INFERD_E_TIMEOUT) c->npending = 0;
            return rc;
        }
        /* REQ matched it to the one request in flight; a frame error the
         * daemon could not tie to an id comes back with id 0. */
        uint64_t got = f->h.request_id;
        if (c->npending != 1 || (got != c->pending[0].id && got != 0)) {
            rx_frame_free(f);
            c->npending = 0;
            return client_fail(INFERD_E_BAD_FRAME, err, errlen,
                               "%s: reply for request id %llu, which is not in flight", c->address,
                               (unsigned long long)got);
        }
        f->h.request_id = c->pending[0].id;
        *out = f;
        return 0;
    }
    while (!(f = stash_take(c, id))) {
        if (c->broken) return client_broken_error(c, err, errlen);
        if ((rc = unix_read_frame(c, deadline, &f, err, errlen)) < 0) return rc;
        if ((rc = unix_frame_file(c, f, err, errlen)) < 0) return rc;
    }
    *out = f;
    return 0;
}

static int result_build(struct rx_frame *f, uint64_t sent_us, struct inferd_client_result **out,
                        char *err, size_t errlen)
{
    struct result_impl *ri = calloc(1, sizeof(*ri));
    char why[400] = "";
    int rc;
    if (!ri) {
        rx_frame_free(f);
        return client_fail(-ENOMEM, err, errlen, "out of memory");
    }
    ri->frame = f;
    rc = inferd_response_decode(f->meta, f->h.meta_len, f->h.data_len, &ri->resp, why, sizeof(why));
    if (rc < 0) {
        rc = rc == -ENOMEM ? client_fail(rc, err, errlen, "out of memory")
                           : client_fail(INFERD_E_BAD_FRAME, err, errlen,
                                         "unreadable response to request %llu: %s",
                                         (unsigned long long)f->h.request_id, why);
        goto fail;
    }
    const struct inferd_response *r = ri->resp;
    size_t nclasses = 0, ncopy = 0;
    for (size_t i = 0; i < r->ntopk; i++) nclasses += r->topk[i].nclasses;
    for (size_t i = 0; i < r->noutputs; i++) {
        size_t es = inferd_dtype_size(r->outputs[i].dtype);
        if (es > 1 && r->outputs[i].offset % es)
            ncopy += ((size_t)r->outputs[i].nbytes + 63) & ~(size_t)63;
    }
    ri->outputs = calloc(r->noutputs + 1, sizeof(*ri->outputs));
    ri->topk = calloc(r->ntopk + 1, sizeof(*ri->topk));
    ri->classes = calloc(nclasses + 1, sizeof(*ri->classes));
    if (ncopy) ri->copies = aligned_alloc(64, ncopy);
    if (!ri->outputs || !ri->topk || !ri->classes || (ncopy && !ri->copies)) {
        rc = client_fail(-ENOMEM, err, errlen, "out of memory");
        goto fail;
    }
    size_t copied = 0;
    for (size_t i = 0; i < r->noutputs; i++) {
        const struct inferd_tensor_meta *t = &r->outputs[i];
        struct inferd_client_output *o = &ri->outputs[i];
        size_t es = inferd_dtype_size(t->dtype);
        o->name = t->name;
        o->datatype = inferd_dtype_name(t->dtype);
        o->ndim = t->ndim;
        memcpy(o->shape, t->dims, sizeof(o->shape));
        o->size = (size_t)t->nbytes;
        o->data = f->data ? f->data + t->offset : NULL;
        if (es > 1 && t->offset % es) {
            memcpy(ri->copies + copied, o->data, o->size);
            o->data = ri->copies + copied;
            copied += (o->size + 63) & ~(size_t)63;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < r->ntopk; i++) {
        ri->topk[i].output = r->topk[i].output;
        ri->topk[i].nclasses = r->topk[i].nclasses;
        ri->topk[i].classes = &ri->classes[k];
        for (size_t j = 0; j < r->topk[i].nclasses; j++, k++) {
            ri->classes[k].index = r->topk[i].classes[j].index;
            ri->classes[k].score = r->topk[i].classes[j].score;
            ri->classes[k].label = r->topk[i].classes[j].label;
        }
    }
    struct inferd_client_result *p = &ri->pub;
    p->request_id = f->h.request_id;
    p->model = r->model;
    p->backend = r->backend;
    p->noutputs = r->noutputs;
    p->outputs = ri->outputs;
    p->ntopk = r->ntopk;
    p->topk = ri->topk;
    p->has_timing = r->has_timing;
    p->queue_us = r->timing.queue_us;
    p->compute_us = r->timing.compute_us;
    p->total_us = r->timing.total_us;
    p->latency_us = f->recv_us > sent_us ? f->recv_us - sent_us : 0;
    p->meta_json = f->meta;
    p->meta_len = f->h.meta_len;
    *out = p;
    return 0;
fail:
    inferd_client_result_free(&ri->pub);
    return rc;
}

/* The reply f to a live request: a result, an error code, or 0 for a pong. */
static int reply_convert(struct inferd_client *c, struct rx_frame *f,
                         struct inferd_client_result **out, char *err, size_t errlen)
{
    long i = pending_find(c, f->h.request_id);
    uint64_t sent_us = i >= 0 ? c->pending[i].sent_us : f->recv_us;
    if (i >= 0) pending_remove(c, (size_t)i);
    if (f->h.kind == INFERD_KIND_ERROR) {
        struct inferd_error_meta *em = NULL;
        char why[400] = "";
        int rc = inferd_error_meta_decode(f->meta, f->h.meta_len, &em, why, sizeof(why));
        if (rc == 0)
            rc = client_fail(em->code, err, errlen, "%s", em->message);
        else
            rc = client_fail(INFERD_E_BAD_FRAME, err, errlen, "unreadable error reply: %s", why);
        inferd_error_meta_free(em);
        rx_frame_free(f);
        return rc;
    }
    if (f->h.kind == INFERD_KIND_PONG) {
        rx_frame_free(f);
        return out ? client_fail(INFERD_E_BAD_FRAME, err, errlen, "a pong answered a request") : 0;
    }
    if (!out) {
        rx_frame_free(f);
        return client_fail(INFERD_E_BAD_FRAME, err, errlen, "a response answered a ping");
    }
    return result_build(f, sent_us, out, err, errlen);
}

int inferd_client_recv(struct inferd_client *c, struct inferd_client_result **out,
                       uint64_t *request_id, char *err, size_t errlen)
{
    *out = NULL;
    if (request_id) *request_id = 0;
    if (!c->stash_head) {
        if (c->broken) return client_broken_error(c, err, errlen);
        if (inferd_client_pending(c) == 0)
            return client_fail(-EAGAIN, err, errlen, "no request in flight");
    }
    struct rx_frame *f = NULL;
    int rc = reply_await(c, 0, client_deadline(c->timeout_ms), &f, err, errlen);
    if (rc < 0) return rc;
    if (request_id) *request_id = f->h.request_id;
    rc = reply_convert(c, f, out, err, errlen);
    if (rc == 0 && !*out) rc = client_fail(INFERD_E_BAD_FRAME, err, errlen, "unexpected pong");
    return rc;
}

/* Sends and waits: the body of infer and ping. */
static int roundtrip(struct inferd_client *c, int kind, const char *meta, size_t meta_len,
                     const struct inferd_client_request *req, struct inferd_client_result **out,
                     char *err, size_t errlen)
{
    uint64_t deadline = client_deadline(c->timeout_ms), id = 0;
    struct rx_frame *f = NULL;
    int rc = frame_out(c, kind, meta, meta_len, req, deadline, &id, err, errlen);
    if (rc < 0) return rc;
    rc = reply_await(c, id, deadline, &f, err, errlen);
    if (rc < 0) {
        long i = pending_find(c, id);
        if (i >= 0) c->pending[i].abandoned = true;
        return rc;
    }
    return reply_convert(c, f, out, err, errlen);
}

int inferd_client_infer(struct inferd_client *c, const struct inferd_client_request *req,
                        struct inferd_client_result **out, char *err, size_t errlen)
{
    char *meta = NULL;
    size_t meta_len = 0;
    *out = NULL;
    if (c->broken) return client_broken_error(c, err, errlen);
    int rc = request_meta(req, &meta, &meta_len, err, errlen);
    if (rc < 0) return rc;
    rc = roundtrip(c, INFERD_KIND_REQUEST, meta, meta_len, req, out, err, errlen);
    free(meta);
    return rc;
}

int inferd_client_infer_jpeg(struct inferd_client *c, const char *model, const void *jpeg,
                             size_t size, int topk, struct inferd_client_result **out, char *err,
                             size_t errlen)
{
    struct inferd_client_input in = { .image = INFERD_CLIENT_IMAGE_JPEG,
                                      .data = jpeg,
                                      .size = size };
    struct inferd_client_request req = {
        .model = model, .inputs = &in, .ninputs = 1, .topk = topk
    };
    return inferd_client_infer(c, &req, out, err, errlen);
}

int inferd_client_infer_pixels(struct inferd_client *c, const char *model, int format,
                               const void *pixels, uint32_t width, uint32_t height, int topk,
                               struct inferd_client_result **out, char *err, size_t errlen)
{
    if (format != INFERD_CLIENT_IMAGE_RGB8 && format != INFERD_CLIENT_IMAGE_BGR8) {
        *out = NULL;
        return client_fail(-EINVAL, err, errlen, "pixel format %d is neither RGB8 nor BGR8",
                           format);
    }
    struct inferd_client_input in = {
        .image = format,
        .data = pixels,
        .width = width,
        .height = height,
        .size = (size_t)width * height * 3,
    };
    struct inferd_client_request req = {
        .model = model, .inputs = &in, .ninputs = 1, .topk = topk
    };
    return inferd_client_infer(c, &req, out, err, errlen);
}

int inferd_client_ping(struct inferd_client *c, char *err, size_t errlen)
{
    if (c->broken) return client_broken_error(c, err, errlen);
    return roundtrip(c, INFERD_KIND_PING, NULL, 0, NULL, NULL, err, errlen);
}

static bool command_valid(const char *cmd)
{
    size_t n = 0;
    for (; cmd[n]; n++)
        if (!((cmd[n] >= 'a' && cmd[n] <= 'z') || (cmd[n] >= '0' && cmd[n] <= '9') ||
              cmd[n] == '_' || cmd[n] == '-'))
            return false;
    return n > 0 && n <= 64;
}

int inferd_client_command(struct inferd_client *c, const char *command, char **reply, char *err,
                          size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;
    *reply = NULL;
    if (!command || !command_valid(command))
        return client_fail(-EINVAL, err, errlen,
                           "'%s' is not a command (try: health, stats, models, version, metrics)",
                           command ? command : "(null)");
    if (c->broken && c->transport == INFERD_CLIENT_NANOMSG)
        return client_broken_error(c, err, errlen);
    uint64_t deadline = client_deadline(c->timeout_ms);
    if (c->transport == INFERD_CLIENT_UNIX) {
        rc = unix_command(c, command, deadline, &buf, &len, err, errlen);
    } else {
        if ((rc = nn_slot_take(c, err, errlen)) < 0) return rc;
        rc = nnc_command(c, command, deadline, &buf, &len, err, errlen);
    }
    if (rc < 0) return rc;
    if (len && buf[len - 1] == '\n') buf[--len] = 0;
    if (strncmp(buf, "{\"error\"", 8) == 0) {
        struct inferd_error_meta *em = NULL;
        if (inferd_error_meta_decode(buf, len, &em, NULL, 0) == 0) {
            rc = client_fail(em->code, err, errlen, "%s", em->message);
            inferd_error_meta_free(em);
            free(buf);
            return rc;
        }
    }
    *reply = buf;
    return 0;
}
