/* Text mode: telling text from frames by the first bytes, splitting lines
 * across chunk boundaries with a length limit, and parsing commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_proto.h"

static void test_sniff(void **state)
{
    (void)state;
    assert_int_equal(inferd_text_sniff("", 0), INFERD_SNIFF_MORE);
    assert_int_equal(inferd_text_sniff("I", 1), INFERD_SNIFF_MORE);
    assert_int_equal(inferd_text_sniff("INF", 3), INFERD_SNIFF_MORE);
    assert_int_equal(inferd_text_sniff("INFD", 4), INFERD_SNIFF_FRAME);
    assert_int_equal(inferd_text_sniff("INFD\x01\x00", 6), INFERD_SNIFF_FRAME);
    assert_int_equal(inferd_text_sniff("h", 1), INFERD_SNIFF_TEXT);
    assert_int_equal(inferd_text_sniff("health\n", 7), INFERD_SNIFF_TEXT);
    assert_int_equal(inferd_text_sniff("INX", 3), INFERD_SNIFF_TEXT);
    assert_int_equal(inferd_text_sniff("infd", 4), INFERD_SNIFF_TEXT);
    assert_int_equal(inferd_text_sniff("\n", 1), INFERD_SNIFF_TEXT);
    assert_true(inferd_text_is_text("stats", 5));
    assert_false(inferd_text_is_text("IN", 2));
    assert_false(inferd_text_is_text("INFD", 4));
    /* No command starts with the magic's first letter, so a shell never waits. */
    for (int c = INFERD_TEXT_HEALTH; c <= INFERD_TEXT_METRICS; c++) {
        const char *name = inferd_text_cmd_name(c);
        assert_true(inferd_text_is_text(name, 1));
    }
}

static int parse(const char *s, char *err)
{
    int cmd = -1;
    int rc = inferd_text_parse(s, strlen(s), &cmd, err, 256);
    return rc ? rc : cmd;
}

static void test_parse(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(parse("health", err), INFERD_TEXT_HEALTH);
    assert_int_equal(parse("stats\n", err), INFERD_TEXT_STATS);
    assert_int_equal(parse("models\r\n", err), INFERD_TEXT_MODELS);
    assert_int_equal(parse("  version \t", err), INFERD_TEXT_VERSION);
    assert_int_equal(parse("metrics", err), INFERD_TEXT_METRICS);
    assert_int_equal(parse("", err), INFERD_TEXT_BLANK);
    assert_int_equal(parse(" \r\n", err), INFERD_TEXT_BLANK);

    assert_int_equal(parse("foo", err), INFERD_E_BAD_INPUT);
    assert_string_equal(err,
                        "unknown command 'foo' (try: health, stats, models, version, metrics)");
    assert_int_equal(parse("HEALTH", err), INFERD_E_BAD_INPUT); /* case-sensitive */
    assert_int_equal(parse("healthy", err), INFERD_E_BAD_INPUT);
    assert_int_equal(parse("heal", err), INFERD_E_BAD_INPUT);
    assert_int_equal(parse("health now", err), INFERD_E_BAD_INPUT);
    assert_string_equal(err, "command 'health' takes no arguments");
    /* Binary garbage is echoed escaped (the reply must stay valid JSON). */
    assert_int_equal(inferd_text_parse("\xff\x00z", 3, &(int){ 0 }, err, sizeof(err)),
                     INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "'\\xff\\x00z'"));
    /* Commands are not matched by prefix on the raw bytes. */
    assert_int_equal(inferd_text_parse("health", 4, &(int){ 0 }, err, sizeof(err)),
                     INFERD_E_BAD_INPUT);
    assert_null(inferd_text_cmd_name(INFERD_TEXT_BLANK));
    assert_null(inferd_text_cmd_name(99));
    assert_string_equal(inferd_text_cmd_name(INFERD_TEXT_STATS), "stats");
}

