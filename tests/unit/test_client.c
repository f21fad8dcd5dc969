/* libinferd-client over a Unix socket, against the fake daemon: round
 * trips, pipelining with replies out of order, error replies, timeouts,
 * a daemon that hangs up mid-reply, replies over the limits, SIGPIPE. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_server.h"
#include "inferd_client.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct inferd_client *connect_ok(struct fake *f, int timeout_ms)
{
    char err[512] = "";
    struct inferd_client *c = NULL;
    int rc = inferd_client_connect(fake_address(f), timeout_ms, &c, err, sizeof(err));
    if (rc) fail_msg("connect %s: %d %s", fake_address(f), rc, err);
    return c;
}

/* An FP32 [1, n] input over vals. */
static struct inferd_client_input fp32_input(const float *vals, int n)
{
    struct inferd_client_input in = { .name = "x", .datatype = "FP32", .ndim = 2 };
    in.shape[0] = 1;
    in.shape[1] = n;
    in.data = vals;
    in.size = (size_t)n * sizeof(float);
    return in;
}

/* ---- handlers ----------------------------------------------------------- */

static void echo_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame fr;
    while (fake_read_frame(fd, &fr) == 0) {
        size_t len = 0;
        uint8_t *out = fr.h.kind == INFERD_KIND_PING
                           ? fake_empty_frame(INFERD_KIND_PONG, fr.h.request_id, &len)
                           : fake_echo_frame(&fr, &len);
        fake_frame_free(&fr);
        if (!out || fake_write_all(fd, out, len) < 0) {
            free(out);
            return;
        }
        free(out);
    }
}

static void test_roundtrip_tensor(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(echo_conn, NULL);
    assert_non_null(f);
    struct inferd_client *c = connect_ok(f, 5000);
    assert_int_equal(inferd_client_transport(c), INFERD_CLIENT_UNIX);
    float x[5] = { 0.5f, 3.0f, -1.0f, 7.25f, 2.0f };
    struct inferd_client_input in = fp32_input(x, 5);
    struct inferd_client_request req = {
        .model = "digits", .inputs = &in, .ninputs = 1, .topk = 3
    };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    int rc = inferd_client_infer(c, &req, &r, err, sizeof(err));
    if (rc) fail_msg("%d %s", rc, err);
    assert_true(r->request_id != 0);
    assert_string_equal(r->model, "digits");
    assert_string_equal(r->backend, "fake");
    assert_int_equal(r->noutputs, 1);
    assert_string_equal(r->outputs[0].name, "out");
    assert_string_equal(r->outputs[0].datatype, "FP32");
    assert_int_equal(r->outputs[0].ndim, 2);
    assert_int_equal(r->outputs[0].shape[1], 5);
    assert_int_equal(r->outputs[0].size, sizeof(x));
    assert_int_equal((uintptr_t)r->outputs[0].data % 4, 0);
    assert_memory_equal(r->outputs[0].data, x, sizeof(x));
    assert_int_equal(r->ntopk, 1);
    assert_string_equal(r->topk[0].output, "out");
    assert_int_equal(r->topk[0].nclasses, 3);
    assert_int_equal(r->topk[0].classes[0].index, 3);
    assert_true(r->topk[0].classes[0].score == 7.25);
    assert_string_equal(r->topk[0].classes[0].label, "class3");
    assert_int_equal(r->topk[0].classes[1].index, 1);
    assert_int_equal(r->topk[0].classes[2].index, 4);
    assert_true(r->has_timing);
    assert_int_equal(r->queue_us, 11);
    assert_int_equal(r->compute_us, 22);
    assert_int_equal(r->total_us, 33);
    assert_true(r->latency_us > 0);
    assert_non_null(strstr(r->meta_json, "\"backend\":\"fake\""));
    assert_int_equal(strlen(r->meta_json), r->meta_len);
    assert_int_equal(inferd_client_pending(c), 0);
    inferd_client_result_free(r);

    /* the same connection serves again, with a fresh id */
    uint64_t first = 0;
    assert_int_equal(inferd_client_send(c, &req, &first, err, sizeof(err)), 0);
    assert_int_equal(inferd_client_recv(c, &r, NULL, err, sizeof(err)), 0);
    assert_int_equal(r->request_id, first);
    assert_true(first > 1);
    inferd_client_result_free(r);
    assert_int_equal(inferd_client_ping(c, err, sizeof(err)), 0);
    inferd_client_close(c);
    assert_int_equal(fake_connections(f), 1);
    fake_stop(f);
}

