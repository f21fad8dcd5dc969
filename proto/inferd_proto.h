/* The inferd wire protocol: frames, request/response/error meta, text mode.
 *
 * Pure encode/decode over caller memory: no I/O, no globals, no logging. Every
 * length that comes from the wire is checked against the caller's limits
 * before anything is sized from it. PROTOCOL.md is the specification; this
 * header is its C binding.
 *
 * Conventions: functions return 0 or a negative code (inferd_error.h). The
 * decoders write a human message naming where the problem is into a
 * caller-provided buffer (err may be NULL, errlen 0). Decoded structs own all
 * their memory and have one free function that accepts NULL and structs left
 * half-built by a failed decode. Encoded JSON is returned in a malloc'd,
 * NUL-terminated buffer that the caller releases with free().
 *
 * Threads: nothing here keeps state between calls, so any function may run on
 * several threads at once. (cJSON 1.7 resets a global error slot on every
 * parse; nothing reads it, but a race detector will report the writes.) */
#ifndef INFERD_PROTO_H
#define INFERD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inferd_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- frames ------------------------------------------------------------ */

#define INFERD_PROTO_VERSION     1
#define INFERD_FRAME_MAGIC       "INFD"
#define INFERD_FRAME_MAGIC_LEN   4
#define INFERD_FRAME_HEADER_SIZE 32

enum inferd_frame_kind {
    INFERD_KIND_REQUEST = 1,  /* client -> daemon: meta + input tensors */
    INFERD_KIND_RESPONSE = 2, /* daemon -> client: meta + output tensors */
    INFERD_KIND_ERROR = 3,    /* daemon -> client: error meta, no data */
    INFERD_KIND_PING = 4,     /* client -> daemon: no meta, no data */
    INFERD_KIND_PONG = 5,     /* daemon -> client: answers a ping, same request id */
};

/* Defaults when a limit is 0. The frame limit matches the config's
 * limits.max_frame_bytes default. */
#define INFERD_FRAME_MAX_DEFAULT ((uint64_t)64 << 20)
#define INFERD_META_MAX_DEFAULT  ((uint32_t)1 << 20)

struct inferd_frame_limits {
    uint64_t max_frame_bytes; /* header + meta + data; 0: INFERD_FRAME_MAX_DEFAULT */
    uint32_t max_meta_bytes;  /* meta alone; 0: INFERD_META_MAX_DEFAULT */
};

struct inferd_frame_header {
    uint16_t version; /* decode: always INFERD_PROTO_VERSION; encode: ignored */
    uint16_t kind;    /* enum inferd_frame_kind */
    uint32_t flags;   /* reserved: 0 in version 1 */
    uint32_t meta_len;
    uint64_t request_id; /* chosen by the client; 0 is reserved for connection errors */
    uint64_t data_len;
};

/* Decodes a header from the first len bytes of a stream. Returns 0 when *out
 * holds a header whose lengths are within lim (NULL: defaults) and consistent
 * with its kind; a positive count of bytes still needed when len is short of
 * the header (garbage is refused as soon as the bytes seen show it: a wrong
 * magic byte or version fails before the 32 bytes arrive); or
 * INFERD_E_BAD_FRAME, INFERD_E_UNSUPPORTED_VERSION, INFERD_E_TOO_LARGE. */
int inferd_frame_header_decode(const void *buf, size_t len, const struct inferd_frame_limits *lim,
                               struct inferd_frame_header *out, char *err, size_t errlen);

/* Writes h as a version-1 header. -EINVAL for an unknown kind, non-zero
 * flags, or lengths the kind does not allow. */
int inferd_frame_header_encode(const struct inferd_frame_header *h,
                               uint8_t out[INFERD_FRAME_HEADER_SIZE]);

/* Bytes of the whole frame h describes, or 0 when that does not fit a size_t. */
size_t inferd_frame_size(const struct inferd_frame_header *h);

/* Writes header + meta + data into out (one buffer: a nanomsg message).
 * meta/data may be NULL when their length is 0. -ENOBUFS when cap is short. */
int inferd_frame_write(void *out, size_t cap, const struct inferd_frame_header *h, const void *meta,
                       const void *data);

/* Splits one whole frame held in buf (a nanomsg message): decodes the header
 * and checks that len is exactly header + meta + data. */
int inferd_frame_split(const void *buf, size_t len, const struct inferd_frame_limits *lim,
                       struct inferd_frame_header *hdr, const uint8_t **meta, const uint8_t **data,
                       char *err, size_t errlen);

/* ---- datatypes --------------------------------------------------------- */

/* Open Inference Protocol datatypes, numbered as ONNX TensorProto.DataType
 * (and so as enum ir_dtype) so converting is a cast. */
