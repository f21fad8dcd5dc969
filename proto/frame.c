/* Frame header: 32 bytes, little-endian, fields naturally aligned.
 *
 *   0  magic "INFD"   4  version u16   6  kind u16   8  flags u32
 *  12  meta_len u32  16  request_id u64  24  data_len u64
 *
 * Decoding reads bytes, never casts the buffer to a struct, so it works on any
 * alignment and host byte order. */
#include "inferd_proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto_util.h"

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static const char *kind_name(unsigned kind)
{
    switch (kind) {
    case INFERD_KIND_REQUEST: return "request";
    case INFERD_KIND_RESPONSE: return "response";
    case INFERD_KIND_ERROR: return "error";
    case INFERD_KIND_PING: return "ping";
    case INFERD_KIND_PONG: return "pong";
    default: return NULL;
    }
}

/* What the kind allows, shared by decoder and encoder so they cannot drift. */
static int kind_check(const struct inferd_frame_header *h, char *err, size_t errlen)
{
    const char *name = kind_name(h->kind);
    if (!name) return proto_fail(INFERD_E_BAD_FRAME, err, errlen, "unknown frame kind %u", h->kind);
    if (h->flags != 0)
        return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                          "flags 0x%08" PRIx32 " set; protocol version 1 defines none", h->flags);
    if (h->kind == INFERD_KIND_PING || h->kind == INFERD_KIND_PONG) {
        if (h->meta_len != 0 || h->data_len != 0)
            return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                              "%s frame carries %" PRIu32 " bytes of meta and %" PRIu64
                              " bytes of data; it must carry none",
                              name, h->meta_len, h->data_len);
    } else if (h->meta_len == 0) {
        return proto_fail(INFERD_E_BAD_FRAME, err, errlen, "%s frame without meta", name);
    }
    if (h->kind == INFERD_KIND_ERROR && h->data_len != 0)
        return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                          "error frame carries %" PRIu64 " bytes of data; it must carry none",
                          h->data_len);
    if (h->request_id == 0 && (h->kind == INFERD_KIND_REQUEST || h->kind == INFERD_KIND_PING))
        return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                          "%s with request id 0 (reserved for connection errors)", name);
    return 0;
}

static void describe_bytes(char *out, size_t outlen, const uint8_t *p, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 5 < outlen; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", p[i]);
    }
    out[o < outlen ? o : outlen - 1] = '\0';
}

int inferd_frame_header_decode(const void *buf, size_t len, const struct inferd_frame_limits *lim,
                               struct inferd_frame_header *out, char *err, size_t errlen)
{
    const uint8_t *p = buf;
    size_t seen = len < INFERD_FRAME_MAGIC_LEN ? len : INFERD_FRAME_MAGIC_LEN;

    if (seen > 0 && memcmp(p, INFERD_FRAME_MAGIC, seen) != 0) {
        char shown[24];
        describe_bytes(shown, sizeof(shown), p, seen);
        return proto_fail(INFERD_E_BAD_FRAME, err, errlen, "bad magic \"%s\" (expected \"%s\")",
                          shown, INFERD_FRAME_MAGIC);
    }
    if (len >= 6 && rd16(p + 4) != INFERD_PROTO_VERSION)
        return proto_fail(INFERD_E_UNSUPPORTED_VERSION, err, errlen,
                          "protocol version %u not supported (this side speaks %d)", rd16(p + 4),
                          INFERD_PROTO_VERSION);
    if (len < INFERD_FRAME_HEADER_SIZE) return (int)(INFERD_FRAME_HEADER_SIZE - len);

    struct inferd_frame_header h = {
        .version = rd16(p + 4),
        .kind = rd16(p + 6),
        .flags = rd32(p + 8),
        .meta_len = rd32(p + 12),
        .request_id = rd64(p + 16),
        .data_len = rd64(p + 24),
    };
    uint64_t max_frame =
        lim && lim->max_frame_bytes ? lim->max_frame_bytes : INFERD_FRAME_MAX_DEFAULT;
    uint32_t max_meta = lim && lim->max_meta_bytes ? lim->max_meta_bytes : INFERD_META_MAX_DEFAULT;
    /* A size_t must hold the whole frame, and the sum below must not wrap. */
    if (max_frame > SIZE_MAX) max_frame = SIZE_MAX;
    if (max_frame > UINT64_MAX / 2) max_frame = UINT64_MAX / 2;

