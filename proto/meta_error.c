/* Error meta: {"error": {"code": NAME, "message": TEXT}}. The code names come
 * from inferd_error.h's table; clients match on them, never on numbers. */
#include "proto_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const error_keys[] = { "code", "message" };
#define BAD INFERD_E_BAD_FRAME

/* Longest wire name a decoder keeps; ours are under 32. */
#define MAX_CODE_NAME 64

void inferd_error_meta_free(struct inferd_error_meta *e)
{
    if (!e) return;
    free(e->name);
    free(e->message);
    free(e);
}

int inferd_error_meta_encode(int code, const char *message, char **json, size_t *json_len)
{
    int rc = -ENOMEM;
    char *clean = NULL;
    cJSON *root = cJSON_CreateObject(), *e;

    *json = NULL;
    if (!message) message = inferd_strerror(code);
    clean = proto_text_clean(message, strlen(message), INFERD_MAX_MESSAGE);
    if (!root || !clean || !(e = cJSON_AddObjectToObject(root, "error")) ||
        !cJSON_AddStringToObject(e, "code", inferd_error_name(code)) ||
        !cJSON_AddStringToObject(e, "message", clean))
        goto out;
    rc = pj_print(root, json, json_len);
out:
    free(clean);
    cJSON_Delete(root);
    return rc;
}

int inferd_error_meta_decode(const void *meta, size_t meta_len, struct inferd_error_meta **out,
                             char *err, size_t errlen)
{
    cJSON *root = NULL;
    const cJSON *e, *item;
    struct inferd_error_meta *m = NULL;
    int rc;

    *out = NULL;
    if ((rc = pj_parse(meta, meta_len, &root, err, errlen))) return rc;
    rc = -ENOMEM;
    if (!(m = calloc(1, sizeof(*m)))) goto fail;
    if (!(e = pj_get(root, "error"))) {
        rc = proto_fail(BAD, err, errlen, "error: missing");
        goto fail;
    }
    if ((rc = pj_object(e, "error", BAD, err, errlen))) goto fail;
    if ((rc = pj_keys(e, "error", error_keys, 2, false, BAD, err, errlen))) goto fail;
    if (!(item = pj_get(e, "code"))) {
        rc = proto_fail(BAD, err, errlen, "error.code: missing");
        goto fail;
    }
    if ((rc = pj_string(item, "error.code", MAX_CODE_NAME, true, BAD, &m->name, err, errlen)))
        goto fail;
    m->code = inferd_error_from_name(m->name);
    /* A name from a newer daemon: still an error, and its message says which. */
    if (m->code == 0) m->code = INFERD_E_INTERNAL;
    if ((item = pj_get(e, "message"))) {
        if (!cJSON_IsString(item) || !item->valuestring) {
            rc = proto_fail(BAD, err, errlen, "error.message: expected a string, got %s",
                            pj_type_name(item));
            goto fail;
        }
        m->message = strdup(item->valuestring);
    } else {
        m->message = strdup(inferd_strerror(m->code));
    }
    if (!m->message) {
        rc = -ENOMEM;
        goto fail;
    }
    cJSON_Delete(root);
    *out = m;
    return 0;
fail:
    cJSON_Delete(root);
    inferd_error_meta_free(m);
    return rc;
}