/* Checks what the request carried for an image, then echoes it. */
static void image_conn(struct fake *f, int fd, void *ctx)
{
    (void)f;
    int *seen = ctx;
    struct fake_frame fr;
    while (fake_read_frame(fd, &fr) == 0) {
        struct inferd_request *r = NULL;
        if (inferd_request_decode(fr.meta, fr.h.meta_len, fr.h.data_len, &r, NULL, 0) == 0)
            *seen = r->inputs[0].image * 1000 +
                    (r->inputs[0].image == INFERD_IMAGE_RGB8
                         ? (int)r->inputs[0].ndim * 100 + (int)r->inputs[0].width
                         : (int)r->inputs[0].nbytes);
        inferd_request_free(r);
        size_t len = 0;
        uint8_t *out = fake_echo_frame(&fr, &len);
        fake_frame_free(&fr);
        if (out) fake_write_all(fd, out, len);
        free(out);
    }
}

static void test_images(void **state)
{
    (void)state;
    int seen = 0;
    struct fake *f = fake_unix_start(image_conn, &seen);
    struct inferd_client *c = connect_ok(f, 5000);
    static const uint8_t jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    int rc = inferd_client_infer_jpeg(c, "m", jpeg, sizeof(jpeg), 5, &r, err, sizeof(err));
    if (rc) fail_msg("%d %s", rc, err);
    assert_int_equal(seen, INFERD_IMAGE_JPEG * 1000 + (int)sizeof(jpeg));
    assert_int_equal(r->outputs[0].size, sizeof(jpeg));
    assert_memory_equal(r->outputs[0].data, jpeg, sizeof(jpeg));
    inferd_client_result_free(r);

    uint8_t px[4 * 3 * 3];
    for (size_t i = 0; i < sizeof(px); i++) px[i] = (uint8_t)(i * 7);
    rc = inferd_client_infer_pixels(c, "m", INFERD_CLIENT_IMAGE_RGB8, px, 4, 3, 0, &r, err,
                                    sizeof(err));
    if (rc) fail_msg("%d %s", rc, err);
    assert_int_equal(seen, INFERD_IMAGE_RGB8 * 1000 + 300 + 4);
    assert_int_equal(r->outputs[0].shape[0], 3); /* [height, width, 3] */
    assert_int_equal(r->outputs[0].shape[1], 4);
    assert_memory_equal(r->outputs[0].data, px, sizeof(px));
    inferd_client_result_free(r);

    /* wrong sizes are refused before anything is sent */
    assert_int_equal(inferd_client_infer_pixels(c, "m", INFERD_CLIENT_IMAGE_RGB8, px, 0, 3, 0, &r,
                                                err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "0x3 pixels"));
    struct inferd_client_input in = {
        .image = INFERD_CLIENT_IMAGE_BGR8, .width = 5, .height = 3, .data = px, .size = sizeof(px)
    };
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "36 bytes given, a 5x3 image has 45"));
    assert_int_equal(inferd_client_infer_pixels(c, "m", 9, px, 4, 3, 0, &r, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(inferd_client_infer_jpeg(c, "m", jpeg, 0, 0, &r, err, sizeof(err)), -EINVAL);
    assert_null(r);
    inferd_client_close(c);
    fake_stop(f);
}

/* Reads three requests, answers them last first. */
static void reverse_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame fr[3];
    for (int i = 0; i < 3; i++)
        if (fake_read_frame(fd, &fr[i]) < 0) return;
    for (int i = 2; i >= 0; i--) {
        size_t len = 0;
        uint8_t *out = fake_echo_frame(&fr[i], &len);
        if (out) fake_write_all(fd, out, len);
        free(out);
        fake_frame_free(&fr[i]);
    }
    echo_conn(f, fd, ctx);
}

