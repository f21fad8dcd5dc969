/* The error table is a wire contract: names must be unique, stable and
 * round-trip, and system errors must not be mistaken for project codes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_error.h"

static const int all_codes[] = {
#define CODE_(name, value, wire, text) INFERD_E_##name,
    INFERD_ERROR_MAP(CODE_)
#undef CODE_
};
#define NCODES (sizeof(all_codes) / sizeof(all_codes[0]))

static void test_names_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++) {
        const char *name = inferd_error_name(all_codes[i]);
        assert_non_null(name);
        assert_int_equal(inferd_error_from_name(name), all_codes[i]);
    }
}

static void test_codes_and_names_unique(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++)
        for (size_t j = i + 1; j < NCODES; j++) {
            assert_int_not_equal(all_codes[i], all_codes[j]);
            assert_string_not_equal(inferd_error_name(all_codes[i]),
                                    inferd_error_name(all_codes[j]));
        }
}

static void test_project_codes_below_errno_range(void **state)
{
    (void)state;
    /* Linux reserves -1..-4095 for errno values (see MAX_ERRNO). */
    for (size_t i = 0; i < NCODES; i++) assert_true(all_codes[i] < -4095);
}

static void test_wire_names_are_stable(void **state)
{
    (void)state;
    /* Clients match on these strings; changing one breaks them. */
    assert_string_equal(inferd_error_name(INFERD_E_BAD_FRAME), "bad_frame");
    assert_string_equal(inferd_error_name(INFERD_E_TOO_LARGE), "too_large");
    assert_string_equal(inferd_error_name(INFERD_E_UNSUPPORTED_VERSION), "unsupported_version");
    assert_string_equal(inferd_error_name(INFERD_E_MODEL_NOT_FOUND), "model_not_found");
    assert_string_equal(inferd_error_name(INFERD_E_BAD_INPUT), "bad_input");
    assert_string_equal(inferd_error_name(INFERD_E_BUSY), "busy");
    assert_string_equal(inferd_error_name(INFERD_E_TIMEOUT), "timeout");
    assert_string_equal(inferd_error_name(INFERD_E_BACKEND_FAILED), "backend_failed");
    assert_string_equal(inferd_error_name(INFERD_E_SHUTTING_DOWN), "shutting_down");
}

static void test_errno_and_unknown(void **state)
{
    (void)state;
    assert_string_equal(inferd_error_name(0), "ok");
    assert_string_equal(inferd_error_name(-ENOMEM), "internal");
    assert_string_equal(inferd_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(inferd_strerror(-99999), "unknown error");
    assert_string_equal(inferd_strerror(INFERD_E_BUSY), "model queue is full");
    assert_int_equal(inferd_error_from_name("no_such_code"), 0);
    assert_int_equal(inferd_error_from_name(NULL), 0);
    assert_int_equal(inferd_error_from_name(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_codes_and_names_unique),
        cmocka_unit_test(test_project_codes_below_errno_range),
        cmocka_unit_test(test_wire_names_are_stable),
        cmocka_unit_test(test_errno_and_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
