/* libinferd-client: talks to the inferd daemon over a Unix stream socket or
 * nanomsg (ipc://, tcp://), speaking the wire protocol of PROTOCOL.md.
 *
 * Conventions: functions return 0 or a negative code: a project code from
 * inferd_error.h (INFERD_E_BUSY, INFERD_E_TIMEOUT, ...) or a negated errno
 * (-ECONNREFUSED, -ENOENT, ...). Where a function takes err/errlen it writes a
 * one-line message there on failure (err may be NULL): the daemon's own
 * message for an error reply, otherwise what went wrong and where. Use
 * inferd_client_error_name() and inferd_client_strerror() for the codes (the
 * inferd_error_name() family declared in inferd_error.h is not part of this
 * library).
 *
 * Timeouts: every blocking call gives up after the client's timeout
 * (inferd_client_connect(), inferd_client_set_timeout()) with
 * INFERD_E_TIMEOUT; 0 or less waits forever.
 *
 * Threads: a client is not thread-safe; use one per thread (each holds its
 * own connection). Different clients may be used on different threads at
 * once. The library never raises SIGPIPE, never prints, never exits. */
#ifndef INFERD_CLIENT_H
#define INFERD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inferd_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(INFERD_CLIENT_BUILDING)
#define INFERD_CLIENT_API __attribute__((visibility("default")))
#else
#define INFERD_CLIENT_API
#endif

/* Used when inferd_client_connect() gets a NULL address and $INFERD_ADDRESS
 * is unset or empty. */
#define INFERD_CLIENT_DEFAULT_ADDRESS "/run/inferd/inferd.sock"

#define INFERD_CLIENT_MAX_DIMS 8  /* dimensions of a tensor */
#define INFERD_CLIENT_MAX_IO   16 /* inputs, or requested outputs, per request */

struct inferd_client;

/* ---- connections -------------------------------------------------------- */

enum inferd_client_transport {
    INFERD_CLIENT_UNIX = 1,    /* "unix:/path" or "/path": a Unix stream socket */
    INFERD_CLIENT_NANOMSG = 2, /* "ipc://path", "tcp://host:port": nanomsg REQ */
};

/* Opens a connection to address: "unix:/run/inferd/inferd.sock" or a plain
 * path for the Unix socket; "ipc:///run/inferd/inferd.ipc" or
 * "tcp://127.0.0.1:5555" for nanomsg. NULL: $INFERD_ADDRESS, else
 * INFERD_CLIENT_DEFAULT_ADDRESS. timeout_ms becomes the client's timeout for
 * every later call. A Unix socket is connected here (-ENOENT when nothing is
 * at the path, -ECONNREFUSED when nobody listens); nanomsg connects in the
 * background, so a daemon that is not there shows up as INFERD_E_TIMEOUT on
 * the first request (an ipc:// path that does not exist fails here with
 * -ENOENT). */
INFERD_CLIENT_API int inferd_client_connect(const char *address, int timeout_ms,
                                            struct inferd_client **out, char *err, size_t errlen);

/* Closes the connection and frees the client. Accepts NULL. Results already
 * returned stay valid. */
INFERD_CLIENT_API void inferd_client_close(struct inferd_client *c);

INFERD_CLIENT_API void inferd_client_set_timeout(struct inferd_client *c, int timeout_ms);
INFERD_CLIENT_API int inferd_client_timeout(const struct inferd_client *c);

/* Largest reply accepted (header + meta + data); 0 restores the default,
 * 64 MiB, the daemon's default frame limit. A reply claiming more is refused
 * with INFERD_E_TOO_LARGE before anything is allocated for it. */
INFERD_CLIENT_API void inferd_client_set_max_frame(struct inferd_client *c, uint64_t bytes);

/* enum inferd_client_transport of c. */
INFERD_CLIENT_API int inferd_client_transport(const struct inferd_client *c);

