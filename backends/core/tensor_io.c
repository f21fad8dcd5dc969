/* Tensor files: TensorProto (.pb) and NumPy .npy, read from a read-only
 * mapping; TensorProto written with raw_data. */
#include "tensor_io.h"
#include "onnx_internal.h"

#include "inferd_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAX_HEADER (1u << 20) /* numpy itself writes a few hundred bytes */

/* --- .npy ---------------------------------------------------------------- */

static int npy_bad(const char *path, char *err, size_t errlen, const char *why)
{
    return onnx_error(path, INFERD_E_BAD_INPUT, err, errlen, "not a valid .npy file (%s)", why);
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* The text after "'key':" in the header dict (either quote style), or NULL. */
static const char *npy_key(const char *h, const char *key)
{
    char pat[32];
    for (int q = 0; q < 2; q++) {
        snprintf(pat, sizeof(pat), q ? "\"%s\"" : "'%s'", key);
        const char *p = strstr(h, pat);
        if (!p) continue;
        p = skip_space(p + strlen(pat));
        if (*p != ':') return NULL;
        return skip_space(p + 1);
    }
    return NULL;
}

struct npy_type {
    const char *code;
    int dtype;
};

static const struct npy_type npy_types[] = {
    { "f4", IR_DT_F32 }, { "f8", IR_DT_F64 }, { "f2", IR_DT_F16 }, { "i8", IR_DT_I64 },
    { "i4", IR_DT_I32 }, { "i2", IR_DT_I16 }, { "i1", IR_DT_I8 },  { "u8", IR_DT_U64 },
    { "u4", IR_DT_U32 }, { "u2", IR_DT_U16 }, { "u1", IR_DT_U8 },  { "b1", IR_DT_BOOL },
};

static int npy_descr(const char *path, const char *h, int *dtype, char *err, size_t errlen)
{
    const char *p = npy_key(h, "descr");
    if (!p || (*p != '\'' && *p != '"')) return npy_bad(path, err, errlen, "no 'descr'");
    char q = *p++;
    const char *e = strchr(p, q);
    if (!e || e - p > 16) return npy_bad(path, err, errlen, "bad 'descr'");
    char d[20];
    memcpy(d, p, (size_t)(e - p));
    d[e - p] = 0;
    const char *code = d;
    char order = '=';
    if (*code == '<' || *code == '>' || *code == '|' || *code == '=') order = *code++;
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]); i++) {
        if (strcmp(code, npy_types[i].code) != 0) continue;
        if (order == '>' && ir_dtype_size(npy_types[i].dtype) > 1)
            return onnx_error(path, INFERD_E_UNSUPPORTED, err, errlen,
                              "big-endian .npy data ('%s') is not supported", d);
        *dtype = npy_types[i].dtype;
        return 0;
    }
    return onnx_error(path, INFERD_E_UNSUPPORTED, err, errlen, ".npy dtype '%s' is not supported",
                      d);
}

static int npy_shape(const char *path, const char *h, struct ir_shape *s, char *err, size_t errlen)
{
    const char *p = npy_key(h, "shape");
    if (!p || *p != '(') return npy_bad(path, err, errlen, "no 'shape'");
    p = skip_space(p + 1);
    s->ndim = 0;
    while (*p != ')') {
        if (*p < '0' || *p > '9') return npy_bad(path, err, errlen, "bad 'shape'");
        if (s->ndim == IR_MAX_DIMS)
            return onnx_error(path, INFERD_E_UNSUPPORTED, err, errlen,
                              "the array has more than %d dims", IR_MAX_DIMS);
        int64_t v = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > (INT64_MAX - (*p - '0')) / 10)
                return npy_bad(path, err, errlen, "a dim in 'shape' overflows");
            v = v * 10 + (*p - '0');
        }
        if (*p == 'L') p++; /* written by Python 2 */
        s->dims[s->ndim++] = v;
        p = skip_space(p);
        if (*p == ',')
            p = skip_space(p + 1);
        else if (*p != ')')
            return npy_bad(path, err, errlen, "bad 'shape'");
    }
    return 0;
}

