/* The fake daemon of fake_server.h. */
#include "fake_server.h"

#include <errno.h>
#include <limits.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CONNS 64

struct conn_thread {
    struct fake *f;
    int fd;
    pthread_t thread;
};

struct fake {
    char dir[64];
    char path[100];
    char address[160];
    bool nn;
    int listen_fd;
    int nn_sock;
    fake_conn_fn conn_fn;
    fake_msg_fn msg_fn;
    void *ctx;
    pthread_t thread;
    volatile bool stop;
    pthread_mutex_t lock;
    struct conn_thread conns[MAX_CONNS];
    int nconns;
};

static void *conn_main(void *arg)
{
    struct conn_thread *ct = arg;
    ct->f->conn_fn(ct->f, ct->fd, ct->f->ctx);
    close(ct->fd);
    return NULL;
}

static void *unix_main(void *arg)
{
    struct fake *f = arg;
    while (!f->stop) {
        struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
        if (poll(&p, 1, 20) <= 0) continue;
        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        pthread_mutex_lock(&f->lock);
        if (f->nconns == MAX_CONNS) {
            pthread_mutex_unlock(&f->lock);
            close(fd);
            continue;
        }
        struct conn_thread *ct = &f->conns[f->nconns];
        ct->f = f;
        ct->fd = fd;
        if (pthread_create(&ct->thread, NULL, conn_main, ct) == 0)
            f->nconns++;
        else
            close(fd);
        pthread_mutex_unlock(&f->lock);
    }
    return NULL;
}

static struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    snprintf(f->dir, sizeof(f->dir), "/tmp/inferd-fake-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return NULL;
    }
    f->listen_fd = -1;
    f->nn_sock = -1;
    pthread_mutex_init(&f->lock, NULL);
    return f;
}

struct fake *fake_unix_start(fake_conn_fn fn, void *ctx)
{
    struct fake *f = fake_new();
    if (!f) return NULL;
    f->conn_fn = fn;
    f->ctx = ctx;
    snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
    snprintf(f->address, sizeof(f->address), "unix:%s", f->path);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(f->listen_fd, 64) < 0 || pthread_create(&f->thread, NULL, unix_main, f) != 0) {
        fake_stop(f);
        return NULL;
    }
    return f;
}

static void *nn_main(void *arg)
{
    struct fake *f = arg;
    while (!f->stop) {
        void *msg = NULL;
        int n = nn_recv(f->nn_sock, &msg, NN_MSG, 0);
        if (n < 0) continue; /* timeout: look at stop again */
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        if (f->msg_fn(f, msg, (size_t)n, &reply, &reply_len, f->ctx)) {
            nn_send(f->nn_sock, reply ? (void *)reply : (void *)"", reply_len, 0);
            free(reply);
        }
        nn_freemsg(msg);
    }
    return NULL;
}

struct fake *fake_nn_start(fake_msg_fn fn, void *ctx, bool tcp)
{
    struct fake *f = fake_new();
    if (!f) return NULL;
    f->nn = true;
    f->msg_fn = fn;
    f->ctx = ctx;
    f->nn_sock = nn_socket(AF_SP, NN_REP);
    int timeo = 20, maxsize = -1;
    if (f->nn_sock < 0) goto fail;
    nn_setsockopt(f->nn_sock, NN_SOL_SOCKET, NN_RCVTIMEO, &timeo, sizeof(timeo));
    nn_setsockopt(f->nn_sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsize, sizeof(maxsize));
    if (tcp) {
        /* nanomsg cannot bind port 0: try ports derived from the pid */
        int ok = -1;
        for (int i = 0; i < 50 && ok < 0; i++) {
            int port = 20000 + (int)((getpid() * 7 + i * 131) % 30000);
            snprintf(f->address, sizeof(f->address), "tcp://127.0.0.1:%d", port);
            ok = nn_bind(f->nn_sock, f->address);
        }
        if (ok < 0) goto fail;
    } else {
        snprintf(f->path, sizeof(f->path), "%s/s.ipc", f->dir);
        snprintf(f->address, sizeof(f->address), "ipc://%s", f->path);
        if (nn_bind(f->nn_sock, f->address) < 0) goto fail;
    }
    if (pthread_create(&f->thread, NULL, nn_main, f) != 0) goto fail;
    return f;
fail:
    fake_stop(f);
    return NULL;
}

