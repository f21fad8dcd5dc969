/* Internals shared by the loop-thread parts of the daemon: server.c
 * (lifecycle), conn.c (Unix stream connections), nn.c (nanomsg endpoints)
 * and dispatch.c (what a frame or a text command gets). Everything here runs
 * on the loop thread only. */
#ifndef INFERD_SERVER_INT_H
#define INFERD_SERVER_INT_H

#include "inferd_proto.h"
#include "server.h"

#include <stddef.h>
#include <stdint.h>

/* Where a reply goes. For nanomsg, ctl is the request's routing header (a
 * nanomsg chunk): the reply hands it back, or it is freed. */
struct reply_to {
    struct conn *conn;
    struct nn_endpoint *nn;
    void *ctl;
};

/* --- dispatch.c ---------------------------------------------------------- */

/* Handles one whole frame (taken over: freed or given to a job). */
void dispatch_frame(struct inferd_server *s, struct reply_to *to, uint8_t *frame, size_t len,
                    const struct inferd_frame_header *h);
/* The reply line for one text command (malloc'd), or NULL for a blank line. */
char *dispatch_text(struct inferd_server *s, const char *line, size_t len);
/* Sends an error frame for request_id. */
void dispatch_error(struct inferd_server *s, struct reply_to *to, uint64_t request_id, int code,
                    const char *message);
/* Delivers a finished job's reply and frees the job. */
void dispatch_job_deliver(struct inferd_server *s, struct inferd_job *job);

/* --- conn.c ------------------------------------------------------------- */

int unix_listen(struct inferd_server *s, char *err, size_t errlen);
void unix_close(struct inferd_server *s);
void conn_unref(struct conn *c);
bool conn_is_open(const struct conn *c);
/* Queues buf (taken over) for writing. */
void conn_send(struct conn *c, uint8_t *buf, size_t len);
/* Closes once pending writes are flushed. */
void conn_close_soon(struct conn *c);
/* Shutdown: each connection closes once it has been quiet for a moment with
 * nothing owed, so requests already in its socket buffer are still answered
 * (with shutting_down). */
void conns_drain(struct inferd_server *s);
void conns_close_all(struct inferd_server *s);
/* A job for c was queued (holds a reference until conn_job_finished and
 * conn_unref), and one finished (for EOF and idle handling). */
void conn_job_started(struct conn *c);
void conn_job_finished(struct conn *c);

/* --- nn.c --------------------------------------------------------------- */

int nn_endpoints_open(struct inferd_server *s, char *err, size_t errlen);
/* Shutdown, step 1: no new requests; replies still go out. */
void nn_endpoints_stop_receiving(struct inferd_server *s);
/* Step 2: closes the loop handles (pending replies are dropped). */
void nn_endpoints_close(struct inferd_server *s);
/* Step 3, once the loop has run the close callbacks: closes the sockets. */
void nn_endpoints_free(struct inferd_server *s);
/* Sends buf (taken over) as the reply to the request whose header is ctl
 * (taken over too). */
void nn_endpoint_reply(struct nn_endpoint *ep, void *ctl, uint8_t *buf, size_t len);
void nn_ctl_free(void *ctl);

#endif
