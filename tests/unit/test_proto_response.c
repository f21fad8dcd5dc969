/* Response and error meta: round trips, what a client must still accept from
 * a newer daemon (unknown keys), and what it must refuse. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_proto.h"

static void test_response_round_trip(void **state)
{
    (void)state;
    struct inferd_tensor_meta outs[2] = {
        { .name = "prob", .dtype = INFERD_DT_FP32, .ndim = 2, .dims = { 1, 10 } },
        { .name = "embed", .dtype = INFERD_DT_FP16, .ndim = 2, .dims = { 1, 64 }, .nbytes = 128 },
    };
    struct inferd_topk_class classes[3] = {
        { .index = 3, .score = 0.91, .label = "cat" },
        { .index = 5, .score = 0.0625, .label = "d\xc3\xa9j\xc3\xa0 vu \"quoted\"" },
        { .index = 9007199254740991LL, .score = NAN, .label = NULL },
    };
    struct inferd_topk topk = { .output = "prob", .nclasses = 3, .classes = classes };
    struct inferd_response r = {
        .model = "digits",
        .backend = "cpu",
        .noutputs = 2,
        .outputs = outs,
        .ntopk = 1,
        .topk = &topk,
        .has_timing = true,
        .timing = { .queue_us = 12, .compute_us = 3400, .total_us = 3500 },
    };
    char *json, err[512] = "";
    size_t len;
    uint64_t data_len;
    int rc = inferd_response_encode(&r, &json, &len, &data_len, err, sizeof(err));
    if (rc) fail_msg("%s", err);
    assert_int_equal(data_len, 40 + 128);
    assert_null(strchr(json, '\n'));
    /* JSON has no NaN: a non-finite score travels as null. */
    assert_non_null(strstr(json, "\"score\":null"));

    struct inferd_response *d;
    rc = inferd_response_decode(json, len, data_len, &d, err, sizeof(err));
    if (rc) fail_msg("%s\n%s", err, json);
    assert_string_equal(d->model, "digits");
    assert_string_equal(d->backend, "cpu");
    assert_int_equal(d->noutputs, 2);
    assert_string_equal(d->outputs[0].name, "prob");
    assert_int_equal(d->outputs[0].nbytes, 40);
    assert_int_equal(d->outputs[0].offset, 0);
    assert_int_equal(d->outputs[1].dtype, INFERD_DT_FP16);
    assert_int_equal(d->outputs[1].offset, 40);
    assert_int_equal(d->ntopk, 1);
    assert_string_equal(d->topk[0].output, "prob");
    assert_int_equal(d->topk[0].nclasses, 3);
    assert_int_equal(d->topk[0].classes[0].index, 3);
    assert_true(d->topk[0].classes[0].score == 0.91);
    assert_string_equal(d->topk[0].classes[0].label, "cat");
    assert_string_equal(d->topk[0].classes[1].label, classes[1].label);
    assert_true(d->topk[0].classes[2].index == 9007199254740991LL);
    assert_true(isnan(d->topk[0].classes[2].score));
    assert_null(d->topk[0].classes[2].label);
    assert_true(d->has_timing);
    assert_int_equal(d->timing.queue_us, 12);
    assert_int_equal(d->timing.compute_us, 3400);
    assert_int_equal(d->timing.total_us, 3500);
    inferd_response_free(d);
    free(json);
}

static void test_response_minimal_and_topk_only(void **state)
{
    (void)state;
    /* Every output asked with tensor false: no tensors, only top-k. */
    struct inferd_topk_class c = { .index = 1, .score = 0.5 };
    struct inferd_topk k = { .output = "prob", .nclasses = 1, .classes = &c };
    struct inferd_response r = { .model = "m", .ntopk = 1, .topk = &k };
    char *json, err[512] = "";
    size_t len;
    uint64_t data_len = 99;
    assert_int_equal(inferd_response_encode(&r, &json, &len, &data_len, err, sizeof(err)), 0);
    assert_int_equal(data_len, 0);
    assert_null(strstr(json, "backend"));
    assert_null(strstr(json, "timing_us"));
    struct inferd_response *d;
    assert_int_equal(inferd_response_decode(json, len, 0, &d, err, sizeof(err)), 0);
    assert_int_equal(d->noutputs, 0);
    assert_null(d->backend);
    assert_false(d->has_timing);
    assert_null(d->topk[0].classes[0].label);
    inferd_response_free(d);
    free(json);
}