static void test_error_line(void **state)
{
    (void)state;
    char err[256], *json;
    size_t len;
    assert_int_equal(parse("foo", err), INFERD_E_BAD_INPUT);
    assert_int_equal(inferd_error_meta_encode(INFERD_E_BAD_INPUT, err, &json, &len), 0);
    assert_string_equal(json, "{\"error\":{\"code\":\"bad_input\",\"message\":\"unknown command "
                              "'foo' (try: health, stats, models, version, metrics)\"}}");
    free(json);
}

/* Feeds s in chunks of `step` bytes and collects the lines, joined by '|'. */
static int feed_all(const char *s, size_t step, char *out, size_t outlen, int *too_large)
{
    struct inferd_text_lines l;
    inferd_text_lines_init(&l);
    size_t len = strlen(s), o = 0;
    int lines = 0;
    *too_large = 0;
    out[0] = '\0';
    for (size_t at = 0; at < len;) {
        size_t n = len - at < step ? len - at : step;
        const char *chunk = s + at;
        at += n;
        while (n) {
            size_t used = 0;
            const char *line;
            size_t line_len;
            int rc = inferd_text_lines_feed(&l, chunk, n, &used, &line, &line_len);
            assert_true(used > 0 && used <= n);
            chunk += used, n -= used;
            if (rc == INFERD_E_TOO_LARGE) {
                (*too_large)++;
                o += (size_t)snprintf(out + o, outlen - o, "!|");
            } else if (rc == 1) {
                assert_int_equal(strlen(line), line_len);
                o += (size_t)snprintf(out + o, outlen - o, "%s|", line);
                lines++;
            } else {
                assert_int_equal(rc, 0);
            }
        }
    }
    const char *line;
    size_t line_len;
    if (inferd_text_lines_finish(&l, &line, &line_len) == 1) {
        o += (size_t)snprintf(out + o, outlen - o, "%s$", line);
        lines++;
    }
    return lines;
}

static void test_lines_any_chunking(void **state)
{
    (void)state;
    const char *in = "health\nstats\r\n\nmodels\nver";
    for (size_t step = 1; step <= strlen(in); step++) {
        char out[256];
        int big;
        int n = feed_all(in, step, out, sizeof(out), &big);
        assert_int_equal(n, 5);
        assert_int_equal(big, 0);
        assert_string_equal(out, "health|stats\r||models|ver$");
    }
}

static void test_lines_overlong(void **state)
{
    (void)state;
    size_t big_len = INFERD_TEXT_MAX_LINE + 1;
    char *in = malloc(big_len + 64);
    /* A line of exactly the limit passes; one byte more is refused once and
     * dropped up to its newline, and the next line is read normally. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = INFERD_TEXT_MAX_LINE + (size_t)extra;
        memset(in, 'x', n);
        strcpy(in + n, "\nhealth\n");
        size_t steps[] = { 1, 7, 100, 1024, 4096 };
        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            char *out = malloc(2 * big_len + 64);
            int big;
            int lines = feed_all(in, steps[s], out, 2 * big_len + 64, &big);
            if (extra) {
                assert_int_equal(big, 1);
                assert_int_equal(lines, 1);
                assert_string_equal(out, "!|health|");
            } else {
                assert_int_equal(big, 0);
                assert_int_equal(lines, 2);
                assert_int_equal(strlen(out), n + strlen("|health|"));
            }
            free(out);
        }
    }
    /* A huge line without any newline: one error, nothing held at the end. */
    size_t huge = 1 << 20;
    char *h = malloc(huge + 1);
    memset(h, 'y', huge);
    h[huge] = '\0';
    char out[64];
    int big;
    assert_int_equal(feed_all(h, 4096, out, sizeof(out), &big), 0);
    assert_int_equal(big, 1);
    free(h);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),          cmocka_unit_test(test_parse),
        cmocka_unit_test(test_error_line),     cmocka_unit_test(test_lines_any_chunking),
        cmocka_unit_test(test_lines_overlong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
