/* libinferd-client: connections, options, deadlines, the table of requests
 * in flight, and the small public utilities. */
#include "client_int.h"

#include "inferd_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Static_assert(INFERD_CLIENT_MAX_DIMS == INFERD_MAX_DIMS, "dims limit differs from the protocol");
_Static_assert(INFERD_CLIENT_MAX_IO == INFERD_MAX_INPUTS &&
                   INFERD_CLIENT_MAX_IO == INFERD_MAX_OUTPUTS,
               "input/output limit differs from the protocol");
_Static_assert((int)INFERD_CLIENT_IMAGE_JPEG == (int)INFERD_IMAGE_JPEG &&
                   (int)INFERD_CLIENT_IMAGE_RGB8 == (int)INFERD_IMAGE_RGB8 &&
                   (int)INFERD_CLIENT_IMAGE_BGR8 == (int)INFERD_IMAGE_BGR8,
               "image formats differ from the protocol");
_Static_assert(INFERD_CLIENT_TOPK_NONE == INFERD_TOPK_NONE, "topk none differs from the protocol");

int client_fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

void client_break(struct inferd_client *c, const char *why)
{
    if (c->broken) return;
    c->broken = true;
    snprintf(c->broken_why, sizeof(c->broken_why), "%s", why);
}

int client_broken_error(const struct inferd_client *c, char *err, size_t errlen)
{
    return client_fail(-ENOTCONN, err, errlen, "%s: connection no longer usable: %s", c->address,
                       c->broken_why);
}

uint64_t client_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t client_deadline(int timeout_ms)
{
    if (timeout_ms <= 0) return 0;
    return client_now_us() + (uint64_t)timeout_ms * 1000u;
}

int client_ms_left(uint64_t deadline)
{
    if (deadline == 0) return -1;
    uint64_t now = client_now_us();
    if (now >= deadline) return 0;
    uint64_t ms = (deadline - now + 999) / 1000; /* round up: never spin on 0 */
    return ms > 1000000000u ? 1000000000 : (int)ms;
}

void rx_frame_free(struct rx_frame *f)
{
    if (!f) return;
    free(f->meta);
    free(f->data);
    free(f);
}

struct rx_frame *rx_frame_new(const struct inferd_frame_header *h)
{
    struct rx_frame *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->h = *h;
    f->meta = malloc((size_t)h->meta_len + 1);
    if (!f->meta) goto fail;
    f->meta[h->meta_len] = 0;
    if (h->data_len) {
        /* aligned_alloc wants a multiple of the alignment */
        size_t n = ((size_t)h->data_len + 63) & ~(size_t)63;
        if (!(f->data = aligned_alloc(64, n))) goto fail;
    }
    return f;
fail:
    rx_frame_free(f);
    return NULL;
}

void stash_push(struct inferd_client *c, struct rx_frame *f)
{
    f->next = NULL;
    if (c->stash_tail)
        c->stash_tail->next = f;
    else
        c->stash_head = f;
    c->stash_tail = f;
}

int pending_add(struct inferd_client *c, uint64_t id)
{
    if (c->npending == c->cap_pending) {
        size_t cap = c->cap_pending ? c->cap_pending * 2 : 16;
        struct pending *p = realloc(c->pending, cap * sizeof(*p));
        if (!p) return -ENOMEM;
        c->pending = p;
        c->cap_pending = cap;
    }
    c->pending[c->npending++] = (struct pending){ id, client_now_us(), false };
    return 0;
}

long pending_find(const struct inferd_client *c, uint64_t id)
{
    /* Newest last; a deep pipeline answers mostly in order, so scan from the front. */
    for (size_t i = 0; i < c->npending; i++)
        if (c->pending[i].id == id) return (long)i;
    return -1;
}

void pending_remove(struct inferd_client *c, size_t i)
{
    memmove(&c->pending[i], &c->pending[i + 1], (c->npending - i - 1) * sizeof(*c->pending));
    c->npending--;
}

uint64_t client_id_next(struct inferd_client *c)
{
    uint64_t id;
    do {
        id = c->next_id++;
    } while (id == 0 || pending_find(c, id) >= 0);
    return id;
}