static void test_response_from_newer_daemon(void **state)
{
    (void)state;
    const char *json =
        "{\"model\":\"m\",\"model_version\":\"3\",\"outputs\":[{\"name\":\"y\",\"datatype\":"
        "\"INT64\",\"shape\":[3],\"layout\":\"N\",\"parameters\":{\"binary_data_size\":24,"
        "\"compressed\":false}}],\"topk\":[{\"output\":\"y\",\"softmax\":true,\"classes\":[{"
        "\"index\":0,\"score\":1,\"color\":\"red\"}]}],\"timing_us\":{\"total\":5,\"gpu\":2},"
        "\"trace\":{\"id\":[1,2]}}";
    struct inferd_response *d;
    char err[512] = "";
    int rc = inferd_response_decode(json, strlen(json), 24, &d, err, sizeof(err));
    if (rc) fail_msg("%s", err);
    assert_int_equal(d->outputs[0].nbytes, 24);
    assert_int_equal(d->timing.total_us, 5);
    assert_int_equal(d->timing.queue_us, 0);
    inferd_response_free(d);
}

static void test_response_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *meta;
        uint64_t data_len;
        const char *says;
    } cases[] = {
        { "[]", 0, "not a JSON object" },
        { "{\"outputs\":[]}", 0, "model: missing" },
        { "{\"model\":\"m\"}", 0, "outputs: missing" },
        { "{\"model\":\"m\",\"model\":\"n\",\"outputs\":[]}", 0, "key 'model' given twice" },
        { "{\"model\":\"m\",\"backend\":3,\"outputs\":[]}", 0, "backend: expected a string" },
        { "{\"model\":\"m\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[2]}]}", 4,
          "outputs: binary_data_size adds up to 8 bytes, the frame carries 4" },
        { "{\"model\":\"m\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[2],"
          "\"parameters\":{\"binary_data_size\":7}}]}",
          7, "binary_data_size 7 does not match shape [2] of FP32 (8 bytes)" },
        { "{\"model\":\"m\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"BYTES\",\"shape\":[1],"
          "\"parameters\":{\"binary_data_size\":7}}]}",
          7, "BYTES is not a tensor type" },
        { "{\"model\":\"m\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[-1]}]}",
          0, "outputs[0].shape[0]: -1 is negative" },
        { "{\"model\":\"m\",\"outputs\":[],\"topk\":{}}", 0, "topk: expected an array" },
        { "{\"model\":\"m\",\"outputs\":[],\"topk\":[{\"classes\":[]}]}", 0,
          "topk[0].output: missing" },
        { "{\"model\":\"m\",\"outputs\":[],\"topk\":[{\"output\":\"y\"}]}", 0,
          "topk[0].classes: missing" },
        { "{\"model\":\"m\",\"outputs\":[],\"topk\":[{\"output\":\"y\",\"classes\":[{\"score\":"
          "1}]}]}",
          0, "topk[0].classes[0].index: missing" },
        { "{\"model\":\"m\",\"outputs\":[],\"topk\":[{\"output\":\"y\",\"classes\":[{\"index\":"
          "-1,\"score\":1}]}]}",
          0, "topk[0].classes[0].index: -1 is negative" },
        { "{\"model\":\"m\",\"outputs\":[],\"topk\":[{\"output\":\"y\",\"classes\":[{\"index\":"
          "1,\"score\":\"high\"}]}]}",
          0, "topk[0].classes[0].score: expected a number, got a string" },
        { "{\"model\":\"m\",\"outputs\":[],\"topk\":[{\"output\":\"y\",\"classes\":[{\"index\":"
          "1}]}]}",
          0, "topk[0].classes[0].score: missing" },
        { "{\"model\":\"m\",\"outputs\":[],\"topk\":[{\"output\":\"y\",\"classes\":[{\"index\":"
          "1,\"score\":1,\"label\":5}]}]}",
          0, "topk[0].classes[0].label: expected a string" },
        { "{\"model\":\"m\",\"outputs\":[],\"timing_us\":{\"total\":-5}}", 0,
          "timing_us.total: -5 is negative" },
        { "{\"model\":\"m\",\"outputs\":[],\"timing_us\":[]}", 0, "timing_us: expected an object" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct inferd_response *d = (struct inferd_response *)&d;
        char err[512] = "";
        int rc = inferd_response_decode(cases[i].meta, strlen(cases[i].meta), cases[i].data_len, &d,
                                        err, sizeof(err));
        if (rc != INFERD_E_BAD_FRAME || !strstr(err, cases[i].says))
            fail_msg("case %zu %s\n  rc %d, message '%s'\n  wanted '%s'", i, cases[i].meta, rc, err,
                     cases[i].says);
        assert_null(d);
    }
}

