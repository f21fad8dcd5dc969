/* Response meta:
 *   {"model": NAME, "backend": NAME,
 *    "outputs": [TENSOR...],
 *    "topk": [{"output": NAME, "classes": [{"index": I, "score": S, "label": L}...]}...],
 *    "timing_us": {"queue": Q, "compute": C, "total": T}}
 * Decoding is lenient about keys it does not know, so a newer daemon can add
 * some without breaking older clients; everything it does read is checked as
 * strictly as a request. */
#include "proto_util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const response_keys[] = { "model", "backend", "outputs", "topk", "timing_us" };
static const char *const topk_keys[] = { "output", "classes" };
static const char *const class_keys[] = { "index", "score", "label" };
static const char *const timing_keys[] = { "queue", "compute", "total" };

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
#define BAD      INFERD_E_BAD_FRAME
/* Scores, timings and indices are integers or doubles a JSON number holds. */
#define MAX_EXACT ((uint64_t)1 << 53)

static void topk_clear(struct inferd_topk *k)
{
    free(k->output);
    if (k->classes)
        for (size_t i = 0; i < k->nclasses; i++) free(k->classes[i].label);
    free(k->classes);
}

void inferd_response_free(struct inferd_response *r)
{
    if (!r) return;
    free(r->model);
    free(r->backend);
    if (r->outputs)
        for (size_t i = 0; i < r->noutputs; i++) pj_tensor_clear(&r->outputs[i]);
    free(r->outputs);
    if (r->topk)
        for (size_t i = 0; i < r->ntopk; i++) topk_clear(&r->topk[i]);
    free(r->topk);
    free(r);
}

static int decode_outputs(const cJSON *arr, struct inferd_response *r, uint64_t data_len, char *err,
                          size_t errlen)
{
    static const struct pj_tensor_rules rules = { .request = false, .code = BAD };
    size_t n;
    int rc;
    if (!arr) return proto_fail(BAD, err, errlen, "outputs: missing");
    if ((rc = pj_array(arr, "outputs", INFERD_MAX_OUTPUTS, BAD, &n, err, errlen))) return rc;
    if (n && !(r->outputs = calloc(n, sizeof(*r->outputs)))) return -ENOMEM;
    r->noutputs = n;
    size_t i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        char path[PJ_PATH_MAX];
        pj_path(path, "outputs", NULL, (long)i);
        if ((rc = pj_tensor_decode(c, path, &rules, &r->outputs[i], err, errlen))) return rc;
    }
    return pj_tensor_offsets(r->outputs, n, "outputs", data_len, err, errlen);
}

static int decode_class(const cJSON *obj, const char *path, struct inferd_topk_class *k, char *err,
                        size_t errlen)
{
    char sub[PJ_PATH_MAX];
    const cJSON *item;
    uint64_t index;
    int rc;
    if ((rc = pj_object(obj, path, BAD, err, errlen))) return rc;
    if ((rc = pj_keys(obj, path, class_keys, NKEYS(class_keys), false, BAD, err, errlen)))
        return rc;
    pj_path(sub, path, "index", -1);
    if (!(item = pj_get(obj, "index"))) return proto_fail(BAD, err, errlen, "%s: missing", sub);
    if ((rc = pj_uint(item, sub, MAX_EXACT, BAD, &index, err, errlen))) return rc;
    k->index = (int64_t)index;
    pj_path(sub, path, "score", -1);
    if (!(item = pj_get(obj, "score"))) return proto_fail(BAD, err, errlen, "%s: missing", sub);
    if (cJSON_IsNull(item))
        k->score = NAN;
    else if (cJSON_IsNumber(item))
        k->score = item->valuedouble;
    else
        return proto_fail(BAD, err, errlen, "%s: expected a number, got %s", sub,
                          pj_type_name(item));
    if ((item = pj_get(obj, "label"))) {
        pj_path(sub, path, "label", -1);
        if ((rc = pj_string(item, sub, INFERD_MAX_LABEL, false, BAD, &k->label, err, errlen)))
            return rc;
    }
    return 0;
}

