/* TensorProto -> ir_tensor: dims and dtype checks, the typed data fields,
 * raw_data, and external data confined to the model's folder. */
#include "onnx_internal.h"

#include "inferd_error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ONNX raw_data is little-endian; this code takes it over without swapping bytes"
#endif

int onnx_error(const char *path, int code, char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return code;
    int off = snprintf(err, errlen, "%s: ", path ? path : "model");
    if (off < 0 || (size_t)off >= errlen) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
    va_end(ap);
    return code;
}

char *onnx_dims_str(const int64_t *dims, size_t n, char *buf, size_t len)
{
    size_t off = 0;
    if (len == 0) return buf;
    buf[0] = 0;
    for (size_t i = 0; i <= n && off + 1 < len; i++) {
        int w;
        if (i == n)
            w = snprintf(buf + off, len - off, "]");
        else
            w = snprintf(buf + off, len - off, "%s%lld", i ? "," : "[", (long long)dims[i]);
        if (w < 0) break;
        off += (size_t)w;
    }
    if (n == 0 && len > 2) snprintf(buf, len, "[]");
    return buf;
}

const char *onnx_dtype_name(int dtype)
{
    switch (dtype) {
    case 14: return "complex64";
    case 15: return "complex128";
    case 16: return "bfloat16";
    default: break;
    }
    if (dtype == IR_DT_UNDEFINED) return "undefined";
    return ir_dtype_name(dtype);
}

/* --- external data ------------------------------------------------------- */

/* Non-negative decimal integer that fits int64; -1 otherwise. */
static int64_t parse_size(const char *s)
{
    if (!s || *s < '0' || *s > '9') return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        if (v > (INT64_MAX - (*s - '0')) / 10) return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* True when the relative path climbs above its starting folder ("../x",
 * "a/../../x"), before any symlink is looked at. */
static bool path_escapes(const char *p)
{
    int depth = 0;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != '/') e++;
        size_t n = (size_t)(e - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0) return true;
        } else if (!(n == 1 && p[0] == '.')) {
            depth++;
        }
        p = e;
    }
    return false;
}

static int read_full(int fd, void *buf, size_t n, off_t off)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (r == 0) return -EIO; /* the file shrank under us */
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

static int external_read(const struct onnx_tensor_ctx *c, const Onnx__TensorProto *tp,
                         const char *what, size_t need, void **data, char *err, size_t errlen)
{
    const char *location = NULL, *offset_s = NULL, *length_s = NULL;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e || !e->key) continue;
        if (strcmp(e->key, "location") == 0)
            location = e->value;
        else if (strcmp(e->key, "offset") == 0)
            offset_s = e->value;
        else if (strcmp(e->key, "length") == 0)
            length_s = e->value;
    }
    if (!c->base_dir)
        return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                          "%s uses external data, which is only allowed for a model file", what);
    if (!location || !*location)
        return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                          "%s has external data without a location", what);
    if (location[0] == '/')
        return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                          "%s external data location '%s' is an absolute path (it must be "
                          "relative to the model's folder)",
                          what, location);
    if (path_escapes(location))
        return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                          "%s external data location '%s' leaves the model's folder", what,
                          location);
    int64_t offset = offset_s ? parse_size(offset_s) : 0;
    int64_t length = length_s ? parse_size(length_s) : (int64_t)need;
    if (offset < 0 || length < 0)
        return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                          "%s external data has an invalid offset or length ('%s', '%s')", what,
                          offset_s ? offset_s : "", length_s ? length_s : "");
    if ((uint64_t)length != (uint64_t)need)
        return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                          "%s external data length %lld does not match its dims, which need %zu "
                          "bytes",
                          what, (long long)length, need);

    int rc = 0, fd = -1;
    char *base = NULL, *joined = NULL, *real = NULL;
    base = realpath(c->base_dir, NULL);
    if (!base) {
        rc = onnx_error(c->path, -errno, err, errlen, "cannot resolve the model's folder '%s': %s",
                        c->base_dir, strerror(errno));
        goto out;
    }
    size_t jl = strlen(base) + strlen(location) + 2;
    joined = malloc(jl);
    if (!joined) {
        rc = onnx_error(c->path, -ENOMEM, err, errlen, "out of memory");
        goto out;
    }
    snprintf(joined, jl, "%s/%s", base, location);
    real = realpath(joined, NULL);
    if (!real) {
        int e = errno;
        rc = onnx_error(c->path, e == ENOENT ? INFERD_E_BAD_MODEL : -e, err, errlen,
                        "%s external data file '%s' cannot be opened: %s", what, location,
                        strerror(e));
        goto out;
    }
    /* Symlinks are resolved now: the file must still be below the folder. */
    size_t bl = strlen(base);
    bool inside = strcmp(base, "/") == 0 || (strncmp(real, base, bl) == 0 && real[bl] == '/');
    if (!inside) {
        rc = onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                        "%s external data location '%s' leaves the model's folder", what, location);
        goto out;
    }
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        rc = onnx_error(c->path, -e, err, errlen, "%s external data file '%s' cannot be opened: %s",
                        what, location, strerror(e));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                        "%s external data file '%s' is not a regular file", what, location);
        goto out;
    }
    if (offset > (int64_t)st.st_size || length > (int64_t)st.st_size - offset) {
        rc =
            onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                       "%s external data file '%s' has %lld bytes; offset %lld + length %lld "
                       "goes past its end",
                       what, location, (long long)st.st_size, (long long)offset, (long long)length);
        goto out;
    }
    void *p = ir_alloc(need);
    if (!p) {
        rc = onnx_error(c->path, -ENOMEM, err, errlen, "out of memory reading %s (%zu bytes)", what,
                        need);
        goto out;
    }
    rc = read_full(fd, p, need, (off_t)offset);
    if (rc < 0) {
        ir_free(p);
        rc = onnx_error(c->path, rc, err, errlen, "%s external data file '%s': read failed: %s",
                        what, location, strerror(-rc));
        goto out;
    }
    *data = p;