static void test_response_topk_limit(void **state)
{
    (void)state;
    /* 1000 classes decode, 1001 do not. */
    size_t cap = 64 + 1001 * 24;
    char *json = malloc(cap);
    for (int n = 1000; n <= 1001; n++) {
        size_t o = (size_t)snprintf(json, cap,
                                    "{\"model\":\"m\",\"outputs\":[],\"topk\":[{"
                                    "\"output\":\"y\",\"classes\":[");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(json + o, cap - o, "%s{\"index\":%d,\"score\":0}", i ? "," : "",
                                  i);
        o += (size_t)snprintf(json + o, cap - o, "]}]}");
        struct inferd_response *d;
        char err[512] = "";
        int rc = inferd_response_decode(json, o, 0, &d, err, sizeof(err));
        if (n == 1000) {
            if (rc) fail_msg("%s", err);
            assert_int_equal(d->topk[0].nclasses, 1000);
            assert_int_equal(d->topk[0].classes[999].index, 999);
            inferd_response_free(d);
        } else {
            assert_int_equal(rc, INFERD_E_BAD_FRAME);
            assert_non_null(strstr(err, "topk[0].classes: more than 1000 elements"));
        }
    }
    free(json);
}

static void test_response_encode_refuses(void **state)
{
    (void)state;
    char *json, err[512];
    struct inferd_tensor_meta t = {
        .name = "y", .dtype = INFERD_DT_BYTES, .ndim = 1, .dims = { 1 }, .nbytes = 4
    };
    struct inferd_response r = { .model = "m", .noutputs = 1, .outputs = &t };
    assert_int_equal(inferd_response_encode(&r, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "BYTES is not a tensor type"));
    t.dtype = INFERD_DT_FP32;
    t.image = INFERD_IMAGE_RGB8;
    assert_int_equal(inferd_response_encode(&r, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    t.image = INFERD_IMAGE_NONE;
    r.model = NULL;
    assert_int_equal(inferd_response_encode(&r, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    r.model = "m";
    struct inferd_topk k = { .output = "y", .nclasses = 1001 };
    r.ntopk = 1;
    r.topk = &k;
    assert_int_equal(inferd_response_encode(&r, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
}

static void test_labels_cleaned(void **state)
{
    (void)state;
    /* A Latin-1 labels file must not make the reply invalid UTF-8. */
    struct inferd_topk_class c = { .index = 0, .score = 1, .label = "caf\xe9\x01" };
    struct inferd_topk k = { .output = "y", .nclasses = 1, .classes = &c };
    struct inferd_response r = { .model = "m", .ntopk = 1, .topk = &k };
    char *json, err[512] = "";
    size_t len;
    int rc = inferd_response_encode(&r, &json, &len, NULL, err, sizeof(err));
    if (rc) fail_msg("%s", err);
    struct inferd_response *d;
    assert_int_equal(inferd_response_decode(json, len, 0, &d, err, sizeof(err)), 0);
    assert_string_equal(d->topk[0].classes[0].label, "caf??");
    inferd_response_free(d);
    free(json);
}

static void test_error_round_trip(void **state)
{
    (void)state;
    char *json;
    size_t len;
    struct inferd_error_meta *e;
    char err[512] = "";
    assert_int_equal(
        inferd_error_meta_encode(INFERD_E_BUSY, "model 'm': queue full (32)", &json, &len), 0);
    assert_string_equal(json, "{\"error\":{\"code\":\"busy\",\"message\":\"model 'm': queue full "
                              "(32)\"}}");
    assert_int_equal(inferd_error_meta_decode(json, len, &e, err, sizeof(err)), 0);
    assert_int_equal(e->code, INFERD_E_BUSY);
    assert_string_equal(e->name, "busy");
    assert_string_equal(e->message, "model 'm': queue full (32)");
    inferd_error_meta_free(e);
    free(json);

    /* Every code in the table survives the trip. */
    static const int codes[] = {
#define CODE_(name, value, wire, text) INFERD_E_##name,
        INFERD_ERROR_MAP(CODE_)
#undef CODE_
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_int_equal(inferd_error_meta_encode(codes[i], NULL, &json, &len), 0);
        assert_int_equal(inferd_error_meta_decode(json, len, &e, err, sizeof(err)), 0);
        assert_int_equal(e->code, codes[i]);
        assert_string_equal(e->message, inferd_strerror(codes[i]));
        inferd_error_meta_free(e);
        free(json);
    }
    /* errno values travel as "internal" with their text. */
    assert_int_equal(inferd_error_meta_encode(-ENOMEM, NULL, &json, &len), 0);
    assert_non_null(strstr(json, "\"code\":\"internal\""));
    assert_non_null(strstr(json, strerror(ENOMEM)));
    free(json);
}

static void test_error_message_cleaned_and_cut(void **state)
{
    (void)state;
    char msg[3000], *json;
    size_t len;
    struct inferd_error_meta *e;
    char err[512];
    /* Multi-line, invalid UTF-8, and far too long. */
    memset(msg, 'a', sizeof(msg));
    memcpy(msg, "line1\nline2\xff\x80 \xe2\x82\xac", 17);
    msg[sizeof(msg) - 1] = '\0';
    assert_int_equal(inferd_error_meta_encode(INFERD_E_BACKEND_FAILED, msg, &json, &len), 0);
    assert_null(strchr(json, '\n')); /* one line: doubles as a text-mode reply */
    assert_int_equal(inferd_error_meta_decode(json, len, &e, err, sizeof(err)), 0);
    assert_int_equal(strlen(e->message), INFERD_MAX_MESSAGE);
    assert_memory_equal(e->message, "line1\nline2?? \xe2\x82\xac", 17);
    inferd_error_meta_free(e);
    free(json);

    /* A cut never splits a UTF-8 sequence. */
    char euros[INFERD_MAX_MESSAGE + 8];
    size_t o = 0;
    euros[o++] = 'x';
    while (o + 3 < sizeof(euros)) memcpy(euros + o, "\xe2\x82\xac", 3), o += 3;
    euros[o] = '\0';
    assert_int_equal(inferd_error_meta_encode(INFERD_E_INTERNAL, euros, &json, &len), 0);
    assert_int_equal(inferd_error_meta_decode(json, len, &e, err, sizeof(err)), 0);
    assert_int_equal(strlen(e->message), 1 + (INFERD_MAX_MESSAGE - 1) / 3 * 3);
    inferd_error_meta_free(e);
    free(json);
}

static void test_error_decode_lenient_and_strict(void **state)
{
    (void)state;
    struct inferd_error_meta *e;
    char err[512] = "";
    /* A code this release does not know is still an error. */
    const char *newer = "{\"error\":{\"code\":\"quota_exceeded\",\"message\":\"m\",\"retry_ms\":5}"
                        ",\"model\":\"x\"}";
    assert_int_equal(inferd_error_meta_decode(newer, strlen(newer), &e, err, sizeof(err)), 0);
    assert_int_equal(e->code, INFERD_E_INTERNAL);
    assert_string_equal(e->name, "quota_exceeded");
    inferd_error_meta_free(e);
    const char *nomsg = "{\"error\":{\"code\":\"timeout\"}}";
    assert_int_equal(inferd_error_meta_decode(nomsg, strlen(nomsg), &e, err, sizeof(err)), 0);
    assert_string_equal(e->message, inferd_strerror(INFERD_E_TIMEOUT));
    inferd_error_meta_free(e);

    static const struct {
        const char *meta, *says;
    } bad[] = {
        { "{}", "error: missing" },
        { "{\"error\":\"busy\"}", "error: expected an object, got a string" },
        { "{\"error\":{}}", "error.code: missing" },
        { "{\"error\":{\"code\":5}}", "error.code: expected a string" },
        { "{\"error\":{\"code\":\"busy\",\"message\":[]}}", "error.message: expected a string" },
        { "{\"error\":{\"code\":\"busy\",\"code\":\"timeout\"}}", "given twice" },
        { "not json", "not JSON" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e = (struct inferd_error_meta *)&e;
        int rc = inferd_error_meta_decode(bad[i].meta, strlen(bad[i].meta), &e, err, sizeof(err));
        if (rc != INFERD_E_BAD_FRAME || !strstr(err, bad[i].says))
            fail_msg("case %zu: rc %d '%s', wanted '%s'", i, rc, err, bad[i].says);
        assert_null(e);
    }
    inferd_error_meta_free(NULL);
    inferd_response_free(NULL);
}

/* PROTOCOL.md's response and error examples, as the encoders write them. */
static void test_protocol_md_examples(void **state)
{
    (void)state;
    struct inferd_tensor_meta out = {
        .name = "prob", .dtype = INFERD_DT_FP32, .ndim = 2, .dims = { 1, 10 }
    };
    struct inferd_topk_class c[3] = { { 7, 0.875, "7" }, { 1, 0.0625, "1" }, { 9, 0.03125, "9" } };
    struct inferd_topk k = { .output = "prob", .nclasses = 3, .classes = c };
    struct inferd_response r = { .model = "digits",
                                 .backend = "cpu",
                                 .noutputs = 1,
                                 .outputs = &out,
                                 .ntopk = 1,
                                 .topk = &k,
                                 .has_timing = true,
                                 .timing = { 35, 410, 470 } };
    char *json, err[256] = "";
    size_t len;
    uint64_t data_len;
    assert_int_equal(inferd_response_encode(&r, &json, &len, &data_len, err, sizeof(err)), 0);
    assert_string_equal(json, "{\"model\":\"digits\",\"backend\":\"cpu\",\"outputs\":[{\"name\":"
                              "\"prob\",\"datatype\":\"FP32\",\"shape\":[1,10],\"parameters\":{"
                              "\"binary_data_size\":40}}],\"topk\":[{\"output\":\"prob\","
                              "\"classes\":[{\"index\":7,\"score\":0.875,\"label\":\"7\"},{"
                              "\"index\":1,\"score\":0.0625,\"label\":\"1\"},{\"index\":9,"
                              "\"score\":0.03125,\"label\":\"9\"}]}],\"timing_us\":{\"queue\":"
                              "35,\"compute\":410,\"total\":470}}");
    assert_int_equal(len, 339);
    assert_int_equal(data_len, 40);
    free(json);
    assert_int_equal(inferd_error_meta_encode(INFERD_E_BUSY,
                                              "model 'digits': queue full (32 "
                                              "waiting)",
                                              &json, &len),
                     0);
    assert_string_equal(json, "{\"error\":{\"code\":\"busy\",\"message\":\"model 'digits': "
                              "queue full (32 waiting)\"}}");
    assert_int_equal(len, 77);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_md_examples),
        cmocka_unit_test(test_response_round_trip),
        cmocka_unit_test(test_response_minimal_and_topk_only),
        cmocka_unit_test(test_response_from_newer_daemon),
        cmocka_unit_test(test_response_malformed),
        cmocka_unit_test(test_response_topk_limit),
        cmocka_unit_test(test_response_encode_refuses),
        cmocka_unit_test(test_labels_cleaned),
        cmocka_unit_test(test_error_round_trip),
        cmocka_unit_test(test_error_message_cleaned_and_cut),
        cmocka_unit_test(test_error_decode_lenient_and_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
