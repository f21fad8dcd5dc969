/* Frame headers: encode/decode round trips, decoding from a stream that
 * arrives a byte at a time, and every malformed header the decoder refuses
 * before a caller sizes anything from it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_proto.h"

/* Builds header bytes by hand, independent of the encoder under test. */
static void raw_header(uint8_t out[32], const char *magic, uint16_t version, uint16_t kind,
                       uint32_t flags, uint32_t meta_len, uint64_t id, uint64_t data_len)
{
    memcpy(out, magic, 4);
    out[4] = (uint8_t)version, out[5] = (uint8_t)(version >> 8);
    out[6] = (uint8_t)kind, out[7] = (uint8_t)(kind >> 8);
    for (int i = 0; i < 4; i++) out[8 + i] = (uint8_t)(flags >> (8 * i));
    for (int i = 0; i < 4; i++) out[12 + i] = (uint8_t)(meta_len >> (8 * i));
    for (int i = 0; i < 8; i++) out[16 + i] = (uint8_t)(id >> (8 * i));
    for (int i = 0; i < 8; i++) out[24 + i] = (uint8_t)(data_len >> (8 * i));
}

static int decode(const uint8_t *buf, size_t len, struct inferd_frame_header *h, char *err)
{
    return inferd_frame_header_decode(buf, len, NULL, h, err, 256);
}

/* PROTOCOL.md's examples, byte for byte: if the spec and the code disagree,
 * this fails. */
static const char spec_request_meta[] =
    "{\"model\":\"digits\",\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,1,"
    "4,4],\"parameters\":{\"binary_data_size\":64}}],\"outputs\":[{\"name\":\"prob\","
    "\"parameters\":{\"topk\":3}}],\"parameters\":{\"timeout_ms\":1000}}";

