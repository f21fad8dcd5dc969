/* Tensor objects, the part request inputs and response outputs share:
 * {"name", "datatype", "shape", "parameters": {"binary_data_size", "image"}}. */
#include "proto_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tensor_keys[] = { "name", "datatype", "shape", "parameters" };
static const char *const request_params[] = { "binary_data_size", "image" };
static const char *const response_params[] = { "binary_data_size" };

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const image_names[] = {
    [INFERD_IMAGE_JPEG] = "jpeg",
    [INFERD_IMAGE_RGB8] = "rgb8",
    [INFERD_IMAGE_BGR8] = "bgr8",
};

static void shape_str(char *out, size_t outlen, const struct inferd_tensor_meta *t)
{
    size_t o = (size_t)snprintf(out, outlen, "[");
    for (int i = 0; i < t->ndim && o < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%" PRId64, i ? "," : "", t->dims[i]);
    if (o < outlen) snprintf(out + o, outlen - o, "]");
}

/* Elements times element size; false when that passes 64 bits. */
static bool shape_bytes(const struct inferd_tensor_meta *t, uint64_t *out)
{
    uint64_t n = inferd_dtype_size(t->dtype);
    for (int i = 0; i < t->ndim; i++)
        if (!proto_mul_u64(n, (uint64_t)t->dims[i], &n)) return false;
    *out = n;
    return true;
}

static int decode_image(const cJSON *item, const char *path, int code, int *image, char *err,
                        size_t errlen)
{
    if (!cJSON_IsString(item) || !item->valuestring)
        return proto_fail(code, err, errlen, "%s: expected a string, got %s", path,
                          pj_type_name(item));
    for (int i = INFERD_IMAGE_JPEG; i <= INFERD_IMAGE_BGR8; i++) {
        if (strcmp(item->valuestring, image_names[i]) == 0) {
            *image = i;
            return 0;
        }
    }
    char shown[64];
    proto_quote(shown, sizeof(shown), item->valuestring, strlen(item->valuestring));
    return proto_fail(code, err, errlen, "%s: unknown image format '%s' (known: jpeg, rgb8, bgr8)",
                      path, shown);
}

static int decode_shape(const cJSON *item, const char *path, int code, struct inferd_tensor_meta *t,
                        char *err, size_t errlen)
{
    size_t n;
    int rc = pj_array(item, path, INFERD_MAX_DIMS, code, &n, err, errlen);
    if (rc) return rc;
    int i = 0;
    for (const cJSON *d = item->child; d; d = d->next, i++) {
        char sub[PJ_PATH_MAX];
        uint64_t v;
        pj_path(sub, path, NULL, i);
        rc = pj_uint(d, sub, INFERD_MAX_DIM, code, &v, err, errlen);
        if (rc) return rc;
        t->dims[i] = (int64_t)v;
    }
    t->ndim = (int)n;
    return 0;
}

/* Rules that tie datatype, image, shape and size together. */
static int check_layout(const char *path, const struct pj_tensor_rules *rules, bool has_shape,
                        bool has_size, uint64_t size, struct inferd_tensor_meta *t, char *err,
                        size_t errlen)
{
    int code = rules->code;
    char shape[INFERD_MAX_DIMS * 12 + 3];
    const char *dtname = inferd_dtype_name(t->dtype);

    if (t->image == INFERD_IMAGE_JPEG) {
        if (t->dtype != INFERD_DT_BYTES)
            return proto_fail(code, err, errlen, "%s: image 'jpeg' needs datatype BYTES, got %s",
                              path, dtname);
        if (has_shape && !(t->ndim == 1 && t->dims[0] == 1)) {
            shape_str(shape, sizeof(shape), t);
            return proto_fail(code, err, errlen, "%s: a jpeg input has shape [1], got %s", path,
                              shape);
        }
        if (!has_size)
            return proto_fail(code, err, errlen,
                              "%s.parameters.binary_data_size: missing (a jpeg input needs its "
                              "byte count)",
                              path);
        if (size == 0)
            return proto_fail(code, err, errlen, "%s.parameters.binary_data_size: 0 bytes of jpeg",
                              path);
        t->ndim = 1;
        t->dims[0] = 1;
        t->nbytes = size;
        return 0;
    }
    if (t->dtype == INFERD_DT_BYTES)
        return proto_fail(code, err, errlen,
                          rules->request ? "%s: datatype BYTES carries an encoded image only; set "
                                           "parameters.image to \"jpeg\""
                                         : "%s: datatype BYTES is not a tensor type",
                          path);
    if (!has_shape) return proto_fail(code, err, errlen, "%s.shape: missing", path);
    shape_str(shape, sizeof(shape), t);
    if (t->image == INFERD_IMAGE_RGB8 || t->image == INFERD_IMAGE_BGR8) {
        const char *fmt = image_names[t->image];
        if (t->dtype != INFERD_DT_UINT8)
            return proto_fail(code, err, errlen, "%s: image '%s' needs datatype UINT8, got %s",
                              path, fmt, dtname);
        if (t->ndim != 3 || t->dims[2] != 3)
            return proto_fail(code, err, errlen,
                              "%s: an %s image has shape [height, width, 3], got %s", path, fmt,
                              shape);
        if (t->dims[0] < 1 || t->dims[0] > INFERD_MAX_IMAGE || t->dims[1] < 1 ||
            t->dims[1] > INFERD_MAX_IMAGE)
            return proto_fail(code, err, errlen,
                              "%s: image of %" PRId64 "x%" PRId64
                              " pixels; each side must be 1..%d",
                              path, t->dims[1], t->dims[0], INFERD_MAX_IMAGE);
        t->height = (uint32_t)t->dims[0];
        t->width = (uint32_t)t->dims[1];
    }
    uint64_t want;
    if (!shape_bytes(t, &want))
        return proto_fail(code, err, errlen, "%s: shape %s of %s overflows 64 bits of bytes", path,
                          shape, dtname);
    if (has_size && size != want)
        return proto_fail(code, err, errlen,
                          "%s: binary_data_size %" PRIu64 " does not match shape %s of %s (%" PRIu64
                          " bytes)",
                          path, size, shape, dtname, want);
    t->nbytes = want;
    return 0;
}

int pj_tensor_decode(const cJSON *obj, const char *path, const struct pj_tensor_rules *rules,
                     struct inferd_tensor_meta *t, char *err, size_t errlen)
{
    int code = rules->code;
    char sub[PJ_PATH_MAX];
    const cJSON *item;
    int rc = pj_object(obj, path, code, err, errlen);
    if (rc) return rc;
    if (rules->request && pj_get(obj, "data"))
        return proto_fail(code, err, errlen,
                          "%s.data: JSON tensor data is not supported; send the bytes in the "
                          "frame's data section with parameters.binary_data_size",
                          path);
    rc = pj_keys(obj, path, tensor_keys, NKEYS(tensor_keys), rules->request, code, err, errlen);
    if (rc) return rc;

    pj_path(sub, path, "name", -1);
    if (!(item = pj_get(obj, "name"))) return proto_fail(code, err, errlen, "%s: missing", sub);
    rc = pj_string(item, sub, INFERD_MAX_NAME, true, code, &t->name, err, errlen);
    if (rc) return rc;

    pj_path(sub, path, "datatype", -1);
    if (!(item = pj_get(obj, "datatype"))) return proto_fail(code, err, errlen, "%s: missing", sub);
    if (!cJSON_IsString(item) || !item->valuestring)
        return proto_fail(code, err, errlen, "%s: expected a string, got %s", sub,
                          pj_type_name(item));
    t->dtype = inferd_dtype_from_name(item->valuestring);
    if (t->dtype == INFERD_DT_INVALID) {
        char shown[64], known[160];
        proto_quote(shown, sizeof(shown), item->valuestring, strlen(item->valuestring));
        proto_dtype_list(known, sizeof(known));
        return proto_fail(code, err, errlen, "%s: unknown datatype '%s' (known: %s)", sub, shown,
                          known);
    }

    bool has_size = false;
    uint64_t size = 0;
    const cJSON *params = pj_get(obj, "parameters");
    if (params) {
        pj_path(sub, path, "parameters", -1);
        rc = pj_object(params, sub, code, err, errlen);
        if (!rc)
            rc = rules->request ? pj_keys(params, sub, request_params, NKEYS(request_params), true,
                                          code, err, errlen)
                                : pj_keys(params, sub, response_params, NKEYS(response_params),
                                          false, code, err, errlen);
        if (rc) return rc;
        char leaf[PJ_PATH_MAX];
        if ((item = pj_get(params, "binary_data_size"))) {
            pj_path(leaf, sub, "binary_data_size", -1);
            rc = pj_uint(item, leaf, UINT64_MAX, code, &size, err, errlen);
            if (rc) return rc;
            has_size = true;
        }
        if (rules->request && (item = pj_get(params, "image"))) {
            pj_path(leaf, sub, "image", -1);
            rc = decode_image(item, leaf, code, &t->image, err, errlen);
            if (rc) return rc;
        }
    }

    item = pj_get(obj, "shape");
    if (item) {
        pj_path(sub, path, "shape", -1);
        rc = decode_shape(item, sub, code, t, err, errlen);
        if (rc) return rc;
    }
    return check_layout(path, rules, item != NULL, has_size, size, t, err, errlen);
}

int pj_tensor_encode(const struct inferd_tensor_meta *t, const char *path, bool request,
                     cJSON **out, uint64_t *data_len, char *err, size_t errlen)
{
    *out = NULL;
    const char *dtname = inferd_dtype_name(t->dtype);
    if (!t->name) return proto_fail(-EINVAL, err, errlen, "%s.name: missing", path);
    if (!dtname)
        return proto_fail(-EINVAL, err, errlen, "%s.datatype: unknown datatype %d", path, t->dtype);
    if (t->ndim < 0 || t->ndim > INFERD_MAX_DIMS)
        return proto_fail(-EINVAL, err, errlen, "%s.shape: %d dimensions, at most %d", path,
                          t->ndim, INFERD_MAX_DIMS);
    if (t->image < INFERD_IMAGE_NONE || t->image > INFERD_IMAGE_BGR8 ||
        (!request && t->image != INFERD_IMAGE_NONE))
        return proto_fail(-EINVAL, err, errlen, "%s.parameters.image: invalid value %d", path,
                          t->image);

    uint64_t size = t->nbytes;
    if (size == 0 && t->dtype != INFERD_DT_BYTES) {
        for (int i = 0; i < t->ndim; i++)
            if (t->dims[i] < 0)
                return proto_fail(-EINVAL, err, errlen, "%s.shape[%d]: %" PRId64 " is negative",
                                  path, i, t->dims[i]);
        if (!shape_bytes(t, &size))
            return proto_fail(-EINVAL, err, errlen, "%s.shape: overflows 64 bits of bytes", path);
    }

    int rc = -ENOMEM;
    cJSON *obj = cJSON_CreateObject(), *shape, *params;
    if (!obj || !cJSON_AddStringToObject(obj, "name", t->name) ||
        !cJSON_AddStringToObject(obj, "datatype", dtname))
        goto fail;
    if (t->ndim > 0 || t->image != INFERD_IMAGE_JPEG) {
        if (!(shape = cJSON_AddArrayToObject(obj, "shape"))) goto fail;
        for (int i = 0; i < t->ndim; i++) {
            cJSON *d = pj_int_item(t->dims[i]);
            if (!d || !cJSON_AddItemToArray(shape, d)) {
                cJSON_Delete(d);
                goto fail;
            }
        }
    }
    if (!(params = cJSON_AddObjectToObject(obj, "parameters"))) goto fail;
    /* Sizes past 2^53 fail the decode that checks every encoder's output. */
    if (size > (uint64_t)INT64_MAX) size = (uint64_t)INT64_MAX;
    if ((rc = pj_add_int(params, "binary_data_size", (int64_t)size))) goto fail;
    if (t->image != INFERD_IMAGE_NONE &&
        !cJSON_AddStringToObject(params, "image", image_names[t->image])) {
        rc = -ENOMEM;
        goto fail;
    }
    *out = obj;
    *data_len = size > UINT64_MAX - *data_len ? UINT64_MAX : *data_len + size;
    return 0;
fail:
    cJSON_Delete(obj);
    return rc;
}

int pj_tensor_offsets(struct inferd_tensor_meta *t, size_t n, const char *what, uint64_t data_len,
                      char *err, size_t errlen)
{
    uint64_t sum = 0;
    bool wrapped = false;
    for (size_t i = 0; i < n; i++) {
        t[i].offset = sum;
        if (t[i].nbytes > UINT64_MAX - sum) wrapped = true;
        sum += t[i].nbytes;
    }
    if (wrapped || sum != data_len)
        return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                          "%s: binary_data_size adds up to %s%" PRIu64
                          " bytes, the frame carries %" PRIu64 " bytes of data",
                          what, wrapped ? "more than " : "", wrapped ? UINT64_MAX : sum, data_len);
    return 0;
}

void pj_tensor_clear(struct inferd_tensor_meta *t)
{
    if (!t) return;
    free(t->name);
    t->name = NULL;
}
