/* libinferd-client over nanomsg (ipc:// and tcp://), against the fake
 * daemon's REP socket: round trips, text commands, error replies, timeouts
 * with the late reply dropped, one request at a time, malformed replies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
    assert_int_equal(inferd_client_transport(c), INFERD_CLIENT_NANOMSG);
    return c;
}

static struct inferd_client_input fp32_input(const float *vals, int n)
{
    struct inferd_client_input in = { .name = "x", .datatype = "FP32", .ndim = 2 };
    in.shape[0] = 1;
    in.shape[1] = n;
    in.data = vals;
    in.size = (size_t)n * sizeof(float);
    return in;
}

/* The fake's behaviour is chosen by the request's model name:
 * "echo" echoes, "busy" answers busy, "silent" never answers, "truncated"
 * answers a frame cut short, "id0" answers a connection-level error. */
static bool model_msg(struct fake *f, const uint8_t *msg, size_t len, uint8_t **reply,
                      size_t *reply_len, void *ctx)
{
    (void)f, (void)ctx;
    if (inferd_text_sniff(msg, len) != INFERD_SNIFF_FRAME) {
        const char *r =
            len == 6 && memcmp(msg, "health", 6) == 0
                ? "{\"status\":\"degraded\",\"reasons\":[\"model x: failed\"]}\n"
                : "{\"error\":{\"code\":\"bad_input\",\"message\":\"unknown command\"}}\n";
        *reply = (uint8_t *)strdup(r);
        *reply_len = strlen(r);
        return true;
    }
    struct fake_frame fr = { 0 };
    const uint8_t *meta, *data;
    if (inferd_frame_split(msg, len, NULL, &fr.h, &meta, &data, NULL, 0) < 0) return false;
    if (fr.h.kind == INFERD_KIND_PING) {
        *reply = fake_empty_frame(INFERD_KIND_PONG, fr.h.request_id, reply_len);
        return true;
    }
    fr.meta = (uint8_t *)strndup((const char *)meta, fr.h.meta_len);
    fr.data = malloc((size_t)fr.h.data_len + 1);
    memcpy(fr.data, data, (size_t)fr.h.data_len);
    struct inferd_request *r = NULL;
    bool answer = true;
    if (inferd_request_decode(fr.meta, fr.h.meta_len, fr.h.data_len, &r, NULL, 0) < 0) {
        *reply = fake_error_frame(fr.h.request_id, INFERD_E_BAD_INPUT, "undecodable", reply_len);
    } else if (strcmp(r->model, "busy") == 0) {
        *reply = fake_error_frame(fr.h.request_id, INFERD_E_BUSY, "queue full", reply_len);
    } else if (strcmp(r->model, "silent") == 0) {
        answer = false;
    } else if (strcmp(r->model, "truncated") == 0) {
        *reply = fake_echo_frame(&fr, reply_len);
        *reply_len -= 3;
    } else if (strcmp(r->model, "id0") == 0) {
        *reply = fake_error_frame(0, INFERD_E_BAD_FRAME, "truncated frame", reply_len);
    } else {
        *reply = fake_echo_frame(&fr, reply_len);
    }
    inferd_request_free(r);
    fake_frame_free(&fr);
    return answer;
}

