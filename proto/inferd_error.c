#include "inferd_error.h"

#include <string.h>

struct error_row {
    int code;
    const char *name;
    const char *text;
};

static const struct error_row error_rows[] = {
#define INFERD_ERROR_ROW_(name, value, wire, text) { value, wire, text },
    INFERD_ERROR_MAP(INFERD_ERROR_ROW_)
#undef INFERD_ERROR_ROW_
};

static const struct error_row *error_row_find(int code)
{
    for (size_t i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++)
        if (error_rows[i].code == code) return &error_rows[i];
    return NULL;
}

const char *inferd_error_name(int code)
{
    if (code == 0) return "ok";
    const struct error_row *row = error_row_find(code);
    return row ? row->name : "internal";
}

int inferd_error_from_name(const char *name)
{
    if (!name) return 0;
    for (size_t i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++)
        if (strcmp(error_rows[i].name, name) == 0) return error_rows[i].code;
    return 0;
}

const char *inferd_strerror(int code)
{
    if (code == 0) return "success";
    const struct error_row *row = error_row_find(code);
    if (row) return row->text;
    if (code < 0 && code > -4096) return strerror(-code);
    return "unknown error";
}
