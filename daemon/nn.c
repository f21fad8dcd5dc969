/* nanomsg listeners: raw REP sockets (AF_SP_RAW), so many requests are in
 * flight on one socket and replies go back in any order, each carrying its
 * request's routing header. nanomsg is plugged into the libuv loop through its
 * NN_RCVFD / NN_SNDFD descriptors. Each message is one whole frame, or a text
 * command for nanocat. */
#include "inferd_error.h"
#include "log.h"
#include "server_int.h"

#include <errno.h>
#include <limits.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nn_pending {
    void *ctl;
    uint8_t *buf;
    size_t len;
    struct nn_pending *next;
};

struct nn_endpoint {
    struct inferd_server *s;
    char *addr;
    int sock;
    uv_poll_t rcv, snd;
    bool rcv_active, snd_active, snd_polling;
    struct nn_pending *pending, *pending_tail;
};

void nn_ctl_free(void *ctl)
{
    if (ctl) nn_freemsg(ctl);
}

/* Tries to send; 1 when sent, 0 when it would block, <0 on error. */
static int reply_try(struct nn_endpoint *ep, void **ctl, uint8_t *buf, size_t len)
{
    struct nn_iovec iov = { buf, len };
    struct nn_msghdr hdr;
    memset(&hdr, 0, sizeof(hdr));
    hdr.msg_iov = &iov;
    hdr.msg_iovlen = 1;
    hdr.msg_control = ctl;
    hdr.msg_controllen = NN_MSG;
    if (nn_sendmsg(ep->sock, &hdr, NN_DONTWAIT) >= 0) return 1; /* ctl now nanomsg's */
    return nn_errno() == EAGAIN ? 0 : -nn_errno();
}

static void snd_ready(uv_poll_t *p, int status, int events);

void nn_endpoint_reply(struct nn_endpoint *ep, void *ctl, uint8_t *buf, size_t len)
{
    if (!ctl) {
        free(buf);
        return;
    }
    if (!ep->pending) {
        int rc = reply_try(ep, &ctl, buf, len);
        if (rc != 0) {
            if (rc < 0) {
                log_debug("nanomsg %s: reply dropped: %s", ep->addr, nn_strerror(-rc));
                nn_freemsg(ctl);
            }
            free(buf);
            return;
        }
    }
    struct nn_pending *pd = malloc(sizeof(*pd));
    if (!pd) {
        nn_freemsg(ctl);
        free(buf);
        return;
    }
    *pd = (struct nn_pending){ ctl, buf, len, NULL };
    if (ep->pending_tail)
        ep->pending_tail->next = pd;
    else
        ep->pending = pd;
    ep->pending_tail = pd;
    if (ep->snd_active && !ep->snd_polling) {
        uv_poll_start(&ep->snd, UV_READABLE, snd_ready);
        ep->snd_polling = true;
    }
}

static void snd_ready(uv_poll_t *p, int status, int events)
{
    struct nn_endpoint *ep = p->data;
    (void)status, (void)events;
    while (ep->pending) {
        struct nn_pending *pd = ep->pending;
        int rc = reply_try(ep, &pd->ctl, pd->buf, pd->len);
        if (rc == 0) return;
        if (rc < 0) nn_freemsg(pd->ctl);
        ep->pending = pd->next;
        if (!ep->pending) ep->pending_tail = NULL;
        free(pd->buf);
        free(pd);
    }
    uv_poll_stop(&ep->snd);
    ep->snd_polling = false;
}

/* A text message: one or more command lines, answered in one message. */
static void text_message(struct nn_endpoint *ep, const char *body, size_t n, void *ctl)
{
    size_t cap = 0, len = 0;
    uint8_t *out = NULL;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && body[i] != '\n') continue;
        size_t linelen = i - start;
        if (linelen > INFERD_TEXT_MAX_LINE) linelen = INFERD_TEXT_MAX_LINE;
        char *reply = dispatch_text(ep->s, body + start, linelen);
        start = i + 1;
        if (!reply) continue;
        size_t rl = strlen(reply);
        if (len + rl > cap) {
            cap = (len + rl) * 2;
            uint8_t *grown = realloc(out, cap);
            if (!grown) {
                free(reply);
                break;
            }
            out = grown;
        }
        memcpy(out + len, reply, rl);
        len += rl;
        free(reply);
    }
    if (!out) {
        /* nanocat waits for a reply: blank input gets an empty one. */
        out = malloc(1);
        if (!out) {
            nn_freemsg(ctl);
            return;
        }
        len = 0;
    }
    /* A message is its own boundary: no trailing newline (nanocat -A would
     * show it as a dot). */
    if (len > 0 && out[len - 1] == '\n') len--;
    ep->s->bytes_out += len;
    nn_endpoint_reply(ep, ctl, out, len);
}

static void message_handle(struct nn_endpoint *ep, const uint8_t *body, size_t n, void *ctl)
{
    struct inferd_server *s = ep->s;
    if (inferd_text_sniff(body, n) != INFERD_SNIFF_FRAME) {
        s->bytes_in += n;
        bool printable = true;
        for (size_t i = 0; i < n; i++)
            if ((body[i] < 0x20 && body[i] != '\t' && body[i] != '\n' && body[i] != '\r') ||
                body[i] >= 0x7f)
                printable = false;
        if (printable) {
            text_message(ep, (const char *)body, n, ctl);
        } else {
            struct reply_to to = { NULL, ep, ctl };
            s->frames_bad++;
            dispatch_error(s, &to, 0, INFERD_E_BAD_FRAME,
                           "neither an inferd frame (bad magic) nor a text command");
        }
        return;
    }
    struct inferd_frame_limits lim = { .max_frame_bytes = s->conf->max_frame_bytes };
    struct inferd_frame_header h;
    const uint8_t *meta, *data;
    char err[256];
    struct reply_to to = { NULL, ep, ctl };
    int rc = inferd_frame_split(body, n, &lim, &h, &meta, &data, err, sizeof(err));
    if (rc < 0) {
        s->frames_bad++;
        s->bytes_in += n;
        dispatch_error(s, &to, 0, rc, err);
        return;
    }
    uint8_t *frame = malloc(n);
    if (!frame) {
        dispatch_error(s, &to, h.request_id, INFERD_E_INTERNAL, "out of memory");
        return;
    }
    memcpy(frame, body, n);
    dispatch_frame(s, &to, frame, n, &h);
    if (to.ctl) nn_freemsg(to.ctl);
}