out:
    if (fd >= 0) close(fd);
    free(real);
    free(joined);
    free(base);
    return rc;
}

/* --- typed fields ------------------------------------------------------- */

/* The typed field that carries dtype's values: its array and count, its
 * name, and the size of one element in it. */
static void typed_field(Onnx__TensorProto *tp, int dtype, void ***arr, size_t **count,
                        const char **field, size_t *esize)
{
    switch (dtype) {
    case IR_DT_F32:
        *arr = (void **)&tp->float_data;
        *count = &tp->n_float_data;
        *field = "float_data";
        *esize = sizeof(float);
        break;
    case IR_DT_I64:
        *arr = (void **)&tp->int64_data;
        *count = &tp->n_int64_data;
        *field = "int64_data";
        *esize = sizeof(int64_t);
        break;
    case IR_DT_F64:
        *arr = (void **)&tp->double_data;
        *count = &tp->n_double_data;
        *field = "double_data";
        *esize = sizeof(double);
        break;
    case IR_DT_U32:
    case IR_DT_U64:
        *arr = (void **)&tp->uint64_data;
        *count = &tp->n_uint64_data;
        *field = "uint64_data";
        *esize = sizeof(uint64_t);
        break;
    default:
        /* int32, and the narrow types ONNX widens into int32_data. */
        *arr = (void **)&tp->int32_data;
        *count = &tp->n_int32_data;
        *field = "int32_data";
        *esize = sizeof(int32_t);
        break;
    }
}

static int typed_read(const struct onnx_tensor_ctx *c, Onnx__TensorProto *tp, int dtype,
                      int64_t numel, size_t nbytes, const char *what, const char *dims, void **data,
                      char *err, size_t errlen)
{
    void **arr;
    size_t *countp;
    const char *field;
    size_t esize;
    typed_field(tp, dtype, &arr, &countp, &field, &esize);
    size_t count = *countp;
    if (count == 0 && numel > 0)
        return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                          "%s has no data (dims %s need %lld values)", what, dims,
                          (long long)numel);
    if ((uint64_t)count != (uint64_t)numel)
        return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                          "%s has %zu %s values, dims %s need %lld", what, count, field, dims,
                          (long long)numel);
    if (count > 0 && esize == ir_dtype_size(dtype)) {
        /* Same layout: the array (an ir_alloc block) becomes the data. */
        *data = *arr;
        *arr = NULL;
        *countp = 0;
        return 0;
    }
    void *p = ir_alloc(nbytes);
    if (!p) return onnx_error(c->path, -ENOMEM, err, errlen, "out of memory for %s", what);
    for (size_t i = 0; i < count; i++) {
        switch (dtype) {
        case IR_DT_U8: ((uint8_t *)p)[i] = (uint8_t)tp->int32_data[i]; break;
        case IR_DT_I8: ((int8_t *)p)[i] = (int8_t)tp->int32_data[i]; break;
        case IR_DT_U16:
        case IR_DT_F16: ((uint16_t *)p)[i] = (uint16_t)tp->int32_data[i]; break;
        case IR_DT_I16: ((int16_t *)p)[i] = (int16_t)tp->int32_data[i]; break;
        case IR_DT_BOOL: ((uint8_t *)p)[i] = tp->int32_data[i] != 0; break;
        case IR_DT_U32: ((uint32_t *)p)[i] = (uint32_t)tp->uint64_data[i]; break;
        default: break;
        }
    }
    *data = p;
    return 0;
}