static void test_protocol_md_examples(void **state)
{
    (void)state;
    /* clang-format off */
    static const uint8_t request_header[32] = {
        0x49, 0x4e, 0x46, 0x44, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xcc, 0x00, 0x00, 0x00,
        0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    static const uint8_t pong_header[32] = {
        0x49, 0x4e, 0x46, 0x44, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    /* clang-format on */
    struct inferd_frame_header h = { .kind = INFERD_KIND_REQUEST,
                                     .meta_len = sizeof(spec_request_meta) - 1,
                                     .request_id = 7,
                                     .data_len = 64 };
    uint8_t out[32];
    assert_int_equal(h.meta_len, 204);
    assert_int_equal(inferd_frame_header_encode(&h, out), 0);
    assert_memory_equal(out, request_header, 32);

    /* The whole frame, as one message, splits and decodes. */
    uint8_t frame[32 + 204 + 64];
    memcpy(frame, request_header, 32);
    memcpy(frame + 32, spec_request_meta, 204);
    memset(frame + 32 + 204, 0, 64);
    struct inferd_frame_header d;
    const uint8_t *meta, *data;
    char err[256] = "";
    assert_int_equal(
        inferd_frame_split(frame, sizeof(frame), NULL, &d, &meta, &data, err, sizeof(err)), 0);
    assert_int_equal(d.version, 1);
    assert_int_equal(d.kind, INFERD_KIND_REQUEST);
    assert_int_equal(d.flags, 0);
    assert_int_equal(d.request_id, 7);
    assert_int_equal(d.data_len, 64);
    struct inferd_request *r;
    int rc = inferd_request_decode(meta, d.meta_len, d.data_len, &r, err, sizeof(err));
    if (rc) fail_msg("%s", err);
    assert_string_equal(r->model, "digits");
    assert_int_equal(r->inputs[0].nbytes, 64);
    assert_int_equal(r->outputs[0].topk, 3);
    assert_int_equal(r->timeout_ms, 1000);
    /* And the encoder writes exactly the spec's text. */
    char *json;
    size_t len;
    uint64_t data_len;
    assert_int_equal(inferd_request_encode(r, &json, &len, &data_len, err, sizeof(err)), 0);
    assert_string_equal(json, spec_request_meta);
    free(json);
    inferd_request_free(r);

    struct inferd_frame_header pong = { .kind = INFERD_KIND_PONG, .request_id = 9 };
    assert_int_equal(inferd_frame_header_encode(&pong, out), 0);
    assert_memory_equal(out, pong_header, 32);
}

static void test_round_trip_every_kind(void **state)
{
    (void)state;
    const struct inferd_frame_header cases[] = {
        { .kind = INFERD_KIND_REQUEST, .meta_len = 1, .request_id = 1, .data_len = 0 },
        { .kind = INFERD_KIND_REQUEST,
          .meta_len = 900,
          .request_id = UINT64_MAX,
          .data_len = 602112 },
        { .kind = INFERD_KIND_RESPONSE,
          .meta_len = 300,
          .request_id = 0x0102030405060708ull,
          .data_len = 4000 },
        { .kind = INFERD_KIND_RESPONSE, .meta_len = 20, .request_id = 9, .data_len = 0 },
        { .kind = INFERD_KIND_ERROR, .meta_len = 60, .request_id = 0, .data_len = 0 },
        { .kind = INFERD_KIND_ERROR, .meta_len = 60, .request_id = 42, .data_len = 0 },
        { .kind = INFERD_KIND_PING, .request_id = 5 },
        { .kind = INFERD_KIND_PONG, .request_id = 5 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[32];
        struct inferd_frame_header d;
        char err[256] = "";
        assert_int_equal(inferd_frame_header_encode(&cases[i], buf), 0);
        assert_memory_equal(buf, "INFD", 4);
        int rc = decode(buf, 32, &d, err);
        if (rc != 0) fail_msg("case %zu: %s", i, err);
        assert_int_equal(d.version, INFERD_PROTO_VERSION);
        assert_int_equal(d.kind, cases[i].kind);
        assert_int_equal(d.meta_len, cases[i].meta_len);
        assert_true(d.request_id == cases[i].request_id);
        assert_true(d.data_len == cases[i].data_len);
    }
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    uint8_t buf[32];
    raw_header(buf, "INFD", 1, INFERD_KIND_RESPONSE, 0, 77, 1234, 4096);
    struct inferd_frame_header h;
    memset(&h, 0xee, sizeof(h));
    for (size_t n = 0; n < 32; n++) {
        int rc = decode(buf, n, &h, NULL);
        assert_int_equal(rc, (int)(32 - n));
    }
    /* Nothing was written while bytes were missing. */
    assert_int_equal(h.kind, 0xeeee);
    assert_int_equal(decode(buf, 32, &h, NULL), 0);
    assert_int_equal(h.meta_len, 77);
    assert_int_equal(h.request_id, 1234);
    /* Bytes past the header (the meta) do not matter. */
    uint8_t more[40];
    memcpy(more, buf, 32);
    memset(more + 32, '{', 8);
    assert_int_equal(decode(more, sizeof(more), &h, NULL), 0);
}

static void test_bad_magic_refused_early(void **state)
{
    (void)state;
    char err[256];
    /* "GET / HTTP/1.1": refused at its first byte, no need to wait for 32. */
    assert_int_equal(decode((const uint8_t *)"G", 1, NULL, err), INFERD_E_BAD_FRAME);
    assert_non_null(strstr(err, "bad magic"));
    assert_int_equal(decode((const uint8_t *)"INX", 3, NULL, err), INFERD_E_BAD_FRAME);
    assert_non_null(strstr(err, "INX"));
    /* Matching prefixes wait. */
    assert_int_equal(decode((const uint8_t *)"INF", 3, NULL, err), 29);
    /* Lower case is a different magic. */
    uint8_t buf[32];
    raw_header(buf, "infd", 1, INFERD_KIND_REQUEST, 0, 10, 1, 0);
    assert_int_equal(decode(buf, 32, NULL, err), INFERD_E_BAD_FRAME);
    /* Binary garbage is shown escaped, never raw. */
    raw_header(buf, "\xff\x00\x01\n", 1, INFERD_KIND_REQUEST, 0, 10, 1, 0);
    assert_int_equal(decode(buf, 32, NULL, err), INFERD_E_BAD_FRAME);
    assert_non_null(strstr(err, "\\xff\\x00\\x01\\x0a"));
}

static void test_version(void **state)
{
    (void)state;
    char err[256];
    uint8_t buf[32];
    raw_header(buf, "INFD", 2, INFERD_KIND_REQUEST, 0, 10, 1, 0);
    /* Known as soon as the version bytes are in. */
    assert_int_equal(decode(buf, 5, NULL, err), 27);
    assert_int_equal(decode(buf, 6, NULL, err), INFERD_E_UNSUPPORTED_VERSION);
    assert_non_null(strstr(err, "version 2"));
    raw_header(buf, "INFD", 0, INFERD_KIND_REQUEST, 0, 10, 1, 0);
    assert_int_equal(decode(buf, 32, NULL, err), INFERD_E_UNSUPPORTED_VERSION);
    raw_header(buf, "INFD", 0x0100, INFERD_KIND_REQUEST, 0, 10, 1, 0); /* big-endian 1 */
    assert_int_equal(decode(buf, 32, NULL, err), INFERD_E_UNSUPPORTED_VERSION);
    assert_non_null(strstr(err, "256"));
}

static void test_too_large(void **state)
{
    (void)state;
    char err[256];
    uint8_t buf[32];
    /* A header claiming 100 GB is refused before anyone allocates. */
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, 100, 1, 100ull << 30);
    assert_int_equal(decode(buf, 32, NULL, err), INFERD_E_TOO_LARGE);
    assert_non_null(strstr(err, "107374182400"));
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, 100, 1, UINT64_MAX);
    assert_int_equal(decode(buf, 32, NULL, err), INFERD_E_TOO_LARGE);
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, UINT32_MAX, 1, 0);
    assert_int_equal(decode(buf, 32, NULL, err), INFERD_E_TOO_LARGE);
    assert_non_null(strstr(err, "meta"));

    /* Exactly at the limit passes, one byte more does not; header and meta
     * count toward the frame limit. */
    struct inferd_frame_limits lim = { .max_frame_bytes = 1000, .max_meta_bytes = 100 };
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, 100, 1, 1000 - 32 - 100);
    assert_int_equal(inferd_frame_header_decode(buf, 32, &lim, NULL, err, sizeof(err)), 0);
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, 100, 1, 1000 - 32 - 100 + 1);
    assert_int_equal(inferd_frame_header_decode(buf, 32, &lim, NULL, err, sizeof(err)),
                     INFERD_E_TOO_LARGE);
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, 101, 1, 0);
    assert_int_equal(inferd_frame_header_decode(buf, 32, &lim, NULL, err, sizeof(err)),
                     INFERD_E_TOO_LARGE);
    /* Meta plus data that would wrap a 64-bit sum under a huge limit. */
    struct inferd_frame_limits huge = { .max_frame_bytes = UINT64_MAX };
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, 1000, 1, UINT64_MAX - 10);
    assert_int_equal(inferd_frame_header_decode(buf, 32, &huge, NULL, err, sizeof(err)),
                     INFERD_E_TOO_LARGE);
    /* Default limits: 64 MiB frame. */
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, 100, 1, (64u << 20) - 132);
    assert_int_equal(decode(buf, 32, NULL, err), 0);
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, 100, 1, (64u << 20) - 131);
    assert_int_equal(decode(buf, 32, NULL, err), INFERD_E_TOO_LARGE);
}

