/* The nanomsg transport: a REQ socket connected to the daemon's raw REP
 * socket. Each message is one whole frame (or a text command), so a bad
 * reply spoils only its own request, never the connection. REQ carries one
 * request at a time and matches the reply to it itself; sending a new
 * request drops the reply to an abandoned one. */
#include "client_int.h"

#include <errno.h>
#include <limits.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int nn_fail(struct inferd_client *c, const char *op, char *err, size_t errlen)
{
    int e = nn_errno();
    if (e == ETIMEDOUT || e == EAGAIN) {
        /* nanomsg connects in the background: say when it never did. */
        bool never = nn_get_statistic(c->nn, NN_STAT_CURRENT_CONNECTIONS) == 0;
        return client_fail(INFERD_E_TIMEOUT, err, errlen, "%s: no %s within %d ms%s", c->address,
                           op, c->timeout_ms,
                           never ? " (not connected: is inferd listening there?)" : "");
    }
    if (e == ETERM || e == EBADF) client_break(c, nn_strerror(e));
    return client_fail(-e, err, errlen, "%s: %s: %s", c->address, op, nn_strerror(e));
}

/* Sets the timeout option for the next blocking call: -1 waits forever. */
static int nn_timeo(struct inferd_client *c, int option, uint64_t deadline, const char *op,
                    char *err, size_t errlen)
{
    int ms = client_ms_left(deadline);
    if (ms == 0)
        return client_fail(INFERD_E_TIMEOUT, err, errlen, "%s: no %s within %d ms", c->address, op,
                           c->timeout_ms);
    if (nn_setsockopt(c->nn, NN_SOL_SOCKET, option, &ms, sizeof(ms)) < 0)
        return nn_fail(c, "setting a timeout", err, errlen);
    return 0;
}

static int max_message(const struct inferd_client *c)
{
    uint64_t lim = c->lim.max_frame_bytes ? c->lim.max_frame_bytes : INFERD_FRAME_MAX_DEFAULT;
    return lim > INT_MAX ? -1 : (int)lim;
}

int nnc_open(struct inferd_client *c, const char *address, char *err, size_t errlen)
{
    if (c->unix_path) {
        /* nanomsg would retry a missing ipc path in the background forever;
         * say so now, while the cause is plain. */
        struct stat st;
        if (stat(c->unix_path, &st) < 0)
            return client_fail(-errno, err, errlen, "%s: %s%s", address, strerror(errno),
                               errno == ENOENT ? " (is inferd running?)" : "");
    }
    c->nn = nn_socket(AF_SP, NN_REQ);
    if (c->nn < 0) return nn_fail(c, "socket", err, errlen);
    /* Never resend on our own: the daemon would run the request twice. The
     * client's timeout decides when to give up instead. */
    int resend = INT_MAX;
    int maxsize = max_message(c);
    if (nn_setsockopt(c->nn, NN_REQ, NN_REQ_RESEND_IVL, &resend, sizeof(resend)) < 0 ||
        nn_setsockopt(c->nn, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsize, sizeof(maxsize)) < 0)
        return nn_fail(c, "setting socket options", err, errlen);
    if (nn_connect(c->nn, address) < 0) return nn_fail(c, "connect", err, errlen);
    return 0;
}

void nnc_close(struct inferd_client *c)
{
    if (c->nn >= 0) nn_close(c->nn);
    c->nn = -1;
}

int nnc_send_frame(struct inferd_client *c, struct iovec *iov, int iovcnt, uint64_t deadline,
                   char *err, size_t errlen)
{
    struct nn_iovec niov[INFERD_MAX_INPUTS + 2];
    if (iovcnt > (int)(sizeof(niov) / sizeof(niov[0])))
        return client_fail(-EINVAL, err, errlen, "too many parts in one frame");
    for (int i = 0; i < iovcnt; i++) {
        niov[i].iov_base = iov[i].iov_base;
        niov[i].iov_len = iov[i].iov_len;
    }
    int rc = nn_timeo(c, NN_SNDTIMEO, deadline, "room to send the request", err, errlen);
    if (rc < 0) return rc;
    int maxsize = max_message(c); /* the limit may have changed since connect */
    nn_setsockopt(c->nn, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsize, sizeof(maxsize));
    struct nn_msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = niov;
    mh.msg_iovlen = iovcnt;
    while (nn_sendmsg(c->nn, &mh, 0) < 0) {
        if (nn_errno() == EINTR) continue;
        return nn_fail(c, "room to send the request", err, errlen);
    }
    return 0;
}

/* One reply message into a malloc'd buffer: returns its length or <0. */
static int nn_recv_message(struct inferd_client *c, uint64_t deadline, void **msg, char *err,
                           size_t errlen)
{
    int rc = nn_timeo(c, NN_RCVTIMEO, deadline, "reply", err, errlen);
    if (rc < 0) return rc;
    for (;;) {
        int n = nn_recv(c->nn, msg, NN_MSG, 0);
        if (n >= 0) return n;
        if (nn_errno() == EINTR) continue;
        return nn_fail(c, "reply", err, errlen);
    }
}

int nnc_read_frame(struct inferd_client *c, uint64_t deadline, struct rx_frame **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    void *msg = NULL;
    int n = nn_recv_message(c, deadline, &msg, err, errlen);
    if (n < 0) return n;
    struct inferd_frame_header h;
    const uint8_t *meta, *data;
    char why[300];
    int rc = inferd_frame_split(msg, (size_t)n, &c->lim, &h, &meta, &data, why, sizeof(why));
    if (rc < 0) {
        rc = client_fail(rc, err, errlen, "%s: reply refused: %s", c->address, why);
        goto out;
    }
    if (h.kind == INFERD_KIND_REQUEST || h.kind == INFERD_KIND_PING) {
        rc = client_fail(INFERD_E_BAD_FRAME, err, errlen,
                         "%s: the daemon sent a frame of kind %u (a request)", c->address,
                         (unsigned)h.kind);
        goto out;
    }
    struct rx_frame *f = rx_frame_new(&h);
    if (!f) {
        rc = client_fail(-ENOMEM, err, errlen, "%s: out of memory for a reply of %d bytes",
                         c->address, n);
        goto out;
    }
    if (h.meta_len) memcpy(f->meta, meta, h.meta_len);
    if (h.data_len) memcpy(f->data, data, (size_t)h.data_len);
    f->recv_us = client_now_us();
    *out = f;
    rc = 0;
out:
    nn_freemsg(msg);
    return rc;
}

int nnc_command(struct inferd_client *c, const char *cmd, uint64_t deadline, char **reply,
                size_t *reply_len, char *err, size_t errlen)
{
    *reply = NULL;
    int rc = nn_timeo(c, NN_SNDTIMEO, deadline, "room to send the command", err, errlen);
    if (rc < 0) return rc;
    while (nn_send(c->nn, cmd, strlen(cmd), 0) < 0) {
        if (nn_errno() == EINTR) continue;
        return nn_fail(c, "room to send the command", err, errlen);
    }
    void *msg = NULL;
    int n = nn_recv_message(c, deadline, &msg, err, errlen);
    if (n < 0) return n;
    char *buf = malloc((size_t)n + 1);
    if (!buf) {
        nn_freemsg(msg);
        return client_fail(-ENOMEM, err, errlen, "out of memory");
    }
    memcpy(buf, msg, (size_t)n);
    buf[n] = 0;
    nn_freemsg(msg);
    *reply = buf;
    *reply_len = (size_t)n;
    return 0;
}