int onnx_tensor_convert(const struct onnx_tensor_ctx *c, Onnx__TensorProto *tp, const char *what,
                        struct ir_tensor *out, char *err, size_t errlen)
{
    char dims[160];
    memset(out, 0, sizeof(*out));
    onnx_dims_str(tp->dims, tp->n_dims, dims, sizeof(dims));
    if (tp->n_dims > IR_MAX_DIMS)
        return onnx_error(c->path, INFERD_E_UNSUPPORTED, err, errlen,
                          "%s has %zu dims (at most %d are supported)", what, tp->n_dims,
                          IR_MAX_DIMS);
    int64_t numel = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        int64_t d = tp->dims[i];
        if (d < 0)
            return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                              "%s has a negative dim in %s", what, dims);
        if (d != 0 && numel > INT64_MAX / d)
            return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                              "%s dims %s overflow (their product does not fit in 64 bits)", what,
                              dims);
        numel *= d;
    }
    if (numel > c->max_elements)
        return onnx_error(c->path, INFERD_E_TOO_LARGE, err, errlen,
                          "%s dims %s have %lld elements, which exceeds the limit of %lld", what,
                          dims, (long long)numel, (long long)c->max_elements);
    int dtype = tp->has_data_type ? tp->data_type : IR_DT_UNDEFINED;
    if (dtype == IR_DT_UNDEFINED)
        return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen, "%s has no data type", what);
    size_t esize = ir_dtype_size(dtype);
    if (esize == 0)
        return onnx_error(c->path, INFERD_E_UNSUPPORTED, err, errlen,
                          "%s has data type %s, which is not supported", what,
                          onnx_dtype_name(dtype));
    if ((uint64_t)numel > SIZE_MAX / esize)
        return onnx_error(c->path, INFERD_E_TOO_LARGE, err, errlen,
                          "%s dims %s are too large for this machine", what, dims);
    size_t nbytes = (size_t)numel * esize;

    void *data = NULL;
    int rc;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        rc = external_read(c, tp, what, nbytes, &data, err, errlen);
        if (rc < 0) return rc;
    } else if (tp->has_data_location &&
               tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT) {
        return onnx_error(c->path, INFERD_E_UNSUPPORTED, err, errlen,
                          "%s has data location %d, which is not supported", what,
                          (int)tp->data_location);
    } else if (tp->has_raw_data) {
        if (tp->raw_data.len != nbytes)
            return onnx_error(c->path, INFERD_E_BAD_MODEL, err, errlen,
                              "%s raw_data has %zu bytes, dims %s need %zu", what, tp->raw_data.len,
                              dims, nbytes);
        if (tp->raw_data.data && nbytes > 0) {
            /* Allocated by onnx_pb_allocator: keep it as the value's block. */
            data = tp->raw_data.data;
            tp->raw_data.data = NULL;
            tp->raw_data.len = 0;
            tp->has_raw_data = 0;
        }
    } else {
        rc = typed_read(c, tp, dtype, numel, nbytes, what, dims, &data, err, errlen);
        if (rc < 0) return rc;
    }
    if (!data) {
        data = ir_alloc(nbytes);
        if (!data) return onnx_error(c->path, -ENOMEM, err, errlen, "out of memory for %s", what);
    }
    out->dtype = dtype;
    out->ndim = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++) out->dims[i] = tp->dims[i];
    out->data = data;
    out->nbytes = nbytes;
    return 0;
}