static void rcv_ready(uv_poll_t *p, int status, int events)
{
    struct nn_endpoint *ep = p->data;
    (void)status, (void)events;
    for (;;) {
        void *body = NULL, *ctl = NULL;
        struct nn_iovec iov = { &body, NN_MSG };
        struct nn_msghdr hdr;
        memset(&hdr, 0, sizeof(hdr));
        hdr.msg_iov = &iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = &ctl;
        hdr.msg_controllen = NN_MSG;
        int n = nn_recvmsg(ep->sock, &hdr, NN_DONTWAIT);
        if (n < 0) {
            int e = nn_errno();
            if (e == EINTR) continue;
            if (e != EAGAIN) log_warn("nanomsg %s: receive failed: %s", ep->addr, nn_strerror(e));
            return;
        }
        message_handle(ep, body, (size_t)n, ctl);
        nn_freemsg(body);
    }
}

static int endpoint_open(struct inferd_server *s, struct nn_endpoint *ep, const char *addr,
                         char *err, size_t errlen)
{
    ep->s = s;
    ep->sock = -1;
    ep->addr = strdup(addr);
    if (!ep->addr) return -ENOMEM;
    ep->sock = nn_socket(AF_SP_RAW, NN_REP);
    if (ep->sock < 0) {
        snprintf(err, errlen, "nanomsg %s: %s", addr, nn_strerror(nn_errno()));
        return -nn_errno();
    }
    int maxsize = s->conf->max_frame_bytes > INT_MAX ? -1 : (int)s->conf->max_frame_bytes;
    nn_setsockopt(ep->sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsize, sizeof(maxsize));
    int linger = 0;
    nn_setsockopt(ep->sock, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof(linger));
    if (nn_bind(ep->sock, addr) < 0) {
        snprintf(err, errlen, "nanomsg %s: %s", addr, nn_strerror(nn_errno()));
        return -nn_errno();
    }
    int rfd = -1, sfd = -1;
    size_t sz = sizeof(int);
    if (nn_getsockopt(ep->sock, NN_SOL_SOCKET, NN_RCVFD, &rfd, &sz) < 0 ||
        nn_getsockopt(ep->sock, NN_SOL_SOCKET, NN_SNDFD, &sfd, &(size_t){ sizeof(int) }) < 0) {
        snprintf(err, errlen, "nanomsg %s: no pollable descriptors", addr);
        return -EIO;
    }
    if (uv_poll_init(s->loop, &ep->rcv, rfd) < 0 || uv_poll_init(s->loop, &ep->snd, sfd) < 0) {
        snprintf(err, errlen, "nanomsg %s: cannot poll its descriptors", addr);
        return -EIO;
    }
    ep->rcv_active = ep->snd_active = true;
    ep->rcv.data = ep->snd.data = ep;
    uv_poll_start(&ep->rcv, UV_READABLE, rcv_ready);
    log_info("listening on nanomsg %s", addr);
    return 0;
}

int nn_endpoints_open(struct inferd_server *s, char *err, size_t errlen)
{
    if (s->conf->nnanomsg == 0) return 0;
    s->nn = calloc((size_t)s->conf->nnanomsg, sizeof(*s->nn));
    if (!s->nn) return -ENOMEM;
    for (int i = 0; i < s->conf->nnanomsg; i++) {
        s->nnn++;
        int rc = endpoint_open(s, &s->nn[i], s->conf->nanomsg[i], err, errlen);
        if (rc < 0) return rc;
    }
    return 0;
}

void nn_endpoints_stop_receiving(struct inferd_server *s)
{
    for (int i = 0; i < s->nnn; i++)
        if (s->nn[i].rcv_active) uv_poll_stop(&s->nn[i].rcv);
}

static void poll_closed(uv_handle_t *h)
{
    (void)h;
}

void nn_endpoints_close(struct inferd_server *s)
{
    for (int i = 0; i < s->nnn; i++) {
        struct nn_endpoint *ep = &s->nn[i];
        if (ep->rcv_active) uv_close((uv_handle_t *)&ep->rcv, poll_closed);
        if (ep->snd_active) uv_close((uv_handle_t *)&ep->snd, poll_closed);
        ep->rcv_active = ep->snd_active = false;
        while (ep->pending) {
            struct nn_pending *pd = ep->pending;
            ep->pending = pd->next;
            nn_freemsg(pd->ctl);
            free(pd->buf);
            free(pd);
        }
        ep->pending_tail = NULL;
    }
}

/* Called after the loop has closed the poll handles. */
void nn_endpoints_free(struct inferd_server *s)
{
    for (int i = 0; i < s->nnn; i++) {
        if (s->nn[i].sock >= 0) nn_close(s->nn[i].sock);
        free(s->nn[i].addr);
    }
    free(s->nn);
    s->nn = NULL;
    s->nnn = 0;
}