static void test_bad_fields(void **state)
{
    (void)state;
    char err[256];
    uint8_t buf[32];
    struct {
        uint16_t kind;
        uint32_t flags, meta;
        uint64_t id, data;
        const char *says;
    } cases[] = {
        { 0, 0, 10, 1, 0, "kind 0" },
        { 6, 0, 10, 1, 0, "kind 6" },
        { 0xffff, 0, 10, 1, 0, "kind 65535" },
        { INFERD_KIND_REQUEST, 1, 10, 1, 0, "flags 0x00000001" },
        { INFERD_KIND_REQUEST, 0x80000000u, 10, 1, 0, "flags" },
        { INFERD_KIND_REQUEST, 0, 0, 1, 10, "without meta" },
        { INFERD_KIND_RESPONSE, 0, 0, 1, 0, "without meta" },
        { INFERD_KIND_ERROR, 0, 0, 1, 0, "without meta" },
        { INFERD_KIND_ERROR, 0, 10, 1, 5, "error frame carries 5 bytes of data" },
        { INFERD_KIND_PING, 0, 1, 1, 0, "ping frame carries 1 bytes of meta" },
        { INFERD_KIND_PONG, 0, 0, 1, 3, "pong frame" },
        { INFERD_KIND_REQUEST, 0, 10, 0, 0, "request id 0" },
        { INFERD_KIND_PING, 0, 0, 0, 0, "ping with request id 0" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw_header(buf, "INFD", 1, cases[i].kind, cases[i].flags, cases[i].meta, cases[i].id,
                   cases[i].data);
        err[0] = '\0';
        int rc = decode(buf, 32, NULL, err);
        if (rc != INFERD_E_BAD_FRAME || !strstr(err, cases[i].says))
            fail_msg("case %zu: rc %d, message '%s', wanted '%s'", i, rc, err, cases[i].says);
        /* The encoder refuses what the decoder refuses. */
        struct inferd_frame_header h = { .kind = cases[i].kind,
                                         .flags = cases[i].flags,
                                         .meta_len = cases[i].meta,
                                         .request_id = cases[i].id,
                                         .data_len = cases[i].data };
        assert_int_equal(inferd_frame_header_encode(&h, buf), -EINVAL);
    }
    /* Errors and responses may carry id 0 (a connection error). */
    raw_header(buf, "INFD", 1, INFERD_KIND_ERROR, 0, 10, 0, 0);
    assert_int_equal(decode(buf, 32, NULL, err), 0);
}

static void test_err_buffer_optional_and_bounded(void **state)
{
    (void)state;
    uint8_t buf[32];
    raw_header(buf, "INFD", 1, INFERD_KIND_REQUEST, 0, 100, 1, 100ull << 30);
    assert_int_equal(inferd_frame_header_decode(buf, 32, NULL, NULL, NULL, 0), INFERD_E_TOO_LARGE);
    char small[8];
    memset(small, 'x', sizeof(small));
    assert_int_equal(inferd_frame_header_decode(buf, 32, NULL, NULL, small, sizeof(small)),
                     INFERD_E_TOO_LARGE);
    assert_int_equal(strlen(small), 7);
}

static void test_write_and_split(void **state)
{
    (void)state;
    const char meta[] = "{\"model\":\"m\"}";
    const uint8_t data[5] = { 1, 2, 3, 4, 5 };
    struct inferd_frame_header h = { .kind = INFERD_KIND_REQUEST,
                                     .meta_len = sizeof(meta) - 1,
                                     .request_id = 99,
                                     .data_len = sizeof(data) };
    size_t total = inferd_frame_size(&h);
    assert_int_equal(total, 32 + 13 + 5);
    uint8_t buf[64];
    assert_int_equal(inferd_frame_write(buf, total - 1, &h, meta, data), -ENOBUFS);
    assert_int_equal(inferd_frame_write(buf, total, &h, meta, NULL), -EINVAL);
    assert_int_equal(inferd_frame_write(buf, total, &h, meta, data), 0);

    struct inferd_frame_header d;
    const uint8_t *m, *p;
    char err[256];
    assert_int_equal(inferd_frame_split(buf, total, NULL, &d, &m, &p, err, sizeof(err)), 0);
    assert_int_equal(d.request_id, 99);
    assert_memory_equal(m, meta, sizeof(meta) - 1);
    assert_memory_equal(p, data, sizeof(data));

    /* Every truncation and one trailing byte. */
    for (size_t n = 0; n < total; n++) {
        int rc = inferd_frame_split(buf, n, NULL, &d, &m, &p, err, sizeof(err));
        assert_int_equal(rc, INFERD_E_BAD_FRAME);
        assert_non_null(strstr(err, "truncated"));
    }
    buf[total] = 0;
    assert_int_equal(inferd_frame_split(buf, total + 1, NULL, &d, &m, &p, err, sizeof(err)),
                     INFERD_E_BAD_FRAME);
    assert_non_null(strstr(err, "trailing"));

    /* A ping is a bare header. */
    struct inferd_frame_header ping = { .kind = INFERD_KIND_PING, .request_id = 3 };
    assert_int_equal(inferd_frame_write(buf, 32, &ping, NULL, NULL), 0);
    assert_int_equal(inferd_frame_split(buf, 32, NULL, &d, &m, &p, err, sizeof(err)), 0);
    assert_int_equal(d.kind, INFERD_KIND_PING);
}

static void test_dtypes(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int dtype;
        size_t size;
    } rows[] = {
        { "BOOL", INFERD_DT_BOOL, 1 },     { "UINT8", INFERD_DT_UINT8, 1 },
        { "UINT16", INFERD_DT_UINT16, 2 }, { "UINT32", INFERD_DT_UINT32, 4 },
        { "UINT64", INFERD_DT_UINT64, 8 }, { "INT8", INFERD_DT_INT8, 1 },
        { "INT16", INFERD_DT_INT16, 2 },   { "INT32", INFERD_DT_INT32, 4 },
        { "INT64", INFERD_DT_INT64, 8 },   { "FP16", INFERD_DT_FP16, 2 },
        { "FP32", INFERD_DT_FP32, 4 },     { "FP64", INFERD_DT_FP64, 8 },
        { "BYTES", INFERD_DT_BYTES, 0 },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(inferd_dtype_from_name(rows[i].name), rows[i].dtype);
        assert_string_equal(inferd_dtype_name(rows[i].dtype), rows[i].name);
        assert_int_equal(inferd_dtype_size(rows[i].dtype), rows[i].size);
    }
    /* Numbered as ONNX TensorProto.DataType. */
    assert_int_equal(INFERD_DT_FP32, 1);
    assert_int_equal(INFERD_DT_INT64, 7);
    assert_int_equal(INFERD_DT_FP16, 10);
    assert_int_equal(inferd_dtype_from_name("fp32"), INFERD_DT_INVALID);
    assert_int_equal(inferd_dtype_from_name("FLOAT"), INFERD_DT_INVALID);
    assert_int_equal(inferd_dtype_from_name(""), INFERD_DT_INVALID);
    assert_int_equal(inferd_dtype_from_name(NULL), INFERD_DT_INVALID);
    assert_null(inferd_dtype_name(0));
    assert_null(inferd_dtype_name(14));
    assert_int_equal(inferd_dtype_size(-1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_md_examples),
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_bad_magic_refused_early),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_err_buffer_optional_and_bounded),
        cmocka_unit_test(test_write_and_split),
        cmocka_unit_test(test_dtypes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