static void roundtrip(struct fake *f)
{
    struct inferd_client *c = connect_ok(f, 5000);
    float x[4] = { 0.25f, 9.0f, 4.0f, -2.0f };
    struct inferd_client_input in = fp32_input(x, 4);
    struct inferd_client_request req = { .model = "echo", .inputs = &in, .ninputs = 1, .topk = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    for (int i = 0; i < 3; i++) {
        x[0] = (float)i;
        int rc = inferd_client_infer(c, &req, &r, err, sizeof(err));
        if (rc) fail_msg("%d %s", rc, err);
        assert_string_equal(r->model, "echo");
        assert_memory_equal(r->outputs[0].data, x, sizeof(x));
        assert_int_equal(r->topk[0].nclasses, 1);
        assert_int_equal(r->topk[0].classes[0].index, 1);
        assert_string_equal(r->topk[0].classes[0].label, "class1");
        inferd_client_result_free(r);
    }
    assert_int_equal(inferd_client_ping(c, err, sizeof(err)), 0);
    inferd_client_close(c);
}

static void test_roundtrip_ipc(void **state)
{
    (void)state;
    struct fake *f = fake_nn_start(model_msg, NULL, false);
    assert_non_null(f);
    roundtrip(f);
    fake_stop(f);
}

static void test_roundtrip_tcp(void **state)
{
    (void)state;
    struct fake *f = fake_nn_start(model_msg, NULL, true);
    if (!f) skip(); /* no free port */
    roundtrip(f);
    fake_stop(f);
}

static void test_text_command(void **state)
{
    (void)state;
    struct fake *f = fake_nn_start(model_msg, NULL, false);
    struct inferd_client *c = connect_ok(f, 5000);
    char err[512] = "", *reply = NULL;
    int rc = inferd_client_command(c, "health", &reply, err, sizeof(err));
    if (rc) fail_msg("%d %s", rc, err);
    assert_string_equal(reply, "{\"status\":\"degraded\",\"reasons\":[\"model x: failed\"]}");
    free(reply);
    assert_int_equal(inferd_client_command(c, "stats", &reply, err, sizeof(err)),
                     INFERD_E_BAD_INPUT);
    assert_string_equal(err, "unknown command");
    /* text and frames share the socket */
    assert_int_equal(inferd_client_ping(c, err, sizeof(err)), 0);
    inferd_client_close(c);
    fake_stop(f);
}

static void test_error_reply_and_id0(void **state)
{
    (void)state;
    struct fake *f = fake_nn_start(model_msg, NULL, false);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "busy", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), INFERD_E_BUSY);
    assert_string_equal(err, "queue full");
    /* on nanomsg an id-0 error answers the one request, and the socket lives on */
    req.model = "id0";
    uint64_t id = 0, got = 0;
    assert_int_equal(inferd_client_send(c, &req, &id, err, sizeof(err)), 0);
    assert_int_equal(inferd_client_recv(c, &r, &got, err, sizeof(err)), INFERD_E_BAD_FRAME);
    assert_int_equal(got, id);
    assert_string_equal(err, "truncated frame");
    assert_true(inferd_client_usable(c));
    req.model = "echo";
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), 0);
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

static void test_timeout_then_next_request(void **state)
{
    (void)state;
    struct fake *f = fake_nn_start(model_msg, NULL, false);
    struct inferd_client *c = connect_ok(f, 150);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "silent", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), INFERD_E_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms >= 100 && ms < 3000);
    assert_non_null(strstr(err, "within 150 ms"));
    assert_int_equal(inferd_client_pending(c), 0);
    /* the abandoned request does not block the next one */
    req.model = "echo";
    inferd_client_set_timeout(c, 5000);
    int rc = inferd_client_infer(c, &req, &r, err, sizeof(err));
    if (rc) fail_msg("%d %s", rc, err);
    assert_memory_equal(r->outputs[0].data, x, sizeof(x));
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

static void test_one_request_at_a_time(void **state)
{
    (void)state;
    struct fake *f = fake_nn_start(model_msg, NULL, false);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "echo", .inputs = &in, .ninputs = 1 };
    char err[512] = "", *reply = NULL;
    uint64_t id = 0, id2 = 0;
    assert_int_equal(inferd_client_send(c, &req, &id, err, sizeof(err)), 0);
    assert_int_equal(inferd_client_send(c, &req, &id2, err, sizeof(err)), -EBUSY);
    assert_int_equal(inferd_client_command(c, "health", &reply, err, sizeof(err)), -EBUSY);
    struct inferd_client_result *r = NULL;
    uint64_t got = 0;
    assert_int_equal(inferd_client_recv(c, &r, &got, err, sizeof(err)), 0);
    assert_int_equal(got, id);
    inferd_client_result_free(r);
    assert_int_equal(inferd_client_recv(c, &r, &got, err, sizeof(err)), -EAGAIN);
    assert_int_equal(inferd_client_send(c, &req, &id2, err, sizeof(err)), 0);
    assert_true(id2 != id && id2 != 0);
    assert_int_equal(inferd_client_recv(c, &r, &got, err, sizeof(err)), 0);
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

static void test_truncated_reply(void **state)
{
    (void)state;
    struct fake *f = fake_nn_start(model_msg, NULL, false);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "truncated", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), INFERD_E_BAD_FRAME);
    assert_non_null(strstr(err, "reply refused"));
    /* a bad message spoils only itself */
    assert_true(inferd_client_usable(c));
    assert_int_equal(inferd_client_pending(c), 0);
    req.model = "echo";
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), 0);
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_ipc),
        cmocka_unit_test(test_roundtrip_tcp),
        cmocka_unit_test(test_text_command),
        cmocka_unit_test(test_error_reply_and_id0),
        cmocka_unit_test(test_timeout_then_next_request),
        cmocka_unit_test(test_one_request_at_a_time),
        cmocka_unit_test(test_truncated_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
