/* The plugin loader: a plugin of another ABI version, without the entry
 * symbol, with a hole in its table or under another name is refused, naming
 * what is wrong; the real CPU plugin loads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_backend.h"
#include "inferd_error.h"

static const char *dir; /* folder of the fake plugins */
static const char *cpu_dir;

static void expect_refused(const char *name, int code, const char *part)
{
    struct inferd_plugin p;
    char err[512] = "";
    int rc = inferd_backend_load(dir, name, &p, err, sizeof(err));
    if (rc != code || !strstr(err, part))
        fail_msg("plugin %s: rc %d, message '%s'; expected %d and '%s'", name, rc, err, code, part);
    assert_null(p.handle);
}

static void test_other_abi(void **state)
{
    (void)state;
    char want[128];
    snprintf(want, sizeof(want), "backend ABI version 99, this program needs version %d",
             INFERD_BACKEND_ABI);
    expect_refused("fakeabi", INFERD_E_ABI_MISMATCH, want);
}

static void test_no_symbol(void **state)
{
    (void)state;
    expect_refused("fakenosym", INFERD_E_ABI_MISMATCH, "no symbol inferd_backend_v1");
}

static void test_incomplete(void **state)
{
    (void)state;
    expect_refused("fakenorun", INFERD_E_ABI_MISMATCH, "backend table is incomplete");
}

static void test_wrong_name(void **state)
{
    (void)state;
    expect_refused("fakename", INFERD_E_ABI_MISMATCH, "plugin calls itself 'other'");
}

static void test_missing_and_path(void **state)
{
    (void)state;
    struct inferd_plugin p;
    char err[512];
    assert_int_equal(
        inferd_backend_load_path("/nonexistent:/also-not", "cpu", &p, err, sizeof(err)),
        INFERD_E_NO_DEVICE);
    assert_non_null(strstr(err, "backend 'cpu' not found"));
    assert_int_equal(inferd_backend_load(dir, "../etc", &p, err, sizeof(err)), INFERD_E_BAD_CONFIG);
}

static void test_cpu_loads(void **state)
{
    (void)state;
    struct inferd_plugin p;
    char err[512] = "";
    char path[4096];
    snprintf(path, sizeof(path), "/nonexistent:%s", cpu_dir);
    assert_int_equal(inferd_backend_load_path(path, "cpu", &p, err, sizeof(err)), 0);
    assert_int_equal(p.api->abi, INFERD_BACKEND_ABI);
    assert_string_equal(p.api->name, "cpu");
    struct inferd_backend *be = NULL;
    const struct inferd_kv bad[] = { { "threads", "0" }, { NULL, NULL } };
    assert_true(p.api->open(bad, &be, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "threads=0"));
    const struct inferd_kv unknown[] = { { "colour", "blue" }, { NULL, NULL } };
    assert_true(p.api->open(unknown, &be, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "unknown option 'colour'"));
    const struct inferd_kv good[] = { { "threads", "2" }, { NULL, NULL } };
    assert_int_equal(p.api->open(good, &be, err, sizeof(err)), 0);
    /* Unload order: release models (none here), close the backend, dlclose. */
    p.api->close(be);
    inferd_backend_unload(&p);
    assert_null(p.handle);
}

int main(int argc, char **argv)
{
    if (argc != 3) return 2;
    dir = argv[1];
    cpu_dir = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_other_abi),        cmocka_unit_test(test_no_symbol),
        cmocka_unit_test(test_incomplete),       cmocka_unit_test(test_wrong_name),
        cmocka_unit_test(test_missing_and_path), cmocka_unit_test(test_cpu_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