static void test_pipelining_out_of_order(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(reverse_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    float vals[3][2] = { { 1, 2 }, { 30, 40 }, { 500, 600 } };
    uint64_t ids[3];
    char err[512] = "";
    for (int i = 0; i < 3; i++) {
        struct inferd_client_input in = fp32_input(vals[i], 2);
        struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
        assert_int_equal(inferd_client_send(c, &req, &ids[i], err, sizeof(err)), 0);
        assert_true(ids[i] != 0);
        for (int j = 0; j < i; j++) assert_true(ids[i] != ids[j]);
    }
    assert_int_equal(inferd_client_pending(c), 3);
    for (int k = 2; k >= 0; k--) {
        struct inferd_client_result *r = NULL;
        uint64_t id = 0;
        int rc = inferd_client_recv(c, &r, &id, err, sizeof(err));
        if (rc) fail_msg("%d %s", rc, err);
        assert_int_equal(id, ids[k]);
        assert_int_equal(r->request_id, ids[k]);
        /* each reply carries its own request's data: nothing crossed */
        assert_memory_equal(r->outputs[0].data, vals[k], sizeof(vals[k]));
        inferd_client_result_free(r);
    }
    assert_int_equal(inferd_client_pending(c), 0);
    struct inferd_client_result *r = NULL;
    assert_int_equal(inferd_client_recv(c, &r, NULL, err, sizeof(err)), -EAGAIN);
    inferd_client_close(c);
    fake_stop(f);
}

/* A blocking infer while an earlier send is in flight: the earlier reply
 * arrives first and must wait for recv. */
static void test_infer_keeps_earlier_reply(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(echo_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    float a[2] = { 1, 2 }, b[2] = { 3, 4 };
    struct inferd_client_input ia = fp32_input(a, 2), ib = fp32_input(b, 2);
    struct inferd_client_request ra = { .model = "m", .inputs = &ia, .ninputs = 1 };
    struct inferd_client_request rb = { .model = "m", .inputs = &ib, .ninputs = 1 };
    char err[512] = "";
    uint64_t id_a = 0;
    assert_int_equal(inferd_client_send(c, &ra, &id_a, err, sizeof(err)), 0);
    struct inferd_client_result *r = NULL;
    assert_int_equal(inferd_client_infer(c, &rb, &r, err, sizeof(err)), 0);
    assert_memory_equal(r->outputs[0].data, b, sizeof(b));
    inferd_client_result_free(r);
    uint64_t id = 0;
    assert_int_equal(inferd_client_recv(c, &r, &id, err, sizeof(err)), 0);
    assert_int_equal(id, id_a);
    assert_memory_equal(r->outputs[0].data, a, sizeof(a));
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

/* Answers "busy" to the first request and echoes the rest. */
static void busy_once_conn(struct fake *f, int fd, void *ctx)
{
    struct fake_frame fr;
    if (fake_read_frame(fd, &fr) < 0) return;
    size_t len = 0;
    uint8_t *out = fake_error_frame(fr.h.request_id, INFERD_E_BUSY,
                                    "model 'm': queue full (32 waiting)", &len);
    fake_frame_free(&fr);
    fake_write_all(fd, out, len);
    free(out);
    echo_conn(f, fd, ctx);
}

static void test_error_reply(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(busy_once_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), INFERD_E_BUSY);
    assert_null(r);
    assert_string_equal(err, "model 'm': queue full (32 waiting)");
    assert_string_equal(inferd_client_error_name(INFERD_E_BUSY), "busy");
    /* an error reply spoils only its request */
    assert_true(inferd_client_usable(c));
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), 0);
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

/* Error replies through send/recv carry the failed request's id. */
static void test_error_reply_pipelined(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(busy_once_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    char err[512] = "";
    uint64_t id1 = 0, id2 = 0, got = 0;
    assert_int_equal(inferd_client_send(c, &req, &id1, err, sizeof(err)), 0);
    assert_int_equal(inferd_client_send(c, &req, &id2, err, sizeof(err)), 0);
    struct inferd_client_result *r = NULL;
    assert_int_equal(inferd_client_recv(c, &r, &got, err, sizeof(err)), INFERD_E_BUSY);
    assert_int_equal(got, id1);
    assert_int_equal(inferd_client_recv(c, &r, &got, err, sizeof(err)), 0);
    assert_int_equal(got, id2);
    inferd_client_result_free(r);
    inferd_client_close(c);
    fake_stop(f);
}

/* Reads requests and never answers the first; answers the second and
 * only then (late) the first, which the client abandoned. */
static void late_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame first, second;
    if (fake_read_frame(fd, &first) < 0) return;
    if (fake_read_frame(fd, &second) < 0) {
        fake_frame_free(&first);
        return;
    }
    size_t len = 0;
    uint8_t *late = fake_echo_frame(&first, &len);
    fake_write_all(fd, late, len);
    free(late);
    uint8_t *out = fake_echo_frame(&second, &len);
    fake_write_all(fd, out, len);
    free(out);
    fake_frame_free(&first);
    fake_frame_free(&second);
    echo_conn(f, fd, ctx);
}

static void test_timeout_then_late_reply_dropped(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(late_conn, NULL);
    struct inferd_client *c = connect_ok(f, 200);
    assert_int_equal(inferd_client_timeout(c), 200);
    float a[2] = { 1, 2 }, b[2] = { 5, 6 };
    struct inferd_client_input ia = fp32_input(a, 2), ib = fp32_input(b, 2);
    struct inferd_client_request ra = { .model = "m", .inputs = &ia, .ninputs = 1 };
    struct inferd_client_request rb = { .model = "m", .inputs = &ib, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    double t0 = now_ms();
    assert_int_equal(inferd_client_infer(c, &ra, &r, err, sizeof(err)), INFERD_E_TIMEOUT);
    double took = now_ms() - t0;
    assert_true(took >= 150 && took < 3000);
    assert_non_null(strstr(err, "within 200 ms"));
    assert_null(r);
    assert_true(inferd_client_usable(c));
    assert_int_equal(inferd_client_pending(c), 0); /* abandoned */
    /* the late reply to a comes first and is dropped; b gets its own */
    inferd_client_set_timeout(c, 5000);
    assert_int_equal(inferd_client_infer(c, &rb, &r, err, sizeof(err)), 0);
    assert_memory_equal(r->outputs[0].data, b, sizeof(b));
    inferd_client_result_free(r);
    assert_int_equal(inferd_client_recv(c, &r, NULL, err, sizeof(err)), -EAGAIN);
    inferd_client_close(c);
    fake_stop(f);
}

/* Reads and never answers (until the client hangs up). */
static void silent_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame fr;
    while (fake_read_frame(fd, &fr) == 0) fake_frame_free(&fr);
}

static void test_timeout_recv_and_ping(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(silent_conn, NULL);
    struct inferd_client *c = connect_ok(f, 100);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    char err[512] = "";
    uint64_t id = 0;
    assert_int_equal(inferd_client_send(c, &req, &id, err, sizeof(err)), 0);
    struct inferd_client_result *r = NULL;
    double t0 = now_ms();
    assert_int_equal(inferd_client_recv(c, &r, &id, err, sizeof(err)), INFERD_E_TIMEOUT);
    assert_true(now_ms() - t0 >= 80);
    assert_int_equal(id, 0);
    /* a recv timeout abandons nothing: the request is still awaited */
    assert_int_equal(inferd_client_pending(c), 1);
    assert_int_equal(inferd_client_ping(c, err, sizeof(err)), INFERD_E_TIMEOUT);
    inferd_client_close(c);
    fake_stop(f);
}

/* Answers with a header and part of the meta, then hangs up. */
static void half_reply_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame fr;
    if (fake_read_frame(fd, &fr) < 0) return;
    size_t len = 0;
    uint8_t *out = fake_echo_frame(&fr, &len);
    fake_frame_free(&fr);
    fake_write_all(fd, out, INFERD_FRAME_HEADER_SIZE + 10);
    free(out);
}

