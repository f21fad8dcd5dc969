/* cJSON walking shared by the meta decoders: parsing with the byte-level
 * checks cJSON does not make, member checks, typed getters with messages. */
#include "proto_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest integer a JSON number (an IEEE double) holds exactly. */
#define PJ_MAX_EXACT ((uint64_t)1 << 53)

static const char *where(const char *path)
{
    return path && *path ? path : "meta";
}

int pj_parse(const void *meta, size_t len, cJSON **root, char *err, size_t errlen)
{
    const uint8_t *p = meta;
    *root = NULL;
    if (!meta || len == 0) return proto_fail(INFERD_E_BAD_FRAME, err, errlen, "meta is empty");

    for (size_t i = 0; i < len;) {
        uint8_t c = p[i];
        if (c >= 0x80) {
            /* Same rules as proto_utf8_valid, one sequence at a time, so the
             * message can say where. */
            size_t k = 0;
            for (size_t n = 2; n <= 4 && k == 0; n++)
                if (i + n <= len && proto_utf8_valid(p + i, n)) k = n;
            if (k == 0)
                return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                                  "meta is not valid UTF-8 (byte 0x%02x at offset %zu)", c, i);
            i += k;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                              "meta holds control byte 0x%02x at offset %zu", c, i);
        if (c == '\\' && i + 1 < len && p[i + 1] < 0x80) {
            /* cJSON turns \u0000 into a NUL that silently cuts the string:
             * "mobilenet\u0000x" would name the model "mobilenet". */
            if (p[i + 1] == 'u' && i + 6 <= len && memcmp(p + i + 2, "0000", 4) == 0)
                return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                                  "meta holds \\u0000 at offset %zu; strings may not contain NUL",
                                  i);
            i += 2;
            continue;
        }
        i++;
    }

    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(meta, len, &end, 0);
    if (!j) {
        size_t at = end && end >= (const char *)meta ? (size_t)(end - (const char *)meta) : 0;
        return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                          "meta is not JSON (syntax error near offset %zu)", at);
    }
    for (size_t i = (size_t)(end - (const char *)meta); i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
            cJSON_Delete(j);
            return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                              "meta has bytes after its JSON value (offset %zu)", i);
        }
    }
    if (!cJSON_IsObject(j)) {
        int rc = proto_fail(INFERD_E_BAD_FRAME, err, errlen, "meta is not a JSON object (got %s)",
                            pj_type_name(j));
        cJSON_Delete(j);
        return rc;
    }
    *root = j;
    return 0;
}

const char *pj_type_name(const cJSON *item)
{
    if (!item) return "nothing";
    if (cJSON_IsObject(item)) return "an object";
    if (cJSON_IsArray(item)) return "an array";
    if (cJSON_IsString(item)) return "a string";
    if (cJSON_IsNumber(item)) return "a number";
    if (cJSON_IsBool(item)) return "a boolean";
    if (cJSON_IsNull(item)) return "null";
    return "an unknown value";
}

void pj_path(char *out, const char *parent, const char *key, long index)
{
    if (index >= 0)
        snprintf(out, PJ_PATH_MAX, "%s[%ld]", parent, index);
    else if (parent && *parent)
        snprintf(out, PJ_PATH_MAX, "%s.%s", parent, key);
    else
        snprintf(out, PJ_PATH_MAX, "%s", key);
}

int pj_keys(const cJSON *obj, const char *path, const char *const *known, size_t nknown,
            bool strict, int code, char *err, size_t errlen)
{
    uint32_t seen = 0;
    for (const cJSON *c = obj->child; c; c = c->next) {
        const char *key = c->string ? c->string : "";
        size_t k = 0;
        while (k < nknown && strcmp(key, known[k]) != 0) k++;
        if (k == nknown) {
            if (!strict) continue;
            char shown[64], list[256];
            size_t o = 0;
            proto_quote(shown, sizeof(shown), key, strlen(key));
            list[0] = '\0';
            for (size_t i = 0; i < nknown && o < sizeof(list); i++)
                o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", known[i]);
            return proto_fail(code, err, errlen, "%s: unknown key '%s' (known: %s)", where(path),
                              shown, list);
        }
        if (seen & (UINT32_C(1) << k))
            return proto_fail(code, err, errlen, "%s: key '%s' given twice", where(path), key);
        seen |= UINT32_C(1) << k;
    }
    return 0;
}

const cJSON *pj_get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

int pj_object(const cJSON *item, const char *path, int code, char *err, size_t errlen)
{
    if (cJSON_IsObject(item)) return 0;
    return proto_fail(code, err, errlen, "%s: expected an object, got %s", where(path),
                      pj_type_name(item));
}

