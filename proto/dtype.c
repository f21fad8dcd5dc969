/* Datatype table: wire name and element size, one row per type. */
#include "inferd_proto.h"

#include <string.h>

#include "proto_util.h"

struct dtype_row {
    int dtype;
    const char *name;
    size_t size;
};

/* Listed in the order messages name them. */
static const struct dtype_row dtype_rows[] = {
    { INFERD_DT_BOOL, "BOOL", 1 },     { INFERD_DT_UINT8, "UINT8", 1 },
    { INFERD_DT_UINT16, "UINT16", 2 }, { INFERD_DT_UINT32, "UINT32", 4 },
    { INFERD_DT_UINT64, "UINT64", 8 }, { INFERD_DT_INT8, "INT8", 1 },
    { INFERD_DT_INT16, "INT16", 2 },   { INFERD_DT_INT32, "INT32", 4 },
    { INFERD_DT_INT64, "INT64", 8 },   { INFERD_DT_FP16, "FP16", 2 },
    { INFERD_DT_FP32, "FP32", 4 },     { INFERD_DT_FP64, "FP64", 8 },
    { INFERD_DT_BYTES, "BYTES", 0 },
};

#define NROWS (sizeof(dtype_rows) / sizeof(dtype_rows[0]))

static const struct dtype_row *dtype_row(int dtype)
{
    for (size_t i = 0; i < NROWS; i++)
        if (dtype_rows[i].dtype == dtype) return &dtype_rows[i];
    return NULL;
}

int inferd_dtype_from_name(const char *name)
{
    if (!name) return INFERD_DT_INVALID;
    for (size_t i = 0; i < NROWS; i++)
        if (strcmp(dtype_rows[i].name, name) == 0) return dtype_rows[i].dtype;
    return INFERD_DT_INVALID;
}

const char *inferd_dtype_name(int dtype)
{
    const struct dtype_row *row = dtype_row(dtype);
    return row ? row->name : NULL;
}

size_t inferd_dtype_size(int dtype)
{
    const struct dtype_row *row = dtype_row(dtype);
    return row ? row->size : 0;
}

void proto_dtype_list(char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NROWS && o + 1 < outlen; i++) {
        size_t need = strlen(dtype_rows[i].name) + (i ? 2 : 0);
        if (o + need + 1 > outlen) break;
        if (i) memcpy(out + o, ", ", 2), o += 2;
        memcpy(out + o, dtype_rows[i].name, need - (i ? 2 : 0));
        o += need - (i ? 2 : 0);
        out[o] = '\0';
    }
}
