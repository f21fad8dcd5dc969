/* libinferd-client's frame reader and result building: replies that arrive
 * a byte at a time, a timeout in the middle of a reply that the next call
 * resumes, outputs at unaligned offsets, replies with top-k only. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_server.h"
#include "inferd_client.h"

static struct inferd_client *connect_ok(struct fake *f, int timeout_ms)
{
    char err[512] = "";
    struct inferd_client *c = NULL;
    int rc = inferd_client_connect(fake_address(f), timeout_ms, &c, err, sizeof(err));
    if (rc) fail_msg("connect %s: %d %s", fake_address(f), rc, err);
    return c;
}

static const float x4[4] = { 1.5f, -2.0f, 8.0f, 0.25f };

static struct inferd_client_request request(struct inferd_client_input *in)
{
    *in = (struct inferd_client_input){ .name = "x", .datatype = "FP32", .ndim = 1 };
    in->shape[0] = 4;
    in->data = x4;
    in->size = sizeof(x4);
    return (struct inferd_client_request){ .model = "m", .inputs = in, .ninputs = 1 };
}

/* Echoes each request one byte at a time. */
static void trickle_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame fr;
    while (fake_read_frame(fd, &fr) == 0) {
        size_t len = 0;
        uint8_t *out = fake_echo_frame(&fr, &len);
        fake_frame_free(&fr);
        for (size_t i = 0; out && i < len; i++) {
            if (fake_write_all(fd, out + i, 1) < 0) break;
            if (i % 16 == 0) usleep(200);
        }
        free(out);
    }
}

static void test_reply_byte_by_byte(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(trickle_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    struct inferd_client_input in;
    struct inferd_client_request req = request(&in);
    char err[512] = "";
    for (int i = 0; i < 2; i++) {
        struct inferd_client_result *r = NULL;
        int rc = inferd_client_infer(c, &req, &r, err, sizeof(err));
        if (rc) fail_msg("%d %s", rc, err);
        assert_memory_equal(r->outputs[0].data, x4, sizeof(x4));
        assert_int_equal(r->topk[0].classes[0].index, 2);
        inferd_client_result_free(r);
    }
    inferd_client_close(c);
    fake_stop(f);
}

/* Sends the first half of the reply, waits, then the rest. */
static void pause_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame fr;
    if (fake_read_frame(fd, &fr) < 0) return;
    size_t len = 0;
    uint8_t *out = fake_echo_frame(&fr, &len);
    fake_frame_free(&fr);
    fake_write_all(fd, out, len / 2);
    usleep(400 * 1000);
    fake_write_all(fd, out + len / 2, len - len / 2);
    free(out);
    while (fake_read_frame(fd, &fr) == 0) fake_frame_free(&fr);
}

static void test_timeout_mid_reply_resumes(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(pause_conn, NULL);
    struct inferd_client *c = connect_ok(f, 100);
    struct inferd_client_input in;
    struct inferd_client_request req = request(&in);
    char err[512] = "";
    uint64_t id = 0, got = 0;
    assert_int_equal(inferd_client_send(c, &req, &id, err, sizeof(err)), 0);
    struct inferd_client_result *r = NULL;
    /* half the reply is here, the rest is late: the wait times out ... */
    assert_int_equal(inferd_client_recv(c, &r, &got, err, sizeof(err)), INFERD_E_TIMEOUT);
    assert_true(inferd_client_usable(c));
    /* ... and the next call finishes the same reply */
    inferd_client_set_timeout(c, 5000);
    int rc = inferd_client_recv(c, &r, &got, err, sizeof(err));
    if (rc) fail_msg("%d %s", rc, err);
    assert_int_equal(got, id);
    assert_memory_equal(r->outputs[0].data, x4, sizeof(x4));
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

/* Answers with a 3-byte UINT8 output before an FP32 and an FP64 output,
 * so the float outputs sit at odd offsets of the data section; and with
 * a NaN score and a class without label. */
static void unaligned_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame fr;
    while (fake_read_frame(fd, &fr) == 0) {
        struct inferd_tensor_meta outs[3] = {
            { .name = (char *)"mask",
              .dtype = INFERD_DT_UINT8,
              .ndim = 1,
              .dims = { 3 },
              .nbytes = 3 },
            { .name = (char *)"prob",
              .dtype = INFERD_DT_FP32,
              .ndim = 1,
              .dims = { 4 },
              .nbytes = 16 },
            { .name = (char *)"d", .dtype = INFERD_DT_FP64, .ndim = 0, .nbytes = 8 },
        };
        uint8_t data[27];
        data[0] = 7, data[1] = 8, data[2] = 9;
        memcpy(data + 3, x4, 16);
        double d = 2.5;
        memcpy(data + 19, &d, 8);
        struct inferd_topk_class classes[2] = { { 2, NAN, NULL }, { 0, 0.5, (char *)"zero" } };
        struct inferd_topk tk = { .output = (char *)"prob", .nclasses = 2, .classes = classes };
        struct inferd_response resp = {
            .model = (char *)"m", .noutputs = 3, .outputs = outs, .ntopk = 1, .topk = &tk
        };
        size_t len = 0;
        uint8_t *out = fake_response_frame(fr.h.request_id, &resp, data, &len);
        fake_frame_free(&fr);
        fake_write_all(fd, out, len);
        free(out);
    }
}