/* The address c was opened with (after NULL was resolved). */
INFERD_CLIENT_API const char *inferd_client_address(const struct inferd_client *c);

/* False once the connection failed (the daemon closed it, a reply could not
 * be read, a request was sent half-way when a timeout hit): every later call
 * fails at once with -ENOTCONN and the reason. Reconnect with a new client.
 * An error reply to one request (busy, bad_input, ...) leaves the connection
 * usable. */
INFERD_CLIENT_API bool inferd_client_usable(const struct inferd_client *c);

/* Requests sent and not yet answered (abandoned ones not counted). */
INFERD_CLIENT_API size_t inferd_client_pending(const struct inferd_client *c);

/* ---- requests ----------------------------------------------------------- */

enum inferd_client_image {
    INFERD_CLIENT_TENSOR = 0,     /* a plain tensor: datatype, shape, bytes */
    INFERD_CLIENT_IMAGE_JPEG = 1, /* one whole JPEG file */
    INFERD_CLIENT_IMAGE_RGB8 = 2, /* height x width x 3 bytes, rows top to bottom, R G B */
    INFERD_CLIENT_IMAGE_BGR8 = 3, /* as RGB8 in B G R order (OpenCV) */
};

struct inferd_client_input {
    /* The model's input name. Images go to the model's image input whatever
     * the name (NULL: "image"). */
    const char *name;
    int image;            /* enum inferd_client_image */
    const char *datatype; /* tensors: "FP32", "UINT8", "INT64", ... (Open Inference Protocol) */
    int ndim;             /* tensors: 0 (a scalar) .. INFERD_CLIENT_MAX_DIMS */
    int64_t shape[INFERD_CLIENT_MAX_DIMS];
    uint32_t width, height; /* RGB8/BGR8 images */
    const void *data;       /* not copied; only read during the call */
    size_t size;            /* bytes at data: product(shape) x element size for tensors */
};

#define INFERD_CLIENT_TOPK_NONE (-1)

struct inferd_client_output_request {
    const char *name;
    int topk;       /* 0: the default; INFERD_CLIENT_TOPK_NONE; 1..1000 */
    bool omit_data; /* send back only this output's top-k, not the tensor */
};

/* Zero-initialised fields mean "the daemon's default". */
struct inferd_client_request {
    const char *model;
    const struct inferd_client_input *inputs;
    size_t ninputs; /* 1 .. INFERD_CLIENT_MAX_IO */
    const struct inferd_client_output_request *outputs;
    size_t noutputs;     /* 0: every output of the model */
    int topk;            /* for every returned output: 0 the model's default; _TOPK_NONE; 1..1000 */
    uint32_t timeout_ms; /* the daemon's deadline for this request; 0: its default */
};

/* ---- results ------------------------------------------------------------ */

struct inferd_client_output {
    const char *name;
    const char *datatype; /* "FP32", ... */
    int ndim;
    int64_t shape[INFERD_CLIENT_MAX_DIMS];
    const void *data; /* size bytes, little-endian, row-major, aligned for its datatype */
    size_t size;
};

struct inferd_client_class {
    int64_t index;     /* flat element index into the output */
    double score;      /* NaN when the model produced a non-finite value */
    const char *label; /* NULL when the model has no labels file */
};

struct inferd_client_topk {
    const char *output;
    size_t nclasses;
    const struct inferd_client_class *classes; /* best first */
};

struct inferd_client_result {
    uint64_t request_id;
    const char *model;
    const char *backend; /* NULL when the daemon did not say */
    size_t noutputs;
    const struct inferd_client_output *outputs;
    size_t ntopk;
    const struct inferd_client_topk *topk;
    bool has_timing; /* the daemon's own times below were given */
    uint64_t queue_us, compute_us, total_us;
    uint64_t latency_us;   /* measured here: from sending the request to its reply */
    const char *meta_json; /* the response meta as received (NUL-terminated) */
    size_t meta_len;
};

