/* Request meta:
 *   {"model": NAME,
 *    "inputs": [TENSOR...],                       1..INFERD_MAX_INPUTS
 *    "outputs": [{"name": NAME, "parameters": {"topk": K, "tensor": BOOL}}...],
 *    "parameters": {"timeout_ms": MS, "topk": K}}
 * Decoding is strict: an unknown key is an error, so a client asking for
 * something this daemon does not do is told instead of silently ignored. */
#include "proto_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const request_keys[] = { "model", "inputs", "outputs", "parameters" };
static const char *const request_params[] = { "timeout_ms", "topk" };
static const char *const output_keys[] = { "name", "parameters" };
static const char *const output_params[] = { "topk", "tensor" };

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
#define BAD      INFERD_E_BAD_INPUT

void inferd_request_free(struct inferd_request *r)
{
    if (!r) return;
    free(r->model);
    if (r->inputs)
        for (size_t i = 0; i < r->ninputs; i++) pj_tensor_clear(&r->inputs[i]);
    free(r->inputs);
    if (r->outputs)
        for (size_t i = 0; i < r->noutputs; i++) free(r->outputs[i].name);
    free(r->outputs);
    free(r);
}

static int decode_topk(const cJSON *item, const char *path, int *topk, char *err, size_t errlen)
{
    uint64_t v;
    int rc = pj_uint(item, path, INFERD_MAX_TOPK, BAD, &v, err, errlen);
    if (rc) return rc;
    *topk = v == 0 ? INFERD_TOPK_NONE : (int)v;
    return 0;
}

static int decode_inputs(const cJSON *arr, struct inferd_request *r, uint64_t data_len, char *err,
                         size_t errlen)
{
    static const struct pj_tensor_rules rules = { .request = true, .code = BAD };
    size_t n;
    int rc;
    if (!arr) return proto_fail(BAD, err, errlen, "inputs: missing");
    if ((rc = pj_array(arr, "inputs", INFERD_MAX_INPUTS, BAD, &n, err, errlen))) return rc;
    if (n == 0) return proto_fail(BAD, err, errlen, "inputs: empty");
    if (!(r->inputs = calloc(n, sizeof(*r->inputs)))) return -ENOMEM;
    r->ninputs = n;
    size_t i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        char path[PJ_PATH_MAX];
        pj_path(path, "inputs", NULL, (long)i);
        if ((rc = pj_tensor_decode(c, path, &rules, &r->inputs[i], err, errlen))) return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->inputs[j].name, r->inputs[i].name) == 0)
                return proto_fail(BAD, err, errlen, "%s.name: '%s' already names inputs[%zu]", path,
                                  r->inputs[i].name, j);
    }
    return pj_tensor_offsets(r->inputs, n, "inputs", data_len, err, errlen);
}

static int decode_output(const cJSON *obj, const char *path, struct inferd_output_request *o,
                         char *err, size_t errlen)
{
    char sub[PJ_PATH_MAX], leaf[PJ_PATH_MAX];
    const cJSON *item;
    int rc;
    if ((rc = pj_object(obj, path, BAD, err, errlen))) return rc;
    if ((rc = pj_keys(obj, path, output_keys, NKEYS(output_keys), true, BAD, err, errlen)))
        return rc;
    pj_path(sub, path, "name", -1);
    if (!(item = pj_get(obj, "name"))) return proto_fail(BAD, err, errlen, "%s: missing", sub);
    if ((rc = pj_string(item, sub, INFERD_MAX_NAME, true, BAD, &o->name, err, errlen))) return rc;

    const cJSON *params = pj_get(obj, "parameters");
    if (!params) return 0;
    pj_path(sub, path, "parameters", -1);
    if ((rc = pj_object(params, sub, BAD, err, errlen))) return rc;
    if ((rc = pj_keys(params, sub, output_params, NKEYS(output_params), true, BAD, err, errlen)))
        return rc;
    if ((item = pj_get(params, "topk"))) {
        pj_path(leaf, sub, "topk", -1);
        if ((rc = decode_topk(item, leaf, &o->topk, err, errlen))) return rc;
    }
    if ((item = pj_get(params, "tensor"))) {
        pj_path(leaf, sub, "tensor", -1);
        bool tensor;
        if ((rc = pj_bool(item, leaf, BAD, &tensor, err, errlen))) return rc;
        o->no_tensor = !tensor;
    }
    if (o->no_tensor && o->topk == INFERD_TOPK_NONE)
        return proto_fail(BAD, err, errlen,
                          "%s: asks for neither the tensor nor top-k (tensor false, topk 0)", path);
    return 0;
}