    if (h.meta_len > max_meta)
        return proto_fail(INFERD_E_TOO_LARGE, err, errlen,
                          "meta of %" PRIu32 " bytes is over the limit of %" PRIu32 " bytes",
                          h.meta_len, max_meta);
    if (h.data_len > max_frame ||
        INFERD_FRAME_HEADER_SIZE + (uint64_t)h.meta_len + h.data_len > max_frame)
        return proto_fail(INFERD_E_TOO_LARGE, err, errlen,
                          "frame of 32 + %" PRIu32 " + %" PRIu64
                          " bytes is over the limit of %" PRIu64 " bytes",
                          h.meta_len, h.data_len, max_frame);
    int rc = kind_check(&h, err, errlen);
    if (rc < 0) return rc;
    if (out) *out = h;
    return 0;
}

int inferd_frame_header_encode(const struct inferd_frame_header *h,
                               uint8_t out[INFERD_FRAME_HEADER_SIZE])
{
    if (!h || !out) return -EINVAL;
    if (kind_check(h, NULL, 0) < 0) return -EINVAL;
    memcpy(out, INFERD_FRAME_MAGIC, INFERD_FRAME_MAGIC_LEN);
    wr16(out + 4, INFERD_PROTO_VERSION);
    wr16(out + 6, h->kind);
    wr32(out + 8, h->flags);
    wr32(out + 12, h->meta_len);
    wr64(out + 16, h->request_id);
    wr64(out + 24, h->data_len);
    return 0;
}

size_t inferd_frame_size(const struct inferd_frame_header *h)
{
    uint64_t fixed = INFERD_FRAME_HEADER_SIZE + (uint64_t)h->meta_len;
    if (h->data_len > SIZE_MAX - fixed) return 0;
    return (size_t)(fixed + h->data_len);
}

int inferd_frame_write(void *out, size_t cap, const struct inferd_frame_header *h, const void *meta,
                       const void *data)
{
    if (!out || !h) return -EINVAL;
    if ((h->meta_len && !meta) || (h->data_len && !data)) return -EINVAL;
    size_t total = inferd_frame_size(h);
    if (total == 0) return -EOVERFLOW;
    if (cap < total) return -ENOBUFS;
    uint8_t *p = out;
    int rc = inferd_frame_header_encode(h, p);
    if (rc < 0) return rc;
    if (h->meta_len) memcpy(p + INFERD_FRAME_HEADER_SIZE, meta, h->meta_len);
    if (h->data_len) memcpy(p + INFERD_FRAME_HEADER_SIZE + h->meta_len, data, (size_t)h->data_len);
    return 0;
}

int inferd_frame_split(const void *buf, size_t len, const struct inferd_frame_limits *lim,
                       struct inferd_frame_header *hdr, const uint8_t **meta, const uint8_t **data,
                       char *err, size_t errlen)
{
    struct inferd_frame_header h;
    int rc = inferd_frame_header_decode(buf, len, lim, &h, err, errlen);
    if (rc > 0)
        return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                          "truncated: %zu bytes, a frame header alone is %d", len,
                          INFERD_FRAME_HEADER_SIZE);
    if (rc < 0) return rc;
    /* The header decoder bounded both lengths, so this sum cannot wrap. */
    uint64_t total = INFERD_FRAME_HEADER_SIZE + (uint64_t)h.meta_len + h.data_len;
    if ((uint64_t)len != total)
        return proto_fail(INFERD_E_BAD_FRAME, err, errlen,
                          "%s: the header announces %" PRIu64 " bytes, the message has %zu",
                          (uint64_t)len < total ? "truncated frame" : "trailing bytes after frame",
                          total, len);
    const uint8_t *p = buf;
    if (hdr) *hdr = h;
    if (meta) *meta = p + INFERD_FRAME_HEADER_SIZE;
    if (data) *data = p + INFERD_FRAME_HEADER_SIZE + h.meta_len;
    return 0;
}