int pj_array(const cJSON *item, const char *path, size_t max, int code, size_t *n, char *err,
             size_t errlen)
{
    if (!cJSON_IsArray(item))
        return proto_fail(code, err, errlen, "%s: expected an array, got %s", where(path),
                          pj_type_name(item));
    /* Count by walking, stopping past max: a huge array costs no more. */
    size_t count = 0;
    for (const cJSON *c = item->child; c; c = c->next)
        if (++count > max)
            return proto_fail(code, err, errlen, "%s: more than %zu elements", where(path), max);
    *n = count;
    return 0;
}

int pj_string(const cJSON *item, const char *path, size_t maxlen, bool name, int code, char **out,
              char *err, size_t errlen)
{
    *out = NULL;
    if (!cJSON_IsString(item) || !item->valuestring)
        return proto_fail(code, err, errlen, "%s: expected a string, got %s", where(path),
                          pj_type_name(item));
    const char *s = item->valuestring;
    size_t len = strlen(s);
    if (len == 0) return proto_fail(code, err, errlen, "%s: empty string", where(path));
    if (len > maxlen)
        return proto_fail(code, err, errlen, "%s: %zu bytes long, at most %zu", where(path), len,
                          maxlen);
    if (name)
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return proto_fail(code, err, errlen, "%s: holds control character 0x%02x",
                                  where(path), (unsigned char)s[i]);
    *out = malloc(len + 1);
    if (!*out) return -ENOMEM;
    memcpy(*out, s, len + 1);
    return 0;
}

int pj_uint(const cJSON *item, const char *path, uint64_t max, int code, uint64_t *out, char *err,
            size_t errlen)
{
    if (!cJSON_IsNumber(item))
        return proto_fail(code, err, errlen, "%s: expected a number, got %s", where(path),
                          pj_type_name(item));
    double v = item->valuedouble;
    if (max > PJ_MAX_EXACT) max = PJ_MAX_EXACT;
    if (v < 0) return proto_fail(code, err, errlen, "%s: %.17g is negative", where(path), v);
    if (!(v <= (double)max))
        return proto_fail(code, err, errlen, "%s: %.17g is over the limit of %" PRIu64, where(path),
                          v, max);
    uint64_t u = (uint64_t)v;
    if ((double)u != v)
        return proto_fail(code, err, errlen, "%s: %.17g is not an integer", where(path), v);
    *out = u;
    return 0;
}

int pj_bool(const cJSON *item, const char *path, int code, bool *out, char *err, size_t errlen)
{
    if (!cJSON_IsBool(item))
        return proto_fail(code, err, errlen, "%s: expected true or false, got %s", where(path),
                          pj_type_name(item));
    *out = cJSON_IsTrue(item);
    return 0;
}

cJSON *pj_int_item(int64_t v)
{
    /* cJSON prints numbers through "%1.15g" and a tolerant round-trip check,
     * which rounds integers past 15 digits; integers are written exactly. */
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return cJSON_CreateRaw(buf);
}

int pj_add_int(cJSON *obj, const char *key, int64_t v)
{
    cJSON *item = pj_int_item(v);
    if (!item || !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return -ENOMEM;
    }
    return 0;
}

int pj_print(const cJSON *root, char **json, size_t *json_len)
{
    /* Copied into a malloc'd buffer so the caller's free() matches whatever
     * allocator hooks cJSON was given elsewhere in the process. */
    char *s = cJSON_PrintUnformatted(root);
    if (!s) return -ENOMEM;
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (!copy) {
        cJSON_free(s);
        return -ENOMEM;
    }
    memcpy(copy, s, len + 1);
    cJSON_free(s);
    *json = copy;
    if (json_len) *json_len = len;
    return 0;
}

int pj_encode_checked(const void *obj, pj_tree_fn tree, pj_check_fn check, char **json,
                      size_t *json_len, uint64_t *data_len, char *err, size_t errlen)
{
    char *s = NULL;
    size_t len = 0;
    int rc = -ENOMEM;
    cJSON *root = cJSON_CreateObject();

    *json = NULL;
    if (!obj) {
        rc = -EINVAL;
        goto out;
    }
    uint64_t sum = 0;
    if (!root || (rc = tree(obj, root, &sum, err, errlen)) || (rc = pj_print(root, &s, &len)))
        goto out;
    rc = check(s, len, sum, err, errlen);
    if (rc == -ENOMEM) goto out;
    if (rc) {
        rc = -EINVAL;
        goto out;
    }
    if (data_len) *data_len = sum;
    *json = s;
    if (json_len) *json_len = len;
    s = NULL;
out:
    cJSON_Delete(root);
    free(s);
    return rc;
}