static int decode_outputs(const cJSON *arr, struct inferd_request *r, char *err, size_t errlen)
{
    size_t n;
    int rc;
    if ((rc = pj_array(arr, "outputs", INFERD_MAX_OUTPUTS, BAD, &n, err, errlen))) return rc;
    if (n == 0) return proto_fail(BAD, err, errlen, "outputs: empty (leave it out for all)");
    if (!(r->outputs = calloc(n, sizeof(*r->outputs)))) return -ENOMEM;
    r->noutputs = n;
    size_t i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        char path[PJ_PATH_MAX];
        pj_path(path, "outputs", NULL, (long)i);
        if ((rc = decode_output(c, path, &r->outputs[i], err, errlen))) return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->outputs[j].name, r->outputs[i].name) == 0)
                return proto_fail(BAD, err, errlen, "%s.name: '%s' already names outputs[%zu]",
                                  path, r->outputs[i].name, j);
    }
    return 0;
}

static int decode_params(const cJSON *params, struct inferd_request *r, char *err, size_t errlen)
{
    const cJSON *item;
    int rc;
    if ((rc = pj_object(params, "parameters", BAD, err, errlen))) return rc;
    if ((rc = pj_keys(params, "parameters", request_params, NKEYS(request_params), true, BAD, err,
                      errlen)))
        return rc;
    if ((item = pj_get(params, "timeout_ms"))) {
        uint64_t v;
        if ((rc = pj_uint(item, "parameters.timeout_ms", INFERD_MAX_TIMEOUT, BAD, &v, err, errlen)))
            return rc;
        if (v == 0)
            return proto_fail(BAD, err, errlen,
                              "parameters.timeout_ms: 0 (leave it out for the daemon's default)");
        r->timeout_ms = (uint32_t)v;
    }
    if ((item = pj_get(params, "topk")))
        if ((rc = decode_topk(item, "parameters.topk", &r->topk, err, errlen))) return rc;
    return 0;
}

int inferd_request_decode(const void *meta, size_t meta_len, uint64_t data_len,
                          struct inferd_request **out, char *err, size_t errlen)
{
    cJSON *root = NULL;
    const cJSON *item;
    struct inferd_request *r = NULL;
    int rc;

    *out = NULL;
    if ((rc = pj_parse(meta, meta_len, &root, err, errlen))) return rc;
    rc = -ENOMEM;
    if (!(r = calloc(1, sizeof(*r)))) goto fail;
    if ((rc = pj_keys(root, "", request_keys, NKEYS(request_keys), true, BAD, err, errlen)))
        goto fail;
    if (!(item = pj_get(root, "model"))) {
        rc = proto_fail(BAD, err, errlen, "model: missing (the name of a loaded model)");
        goto fail;
    }
    if ((rc = pj_string(item, "model", INFERD_MAX_NAME, true, BAD, &r->model, err, errlen)))
        goto fail;
    if ((rc = decode_inputs(pj_get(root, "inputs"), r, data_len, err, errlen))) goto fail;
    if ((item = pj_get(root, "outputs")) && (rc = decode_outputs(item, r, err, errlen))) goto fail;
    if ((item = pj_get(root, "parameters")) && (rc = decode_params(item, r, err, errlen)))
        goto fail;
    cJSON_Delete(root);
    *out = r;
    return 0;
fail:
    cJSON_Delete(root);
    inferd_request_free(r);
    return rc;
}

