/* Text mode: a connection (or nanomsg message) that does not start with the
 * frame magic carries one command per line, for shells:
 *   echo health | socat - UNIX-CONNECT:PATH */
#include "proto_util.h"

#include <string.h>

static const char *const cmd_names[] = {
    [INFERD_TEXT_HEALTH] = "health",   [INFERD_TEXT_STATS] = "stats",
    [INFERD_TEXT_MODELS] = "models",   [INFERD_TEXT_VERSION] = "version",
    [INFERD_TEXT_METRICS] = "metrics",
};

#define NCMDS (sizeof(cmd_names) / sizeof(cmd_names[0]))

int inferd_text_sniff(const void *buf, size_t len)
{
    size_t n = len < INFERD_FRAME_MAGIC_LEN ? len : INFERD_FRAME_MAGIC_LEN;
    if (n && memcmp(buf, INFERD_FRAME_MAGIC, n) != 0) return INFERD_SNIFF_TEXT;
    return n == INFERD_FRAME_MAGIC_LEN ? INFERD_SNIFF_FRAME : INFERD_SNIFF_MORE;
}

bool inferd_text_is_text(const void *buf, size_t len)
{
    return inferd_text_sniff(buf, len) == INFERD_SNIFF_TEXT;
}

const char *inferd_text_cmd_name(int cmd)
{
    return cmd > INFERD_TEXT_BLANK && (size_t)cmd < NCMDS ? cmd_names[cmd] : NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int inferd_text_parse(const char *line, size_t len, int *cmd, char *err, size_t errlen)
{
    *cmd = INFERD_TEXT_BLANK;
    while (len && is_space(line[len - 1])) len--;
    while (len && is_space(line[0])) line++, len--;
    if (len == 0) return 0;

    size_t word = 0;
    while (word < len && !is_space(line[word])) word++;
    for (size_t i = 1; i < NCMDS; i++) {
        if (strlen(cmd_names[i]) != word || memcmp(line, cmd_names[i], word) != 0) continue;
        if (word != len)
            return proto_fail(INFERD_E_BAD_INPUT, err, errlen, "command '%s' takes no arguments",
                              cmd_names[i]);
        *cmd = (int)i;
        return 0;
    }
    char shown[200];
    proto_quote(shown, sizeof(shown), line, word);
    return proto_fail(INFERD_E_BAD_INPUT, err, errlen,
                      "unknown command '%s' (try: health, stats, models, version, metrics)", shown);
}

void inferd_text_lines_init(struct inferd_text_lines *l)
{
    l->len = 0;
    l->skipping = false;
    l->buf[0] = '\0';
}

int inferd_text_lines_feed(struct inferd_text_lines *l, const void *chunk, size_t len, size_t *used,
                           const char **line, size_t *line_len)
{
    const char *p = chunk;
    const char *nl = len ? memchr(p, '\n', len) : NULL;
    size_t take = nl ? (size_t)(nl - p) : len; /* bytes before the newline */

    *used = nl ? take + 1 : len;
    if (l->skipping) {
        if (nl) l->skipping = false;
        return 0;
    }
    if (take > INFERD_TEXT_MAX_LINE - l->len) {
        /* Drop what is held and the rest of this line, then report once. */
        l->len = 0;
        l->skipping = nl == NULL;
        return INFERD_E_TOO_LARGE;
    }
    memcpy(l->buf + l->len, p, take);
    l->len += take;
    if (!nl) return 0;
    l->buf[l->len] = '\0';
    *line = l->buf;
    *line_len = l->len;
    l->len = 0;
    return 1;
}

int inferd_text_lines_finish(struct inferd_text_lines *l, const char **line, size_t *line_len)
{
    if (l->skipping || l->len == 0) {
        inferd_text_lines_init(l);
        return 0;
    }
    l->buf[l->len] = '\0';
    *line = l->buf;
    *line_len = l->len;
    l->len = 0;
    return 1;
}