/* Frees a result. Accepts NULL. */
INFERD_CLIENT_API void inferd_client_result_free(struct inferd_client_result *r);

/* Sends req and waits for its reply. An error reply returns its code
 * (INFERD_E_BUSY, INFERD_E_MODEL_NOT_FOUND, ...) with the daemon's message in
 * err. -EINVAL (and a message) when req breaks the protocol's rules, before
 * anything is sent. On a timeout the request is abandoned: its late reply is
 * dropped when it arrives. Replies to requests sent earlier with
 * inferd_client_send() that arrive meanwhile are kept for
 * inferd_client_recv(). */
INFERD_CLIENT_API int inferd_client_infer(struct inferd_client *c,
                                          const struct inferd_client_request *req,
                                          struct inferd_client_result **out, char *err,
                                          size_t errlen);

/* One JPEG file, and top-k (0: the model's default). */
INFERD_CLIENT_API int inferd_client_infer_jpeg(struct inferd_client *c, const char *model,
                                               const void *jpeg, size_t size, int topk,
                                               struct inferd_client_result **out, char *err,
                                               size_t errlen);

/* An RGB8 or BGR8 frame (format INFERD_CLIENT_IMAGE_RGB8/_BGR8) of
 * width x height x 3 bytes. */
INFERD_CLIENT_API int inferd_client_infer_pixels(struct inferd_client *c, const char *model,
                                                 int format, const void *pixels, uint32_t width,
                                                 uint32_t height, int topk,
                                                 struct inferd_client_result **out, char *err,
                                                 size_t errlen);

/* Pipelining. send writes a request and returns at once with its id (chosen
 * here, never 0); recv returns the next reply, whichever request it answers,
 * in the order they arrive (the daemon may answer out of order). On a Unix
 * socket any number may be in flight; a nanomsg (REQ) connection carries
 * one at a time, and a second send before its recv fails with -EBUSY.
 *
 * recv: 0 and *out on a response. An error reply returns its code with
 * *request_id set to the failed request's id (the connection stays usable).
 * A failure of the connection itself returns its code with *request_id 0.
 * -EAGAIN when nothing is pending. request_id may be NULL. */
INFERD_CLIENT_API int inferd_client_send(struct inferd_client *c,
                                         const struct inferd_client_request *req,
                                         uint64_t *request_id, char *err, size_t errlen);
INFERD_CLIENT_API int inferd_client_recv(struct inferd_client *c, struct inferd_client_result **out,
                                         uint64_t *request_id, char *err, size_t errlen);

/* A ping frame answered by a pong: the daemon is there and reading. */
INFERD_CLIENT_API int inferd_client_ping(struct inferd_client *c, char *err, size_t errlen);

/* ---- text commands ------------------------------------------------------ */

/* Runs a text command ("health", "stats", "models", "version", "metrics")
 * and returns its reply in *reply (malloc'd, NUL-terminated, without the
 * final newline; release with free()): one line of JSON, or Prometheus text
 * for "metrics". On a Unix socket this opens a short-lived text connection
 * beside the binary one; on nanomsg it is a text message on the same socket.
 * A JSON error line from the daemon returns its code and message. */
INFERD_CLIENT_API int inferd_client_command(struct inferd_client *c, const char *command,
                                            char **reply, char *err, size_t errlen);

/* ---- utilities ---------------------------------------------------------- */

/* Stable wire name of a code ("busy"); negated errno values: "internal".
 * Never NULL. */
INFERD_CLIENT_API const char *inferd_client_error_name(int code);

/* Human description of a code (project codes and negated errno values). */
INFERD_CLIENT_API const char *inferd_client_strerror(int code);

/* Bytes per element of a datatype name ("FP32": 4); 0 when unknown or BYTES. */
INFERD_CLIENT_API size_t inferd_client_dtype_size(const char *datatype);

/* "0.1.0": the library's version. */
INFERD_CLIENT_API const char *inferd_client_version(void);

#ifdef __cplusplus
}
#endif
#endif
