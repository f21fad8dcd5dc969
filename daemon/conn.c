/* The Unix stream listener and its connections: sniffing binary frames from
 * text commands, reassembling frames from arbitrary chunks (lengths checked
 * before anything is allocated), idle timeouts, back-pressure on clients that
 * do not read their replies. */
#include "inferd_error.h"
#include "job.h"
#include "log.h"
#include "server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum conn_mode { MODE_SNIFF = 0, MODE_FRAME, MODE_TEXT };

struct conn {
    uv_pipe_t pipe;
    uv_timer_t idle;
    struct inferd_server *s;
    struct conn *prev, *next;
    int refs; /* open handles + jobs in flight */
    int mode;
    bool closing;
    bool eof;
    bool close_after_write;
    bool reading;
    bool draining; /* shutting down: answer what is still arriving, then close */
    int jobs;      /* in flight */

    uint8_t sniff[INFERD_FRAME_MAGIC_LEN];
    size_t sniff_len;
    uint8_t hdr[INFERD_FRAME_HEADER_SIZE];
    size_t hdr_len;
    struct inferd_frame_header h;
    uint8_t *frame;
    size_t frame_len, frame_have;
    struct inferd_text_lines lines;

    size_t write_pending;
};

/* One read buffer for every connection: libuv reads on the loop thread and
 * read_cb consumes each chunk before returning, so nothing needs 64 KiB per
 * client (256 idle clients would hold 16 MiB). */
static char read_buffer[64 * 1024];

struct write_req {
    uv_write_t req;
    struct conn *c;
    uint8_t *buf;
    size_t len;
};

static void conn_close(struct conn *c);
static void conn_read_start(struct conn *c);

bool conn_is_open(const struct conn *c)
{
    return !c->closing;
}

void conn_unref(struct conn *c)
{
    if (--c->refs > 0) return;
    free(c->frame);
    free(c);
}

static void handle_closed(uv_handle_t *h)
{
    conn_unref(h->data);
}

static void conn_close(struct conn *c)
{
    if (c->closing) return;
    c->closing = true;
    struct inferd_server *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    uv_close((uv_handle_t *)&c->pipe, handle_closed);
    uv_close((uv_handle_t *)&c->idle, handle_closed);
    if (s->shutting_down) server_shutdown_progress(s);
}

/* Closes when nothing more is owed to the client. */
static void conn_maybe_finish(struct conn *c)
{
    if (c->closing) return;
    if ((c->eof || c->close_after_write) && c->write_pending == 0 && c->jobs == 0) conn_close(c);
}

void conn_close_soon(struct conn *c)
{
    c->close_after_write = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
    conn_maybe_finish(c);
}

void conn_job_started(struct conn *c)
{
    c->refs++;
    c->jobs++;
}

void conn_job_finished(struct conn *c)
{
    c->jobs--;
    conn_maybe_finish(c);
}

static void write_done(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = w->c;
    c->write_pending -= w->len;
    free(w->buf);
    free(w);
    if (status < 0 && status != UV_ECANCELED) {
        log_debug("client write failed: %s", uv_strerror(status));
        conn_close(c);
    } else if (!c->closing) {
        /* Resume reading once a slow reader has caught up. */
        if (!c->reading && !c->eof && !c->close_after_write &&
            c->write_pending < c->s->conf->max_frame_bytes)
            conn_read_start(c);
        conn_maybe_finish(c);
    }
    conn_unref(c);
}

void conn_send(struct conn *c, uint8_t *buf, size_t len)
{
    if (c->closing) {
        free(buf);
        return;
    }
    struct write_req *w = malloc(sizeof(*w));
    if (!w) {
        free(buf);
        conn_close(c);
        return;
    }
    w->c = c;
    w->buf = buf;
    w->len = len;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_done);
    if (rc < 0) {
        free(buf);
        free(w);
        conn_close(c);
        return;
    }
    c->refs++;
    c->write_pending += len;
    /* A client that does not read its replies stops being read. */
    if (c->reading && c->write_pending > 2 * c->s->conf->max_frame_bytes) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
}

static void conn_send_text(struct conn *c, char *line)
{
    if (line) conn_send(c, (uint8_t *)line, strlen(line));
}

/* --- reading ------------------------------------------------------------ */

/* How long a draining connection may stay quiet before it is closed: long
 * enough for requests already in the socket buffer to be read and answered. */
#define DRAIN_QUIET_MS 200

