/* Internals of libinferd-client shared by its source files; not installed. */
#ifndef INFERD_CLIENT_INT_H
#define INFERD_CLIENT_INT_H

#define INFERD_CLIENT_BUILDING 1
#include "inferd_client.h"
#include "inferd_proto.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#if defined(__GNUC__)
#define CLIENT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLIENT_PRINTF(f, a)
#endif

/* One whole frame read from the daemon. meta is NUL-terminated; data is
 * 64-byte aligned so tensors in it are aligned when their offsets are. */
struct rx_frame {
    struct inferd_frame_header h;
    char *meta;
    uint8_t *data;
    uint64_t recv_us;
    struct rx_frame *next;
};

struct pending {
    uint64_t id;
    uint64_t sent_us;
    bool abandoned; /* its blocking call gave up: drop the reply */
};

/* A frame being read from a Unix socket: survives a timeout, so the next
 * call resumes where the last one stopped. */
struct rx_state {
    uint8_t hdr[INFERD_FRAME_HEADER_SIZE];
    size_t hdr_have;
    struct rx_frame *f; /* non-NULL once the header was accepted */
    size_t meta_have;
    uint64_t data_have;
};

#define CLIENT_RBUF_SIZE (64 * 1024)

struct inferd_client {
    int transport; /* enum inferd_client_transport */
    char *address;
    char *unix_path; /* unix: the socket path; nanomsg ipc: the path, for checks */
    int fd;          /* unix */
    int nn;          /* nanomsg socket */
    int timeout_ms;
    struct inferd_frame_limits lim;
    bool broken;
    char broken_why[512];
    uint64_t next_id;

    struct pending *pending;
    size_t npending, cap_pending;
    struct rx_frame *stash_head, *stash_tail; /* replies read, not yet returned */

    struct rx_state rx;
    uint8_t *rbuf; /* buffered reads: rbuf[rpos..rlen) not yet consumed */
    size_t rpos, rlen;
};

/* ---- client.c ----------------------------------------------------------- */

int client_fail(int code, char *err, size_t errlen, const char *fmt, ...) CLIENT_PRINTF(4, 5);
/* Marks the connection failed: later calls get -ENOTCONN and the reason. */
void client_break(struct inferd_client *c, const char *why);
int client_broken_error(const struct inferd_client *c, char *err, size_t errlen);

uint64_t client_now_us(void);
/* Absolute deadline in µs from now, or 0 for none. */
uint64_t client_deadline(int timeout_ms);
/* Milliseconds left before deadline for poll(), -1 for none; 0 once passed. */
int client_ms_left(uint64_t deadline);

void rx_frame_free(struct rx_frame *f);
/* Keeps a reply read while waiting for something else, for a later call. */
void stash_push(struct inferd_client *c, struct rx_frame *f);
/* Allocates a frame for header h (lengths already checked against limits). */
struct rx_frame *rx_frame_new(const struct inferd_frame_header *h);

int pending_add(struct inferd_client *c, uint64_t id);
/* Index of id in the pending table, or -1. */
long pending_find(const struct inferd_client *c, uint64_t id);
void pending_remove(struct inferd_client *c, size_t i);
uint64_t client_id_next(struct inferd_client *c);

/* ---- client_unix.c ------------------------------------------------------ */

int unix_connect_path(const char *path, uint64_t deadline, int *fd, char *err, size_t errlen);
/* Writes every byte of iov; while it waits for room, reads replies into the
 * stash so a daemon blocked writing to us is never deadlocked against us. */
int unix_send(struct inferd_client *c, struct iovec *iov, int iovcnt, uint64_t deadline, char *err,
              size_t errlen);
/* The next whole frame from the socket (not the stash). */
int unix_read_frame(struct inferd_client *c, uint64_t deadline, struct rx_frame **out, char *err,
                    size_t errlen);
/* Files a frame just read: a reply to a live request waits in the stash, one
 * to an abandoned request is dropped; a connection error (id 0) or a reply
 * to an id never sent breaks the connection and returns its code. */
int unix_frame_file(struct inferd_client *c, struct rx_frame *f, char *err, size_t errlen);
int unix_command(struct inferd_client *c, const char *cmd, uint64_t deadline, char **reply,
                 size_t *reply_len, char *err, size_t errlen);
void unix_close(struct inferd_client *c);

/* ---- client_nn.c -------------------------------------------------------- */

int nnc_open(struct inferd_client *c, const char *address, char *err, size_t errlen);
int nnc_send_frame(struct inferd_client *c, struct iovec *iov, int iovcnt, uint64_t deadline,
                   char *err, size_t errlen);
int nnc_read_frame(struct inferd_client *c, uint64_t deadline, struct rx_frame **out, char *err,
                   size_t errlen);
int nnc_command(struct inferd_client *c, const char *cmd, uint64_t deadline, char **reply,
                size_t *reply_len, char *err, size_t errlen);
void nnc_close(struct inferd_client *c);

#endif
