/* Config validation: every refusal names the key path and what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "inferd_error.h"

static int parse(const char *text, struct inferd_conf **c, char *err, size_t errlen)
{
    return inferd_conf_parse(text, strlen(text), "/etc/inferd", c, err, errlen);
}

static void expect_error(const char *text, const char *message)
{
    struct inferd_conf *c = NULL;
    char err[512] = "";
    int rc = parse(text, &c, err, sizeof(err));
    if (rc != INFERD_E_BAD_CONFIG || strcmp(err, message) != 0)
        fail_msg("config %s\n  got rc %d: '%s'\n  expected: '%s'", text, rc, err, message);
    assert_null(c);
}

static void test_good_config(void **state)
{
    (void)state;
    const char *text = "{\"listen\": {\"unix\": \"/run/inferd.sock\", \"unix_mode\": \"0600\","
                       " \"nanomsg\": [\"ipc:///run/inferd.ipc\", \"tcp://127.0.0.1:5555\"]},"
                       " \"backends\": {\"cpu\": {\"threads\": 2}},"
                       " \"models\": [{\"name\": \"digits\", \"path\": \"models/digits.onnx\","
                       " \"fallback\": [\"cpu\"], \"instances\": 2, \"max_queue\": 8,"
                       " \"image\": {\"size\": [8, 8], \"mean\": [0], \"std\": [1],"
                       " \"layout\": \"nchw\", \"channel_order\": \"bgr\"},"
                       " \"labels\": \"models/digits.labels\", \"topk\": 3}],"
                       " \"limits\": {\"max_frame_bytes\": 1048576, \"idle_timeout_ms\": 0},"
                       " \"log_level\": \"debug\"}";
    struct inferd_conf *c = NULL;
    char err[512] = "";
    assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
    assert_string_equal(c->unix_path, "/run/inferd.sock");
    assert_int_equal(c->unix_mode, 0600);
    assert_int_equal(c->nnanomsg, 2);
    assert_string_equal(c->nanomsg[1], "tcp://127.0.0.1:5555");
    assert_int_equal(c->nmodels, 1);
    const struct inferd_model_conf *m = &c->models[0];
    assert_string_equal(m->path, "/etc/inferd/models/digits.onnx");
    assert_string_equal(m->labels, "/etc/inferd/models/digits.labels");
    assert_string_equal(m->backend, "cpu");
    assert_int_equal(m->instances, 2);
    assert_int_equal(m->max_queue, 8);
    assert_int_equal(m->topk, 3);
    assert_true(m->image.present);
    assert_int_equal(m->image.width, 8);
    assert_int_equal(m->image.channel_order, INFERD_BGR);
    assert_int_equal(c->max_frame_bytes, 1048576);
    assert_int_equal(c->idle_timeout_ms, 0);
    assert_int_equal(c->max_clients, 256); /* default kept */
    assert_int_equal(c->log_level, INFERD_LOG_DEBUG);
    const struct inferd_kv *kv = inferd_conf_backend_opts(c, "cpu");
    assert_string_equal(kv[0].key, "threads");
    assert_string_equal(kv[0].value, "2");
    assert_null(kv[1].key);
    assert_null(inferd_conf_backend_opts(c, "cuda")[0].key);
    inferd_conf_free(c);
}

#define MODEL  "{\"name\": \"m\", \"path\": \"m.onnx\"}"
#define LISTEN "\"listen\": {\"unix\": \"/tmp/s\"}"

static void test_errors(void **state)
{
    (void)state;
    expect_error("{\"a\": 1,\n\n \"b\": x}", "not valid JSON near line 3 (byte 16)");
    expect_error("[]", "(top level): expected an object, got an array");
    expect_error("{\"modles\": []}",
                 "modles: unknown key (known: listen, plugin_dir, backends, models, limits, "
                 "log_level)");
    expect_error("{" LISTEN ", \"models\": [{\"name\": \"m\", \"path\": \"m.onnx\", \"backend\": "
                 "\"cdua\"}]}",
                 "models[0].backend: unknown backend \"cdua\" (known: cpu, cuda, fpga)");
    expect_error("{" LISTEN ", \"models\": [" MODEL ", {\"name\": \"x\", \"path\": \"x.onnx\", "
                 "\"instances\": 0}]}",
                 "models[1].instances: expected an integer from 1 to 64, got 0");
    expect_error("{" LISTEN ", \"models\": [{\"path\": \"m.onnx\"}]}",
                 "models[0]: missing key \"name\"");
    expect_error("{" LISTEN ", \"models\": [" MODEL ", " MODEL "]}",
                 "models[1]: model name \"m\" is already used by models[0]");
    expect_error("{" LISTEN ", \"models\": [{\"name\": \"a b\", \"path\": \"m.onnx\"}]}",
                 "models[0].name: \"a b\": use letters, digits, '_', '-' and '.'");
    expect_error("{" LISTEN ", \"models\": [{\"name\": \"m\", \"path\": \"m.onnx\", \"image\": "
                 "{\"layout\": \"nwhc\"}}]}",
                 "models[0].image.layout: unknown value \"nwhc\" (known: nchw, nhwc)");
    expect_error("{" LISTEN ", \"models\": [{\"name\": \"m\", \"path\": 5}]}",
                 "models[0].path: expected a non-empty string, got a number");
    expect_error("{\"listen\": {\"unix\": \"/tmp/s\", \"unix_mode\": \"999\"}, \"models\": "
                 "[" MODEL "]}",
                 "listen.unix_mode: expected an octal file mode string such as \"0660\"");
    expect_error("{\"listen\": {\"nanomsg\": [\"udp://x\"]}, \"models\": [" MODEL "]}",
                 "listen.nanomsg[0]: \"udp://x\": expected an ipc:// or tcp:// address");
    expect_error("{\"models\": [" MODEL "]}",
                 "listen: no listener: set \"unix\" and/or \"nanomsg\"");
    expect_error("{" LISTEN "}", "models: no models configured");
    expect_error("{" LISTEN ", \"models\": [" MODEL "], \"limits\": {\"max_frame_bytes\": 10}}",
                 "limits.max_frame_bytes: expected an integer from 1024 to 4294967296, got 10");
    expect_error("{" LISTEN ", \"backends\": {\"cpu\": {\"threads\": [1]}}, \"models\": [" MODEL
                 "]}",
                 "backends.cpu: option \"threads\": expected a string, number or boolean");
}

static void test_load_file_errors(void **state)
{
    (void)state;
    struct inferd_conf *c = NULL;
    char err[512];
    assert_true(inferd_conf_load("/nonexistent/inferd.json", &c, err, sizeof(err)) < 0);
    assert_string_equal(err, "/nonexistent/inferd.json: No such file or directory");
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_config),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
