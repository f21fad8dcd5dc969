/* libFuzzer entry point for the protocol library: header decoding on every
 * prefix, whole-frame splitting, the three meta decoders, the text line
 * splitter and command parser. Decoded metas are encoded again and must
 * decode to the same values: a mismatch aborts, so the fuzzer reports it.
 *
 * Built only by clang (-fsanitize=fuzzer); see tests/fuzz/meson.build. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inferd_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond) abort();
}

static void tensors_equal(const struct inferd_tensor_meta *a, const struct inferd_tensor_meta *b,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        check(strcmp(a[i].name, b[i].name) == 0);
        check(a[i].dtype == b[i].dtype && a[i].ndim == b[i].ndim);
        check(memcmp(a[i].dims, b[i].dims, sizeof(a[i].dims[0]) * (size_t)a[i].ndim) == 0);
        check(a[i].nbytes == b[i].nbytes && a[i].offset == b[i].offset);
        check(a[i].image == b[i].image);
    }
}

static void request_round_trip(const uint8_t *meta, size_t len, uint64_t data_len)
{
    struct inferd_request *r = NULL, *again = NULL;
    char err[256], *json = NULL;
    size_t json_len;
    uint64_t enc_len;
    if (inferd_request_decode(meta, len, data_len, &r, err, sizeof(err)) != 0) return;
    check(inferd_request_encode(r, &json, &json_len, &enc_len, err, sizeof(err)) == 0);
    check(enc_len == data_len);
    check(inferd_request_decode(json, json_len, enc_len, &again, err, sizeof(err)) == 0);
    check(strcmp(r->model, again->model) == 0);
    check(r->ninputs == again->ninputs && r->noutputs == again->noutputs);
    tensors_equal(r->inputs, again->inputs, r->ninputs);
    for (size_t i = 0; i < r->noutputs; i++) {
        check(strcmp(r->outputs[i].name, again->outputs[i].name) == 0);
        check(r->outputs[i].topk == again->outputs[i].topk);
        check(r->outputs[i].no_tensor == again->outputs[i].no_tensor);
    }
    check(r->timeout_ms == again->timeout_ms && r->topk == again->topk);
    inferd_request_free(again);
    inferd_request_free(r);
    free(json);
}

static void response_round_trip(const uint8_t *meta, size_t len, uint64_t data_len)
{
    struct inferd_response *r = NULL, *again = NULL;
    char err[256], *json = NULL;
    size_t json_len;
    uint64_t enc_len;
    if (inferd_response_decode(meta, len, data_len, &r, err, sizeof(err)) != 0) return;
    check(inferd_response_encode(r, &json, &json_len, &enc_len, err, sizeof(err)) == 0);
    check(enc_len == data_len);
    check(inferd_response_decode(json, json_len, enc_len, &again, err, sizeof(err)) == 0);
    check(strcmp(r->model, again->model) == 0);
    check((r->backend == NULL) == (again->backend == NULL));
    check(r->noutputs == again->noutputs && r->ntopk == again->ntopk);
    tensors_equal(r->outputs, again->outputs, r->noutputs);
    for (size_t i = 0; i < r->ntopk; i++) {
        check(r->topk[i].nclasses == again->topk[i].nclasses);
        for (size_t c = 0; c < r->topk[i].nclasses; c++)
            check(r->topk[i].classes[c].index == again->topk[i].classes[c].index);
    }
    check(r->timing.total_us == again->timing.total_us);
    inferd_response_free(again);
    inferd_response_free(r);
    free(json);
}

static void error_round_trip(const uint8_t *meta, size_t len)
{
    struct inferd_error_meta *e = NULL, *again = NULL;
    char err[256], *json = NULL;
    size_t json_len;
    if (inferd_error_meta_decode(meta, len, &e, err, sizeof(err)) != 0) return;
    check(inferd_error_meta_encode(e->code, e->message, &json, &json_len) == 0);
    check(inferd_error_meta_decode(json, json_len, &again, err, sizeof(err)) == 0);
    check(again->code == e->code);
    inferd_error_meta_free(again);
    inferd_error_meta_free(e);
    free(json);
}

static void text(const uint8_t *data, size_t size, size_t step)
{
    struct inferd_text_lines l;
    const char *line;
    size_t line_len, used;
    char err[256];
    int cmd;
    inferd_text_lines_init(&l);
    for (size_t at = 0; at < size;) {
        size_t n = size - at < step ? size - at : step;
        const uint8_t *chunk = data + at;
        at += n;
        while (n) {
            int rc = inferd_text_lines_feed(&l, chunk, n, &used, &line, &line_len);
            check(used > 0 && used <= n);
            chunk += used, n -= used;
            if (rc == 1) {
                check(line_len <= INFERD_TEXT_MAX_LINE);
                inferd_text_parse(line, line_len, &cmd, err, sizeof(err));
            }
        }
    }
    if (inferd_text_lines_finish(&l, &line, &line_len) == 1)
        inferd_text_parse(line, line_len, &cmd, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct inferd_frame_limits lim = { .max_frame_bytes = 1 << 20, .max_meta_bytes = 1 << 16 };
    struct inferd_frame_header h;
    const uint8_t *meta, *payload;
    char err[256];

    /* A stream decoder sees the header grow a byte at a time. */
    for (size_t n = 0; n <= size && n <= INFERD_FRAME_HEADER_SIZE; n++) {
        int rc = inferd_frame_header_decode(data, n, &lim, &h, err, sizeof(err));
        check(rc <= 0 || (size_t)rc == INFERD_FRAME_HEADER_SIZE - n);
        if (rc < 0) break;
    }
    if (inferd_frame_split(data, size, &lim, &h, &meta, &payload, err, sizeof(err)) == 0) {
        uint8_t again[INFERD_FRAME_HEADER_SIZE];
        check(inferd_frame_header_encode(&h, again) == 0);
        check(memcmp(again, data, sizeof(again)) == 0);
        if (h.kind == INFERD_KIND_REQUEST) request_round_trip(meta, h.meta_len, h.data_len);
        if (h.kind == INFERD_KIND_RESPONSE) response_round_trip(meta, h.meta_len, h.data_len);
        if (h.kind == INFERD_KIND_ERROR) error_round_trip(meta, h.meta_len);
        return 0;
    }
    if (size < 2) return 0;

    /* Otherwise the input is a bare meta (or text): the first byte picks the
     * decoder and, for tensors, the data length to check the sizes against. */
    uint8_t mode = data[0];
    data++, size--;
    uint64_t data_len = (uint64_t)(mode >> 2) * (mode & 0x80 ? 4096 : 1);
    switch (mode & 3) {
    case 0: request_round_trip(data, size, data_len); break;
    case 1: response_round_trip(data, size, data_len); break;
    case 2: error_round_trip(data, size); break;
    default: text(data, size, (size_t)(mode >> 2) + 1); break;
    }
    return 0;
}
