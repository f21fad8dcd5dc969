/* One inference request on its way through the daemon: created by the loop
 * thread from a decoded frame, queued on a model, processed by a worker
 * (preprocess, run, postprocess, encode the reply), handed back to the loop
 * thread, which sends the reply and frees the job. */
#ifndef INFERD_JOB_H
#define INFERD_JOB_H

#include "inferd_proto.h"

#include <stddef.h>
#include <stdint.h>

struct served_model;
struct conn;
struct nn_endpoint;
struct worker_ctx;

struct inferd_job {
    struct served_model *model;
    /* Where the reply goes: a stream connection (refcounted) or a nanomsg
     * endpoint plus the raw REP routing header of the request. */
    struct conn *conn;
    struct nn_endpoint *nn;
    void *nn_header;
    size_t nn_header_len;

    uint64_t request_id;
    struct inferd_request *req; /* decoded meta, owned */
    uint8_t *frame;             /* the whole received frame, owned */
    const uint8_t *data;        /* its data section */
    uint64_t data_len;

    uint64_t t_arrive, t_start, t_done; /* monotonic us */
    uint64_t deadline;                  /* monotonic us */

    int status; /* 0, or the error code of the reply */
    char message[512];
    uint8_t *reply; /* encoded reply frame, owned */
    size_t reply_len;
    struct inferd_job *next; /* completion list */
};

/* Frees the job and what it owns (not conn, nn or nn_header, which the loop
 * thread hands back to nanomsg). Accepts NULL. */
void job_free(struct inferd_job *job);

/* Encodes an error reply frame for request_id into *frame (malloc'd). */
int job_error_frame(uint64_t request_id, int code, const char *message, uint8_t **frame,
                    size_t *len);

/* Worker side: everything one worker thread reuses across jobs. */
struct worker_ctx *worker_ctx_new(struct served_model *m, int instance);
void worker_ctx_free(struct worker_ctx *w);
/* Processes job on the worker's instance: always leaves a reply frame in
 * job->reply (an error frame when something failed) unless memory runs out,
 * in which case job->reply is NULL and job->status says why. */
void job_process(struct worker_ctx *w, struct inferd_job *job);

#endif
