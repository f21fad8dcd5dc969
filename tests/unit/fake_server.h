/* A small in-process stand-in for the daemon, for the client library's
 * tests: a thread that accepts on a temporary Unix socket (each connection
 * handled by the test's function on its own thread) or binds a nanomsg REP
 * socket (each message handed to the test's function), speaking proto/. */
#ifndef FAKE_SERVER_H
#define FAKE_SERVER_H

#include "inferd_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake;

/* Unix: handles one accepted connection; fd is blocking. Returns when done
 * (the fake closes fd afterwards). */
typedef void (*fake_conn_fn)(struct fake *f, int fd, void *ctx);

/* nanomsg: one received message. Sets *reply (malloc'd) and returns true to
 * answer, or returns false to leave the request unanswered. */
typedef bool (*fake_msg_fn)(struct fake *f, const uint8_t *msg, size_t len, uint8_t **reply,
                            size_t *reply_len, void *ctx);

struct fake *fake_unix_start(fake_conn_fn fn, void *ctx);
/* tcp: false binds ipc:// under a temporary folder, true tcp://127.0.0.1. */
struct fake *fake_nn_start(fake_msg_fn fn, void *ctx, bool tcp);
/* Stops accepting, joins every thread, removes the temporary files. */
void fake_stop(struct fake *f);

const char *fake_address(const struct fake *f); /* what to give inferd_client_connect() */
const char *fake_path(const struct fake *f);    /* the socket file (Unix and ipc) */
int fake_connections(const struct fake *f);     /* Unix connections accepted so far */

/* ---- helpers for the handlers ------------------------------------------ */

struct fake_frame {
    struct inferd_frame_header h;
    uint8_t *meta; /* NUL-terminated */
    uint8_t *data;
};

void fake_frame_free(struct fake_frame *fr);

/* Reads one frame from fd (waits at most 10 s). 0, or -1 at end of stream
 * or on any error. */
int fake_read_frame(int fd, struct fake_frame *fr);
/* Reads a text line (without "\n"); -1 at end of stream. */
int fake_read_line(int fd, char *buf, size_t cap);
/* Peeks at the first byte: true when the connection is a text one. */
bool fake_is_text(int fd);

int fake_write_all(int fd, const void *buf, size_t n);

/* Whole frames in malloc'd buffers. */
uint8_t *fake_response_frame(uint64_t id, const struct inferd_response *r, const void *data,
                             size_t *len);
uint8_t *fake_error_frame(uint64_t id, int code, const char *message, size_t *len);
uint8_t *fake_empty_frame(int kind, uint64_t id, size_t *len); /* pong */

/* The standard answer: output "out" echoes inputs[0] (same datatype, shape
 * and bytes); for FP32 inputs also a top-k of it (k from the request's
 * topk, else 2) labelled "class<i>"; backend "fake"; fixed timings
 * 11/22/33 us. NULL when the request meta does not decode. */
uint8_t *fake_echo_frame(const struct fake_frame *req, size_t *len);

#endif