static int decode_topk_entry(const cJSON *obj, const char *path, struct inferd_topk *k, char *err,
                             size_t errlen)
{
    char sub[PJ_PATH_MAX];
    const cJSON *item;
    size_t n;
    int rc;
    if ((rc = pj_object(obj, path, BAD, err, errlen))) return rc;
    if ((rc = pj_keys(obj, path, topk_keys, NKEYS(topk_keys), false, BAD, err, errlen))) return rc;
    pj_path(sub, path, "output", -1);
    if (!(item = pj_get(obj, "output"))) return proto_fail(BAD, err, errlen, "%s: missing", sub);
    if ((rc = pj_string(item, sub, INFERD_MAX_NAME, true, BAD, &k->output, err, errlen))) return rc;
    pj_path(sub, path, "classes", -1);
    if (!(item = pj_get(obj, "classes"))) return proto_fail(BAD, err, errlen, "%s: missing", sub);
    if ((rc = pj_array(item, sub, INFERD_MAX_TOPK, BAD, &n, err, errlen))) return rc;
    if (n && !(k->classes = calloc(n, sizeof(*k->classes)))) return -ENOMEM;
    k->nclasses = n;
    size_t i = 0;
    for (const cJSON *c = item->child; c; c = c->next, i++) {
        char cpath[PJ_PATH_MAX];
        pj_path(cpath, sub, NULL, (long)i);
        if ((rc = decode_class(c, cpath, &k->classes[i], err, errlen))) return rc;
    }
    return 0;
}

static int decode_topk(const cJSON *arr, struct inferd_response *r, char *err, size_t errlen)
{
    size_t n;
    int rc;
    if ((rc = pj_array(arr, "topk", INFERD_MAX_OUTPUTS, BAD, &n, err, errlen))) return rc;
    if (n && !(r->topk = calloc(n, sizeof(*r->topk)))) return -ENOMEM;
    r->ntopk = n;
    size_t i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        char path[PJ_PATH_MAX];
        pj_path(path, "topk", NULL, (long)i);
        if ((rc = decode_topk_entry(c, path, &r->topk[i], err, errlen))) return rc;
    }
    return 0;
}

static int decode_timing(const cJSON *obj, struct inferd_response *r, char *err, size_t errlen)
{
    uint64_t *fields[] = { &r->timing.queue_us, &r->timing.compute_us, &r->timing.total_us };
    int rc;
    if ((rc = pj_object(obj, "timing_us", BAD, err, errlen))) return rc;
    if ((rc = pj_keys(obj, "timing_us", timing_keys, NKEYS(timing_keys), false, BAD, err, errlen)))
        return rc;
    for (size_t i = 0; i < NKEYS(timing_keys); i++) {
        const cJSON *item = pj_get(obj, timing_keys[i]);
        char path[PJ_PATH_MAX];
        pj_path(path, "timing_us", timing_keys[i], -1);
        if (item && (rc = pj_uint(item, path, MAX_EXACT, BAD, fields[i], err, errlen))) return rc;
    }
    r->has_timing = true;
    return 0;
}

int inferd_response_decode(const void *meta, size_t meta_len, uint64_t data_len,
                           struct inferd_response **out, char *err, size_t errlen)
{
    cJSON *root = NULL;
    const cJSON *item;
    struct inferd_response *r = NULL;
    int rc;

    *out = NULL;
    if ((rc = pj_parse(meta, meta_len, &root, err, errlen))) return rc;
    rc = -ENOMEM;
    if (!(r = calloc(1, sizeof(*r)))) goto fail;
    if ((rc = pj_keys(root, "", response_keys, NKEYS(response_keys), false, BAD, err, errlen)))
        goto fail;
    if (!(item = pj_get(root, "model"))) {
        rc = proto_fail(BAD, err, errlen, "model: missing");
        goto fail;
    }
    if ((rc = pj_string(item, "model", INFERD_MAX_NAME, true, BAD, &r->model, err, errlen)))
        goto fail;
    if ((item = pj_get(root, "backend")) &&
        (rc = pj_string(item, "backend", INFERD_MAX_NAME, true, BAD, &r->backend, err, errlen)))
        goto fail;
    if ((rc = decode_outputs(pj_get(root, "outputs"), r, data_len, err, errlen))) goto fail;
    if ((item = pj_get(root, "topk")) && (rc = decode_topk(item, r, err, errlen))) goto fail;
    if ((item = pj_get(root, "timing_us")) && (rc = decode_timing(item, r, err, errlen))) goto fail;
    cJSON_Delete(root);
    *out = r;
    return 0;
fail:
    cJSON_Delete(root);
    inferd_response_free(r);
    return rc;
}

