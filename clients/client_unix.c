/* The Unix stream socket transport: a non-blocking socket driven by poll(),
 * so every wait has a deadline; frames are read through a buffer and a
 * resumable state machine, so a timeout in the middle of a reply loses
 * nothing and the next call picks up where this one stopped. */
#include "client_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int timeout_error(const struct inferd_client *c, const char *what, char *err, size_t errlen)
{
    return client_fail(INFERD_E_TIMEOUT, err, errlen, "%s: no %s within %d ms", c->address, what,
                       c->timeout_ms);
}

int unix_connect_path(const char *path, uint64_t deadline, int *fd, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof(sa.sun_path))
        return client_fail(-ENAMETOOLONG, err, errlen,
                           "%s: socket path too long (%zu bytes, at most %zu)", path, n,
                           sizeof(sa.sun_path) - 1);
    memcpy(sa.sun_path, path, n);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return client_fail(-errno, err, errlen, "socket: %s", strerror(errno));
    for (;;) {
        if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) break;
        int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EINPROGRESS) {
            /* The listener's backlog is full: a Unix socket has no pending
             * connect to poll for, so retry until the deadline. */
            int left = client_ms_left(deadline);
            if (left == 0) {
                close(s);
                return client_fail(INFERD_E_TIMEOUT, err, errlen,
                                   "%s: the daemon accepted no connection in time", path);
            }
            usleep(left < 0 || left > 5 ? 5000 : (useconds_t)left * 1000);
            continue;
        }
        close(s);
        if (e == ENOENT)
            return client_fail(-e, err, errlen, "%s: no such socket (is inferd running?)", path);
        if (e == ECONNREFUSED)
            return client_fail(-e, err, errlen,
                               "%s: connection refused (no daemon listening on this socket)", path);
        return client_fail(-e, err, errlen, "%s: cannot connect: %s", path, strerror(e));
    }
    *fd = s;
    return 0;
}