static void test_unaligned_outputs_copied(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(unaligned_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    struct inferd_client_input in;
    struct inferd_client_request req = request(&in);
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    int rc = inferd_client_infer(c, &req, &r, err, sizeof(err));
    if (rc) fail_msg("%d %s", rc, err);
    assert_null(r->backend);
    assert_false(r->has_timing);
    assert_int_equal(r->noutputs, 3);
    const uint8_t *mask = r->outputs[0].data;
    assert_int_equal(mask[0], 7);
    assert_int_equal(mask[2], 9);
    assert_string_equal(r->outputs[1].datatype, "FP32");
    assert_int_equal((uintptr_t)r->outputs[1].data % 4, 0);
    const float *prob = r->outputs[1].data; /* aligned: safe to read as floats */
    for (int i = 0; i < 4; i++) assert_true(prob[i] == x4[i]);
    assert_int_equal(r->outputs[2].ndim, 0);
    assert_int_equal((uintptr_t)r->outputs[2].data % 8, 0);
    assert_true(*(const double *)r->outputs[2].data == 2.5);
    assert_int_equal(r->topk[0].nclasses, 2);
    assert_true(isnan(r->topk[0].classes[0].score));
    assert_null(r->topk[0].classes[0].label);
    assert_string_equal(r->topk[0].classes[1].label, "zero");
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

/* Checks the outputs the request asked for, answers top-k only. */
static void topk_only_conn(struct fake *f, int fd, void *ctx)
{
    (void)f;
    int *ok = ctx;
    struct fake_frame fr;
    while (fake_read_frame(fd, &fr) == 0) {
        struct inferd_request *rq = NULL;
        if (inferd_request_decode(fr.meta, fr.h.meta_len, fr.h.data_len, &rq, NULL, 0) == 0)
            *ok = rq->noutputs == 1 && strcmp(rq->outputs[0].name, "prob") == 0 &&
                  rq->outputs[0].topk == 1 && rq->outputs[0].no_tensor && rq->timeout_ms == 250;
        inferd_request_free(rq);
        struct inferd_topk_class cls = { 2, 0.75, (char *)"two" };
        struct inferd_topk tk = { .output = (char *)"prob", .nclasses = 1, .classes = &cls };
        struct inferd_response resp = { .model = (char *)"m", .ntopk = 1, .topk = &tk };
        size_t len = 0;
        uint8_t *out = fake_response_frame(fr.h.request_id, &resp, NULL, &len);
        fake_frame_free(&fr);
        fake_write_all(fd, out, len);
        free(out);
    }
}

static void test_topk_only(void **state)
{
    (void)state;
    int ok = 0;
    struct fake *f = fake_unix_start(topk_only_conn, &ok);
    struct inferd_client *c = connect_ok(f, 5000);
    struct inferd_client_input in;
    struct inferd_client_request req = request(&in);
    struct inferd_client_output_request want = { .name = "prob", .topk = 1, .omit_data = true };
    req.outputs = &want;
    req.noutputs = 1;
    req.timeout_ms = 250;
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    int rc = inferd_client_infer(c, &req, &r, err, sizeof(err));
    if (rc) fail_msg("%d %s", rc, err);
    assert_true(ok);
    assert_int_equal(r->noutputs, 0);
    assert_int_equal(r->ntopk, 1);
    assert_string_equal(r->topk[0].classes[0].label, "two");
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_byte_by_byte),
        cmocka_unit_test(test_timeout_mid_reply_resumes),
        cmocka_unit_test(test_unaligned_outputs_copied),
        cmocka_unit_test(test_topk_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