static int encode_topk(const struct inferd_topk *k, size_t i, cJSON *arr, char *err, size_t errlen)
{
    if (!k->output) return proto_fail(-EINVAL, err, errlen, "topk[%zu].output: missing", i);
    if (k->nclasses > INFERD_MAX_TOPK || (k->nclasses && !k->classes))
        return proto_fail(-EINVAL, err, errlen, "topk[%zu].classes: %zu classes, at most %d", i,
                          k->nclasses, INFERD_MAX_TOPK);
    cJSON *obj = cJSON_CreateObject(), *classes;
    if (!obj || !cJSON_AddItemToArray(arr, obj)) {
        cJSON_Delete(obj);
        return -ENOMEM;
    }
    if (!cJSON_AddStringToObject(obj, "output", k->output)) return -ENOMEM;
    if (!(classes = cJSON_AddArrayToObject(obj, "classes"))) return -ENOMEM;
    for (size_t c = 0; c < k->nclasses; c++) {
        const struct inferd_topk_class *kc = &k->classes[c];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(classes, o)) {
            cJSON_Delete(o);
            return -ENOMEM;
        }
        if (pj_add_int(o, "index", kc->index)) return -ENOMEM;
        /* JSON has no NaN or infinity: a model that produced one says null. */
        if (isfinite(kc->score) ? !cJSON_AddNumberToObject(o, "score", kc->score)
                                : !cJSON_AddNullToObject(o, "score"))
            return -ENOMEM;
        if (kc->label) {
            /* Labels come from a file on disk: keep the reply valid UTF-8. */
            char *clean = proto_text_clean(kc->label, strlen(kc->label), INFERD_MAX_LABEL);
            cJSON *s = clean ? cJSON_CreateString(clean) : NULL;
            free(clean);
            if (!s || !cJSON_AddItemToObject(o, "label", s)) {
                cJSON_Delete(s);
                return -ENOMEM;
            }
        }
    }
    return 0;
}

static int encode_tree(const struct inferd_response *r, cJSON *root, uint64_t *sum, char *err,
                       size_t errlen)
{
    int rc;
    cJSON *arr;
    if (!r->model) return proto_fail(-EINVAL, err, errlen, "model: missing");
    if (r->noutputs > INFERD_MAX_OUTPUTS || r->ntopk > INFERD_MAX_OUTPUTS ||
        (r->noutputs && !r->outputs) || (r->ntopk && !r->topk))
        return proto_fail(-EINVAL, err, errlen, "%zu outputs and %zu top-k lists, at most %d each",
                          r->noutputs, r->ntopk, INFERD_MAX_OUTPUTS);
    if (!cJSON_AddStringToObject(root, "model", r->model)) return -ENOMEM;
    if (r->backend && !cJSON_AddStringToObject(root, "backend", r->backend)) return -ENOMEM;
    if (!(arr = cJSON_AddArrayToObject(root, "outputs"))) return -ENOMEM;
    for (size_t i = 0; i < r->noutputs; i++) {
        char path[PJ_PATH_MAX];
        cJSON *t;
        pj_path(path, "outputs", NULL, (long)i);
        if ((rc = pj_tensor_encode(&r->outputs[i], path, false, &t, sum, err, errlen))) return rc;
        if (!cJSON_AddItemToArray(arr, t)) {
            cJSON_Delete(t);
            return -ENOMEM;
        }
    }
    if (r->ntopk) {
        if (!(arr = cJSON_AddArrayToObject(root, "topk"))) return -ENOMEM;
        for (size_t i = 0; i < r->ntopk; i++)
            if ((rc = encode_topk(&r->topk[i], i, arr, err, errlen))) return rc;
    }
    if (r->has_timing) {
        cJSON *t = cJSON_AddObjectToObject(root, "timing_us");
        /* Past INT64_MAX is far past 2^53: the check decode refuses it. */
        const uint64_t v[] = { r->timing.queue_us, r->timing.compute_us, r->timing.total_us };
        const char *const names[] = { "queue", "compute", "total" };
        if (!t) return -ENOMEM;
        for (int i = 0; i < 3; i++)
            if (pj_add_int(t, names[i], v[i] > INT64_MAX ? INT64_MAX : (int64_t)v[i]))
                return -ENOMEM;
    }
    return 0;
}

static int tree_build(const void *obj, cJSON *root, uint64_t *sum, char *err, size_t errlen)
{
    return encode_tree(obj, root, sum, err, errlen);
}

static int tree_check(const char *json, size_t len, uint64_t data_len, char *err, size_t errlen)
{
    struct inferd_response *check = NULL;
    int rc = inferd_response_decode(json, len, data_len, &check, err, errlen);
    inferd_response_free(check);
    return rc;
}

int inferd_response_encode(const struct inferd_response *r, char **json, size_t *json_len,
                           uint64_t *data_len, char *err, size_t errlen)
{
    return pj_encode_checked(r, tree_build, tree_check, json, json_len, data_len, err, errlen);
}