void unix_close(struct inferd_client *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

static int peer_closed(struct inferd_client *c, char *err, size_t errlen)
{
    bool mid = c->rx.hdr_have > 0 || c->rx.f;
    char why[256];
    snprintf(why, sizeof(why), "the daemon closed the connection%s",
             mid ? " in the middle of a reply" : "");
    client_break(c, why);
    return client_fail(-ECONNRESET, err, errlen, "%s: %s", c->address, why);
}

static int io_failed(struct inferd_client *c, const char *op, int e, char *err, size_t errlen)
{
    char why[256];
    if (e == EPIPE || e == ECONNRESET)
        snprintf(why, sizeof(why), "the daemon closed the connection (seen on %s)", op);
    else
        snprintf(why, sizeof(why), "%s failed: %s", op, strerror(e));
    client_break(c, why);
    return client_fail(-e, err, errlen, "%s: %s", c->address, why);
}

/* Fills rbuf when empty: 1 when bytes came, 0 when none are ready yet,
 * <0 on end of stream or error. */
static int rbuf_fill(struct inferd_client *c, char *err, size_t errlen)
{
    if (c->rpos < c->rlen) return 1;
    c->rpos = c->rlen = 0;
    for (;;) {
        ssize_t n = recv(c->fd, c->rbuf, CLIENT_RBUF_SIZE, MSG_DONTWAIT);
        if (n > 0) {
            c->rlen = (size_t)n;
            return 1;
        }
        if (n == 0) return peer_closed(c, err, errlen);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return io_failed(c, "receive", errno, err, errlen);
    }
}

/* Copies up to want bytes from rbuf; when rbuf is empty and a large part
 * remains, reads straight into dst instead. Returns bytes moved (0: none
 * ready) or <0. */
static ssize_t rx_take(struct inferd_client *c, void *dst, size_t want, char *err, size_t errlen)
{
    if (c->rpos == c->rlen && want >= CLIENT_RBUF_SIZE) {
        for (;;) {
            ssize_t n = recv(c->fd, dst, want, MSG_DONTWAIT);
            if (n > 0) return n;
            if (n == 0) return peer_closed(c, err, errlen);
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return io_failed(c, "receive", errno, err, errlen);
        }
    }
    int rc = rbuf_fill(c, err, errlen);
    if (rc <= 0) return rc;
    size_t n = c->rlen - c->rpos < want ? c->rlen - c->rpos : want;
    memcpy(dst, c->rbuf + c->rpos, n);
    c->rpos += n;
    return (ssize_t)n;
}

/* Advances the frame being read with the bytes available now. 1 and *out
 * when a frame completed; 0 when more bytes are needed; <0 on failure (the
 * connection is then broken: the stream cannot be trusted to be in step). */
static int rx_step(struct inferd_client *c, struct rx_frame **out, char *err, size_t errlen)
{
    struct rx_state *rx = &c->rx;
    for (;;) {
        if (!rx->f) {
            ssize_t n =
                rx_take(c, rx->hdr + rx->hdr_have, sizeof(rx->hdr) - rx->hdr_have, err, errlen);
            if (n <= 0) return (int)n;
            rx->hdr_have += (size_t)n;
            struct inferd_frame_header h;
            char why[300];
            int rc =
                inferd_frame_header_decode(rx->hdr, rx->hdr_have, &c->lim, &h, why, sizeof(why));
            if (rc > 0) continue;
            if (rc < 0) {
                char msg[400];
                snprintf(msg, sizeof(msg), "reply refused: %s", why);
                client_break(c, msg);
                return client_fail(rc, err, errlen, "%s: %s", c->address, msg);
            }
            if (h.kind == INFERD_KIND_REQUEST || h.kind == INFERD_KIND_PING) {
                client_break(c, "the daemon sent a request frame");
                return client_fail(INFERD_E_BAD_FRAME, err, errlen,
                                   "%s: the daemon sent a frame of kind %u (a request)", c->address,
                                   (unsigned)h.kind);
            }
            if (!(rx->f = rx_frame_new(&h))) {
                client_break(c, "out of memory for a reply");
                return client_fail(-ENOMEM, err, errlen,
                                   "%s: out of memory for a reply of %zu bytes", c->address,
                                   inferd_frame_size(&h));
            }
            rx->meta_have = 0;
            rx->data_have = 0;
        }
        struct rx_frame *f = rx->f;
        if (rx->meta_have < f->h.meta_len) {
            ssize_t n =
                rx_take(c, f->meta + rx->meta_have, f->h.meta_len - rx->meta_have, err, errlen);
            if (n <= 0) return (int)n;
            rx->meta_have += (size_t)n;
            continue;
        }
        if (rx->data_have < f->h.data_len) {
            ssize_t n = rx_take(c, f->data + rx->data_have, (size_t)(f->h.data_len - rx->data_have),
                                err, errlen);
            if (n <= 0) return (int)n;
            rx->data_have += (uint64_t)n;
            continue;
        }
        f->recv_us = client_now_us();
        *out = f;
        rx->f = NULL;
        rx->hdr_have = 0;
        return 1;
    }
}

/* An error frame about the connection (request id 0): the daemon hangs up
 * after it, and its message becomes the connection's epitaph. */
static int connection_error(struct inferd_client *c, struct rx_frame *f, char *err, size_t errlen)
{
    struct inferd_error_meta *em = NULL;
    char why[600];
    int code = INFERD_E_BAD_FRAME;
    if (inferd_error_meta_decode(f->meta, f->h.meta_len, &em, NULL, 0) == 0) {
        code = em->code;
        snprintf(why, sizeof(why), "the daemon ended the connection: %s: %s", em->name,
                 em->message);
    } else {
        snprintf(why, sizeof(why), "the daemon ended the connection with an unreadable error");
    }
    inferd_error_meta_free(em);
    rx_frame_free(f);
    client_break(c, why);
    return client_fail(code, err, errlen, "%s: %s", c->address, why);
}

int unix_frame_file(struct inferd_client *c, struct rx_frame *f, char *err, size_t errlen)
{
    if (f->h.request_id == 0 && f->h.kind == INFERD_KIND_ERROR)
        return connection_error(c, f, err, errlen);
    long i = pending_find(c, f->h.request_id);
    if (i < 0) {
        uint64_t bad = f->h.request_id;
        rx_frame_free(f);
        client_break(c, "the daemon answered a request id never sent");
        return client_fail(INFERD_E_BAD_FRAME, err, errlen,
                           "%s: reply for request id %llu, which was never sent", c->address,
                           (unsigned long long)bad);
    }
    if (c->pending[i].abandoned) {
        pending_remove(c, (size_t)i);
        rx_frame_free(f);
        return 0;
    }
    stash_push(c, f);
    return 0;
}

int unix_read_frame(struct inferd_client *c, uint64_t deadline, struct rx_frame **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    for (;;) {
        int rc = rx_step(c, out, err, errlen);
        if (rc != 0) return rc < 0 ? rc : 0;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int left = client_ms_left(deadline);
        if (left == 0) return timeout_error(c, "reply", err, errlen);
        int n = poll(&p, 1, left);
        if (n < 0 && errno != EINTR) return io_failed(c, "poll", errno, err, errlen);
    }
}

int unix_send(struct inferd_client *c, struct iovec *iov, int iovcnt, uint64_t deadline, char *err,
              size_t errlen)
{
    size_t sent = 0;
    while (iovcnt > 0 && iov->iov_len == 0) iov++, iovcnt--;
    while (iovcnt > 0) {
        struct msghdr mh;
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)iovcnt;
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += (size_t)n;
            while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
                n -= (ssize_t)iov->iov_len;
                iov++, iovcnt--;
            }
            if (iovcnt > 0) {
                iov->iov_base = (uint8_t *)iov->iov_base + n;
                iov->iov_len -= (size_t)n;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return io_failed(c, "send", errno, err, errlen);
        /* No room: the daemon may be waiting for us to read its replies
         * before it reads more, so read them while waiting. */
        struct pollfd p = { .fd = c->fd, .events = POLLOUT | POLLIN };
        int left = client_ms_left(deadline);
        if (left == 0) {
            if (sent > 0) client_break(c, "a request was sent only in part when the timeout hit");
            return timeout_error(c, "room to send the request", err, errlen);
        }
        int pn = poll(&p, 1, left);
        if (pn < 0 && errno != EINTR) return io_failed(c, "poll", errno, err, errlen);
        if (pn > 0 && (p.revents & POLLIN)) {
            struct rx_frame *f = NULL;
            int rc;
            while ((rc = rx_step(c, &f, err, errlen)) == 1)
                if ((rc = unix_frame_file(c, f, err, errlen)) < 0) break;
            if (rc < 0) return rc;
        }
    }
    return 0;
}