/* "unix:/p" or "/p" -> the path; "ipc://", "tcp://" -> nanomsg. */
static int address_parse(const char *address, int *transport, const char **path, char *err,
                         size_t errlen)
{
    *path = NULL;
    if (!*address) return client_fail(-EINVAL, err, errlen, "empty address");
    if (strncmp(address, "unix:", 5) == 0) {
        *transport = INFERD_CLIENT_UNIX;
        *path = address + 5;
        if (strncmp(*path, "//", 2) == 0) *path += 2; /* unix:///run/... */
    } else if (strncmp(address, "ipc://", 6) == 0) {
        *transport = INFERD_CLIENT_NANOMSG;
        *path = address + 6;
    } else if (strncmp(address, "tcp://", 6) == 0) {
        *transport = INFERD_CLIENT_NANOMSG;
    } else if (strstr(address, "://")) {
        return client_fail(-EINVAL, err, errlen,
                           "%s: unknown transport (use unix:PATH, ipc://PATH or tcp://HOST:PORT)",
                           address);
    } else {
        *transport = INFERD_CLIENT_UNIX;
        *path = address;
    }
    if (path && *path && !**path)
        return client_fail(-EINVAL, err, errlen, "%s: the address names no path", address);
    return 0;
}

int inferd_client_connect(const char *address, int timeout_ms, struct inferd_client **out,
                          char *err, size_t errlen)
{
    int rc;
    const char *path;
    *out = NULL;
    if (err && errlen) err[0] = 0;
    if (!address) {
        address = getenv("INFERD_ADDRESS");
        if (!address || !*address) address = INFERD_CLIENT_DEFAULT_ADDRESS;
    }
    struct inferd_client *c = calloc(1, sizeof(*c));
    if (!c) return client_fail(-ENOMEM, err, errlen, "out of memory");
    c->fd = -1;
    c->nn = -1;
    c->timeout_ms = timeout_ms;
    c->next_id = 1;
    if (!(c->address = strdup(address))) {
        rc = client_fail(-ENOMEM, err, errlen, "out of memory");
        goto fail;
    }
    if ((rc = address_parse(address, &c->transport, &path, err, errlen)) < 0) goto fail;
    if (path && !(c->unix_path = strdup(path))) {
        rc = client_fail(-ENOMEM, err, errlen, "out of memory");
        goto fail;
    }
    if (c->transport == INFERD_CLIENT_UNIX) {
        if (!(c->rbuf = malloc(CLIENT_RBUF_SIZE))) {
            rc = client_fail(-ENOMEM, err, errlen, "out of memory");
            goto fail;
        }
        rc = unix_connect_path(c->unix_path, client_deadline(timeout_ms), &c->fd, err, errlen);
    } else {
        rc = nnc_open(c, address, err, errlen);
    }
    if (rc < 0) goto fail;
    *out = c;
    return 0;
fail:
    inferd_client_close(c);
    return rc;
}

void inferd_client_close(struct inferd_client *c)
{
    if (!c) return;
    if (c->transport == INFERD_CLIENT_UNIX)
        unix_close(c);
    else
        nnc_close(c);
    while (c->stash_head) {
        struct rx_frame *f = c->stash_head;
        c->stash_head = f->next;
        rx_frame_free(f);
    }
    rx_frame_free(c->rx.f);
    free(c->rbuf);
    free(c->pending);
    free(c->unix_path);
    free(c->address);
    free(c);
}

void inferd_client_set_timeout(struct inferd_client *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

int inferd_client_timeout(const struct inferd_client *c)
{
    return c->timeout_ms;
}

void inferd_client_set_max_frame(struct inferd_client *c, uint64_t bytes)
{
    c->lim.max_frame_bytes = bytes;
}

int inferd_client_transport(const struct inferd_client *c)
{
    return c->transport;
}

const char *inferd_client_address(const struct inferd_client *c)
{
    return c->address;
}

bool inferd_client_usable(const struct inferd_client *c)
{
    return !c->broken;
}

size_t inferd_client_pending(const struct inferd_client *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->npending; i++) n += !c->pending[i].abandoned;
    return n;
}

const char *inferd_client_error_name(int code)
{
    return inferd_error_name(code);
}

const char *inferd_client_strerror(int code)
{
    return inferd_strerror(code);
}

size_t inferd_client_dtype_size(const char *datatype)
{
    return datatype ? inferd_dtype_size(inferd_dtype_from_name(datatype)) : 0;
}

const char *inferd_client_version(void)
{
    return INFERD_VERSION;
}