/* INFERD_TOPK_NONE is 0 on the wire; other negative values stay negative so
 * the decoder refuses them. */
static int64_t wire_topk(int topk)
{
    return topk == INFERD_TOPK_NONE ? 0 : topk;
}

static int encode_output(const struct inferd_output_request *o, size_t i, cJSON *arr, char *err,
                         size_t errlen)
{
    if (!o->name) return proto_fail(-EINVAL, err, errlen, "outputs[%zu].name: missing", i);
    cJSON *obj = cJSON_CreateObject(), *params;
    if (!obj || !cJSON_AddItemToArray(arr, obj)) {
        cJSON_Delete(obj);
        return -ENOMEM;
    }
    if (!cJSON_AddStringToObject(obj, "name", o->name)) return -ENOMEM;
    if (o->topk == 0 && !o->no_tensor) return 0;
    if (!(params = cJSON_AddObjectToObject(obj, "parameters"))) return -ENOMEM;
    if (o->topk && pj_add_int(params, "topk", wire_topk(o->topk))) return -ENOMEM;
    if (o->no_tensor && !cJSON_AddFalseToObject(params, "tensor")) return -ENOMEM;
    return 0;
}

/* Builds the JSON tree of r; the caller validates it by decoding. */
static int encode_tree(const struct inferd_request *r, cJSON *root, uint64_t *sum, char *err,
                       size_t errlen)
{
    int rc;
    cJSON *arr;
    if (!r->model) return proto_fail(-EINVAL, err, errlen, "model: missing");
    if (r->ninputs > INFERD_MAX_INPUTS || r->noutputs > INFERD_MAX_OUTPUTS ||
        (r->ninputs && !r->inputs) || (r->noutputs && !r->outputs))
        return proto_fail(-EINVAL, err, errlen, "%zu inputs and %zu outputs, at most %d of each",
                          r->ninputs, r->noutputs, INFERD_MAX_INPUTS);
    if (!cJSON_AddStringToObject(root, "model", r->model)) return -ENOMEM;
    if (!(arr = cJSON_AddArrayToObject(root, "inputs"))) return -ENOMEM;
    for (size_t i = 0; i < r->ninputs; i++) {
        char path[PJ_PATH_MAX];
        cJSON *t;
        pj_path(path, "inputs", NULL, (long)i);
        if ((rc = pj_tensor_encode(&r->inputs[i], path, true, &t, sum, err, errlen))) return rc;
        if (!cJSON_AddItemToArray(arr, t)) {
            cJSON_Delete(t);
            return -ENOMEM;
        }
    }
    if (r->noutputs) {
        if (!(arr = cJSON_AddArrayToObject(root, "outputs"))) return -ENOMEM;
        for (size_t i = 0; i < r->noutputs; i++)
            if ((rc = encode_output(&r->outputs[i], i, arr, err, errlen))) return rc;
    }
    if (r->timeout_ms || r->topk) {
        cJSON *params = cJSON_AddObjectToObject(root, "parameters");
        if (!params) return -ENOMEM;
        if (r->timeout_ms && pj_add_int(params, "timeout_ms", r->timeout_ms)) return -ENOMEM;
        if (r->topk && pj_add_int(params, "topk", wire_topk(r->topk))) return -ENOMEM;
    }
    return 0;
}

static int tree_build(const void *obj, cJSON *root, uint64_t *sum, char *err, size_t errlen)
{
    return encode_tree(obj, root, sum, err, errlen);
}

static int tree_check(const char *json, size_t len, uint64_t data_len, char *err, size_t errlen)
{
    struct inferd_request *check = NULL;
    int rc = inferd_request_decode(json, len, data_len, &check, err, errlen);
    inferd_request_free(check);
    return rc;
}

int inferd_request_encode(const struct inferd_request *r, char **json, size_t *json_len,
                          uint64_t *data_len, char *err, size_t errlen)
{
    return pj_encode_checked(r, tree_build, tree_check, json, json_len, data_len, err, errlen);
}