static void test_server_closes_mid_reply(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(half_reply_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    double t0 = now_ms();
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -ECONNRESET);
    assert_true(now_ms() - t0 < 3000); /* no hang waiting for the rest */
    assert_non_null(strstr(err, "middle of a reply"));
    assert_false(inferd_client_usable(c));
    /* every later call fails at once with the reason */
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -ENOTCONN);
    assert_non_null(strstr(err, "middle of a reply"));
    assert_int_equal(inferd_client_send(c, &req, NULL, err, sizeof(err)), -ENOTCONN);
    assert_int_equal(inferd_client_recv(c, &r, NULL, err, sizeof(err)), -ENOTCONN);
    inferd_client_close(c);
    fake_stop(f);
}

static void hangup_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx, (void)fd;
}

/* The daemon hangs up at once; a large request meets a closed socket.
 * SIGPIPE keeps its default action here: raising it would kill the test. */
static void test_server_gone_no_sigpipe(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(hangup_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    size_t n = 1 << 20;
    float *x = calloc(n, sizeof(float));
    assert_non_null(x);
    struct inferd_client_input in = fp32_input(x, (int)n);
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    usleep(50 * 1000); /* let the fake close its end */
    int rc = inferd_client_infer(c, &req, &r, err, sizeof(err));
    assert_true(rc == -EPIPE || rc == -ECONNRESET);
    assert_non_null(strstr(err, "closed the connection"));
    assert_false(inferd_client_usable(c));
    free(x);
    inferd_client_close(c);
    fake_stop(f);
}

/* Sends a header claiming a huge meta, then waits for the client to go. */
static void huge_header_conn(struct fake *f, int fd, void *ctx)
{
    (void)f;
    struct fake_frame fr;
    if (fake_read_frame(fd, &fr) < 0) return;
    uint64_t data_len = *(uint64_t *)ctx;
    struct inferd_frame_header h = {
        .kind = INFERD_KIND_RESPONSE,
        .meta_len = data_len ? 100 : 512u << 20,
        .request_id = fr.h.request_id,
        .data_len = data_len,
    };
    uint8_t hdr[INFERD_FRAME_HEADER_SIZE];
    inferd_frame_header_encode(&h, hdr);
    fake_write_all(fd, hdr, sizeof(hdr));
    fake_frame_free(&fr);
    char drain[64];
    while (read(fd, drain, sizeof(drain)) > 0) {
    }
}

static void test_oversized_reply_refused(void **state)
{
    (void)state;
    uint64_t data_len = 0; /* meta of 512 MiB: over the 1 MiB meta limit */
    struct fake *f = fake_unix_start(huge_header_conn, &data_len);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), INFERD_E_TOO_LARGE);
    assert_non_null(strstr(err, "reply refused"));
    assert_false(inferd_client_usable(c));
    inferd_client_close(c);
    fake_stop(f);

    /* data within the default limit but over the one this client set */
    data_len = 4096;
    f = fake_unix_start(huge_header_conn, &data_len);
    c = connect_ok(f, 5000);
    inferd_client_set_max_frame(c, 1024);
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), INFERD_E_TOO_LARGE);
    inferd_client_close(c);
    fake_stop(f);
}