static int npy_read(const char *path, const uint8_t *b, size_t len, struct ir_tensor *t, char *err,
                    size_t errlen)
{
    if (len < 10) return npy_bad(path, err, errlen, "truncated header");
    unsigned major = b[6];
    size_t hstart, hlen;
    if (major == 1) {
        hstart = 10;
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
    } else if (major == 2 || major == 3) {
        if (len < 12) return npy_bad(path, err, errlen, "truncated header");
        hstart = 12;
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    } else {
        return onnx_error(path, INFERD_E_UNSUPPORTED, err, errlen,
                          ".npy format version %u is not supported", major);
    }
    if (hlen > len - hstart) return npy_bad(path, err, errlen, "header runs past the end");
    if (hlen > NPY_MAX_HEADER) return npy_bad(path, err, errlen, "header too long");
    char *h = malloc(hlen + 1);
    if (!h) return onnx_error(path, -ENOMEM, err, errlen, "out of memory");
    memcpy(h, b + hstart, hlen);
    h[hlen] = 0;
    if (memchr(h, 0, hlen)) h[0] = 0; /* an embedded NUL: nothing will be found */

    int rc, dtype = 0;
    struct ir_shape s = { 0 };
    rc = npy_descr(path, h, &dtype, err, errlen);
    if (rc == 0) {
        const char *fo = npy_key(h, "fortran_order");
        if (!fo || (strncmp(fo, "False", 5) != 0 && strncmp(fo, "True", 4) != 0))
            rc = npy_bad(path, err, errlen, "no 'fortran_order'");
        else if (strncmp(fo, "True", 4) == 0)
            rc = onnx_error(path, INFERD_E_UNSUPPORTED, err, errlen,
                            "Fortran-order arrays are not supported");
    }
    if (rc == 0) rc = npy_shape(path, h, &s, err, errlen);
    free(h);
    if (rc < 0) return rc;

    char dims[160];
    int64_t numel = ir_shape_numel(&s);
    size_t esize = ir_dtype_size(dtype);
    if (numel < 0) return npy_bad(path, err, errlen, "the shape's element count overflows");
    if (numel > IR_DEFAULT_MAX_ELEMENTS)
        return onnx_error(path, INFERD_E_TOO_LARGE, err, errlen,
                          "shape %s has %lld elements, which exceeds the limit of %lld",
                          ir_shape_str(&s, dims, sizeof(dims)), (long long)numel,
                          (long long)IR_DEFAULT_MAX_ELEMENTS);
    size_t need = (size_t)numel * esize;
    size_t have = len - hstart - hlen;
    if (have != need) {
        char why[256];
        snprintf(why, sizeof(why), "%zu bytes of data, shape %s needs %zu", have,
                 ir_shape_str(&s, dims, sizeof(dims)), need);
        return npy_bad(path, err, errlen, why);
    }
    void *data = ir_alloc(need);
    if (!data) return onnx_error(path, -ENOMEM, err, errlen, "out of memory");
    if (need) memcpy(data, b + hstart + hlen, need);
    t->dtype = dtype;
    t->ndim = s.ndim;
    memcpy(t->dims, s.dims, sizeof(t->dims));
    t->data = data;
    t->nbytes = need;
    return 0;
}

/* --- TensorProto ---------------------------------------------------------- */

static int pb_read(const char *path, const uint8_t *b, size_t len, struct ir_tensor *t, char **name,
                   char *err, size_t errlen)
{
    ProtobufCAllocator alloc;
    bool oom;
    onnx_pb_allocator_init(&alloc, &oom);
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&alloc, len, b);
    if (!tp) {
        if (oom) return onnx_error(path, -ENOMEM, err, errlen, "out of memory");
        return onnx_error(path, INFERD_E_BAD_INPUT, err, errlen,
                          "not a valid tensor file (neither .npy nor an ONNX TensorProto)");
    }
    int rc = 0;
    char *what = NULL;
    const char *tn = tp->name && *tp->name ? tp->name : NULL;
    size_t wl = (tn ? strlen(tn) : 0) + 16;
    what = malloc(wl);
    if (!what) {
        rc = onnx_error(path, -ENOMEM, err, errlen, "out of memory");
        goto out;
    }
    if (tn)
        snprintf(what, wl, "tensor '%s'", tn);
    else
        snprintf(what, wl, "tensor");
    struct onnx_tensor_ctx c = { path, NULL, IR_DEFAULT_MAX_ELEMENTS };
    rc = onnx_tensor_convert(&c, tp, what, t, err, errlen);
    if (rc == INFERD_E_BAD_MODEL) rc = INFERD_E_BAD_INPUT; /* a bad input file, not a model */
    if (rc == 0 && name && tn) {
        *name = strdup(tn);
        if (!*name) {
            ir_free(t->data);
            memset(t, 0, sizeof(*t));
            rc = onnx_error(path, -ENOMEM, err, errlen, "out of memory");
        }
    }