static void idle_fired(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->jobs > 0 || c->write_pending > 0) return; /* busy, not idle */
    if (c->draining) {
        conn_close_soon(c);
        return;
    }
    log_debug("closing a connection idle for %d ms", c->s->conf->idle_timeout_ms);
    if (c->mode == MODE_FRAME) {
        struct reply_to to = { c, NULL, NULL };
        char msg[80];
        snprintf(msg, sizeof(msg), "idle for %d ms: closing", c->s->conf->idle_timeout_ms);
        dispatch_error(c->s, &to, 0, INFERD_E_TIMEOUT, msg);
    }
    conn_close_soon(c);
}

static void idle_reset(struct conn *c)
{
    int ms = c->draining ? DRAIN_QUIET_MS : c->s->conf->idle_timeout_ms;
    if (ms > 0 && !c->closing) uv_timer_start(&c->idle, idle_fired, (uint64_t)ms, (uint64_t)ms);
}

/* A frame error that loses the stream's framing: reply, then hang up. */
static void frame_stream_error(struct conn *c, int code, const char *msg)
{
    struct reply_to to = { c, NULL, NULL };
    c->s->frames_bad++;
    dispatch_error(c->s, &to, 0, code, msg);
    conn_close_soon(c);
}

static void frame_bytes(struct conn *c, const uint8_t *p, size_t n)
{
    struct inferd_frame_limits lim = { .max_frame_bytes = c->s->conf->max_frame_bytes };
    while (n > 0 && !c->close_after_write && !c->closing) {
        if (!c->frame) {
            size_t take = INFERD_FRAME_HEADER_SIZE - c->hdr_len;
            if (take > n) take = n;
            memcpy(c->hdr + c->hdr_len, p, take);
            c->hdr_len += take;
            p += take;
            n -= take;
            char err[256];
            int rc = inferd_frame_header_decode(c->hdr, c->hdr_len, &lim, &c->h, err, sizeof(err));
            if (rc > 0) continue; /* need more */
            if (rc < 0) {
                frame_stream_error(c, rc, err);
                return;
            }
            c->frame_len = inferd_frame_size(&c->h);
            c->frame = c->frame_len ? malloc(c->frame_len) : NULL;
            if (!c->frame) {
                frame_stream_error(c, INFERD_E_TOO_LARGE, "cannot hold a frame that large");
                return;
            }
            memcpy(c->frame, c->hdr, INFERD_FRAME_HEADER_SIZE);
            c->frame_have = INFERD_FRAME_HEADER_SIZE;
        }
        size_t take = c->frame_len - c->frame_have;
        if (take > n) take = n;
        memcpy(c->frame + c->frame_have, p, take);
        c->frame_have += take;
        p += take;
        n -= take;
        if (c->frame_have == c->frame_len) {
            uint8_t *frame = c->frame;
            struct inferd_frame_header h = c->h;
            c->frame = NULL;
            c->hdr_len = 0;
            struct reply_to to = { c, NULL, NULL };
            dispatch_frame(c->s, &to, frame, c->frame_len, &h);
        }
    }
}

static void text_line(struct conn *c, const char *line, size_t len)
{
    conn_send_text(c, dispatch_text(c->s, line, len));
}

/* Text commands are printable ASCII: anything else is a binary client with
 * the wrong magic (or noise), told so in a frame before the hang-up. */
static bool text_plausible(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] >= 0x7f)
            return false;
    return true;
}

static void text_bytes(struct conn *c, const uint8_t *p, size_t n)
{
    if (!text_plausible(p, n)) {
        frame_stream_error(c, INFERD_E_BAD_FRAME,
                           "neither an inferd frame (bad magic) nor a text command");
        return;
    }
    while (n > 0 && !c->closing && !c->close_after_write) {
        size_t used = 0;
        const char *line = NULL;
        size_t len = 0;
        int rc = inferd_text_lines_feed(&c->lines, p, n, &used, &line, &len);
        p += used;
        n -= used;
        if (rc == 1) {
            text_line(c, line, len);
        } else if (rc < 0) {
            char *json = NULL;
            size_t jl = 0;
            char msg[96];
            snprintf(msg, sizeof(msg), "line longer than %d bytes", INFERD_TEXT_MAX_LINE);
            if (inferd_error_meta_encode(INFERD_E_TOO_LARGE, msg, &json, &jl) == 0) {
                char *out = realloc(json, jl + 2);
                if (out) {
                    out[jl] = '\n';
                    out[jl + 1] = 0;
                    conn_send_text(c, out);
                } else {
                    free(json);
                }
            }
        }
    }
}

