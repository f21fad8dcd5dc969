/* Protobuf wire format, read by hand where the importer must not let
 * protobuf-c copy a whole message (ModelProto, GraphProto hold every weight),
 * and the allocator that lets weights leave protobuf-c without a copy. */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

void pb_reader_init(struct pb_reader *r, const uint8_t *base, const uint8_t *p, size_t len)
{
    r->base = base;
    r->p = p;
    r->end = p + len;
}

static int read_varint(struct pb_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end) return -1;
        uint8_t b = *r->p++;
        /* The tenth byte may only carry bit 63. */
        if (i == 9 && b > 1) return -1;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

int pb_next(struct pb_reader *r, struct pb_field *f, const char **why, size_t *at)
{
    if (r->p >= r->end) return 0;
    memset(f, 0, sizeof(*f));
    *at = (size_t)(r->p - r->base);
    uint64_t key;
    if (read_varint(r, &key)) {
        *why = "truncated or overlong field key";
        return -1;
    }
    uint64_t num = key >> 3;
    if (num == 0 || num > 536870911u) {
        *why = "field number out of range";
        return -1;
    }
    f->num = (uint32_t)num;
    f->wire = (int)(key & 7);
    f->offset = (size_t)(r->p - r->base);
    size_t left = (size_t)(r->end - r->p);
    switch (f->wire) {
    case PB_VARINT:
        if (read_varint(r, &f->varint)) {
            *why = "truncated or overlong varint";
            return -1;
        }
        return 1;
    case PB_FIXED64:
        if (left < 8) {
            *why = "truncated 64-bit field";
            return -1;
        }
        for (int i = 7; i >= 0; i--) f->varint = (f->varint << 8) | r->p[i];
        r->p += 8;
        return 1;
    case PB_FIXED32:
        if (left < 4) {
            *why = "truncated 32-bit field";
            return -1;
        }
        for (int i = 3; i >= 0; i--) f->varint = (f->varint << 8) | r->p[i];
        r->p += 4;
        return 1;
    case PB_LEN: {
        uint64_t len;
        if (read_varint(r, &len)) {
            *why = "truncated length";
            return -1;
        }
        if (len > (uint64_t)(r->end - r->p)) {
            *why = "a length runs past the end of its message";
            return -1;
        }
        f->data = r->p;
        f->len = (size_t)len;
        f->offset = (size_t)(r->p - r->base);
        r->p += len;
        return 1;
    }
    default:
        /* 3 and 4 are proto2 groups, which ONNX never uses; 6 and 7 do not exist. */
        *why = "unsupported wire type";
        return -1;
    }
}

/* Blocks as ir_alloc makes them (64-byte aligned, size rounded up to 64,
 * released by ir_free) except that only the rounding tail is zeroed:
 * protobuf-c writes every byte it asks for, and zeroing a weight first would
 * touch each of its pages twice (most of a load's time on big models). */
static void *pb_alloc(void *data, size_t size)
{
    size_t rounded = (size + 63) & ~(size_t)63;
    void *p = NULL;
    if (rounded >= size) p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        *(bool *)data = true;
        return NULL;
    }
    memset((char *)p + size, 0, (rounded ? rounded : 64) - size);
    return p;
}

static void pb_free(void *data, void *p)
{
    (void)data;
    ir_free(p);
}

void onnx_pb_allocator_init(ProtobufCAllocator *a, bool *oom)
{
    *oom = false;
    a->alloc = pb_alloc;
    a->free = pb_free;
    a->allocator_data = oom;
}