/* A connection error (id 0) and a hang-up, as the daemon's idle timeout does. */
static void idle_close_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame fr;
    if (fake_read_frame(fd, &fr) < 0) return;
    fake_frame_free(&fr);
    size_t len = 0;
    uint8_t *out = fake_error_frame(0, INFERD_E_TIMEOUT, "idle for 100 ms: closing", &len);
    fake_write_all(fd, out, len);
    free(out);
}

static void test_connection_error_frame(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(idle_close_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), INFERD_E_TIMEOUT);
    assert_non_null(strstr(err, "idle for 100 ms: closing"));
    assert_false(inferd_client_usable(c));
    inferd_client_close(c);
    fake_stop(f);
}

/* Answers a request with an id it never got. */
static void wrong_id_conn(struct fake *f, int fd, void *ctx)
{
    (void)f, (void)ctx;
    struct fake_frame fr;
    if (fake_read_frame(fd, &fr) < 0) return;
    fr.h.request_id += 1000;
    size_t len = 0;
    uint8_t *out = fake_echo_frame(&fr, &len);
    fake_frame_free(&fr);
    fake_write_all(fd, out, len);
    free(out);
    silent_conn(f, fd, ctx);
}

static void test_reply_to_unknown_id(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(wrong_id_conn, NULL);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[2] = { 1, 2 };
    struct inferd_client_input in = fp32_input(x, 2);
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), INFERD_E_BAD_FRAME);
    assert_non_null(strstr(err, "never sent"));
    inferd_client_close(c);
    fake_stop(f);
}

/* Many large requests sent before reading any reply: the fake writes each
 * reply before reading the next request, so the client must read replies
 * while it waits to send or both ends block. */