void fake_stop(struct fake *f)
{
    if (!f) return;
    f->stop = true;
    if (f->thread) pthread_join(f->thread, NULL);
    for (int i = 0; i < f->nconns; i++) pthread_join(f->conns[i].thread, NULL);
    if (f->listen_fd >= 0) close(f->listen_fd);
    if (f->nn_sock >= 0) nn_close(f->nn_sock);
    if (f->path[0]) unlink(f->path);
    rmdir(f->dir);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *fake_address(const struct fake *f)
{
    return f->address;
}

const char *fake_path(const struct fake *f)
{
    return f->path;
}

int fake_connections(const struct fake *f)
{
    pthread_mutex_lock((pthread_mutex_t *)&f->lock);
    int n = f->nconns;
    pthread_mutex_unlock((pthread_mutex_t *)&f->lock);
    return n;
}

/* ---- helpers ------------------------------------------------------------ */

static int read_exact(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        if (poll(&pf, 1, 10000) <= 0) return -1;
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void fake_frame_free(struct fake_frame *fr)
{
    free(fr->meta);
    free(fr->data);
    memset(fr, 0, sizeof(*fr));
}

int fake_read_frame(int fd, struct fake_frame *fr)
{
    uint8_t hdr[INFERD_FRAME_HEADER_SIZE];
    memset(fr, 0, sizeof(*fr));
    if (read_exact(fd, hdr, sizeof(hdr)) < 0) return -1;
    if (inferd_frame_header_decode(hdr, sizeof(hdr), NULL, &fr->h, NULL, 0) != 0) return -1;
    fr->meta = malloc((size_t)fr->h.meta_len + 1);
    fr->data = malloc((size_t)fr->h.data_len + 1);
    if (!fr->meta || !fr->data || read_exact(fd, fr->meta, fr->h.meta_len) < 0 ||
        read_exact(fd, fr->data, (size_t)fr->h.data_len) < 0) {
        fake_frame_free(fr);
        return -1;
    }
    fr->meta[fr->h.meta_len] = 0;
    return 0;
}

int fake_read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char ch;
        if (read_exact(fd, &ch, 1) < 0) return n ? 0 : -1;
        if (ch == '\n') break;
        if (n + 1 < cap) buf[n++] = ch;
    }
    buf[n] = 0;
    return 0;
}

bool fake_is_text(int fd)
{
    uint8_t b = 0;
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    if (poll(&pf, 1, 10000) <= 0 || recv(fd, &b, 1, MSG_PEEK) != 1) return false;
    return b != 'I';
}

int fake_write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static uint8_t *frame_build(int kind, uint64_t id, const char *meta, size_t meta_len,
                            const void *data, size_t data_len, size_t *len)
{
    struct inferd_frame_header h = {
        .kind = (uint16_t)kind,
        .meta_len = (uint32_t)meta_len,
        .request_id = id,
        .data_len = data_len,
    };
    size_t total = INFERD_FRAME_HEADER_SIZE + meta_len + data_len;
    uint8_t *buf = malloc(total);
    if (!buf || inferd_frame_write(buf, total, &h, meta, data) < 0) {
        free(buf);
        return NULL;
    }
    *len = total;
    return buf;
}

uint8_t *fake_response_frame(uint64_t id, const struct inferd_response *r, const void *data,
                             size_t *len)
{
    char *json = NULL;
    size_t json_len = 0;
    uint64_t data_len = 0;
    if (inferd_response_encode(r, &json, &json_len, &data_len, NULL, 0) < 0) return NULL;
    uint8_t *buf =
        frame_build(INFERD_KIND_RESPONSE, id, json, json_len, data, (size_t)data_len, len);
    free(json);
    return buf;
}

uint8_t *fake_error_frame(uint64_t id, int code, const char *message, size_t *len)
{
    char *json = NULL;
    size_t json_len = 0;
    if (inferd_error_meta_encode(code, message, &json, &json_len) < 0) return NULL;
    uint8_t *buf = frame_build(INFERD_KIND_ERROR, id, json, json_len, NULL, 0, len);
    free(json);
    return buf;
}

uint8_t *fake_empty_frame(int kind, uint64_t id, size_t *len)
{
    return frame_build(kind, id, NULL, 0, NULL, 0, len);
}

uint8_t *fake_echo_frame(const struct fake_frame *req, size_t *len)
{
    struct inferd_request *r = NULL;
    if (inferd_request_decode(req->meta, req->h.meta_len, req->h.data_len, &r, NULL, 0) < 0)
        return NULL;
    const struct inferd_tensor_meta *in = &r->inputs[0];
    struct inferd_tensor_meta out = *in;
    out.name = (char *)"out";
    out.image = INFERD_IMAGE_NONE;
    if (out.dtype == INFERD_DT_BYTES) { /* a JPEG comes back as its bytes */
        out.dtype = INFERD_DT_UINT8;
        out.ndim = 1;
        out.dims[0] = (int64_t)in->nbytes;
    }
    const uint8_t *data = req->data + in->offset;
    struct inferd_topk tk = { .output = (char *)"out" };
    struct inferd_topk_class classes[16];
    char labels[16][16];
    if (in->dtype == INFERD_DT_FP32 && in->image == INFERD_IMAGE_NONE) {
        size_t n = (size_t)in->nbytes / 4;
        int k = r->topk > 0 ? r->topk : 2;
        if (k > 16) k = 16;
        if ((size_t)k > n) k = (int)n;
        bool used[4096] = { false };
        for (int c = 0; c < k && n <= 4096; c++) {
            size_t best = SIZE_MAX;
            float bv = 0;
            for (size_t i = 0; i < n; i++) {
                float v;
                memcpy(&v, data + 4 * i, 4);
                if (!used[i] && (best == SIZE_MAX || v > bv)) best = i, bv = v;
            }
            used[best] = true;
            snprintf(labels[c], sizeof(labels[c]), "class%zu", best);
            classes[c] = (struct inferd_topk_class){ (int64_t)best, bv, labels[c] };
            tk.nclasses++;
        }
        tk.classes = classes;
    }
    struct inferd_response resp = {
        .model = r->model,
        .backend = (char *)"fake",
        .noutputs = 1,
        .outputs = &out,
        .ntopk = tk.nclasses ? 1 : 0,
        .topk = &tk,
        .has_timing = true,
        .timing = { 11, 22, 33 },
    };
    uint8_t *buf = fake_response_frame(req->h.request_id, &resp, data, len);
    inferd_request_free(r);
    return buf;
}