enum inferd_dtype {
    INFERD_DT_INVALID = 0,
    INFERD_DT_FP32 = 1,
    INFERD_DT_UINT8 = 2,
    INFERD_DT_INT8 = 3,
    INFERD_DT_UINT16 = 4,
    INFERD_DT_INT16 = 5,
    INFERD_DT_INT32 = 6,
    INFERD_DT_INT64 = 7,
    INFERD_DT_BYTES = 8, /* encoded image bytes only (jpeg) */
    INFERD_DT_BOOL = 9,
    INFERD_DT_FP16 = 10,
    INFERD_DT_FP64 = 11,
    INFERD_DT_UINT32 = 12,
    INFERD_DT_UINT64 = 13,
};

/* "FP32" -> INFERD_DT_FP32; INFERD_DT_INVALID when unknown (names are upper
 * case, as in the Open Inference Protocol). */
int inferd_dtype_from_name(const char *name);
/* Wire name, or NULL when dtype is unknown. */
const char *inferd_dtype_name(int dtype);
/* Bytes per element; 0 for BYTES (variable) and unknown types. */
size_t inferd_dtype_size(int dtype);

/* ---- request meta ------------------------------------------------------ */

#define INFERD_MAX_INPUTS  16
#define INFERD_MAX_OUTPUTS 16
#define INFERD_MAX_DIMS    8          /* = IR_MAX_DIMS */
#define INFERD_MAX_DIM     2147483647 /* one dimension */
#define INFERD_MAX_NAME    255        /* bytes of a model, tensor or backend name */
#define INFERD_MAX_TOPK    1000
#define INFERD_MAX_IMAGE   65535       /* pixels per side of an rgb8/bgr8 frame */
#define INFERD_MAX_MESSAGE 1024        /* bytes of an error message, longer ones are cut */
#define INFERD_MAX_LABEL   1024        /* bytes of a top-k label */
#define INFERD_MAX_TIMEOUT 2147483647u /* ms */

enum inferd_image {
    INFERD_IMAGE_NONE = 0, /* a plain tensor */
    INFERD_IMAGE_JPEG = 1, /* datatype BYTES: one encoded JPEG */
    INFERD_IMAGE_RGB8 = 2, /* datatype UINT8, shape [H, W, 3], R first */
    INFERD_IMAGE_BGR8 = 3, /* datatype UINT8, shape [H, W, 3], B first (OpenCV) */
};

/* One tensor: a request's input or a response's output. */
struct inferd_tensor_meta {
    char *name;
    int dtype; /* enum inferd_dtype */
    int ndim;
    int64_t dims[INFERD_MAX_DIMS];
    uint64_t nbytes;        /* parameters.binary_data_size */
    uint64_t offset;        /* decode: where its bytes start in the frame's data; encode: ignored */
    int image;              /* enum inferd_image; requests only */
    uint32_t height, width; /* rgb8/bgr8: from the shape; otherwise 0 */
};

/* Zero-initialised structs mean "not given" everywhere, so a client that
 * fills only what it cares about gets the daemon's defaults. */
#define INFERD_TOPK_NONE (-1) /* no top-k: "topk": 0 on the wire */

struct inferd_output_request {
    char *name;
    int topk;       /* 0: not given (the request's or model's default); INFERD_TOPK_NONE; 1..k */
    bool no_tensor; /* "tensor": false: send only the top-k of this output */
};

struct inferd_request {
    char *model;
    size_t ninputs;
    struct inferd_tensor_meta *inputs;
    size_t noutputs; /* 0: every model output, with the default top-k */
    struct inferd_output_request *outputs;
    uint32_t timeout_ms; /* 0: not given, the daemon's default applies */
    int topk;            /* 0: not given (the model's config decides); INFERD_TOPK_NONE; 1..k */
};

/* Decodes and validates a request meta against the frame's data length.
 * INFERD_E_BAD_FRAME when the meta is not a UTF-8 JSON object or the inputs'
 * sizes do not add up to data_len; INFERD_E_BAD_INPUT for anything wrong
 * inside it (missing model, unknown datatype, shape/size disagreement, ...);
 * -ENOMEM. On success every input has its offset into the data section. */
int inferd_request_decode(const void *meta, size_t meta_len, uint64_t data_len,
                          struct inferd_request **out, char *err, size_t errlen);
void inferd_request_free(struct inferd_request *r);

/* Encodes r (owned by the caller; nothing is taken) as request meta. Applies
 * the decoder's rules and fails with -EINVAL and a message where r breaks
 * them; nbytes of fixed-size types may be 0 and is then derived from the
 * shape. *data_len (may be NULL) receives the data section's size. */
int inferd_request_encode(const struct inferd_request *r, char **json, size_t *json_len,
                          uint64_t *data_len, char *err, size_t errlen);

/* ---- response meta ----------------------------------------------------- */