static void test_pipeline_large_no_deadlock(void **state)
{
    (void)state;
    struct fake *f = fake_unix_start(echo_conn, NULL);
    struct inferd_client *c = connect_ok(f, 10000);
    enum { N = 24, ELEMS = 256 * 1024 }; /* 1 MiB each */
    float *x = malloc(sizeof(float) * ELEMS);
    assert_non_null(x);
    char err[512] = "";
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < ELEMS; j++) x[j] = (float)(i * 10 + j % 7);
        struct inferd_client_input in = fp32_input(x, ELEMS);
        struct inferd_client_request req = {
            .model = "m", .inputs = &in, .ninputs = 1, .topk = INFERD_CLIENT_TOPK_NONE
        };
        int rc = inferd_client_send(c, &req, &ids[i], err, sizeof(err));
        if (rc) fail_msg("send %d: %d %s", i, rc, err);
    }
    for (int i = 0; i < N; i++) {
        struct inferd_client_result *r = NULL;
        uint64_t id = 0;
        int rc = inferd_client_recv(c, &r, &id, err, sizeof(err));
        if (rc) fail_msg("recv %d: %d %s", i, rc, err);
        assert_int_equal(id, ids[i]); /* the fake answers in order */
        const float *y = r->outputs[0].data;
        assert_int_equal(r->outputs[0].size, sizeof(float) * ELEMS);
        assert_true(y[0] == (float)(i * 10) && y[ELEMS - 1] == (float)(i * 10 + (ELEMS - 1) % 7));
        inferd_client_result_free(r);
    }
    free(x);
    inferd_client_close(c);
    fake_stop(f);
}

/* Text connections: health, metrics (several lines), an unknown command. */
static void text_conn(struct fake *f, int fd, void *ctx)
{
    (void)f;
    int *binary = ctx;
    if (!fake_is_text(fd)) {
        (*binary)++;
        echo_conn(f, fd, NULL);
        return;
    }
    char line[256];
    while (fake_read_line(fd, line, sizeof(line)) == 0) {
        const char *reply;
        if (strcmp(line, "health") == 0)
            reply = "{\"status\":\"ok\",\"models\":[]}\n";
        else if (strcmp(line, "metrics") == 0)
            reply = "# TYPE inferd_up gauge\ninferd_up 1\n# EOF\n";
        else
            reply =
                "{\"error\":{\"code\":\"bad_input\",\"message\":\"unknown command 'bogus'\"}}\n";
        fake_write_all(fd, reply, strlen(reply));
    }
}

static void test_text_commands(void **state)
{
    (void)state;
    int binary = 0;
    struct fake *f = fake_unix_start(text_conn, &binary);
    struct inferd_client *c = connect_ok(f, 5000);
    char err[512] = "", *reply = NULL;
    int rc = inferd_client_command(c, "health", &reply, err, sizeof(err));
    if (rc) fail_msg("%d %s", rc, err);
    assert_string_equal(reply, "{\"status\":\"ok\",\"models\":[]}");
    free(reply);
    assert_int_equal(inferd_client_command(c, "metrics", &reply, err, sizeof(err)), 0);
    assert_string_equal(reply, "# TYPE inferd_up gauge\ninferd_up 1\n# EOF");
    free(reply);
    assert_int_equal(inferd_client_command(c, "bogus", &reply, err, sizeof(err)),
                     INFERD_E_BAD_INPUT);
    assert_null(reply);
    assert_string_equal(err, "unknown command 'bogus'");
    /* not a command at all: refused here */
    assert_int_equal(inferd_client_command(c, "health\nstats", &reply, err, sizeof(err)), -EINVAL);
    assert_int_equal(inferd_client_command(c, "", &reply, err, sizeof(err)), -EINVAL);
    /* the binary connection is untouched: text went on connections of its own */
    assert_int_equal(inferd_client_ping(c, err, sizeof(err)), 0);
    assert_int_equal(binary, 1);
    assert_int_equal(fake_connections(f), 4);
    inferd_client_close(c);
    fake_stop(f);
}