out:
    free(what);
    protobuf_c_message_free_unpacked(&tp->base, &alloc);
    return rc;
}

int ir_tensor_file_read(const char *path, struct ir_tensor *t, char **name, char *err,
                        size_t errlen)
{
    if (!path || !t) return -EINVAL;
    memset(t, 0, sizeof(*t));
    if (name) *name = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return onnx_error(path, -e, err, errlen, "cannot open: %s", strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return onnx_error(path, -e, err, errlen, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return onnx_error(path, INFERD_E_BAD_INPUT, err, errlen, "not a regular file");
    }
    if (st.st_size == 0) {
        close(fd);
        return onnx_error(path, INFERD_E_BAD_INPUT, err, errlen, "empty tensor file");
    }
    if ((uint64_t)st.st_size > SIZE_MAX / 2) {
        close(fd);
        return onnx_error(path, INFERD_E_TOO_LARGE, err, errlen, "file too large");
    }
    size_t len = (size_t)st.st_size;
    const uint8_t *b = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (b == MAP_FAILED) return onnx_error(path, -e, err, errlen, "cannot map: %s", strerror(e));
    int rc;
    if (len >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        rc = npy_read(path, b, len, t, err, errlen);
    else
        rc = pb_read(path, b, len, t, name, err, errlen);
    munmap((void *)b, len);
    return rc;
}

/* --- writing -------------------------------------------------------------- */

struct fd_buffer {
    ProtobufCBuffer base;
    int fd;
    int rc;
};

/* protobuf-c hands the encoding over piece by piece: write each straight to
 * the file, so a large tensor is never copied into a second buffer. */
static void fd_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
    struct fd_buffer *fb = (struct fd_buffer *)buffer;
    while (fb->rc == 0 && len > 0) {
        ssize_t w = write(fb->fd, data, len);
        if (w < 0) {
            if (errno != EINTR) fb->rc = -errno;
            continue;
        }
        if (w == 0) {
            fb->rc = -EIO;
            break;
        }
        data += w;
        len -= (size_t)w;
    }
}

int ir_tensor_pb_write(const char *path, const struct ir_tensor *t, const char *name, char *err,
                       size_t errlen)
{
    if (!path || !t) return -EINVAL;
    size_t esize = ir_dtype_size(t->dtype);
    if (esize == 0)
        return onnx_error(path, INFERD_E_UNSUPPORTED, err, errlen,
                          "cannot write a tensor of data type %s", onnx_dtype_name(t->dtype));
    if (t->ndim < 0 || t->ndim > IR_MAX_DIMS)
        return onnx_error(path, -EINVAL, err, errlen, "cannot write a tensor of rank %d", t->ndim);
    struct ir_shape s = { .ndim = t->ndim };
    memcpy(s.dims, t->dims, sizeof(s.dims));
    int64_t numel = ir_shape_numel(&s);
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / esize || (size_t)numel * esize != t->nbytes ||
        (t->nbytes > 0 && !t->data)) {
        char dims[160];
        return onnx_error(path, -EINVAL, err, errlen,
                          "tensor dims %s do not match its %zu bytes of data",
                          ir_shape_str(&s, dims, sizeof(dims)), t->nbytes);
    }

    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = (size_t)t->ndim;
    tp.dims = (int64_t *)t->dims; /* packing only reads */
    tp.has_data_type = 1;
    tp.data_type = t->dtype;
    tp.name = (char *)name;
    tp.has_raw_data = 1;
    tp.raw_data.len = t->nbytes;
    tp.raw_data.data = t->data;

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        return onnx_error(path, -e, err, errlen, "cannot create: %s", strerror(e));
    }
    struct fd_buffer fb = { { fd_append }, fd, 0 };
    protobuf_c_message_pack_to_buffer(&tp.base, &fb.base);
    int rc = fb.rc;
    if (close(fd) != 0 && rc == 0) rc = -errno;
    if (rc < 0) return onnx_error(path, rc, err, errlen, "write failed: %s", strerror(-rc));
    return 0;
}