/* A text command on its own short-lived connection: a connection is either
 * binary or text, decided by its first bytes. Half-closing after the command
 * makes the daemon hang up once it has answered, so the end of the reply is
 * the end of the stream; a JSON reply also ends at its newline. */
int unix_command(struct inferd_client *c, const char *cmd, uint64_t deadline, char **reply,
                 size_t *reply_len, char *err, size_t errlen)
{
    int fd = -1, rc;
    size_t cap = 4096, len = 0;
    bool multiline = strcmp(cmd, "metrics") == 0;
    size_t limit =
        c->lim.max_frame_bytes ? (size_t)c->lim.max_frame_bytes : INFERD_FRAME_MAX_DEFAULT;
    char *buf = malloc(cap);
    *reply = NULL;
    if (!buf) return client_fail(-ENOMEM, err, errlen, "out of memory");
    if ((rc = unix_connect_path(c->unix_path, deadline, &fd, err, errlen)) < 0) goto out;
    char line[INFERD_TEXT_MAX_LINE + 2];
    int n = snprintf(line, sizeof(line), "%s\n", cmd);
    size_t off = 0;
    while (off < (size_t)n) {
        ssize_t w = send(fd, line + off, (size_t)n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno != EAGAIN) {
            rc = client_fail(-errno, err, errlen, "%s: sending '%s': %s", c->address, cmd,
                             strerror(errno));
            goto out;
        }
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int left = client_ms_left(deadline);
        if (left == 0 || poll(&p, 1, left) == 0) {
            rc = timeout_error(c, "room to send the command", err, errlen);
            goto out;
        }
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        if (!multiline && len > 0 && memchr(buf, '\n', len)) break;
        /* metrics end with a "# EOF" line */
        if (multiline && len >= 6 && memcmp(buf + len - 6, "# EOF\n", 6) == 0 &&
            (len == 6 || buf[len - 7] == '\n'))
            break;
        if (len + 1 >= cap) {
            if (cap >= limit) {
                rc = client_fail(INFERD_E_TOO_LARGE, err, errlen,
                                 "%s: reply to '%s' longer than %zu bytes", c->address, cmd, limit);
                goto out;
            }
            size_t ncap = cap * 2 > limit ? limit : cap * 2;
            char *grown = realloc(buf, ncap);
            if (!grown) {
                rc = client_fail(-ENOMEM, err, errlen, "out of memory");
                goto out;
            }
            buf = grown;
            cap = ncap;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        if (r == 0) break;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            rc = client_fail(-errno, err, errlen, "%s: reading the reply to '%s': %s", c->address,
                             cmd, strerror(errno));
            goto out;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int left = client_ms_left(deadline);
        if (left == 0) {
            rc = timeout_error(c, "reply", err, errlen);
            goto out;
        }
        if (poll(&p, 1, left) < 0 && errno != EINTR) {
            rc = client_fail(-errno, err, errlen, "poll: %s", strerror(errno));
            goto out;
        }
    }
    if (!multiline) {
        char *nl = memchr(buf, '\n', len);
        if (nl) len = (size_t)(nl - buf) + 1;
    }
    if (len == 0) {
        rc = client_fail(-ECONNRESET, err, errlen,
                         "%s: the daemon closed the connection without answering '%s'", c->address,
                         cmd);
        goto out;
    }
    buf[len] = 0;
    *reply = buf;
    *reply_len = len;
    buf = NULL;
    rc = 0;
out:
    if (fd >= 0) close(fd);
    free(buf);
    return rc;
}