static void test_bad_requests_not_sent(void **state)
{
    (void)state;
    int binary = 0;
    struct fake *f = fake_unix_start(text_conn, &binary);
    struct inferd_client *c = connect_ok(f, 5000);
    float x[4] = { 0 };
    struct inferd_client_input in = fp32_input(x, 4);
    struct inferd_client_request req = { .model = "m", .inputs = &in, .ninputs = 1 };
    struct inferd_client_result *r = NULL;
    char err[512] = "";

    in.size = 12; /* shape says 16 bytes */
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "12 bytes given"));
    in.size = 16;
    in.datatype = "FLOAT";
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "FLOAT"));
    in.datatype = "FP32";
    in.shape[1] = -4;
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -EINVAL);
    in.shape[1] = 4;
    req.model = NULL;
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -EINVAL);
    req.model = "m";
    req.ninputs = 0;
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -EINVAL);
    req.ninputs = 1;
    req.topk = 5000;
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -EINVAL);
    req.topk = 0;
    struct inferd_client_output_request outs[2] = { { .name = "a" }, { .name = "a" } };
    req.outputs = outs;
    req.noutputs = 2; /* the same output twice: the protocol refuses it */
    assert_int_equal(inferd_client_infer(c, &req, &r, err, sizeof(err)), -EINVAL);
    assert_null(r);
    assert_true(inferd_client_usable(c));
    assert_int_equal(inferd_client_pending(c), 0);
    /* nothing reached the daemon: the connection was never even sniffed */
    assert_int_equal(binary, 0);
    inferd_client_close(c);
    fake_stop(f);
}

static void test_addresses(void **state)
{
    (void)state;
    struct inferd_client *c = NULL;
    char err[512] = "";
    assert_int_equal(inferd_client_connect("/nonexistent/inferd.sock", 1000, &c, err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/inferd.sock"));
    assert_null(c);
    assert_int_equal(inferd_client_connect("http://x", 1000, &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unknown transport"));
    assert_int_equal(inferd_client_connect("unix:", 1000, &c, err, sizeof(err)), -EINVAL);
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = 0;
    assert_int_equal(inferd_client_connect(longp, 1000, &c, err, sizeof(err)), -ENAMETOOLONG);
    assert_int_equal(inferd_client_connect("ipc:///nonexistent/x.ipc", 1000, &c, err, sizeof(err)),
                     -ENOENT);

    /* a socket file nobody listens on */
    char dir[] = "/tmp/inferd-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[100];
    snprintf(path, sizeof(path), "%s/dead.sock", dir);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    assert_int_equal(inferd_client_connect(path, 1000, &c, err, sizeof(err)), -ECONNREFUSED);
    assert_non_null(strstr(err, "refused"));
    unlink(path);
    rmdir(dir);

    /* NULL: $INFERD_ADDRESS */
    struct fake *f = fake_unix_start(echo_conn, NULL);
    setenv("INFERD_ADDRESS", fake_path(f), 1);
    assert_int_equal(inferd_client_connect(NULL, 1000, &c, err, sizeof(err)), 0);
    assert_string_equal(inferd_client_address(c), fake_path(f));
    assert_int_equal(inferd_client_ping(c, err, sizeof(err)), 0);
    inferd_client_close(c);
    unsetenv("INFERD_ADDRESS");
    fake_stop(f);
    inferd_client_close(NULL);
    inferd_client_result_free(NULL);
}

static void test_utilities(void **state)
{
    (void)state;
    assert_int_equal(inferd_client_dtype_size("FP32"), 4);
    assert_int_equal(inferd_client_dtype_size("INT64"), 8);
    assert_int_equal(inferd_client_dtype_size("BYTES"), 0);
    assert_int_equal(inferd_client_dtype_size("nope"), 0);
    assert_int_equal(inferd_client_dtype_size(NULL), 0);
    assert_string_equal(inferd_client_error_name(INFERD_E_MODEL_NOT_FOUND), "model_not_found");
    assert_string_equal(inferd_client_error_name(-ENOENT), "internal");
    assert_string_equal(inferd_client_strerror(-ENOENT), strerror(ENOENT));
    assert_non_null(strchr(inferd_client_version(), '.'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_tensor),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_pipelining_out_of_order),
        cmocka_unit_test(test_infer_keeps_earlier_reply),
        cmocka_unit_test(test_error_reply),
        cmocka_unit_test(test_error_reply_pipelined),
        cmocka_unit_test(test_timeout_then_late_reply_dropped),
        cmocka_unit_test(test_timeout_recv_and_ping),
        cmocka_unit_test(test_server_closes_mid_reply),
        cmocka_unit_test(test_server_gone_no_sigpipe),
        cmocka_unit_test(test_oversized_reply_refused),
        cmocka_unit_test(test_connection_error_frame),
        cmocka_unit_test(test_reply_to_unknown_id),
        cmocka_unit_test(test_pipeline_large_no_deadlock),
        cmocka_unit_test(test_text_commands),
        cmocka_unit_test(test_bad_requests_not_sent),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_utilities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
