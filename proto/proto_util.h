/* Internal helpers of the protocol library: messages, UTF-8, checked
 * arithmetic and the cJSON walking every meta decoder shares. Not installed,
 * not part of the API. */
#ifndef INFERD_PROTO_UTIL_H
#define INFERD_PROTO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "inferd_proto.h"

#if defined(__GNUC__)
#define PROTO_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PROTO_PRINTF(f, a)
#endif

/* Formats a message into err (when not NULL) and returns code. */
int proto_fail(int code, char *err, size_t errlen, const char *fmt, ...) PROTO_PRINTF(4, 5);

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
bool proto_utf8_valid(const uint8_t *s, size_t n);

/* malloc'd copy of s (n bytes) with each invalid UTF-8 byte and each control
 * character other than tab and newline replaced by '?', cut on a character boundary to at
 * most max bytes. NULL when out of memory. */
char *proto_text_clean(const char *s, size_t n, size_t max);

/* Writes s (n bytes) for a message: printable ASCII as is, other bytes as
 * \xNN, cut with "..." past a short length. Always NUL-terminates. */
void proto_quote(char *out, size_t outlen, const char *s, size_t n);

/* "BOOL, UINT8, ...": every datatype name, for messages. */
void proto_dtype_list(char *out, size_t outlen);

/* a * b, false when it does not fit. */
bool proto_mul_u64(uint64_t a, uint64_t b, uint64_t *out);

/* ---- JSON (meta) ------------------------------------------------------- */

#define PJ_PATH_MAX 96

/* Checks raw meta bytes (UTF-8, no control bytes other than whitespace, no
 * \u0000 escape that cJSON would silently cut a string at), parses them and
 * requires one JSON object and nothing after it but whitespace. Failures are
 * INFERD_E_BAD_FRAME. */
int pj_parse(const void *meta, size_t len, cJSON **root, char *err, size_t errlen);

/* "a string", "an array", ...: for "expected X, got Y" messages. */
const char *pj_type_name(const cJSON *item);

/* Child path: "inputs[2]" + "name" -> "inputs[2].name"; index >= 0 appends
 * "[index]" instead. */
void pj_path(char *out, const char *parent, const char *key, long index);

/* Walks the members of object obj at path: a member named twice among the
 * known names fails, and so does an unknown name when strict (its message
 * lists the known ones). Fails with code. */
int pj_keys(const cJSON *obj, const char *path, const char *const *known, size_t nknown,
            bool strict, int code, char *err, size_t errlen);

/* Member key of obj; NULL when absent. */
const cJSON *pj_get(const cJSON *obj, const char *key);

/* Requires an object at path. */
int pj_object(const cJSON *item, const char *path, int code, char *err, size_t errlen);

/* Requires an array of at most max elements; *n receives its length. */
int pj_array(const cJSON *item, const char *path, size_t max, int code, size_t *n, char *err,
             size_t errlen);

/* A string of 1..maxlen bytes; names (name true) may hold no control
 * characters. *out is a malloc'd copy. */
int pj_string(const cJSON *item, const char *path, size_t maxlen, bool name, int code, char **out,
              char *err, size_t errlen);

/* An integral number in 0..max (max at most 2^53). */
int pj_uint(const cJSON *item, const char *path, uint64_t max, int code, uint64_t *out, char *err,
            size_t errlen);

int pj_bool(const cJSON *item, const char *path, int code, bool *out, char *err, size_t errlen);

/* The tensor object rules shared by requests and responses. */
struct pj_tensor_rules {
    bool request; /* strict keys, image inputs allowed */
    int code;     /* code for a bad value (structure errors are always BAD_FRAME) */
};

int pj_tensor_decode(const cJSON *obj, const char *path, const struct pj_tensor_rules *rules,
                     struct inferd_tensor_meta *t, char *err, size_t errlen);

/* Builds the JSON object of t (name, datatype, shape, binary_data_size,
 * image) and adds the binary_data_size it wrote to *data_len. */
int pj_tensor_encode(const struct inferd_tensor_meta *t, const char *path, bool request,
                     cJSON **out, uint64_t *data_len, char *err, size_t errlen);

/* Checks that the tensors' sizes add up to data_len and sets their offsets. */
int pj_tensor_offsets(struct inferd_tensor_meta *t, size_t n, const char *what, uint64_t data_len,
                      char *err, size_t errlen);

void pj_tensor_clear(struct inferd_tensor_meta *t);

/* Integers written exactly (as raw JSON text). pj_add_int returns -ENOMEM. */
cJSON *pj_int_item(int64_t v);
int pj_add_int(cJSON *obj, const char *key, int64_t v);

/* Renders root on one line into a malloc'd buffer (free()). -ENOMEM. */
int pj_print(const cJSON *root, char **json, size_t *json_len);

/* The encoders' common shape: tree() builds the JSON of obj and sums its
 * binary sizes; the result is rendered and then decoded again with check()
 * (which frees what it decoded), so nothing the decoder would refuse is ever
 * sent; a refusal becomes -EINVAL with the decoder's message. */
typedef int (*pj_tree_fn)(const void *obj, cJSON *root, uint64_t *sum, char *err, size_t errlen);
typedef int (*pj_check_fn)(const char *json, size_t len, uint64_t data_len, char *err,
                           size_t errlen);
int pj_encode_checked(const void *obj, pj_tree_fn tree, pj_check_fn check, char **json,
                      size_t *json_len, uint64_t *data_len, char *err, size_t errlen);

#endif