static void bytes_handle(struct conn *c, const uint8_t *p, size_t n)
{
    if (c->mode == MODE_SNIFF) {
        size_t take = INFERD_FRAME_MAGIC_LEN - c->sniff_len;
        if (take > n) take = n;
        memcpy(c->sniff + c->sniff_len, p, take);
        c->sniff_len += take;
        p += take;
        n -= take;
        int kind = inferd_text_sniff(c->sniff, c->sniff_len);
        if (kind == INFERD_SNIFF_MORE) return;
        c->mode = kind == INFERD_SNIFF_FRAME ? MODE_FRAME : MODE_TEXT;
        if (c->mode == MODE_FRAME)
            frame_bytes(c, c->sniff, c->sniff_len);
        else
            text_bytes(c, c->sniff, c->sniff_len);
    }
    if (c->mode == MODE_FRAME)
        frame_bytes(c, p, n);
    else
        text_bytes(c, p, n);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h, (void)suggested;
    *buf = uv_buf_init(read_buffer, sizeof(read_buffer));
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    if (nread == 0) return;
    if (nread < 0) {
        uv_read_stop(st);
        c->reading = false;
        c->eof = true;
        if (nread != UV_EOF) {
            conn_close(c);
            return;
        }
        if (c->mode == MODE_TEXT) {
            const char *line;
            size_t len;
            if (inferd_text_lines_finish(&c->lines, &line, &len) == 1) text_line(c, line, len);
        }
        /* A client gone mid-frame: drop the partial frame. */
        free(c->frame);
        c->frame = NULL;
        conn_maybe_finish(c);
        return;
    }
    c->s->bytes_in += (uint64_t)nread;
    idle_reset(c);
    bytes_handle(c, (const uint8_t *)buf->base, (size_t)nread);
}

static void conn_read_start(struct conn *c)
{
    if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) == 0) c->reading = true;
}

/* --- listener ----------------------------------------------------------- */

static void on_connection(uv_stream_t *server, int status)
{
    struct inferd_server *s = server->data;
    if (status < 0) {
        log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) return;
    c->s = s;
    uv_pipe_init(s->loop, &c->pipe, 0);
    uv_timer_init(s->loop, &c->idle);
    c->pipe.data = c;
    c->idle.data = c;
    c->refs = 2; /* the two handles */
    inferd_text_lines_init(&c->lines);
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->conns_total++;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
        conn_close(c);
        return;
    }
    if (s->nconns > s->conf->max_clients || s->shutting_down) {
        log_warn("refusing a client: %s", s->shutting_down ? "shutting down" : "too many clients");
        conn_close(c);
        return;
    }
    idle_reset(c);
    conn_read_start(c);
}

/* Refuses to take over a path a live daemon listens on; removes a stale
 * socket file left by one that died. */
static int socket_path_claim(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket", path);
        return -EEXIST;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    close(fd);
    if (rc == 0) {
        snprintf(err, errlen, "%s: another daemon is listening there", path);
        return -EADDRINUSE;
    }
    if (e == ECONNREFUSED) {
        log_info("removing stale socket %s", path);
        if (unlink(path) < 0 && errno != ENOENT) return -errno;
        return 0;
    }
    snprintf(err, errlen, "%s: %s", path, strerror(e));
    return -e;
}

int unix_listen(struct inferd_server *s, char *err, size_t errlen)
{
    const char *path = s->conf->unix_path;
    if (!path) return 0;
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "listen.unix: path longer than %zu bytes", sizeof(sa.sun_path) - 1);
        return INFERD_E_BAD_CONFIG;
    }
    err[0] = 0;
    int rc = socket_path_claim(path, err, errlen);
    if (rc < 0) {
        if (!err[0]) snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    uv_pipe_init(s->loop, &s->unix_listener, 0);
    s->unix_listener.data = s;
    s->unix_listening = true;
    if ((rc = uv_pipe_bind(&s->unix_listener, path)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&s->unix_listener, 128, on_connection)) < 0) {
        snprintf(err, errlen, "%s: %s", path, uv_strerror(rc));
        return rc;
    }
    if (chmod(path, s->conf->unix_mode) < 0) log_warn("chmod %s: %s", path, strerror(errno));
    log_info("listening on unix:%s", path);
    return 0;
}

void unix_close(struct inferd_server *s)
{
    if (!s->unix_listening) return;
    s->unix_listening = false;
    uv_close((uv_handle_t *)&s->unix_listener, NULL);
    if (s->conf->unix_path) unlink(s->conf->unix_path);
}

void conns_drain(struct inferd_server *s)
{
    for (struct conn *c = s->conns; c; c = c->next) {
        c->draining = true;
        idle_reset(c);
    }
}

void conns_close_all(struct inferd_server *s)
{
    while (s->conns) conn_close(s->conns);
}