struct inferd_topk_class {
    int64_t index;
    double score; /* NaN when the model produced a non-finite value */
    char *label;  /* NULL when the model has no labels */
};

struct inferd_topk {
    char *output;
    size_t nclasses;
    struct inferd_topk_class *classes; /* best first */
};

struct inferd_timing {
    uint64_t queue_us, compute_us, total_us;
};

struct inferd_response {
    char *model;
    char *backend; /* NULL when not given */
    size_t noutputs;
    struct inferd_tensor_meta *outputs;
    size_t ntopk;
    struct inferd_topk *topk;
    bool has_timing;
    struct inferd_timing timing;
};

/* Response meta. Decoding ignores keys it does not know (a newer daemon may
 * add some) and fails with INFERD_E_BAD_FRAME on anything it cannot trust. */
int inferd_response_encode(const struct inferd_response *r, char **json, size_t *json_len,
                           uint64_t *data_len, char *err, size_t errlen);
int inferd_response_decode(const void *meta, size_t meta_len, uint64_t data_len,
                           struct inferd_response **out, char *err, size_t errlen);
void inferd_response_free(struct inferd_response *r);

/* ---- error meta -------------------------------------------------------- */

struct inferd_error_meta {
    int code;      /* INFERD_E_*; INFERD_E_INTERNAL when the name is not known here */
    char *name;    /* the wire name as received ("busy") */
    char *message; /* human text, never NULL after a successful decode */
};

/* {"error":{"code":NAME,"message":MESSAGE}} for code (negated errno values
 * become "internal"). message NULL: inferd_strerror(code). Messages are cut
 * to INFERD_MAX_MESSAGE bytes and invalid UTF-8 is replaced by '?'. The
 * result is one line: it doubles as the text-mode error reply. */
int inferd_error_meta_encode(int code, const char *message, char **json, size_t *json_len);
int inferd_error_meta_decode(const void *meta, size_t meta_len, struct inferd_error_meta **out,
                             char *err, size_t errlen);
void inferd_error_meta_free(struct inferd_error_meta *e);

/* ---- text mode (shells) ------------------------------------------------ */

enum inferd_sniff {
    INFERD_SNIFF_MORE = 0,  /* every byte so far matches the magic: wait */
    INFERD_SNIFF_FRAME = 1, /* starts with the magic: binary frames */
    INFERD_SNIFF_TEXT = 2,  /* anything else: text commands */
};

/* Classifies a connection (or a nanomsg message) by its first bytes. */
int inferd_text_sniff(const void *buf, size_t len);

/* True when the first bytes already show a text connection. */
bool inferd_text_is_text(const void *buf, size_t len);

enum inferd_text_cmd {
    INFERD_TEXT_BLANK = 0, /* empty or whitespace-only line: answer nothing */
    INFERD_TEXT_HEALTH,
    INFERD_TEXT_STATS,
    INFERD_TEXT_MODELS,
    INFERD_TEXT_VERSION,
    INFERD_TEXT_METRICS,
};

/* Parses one command line (without or with its "\n"; surrounding spaces,
 * tabs and "\r" are trimmed; names are case-sensitive). Unknown command or
 * trailing arguments: INFERD_E_BAD_INPUT and a message such as
 * "unknown command 'foo' (try: health, stats, models, version, metrics)". */
int inferd_text_parse(const char *line, size_t len, int *cmd, char *err, size_t errlen);
/* "health", ...; NULL for INFERD_TEXT_BLANK and unknown values. */
const char *inferd_text_cmd_name(int cmd);

#define INFERD_TEXT_MAX_LINE 1024 /* bytes, without the "\n" */

/* Splits a byte stream into lines across chunk boundaries. */
struct inferd_text_lines {
    size_t len;    /* bytes of the current line held in buf */
    bool skipping; /* an overlong line is being dropped up to its "\n" */
    char buf[INFERD_TEXT_MAX_LINE + 1];
};

void inferd_text_lines_init(struct inferd_text_lines *l);

/* Consumes bytes of chunk up to and including the next "\n" and sets *used.
 * Returns 1 with *line and *line_len (NUL-terminated, without the "\n", valid
 * until the next call) when a line is complete; 0 when all of chunk was taken
 * and no line is complete; INFERD_E_TOO_LARGE once when the current line
 * passes INFERD_TEXT_MAX_LINE (its bytes are then dropped through the next
 * "\n", so a caller that keeps the connection stays in step). Callers loop
 * while bytes remain. */
int inferd_text_lines_feed(struct inferd_text_lines *l, const void *chunk, size_t len, size_t *used,
                           const char **line, size_t *line_len);

/* At end of stream: returns 1 and the last line when one was left without
 * its "\n" (printf health | socat ...), else 0. */
int inferd_text_lines_finish(struct inferd_text_lines *l, const char **line, size_t *line_len);

#ifdef __cplusplus
}
#endif
#endif
