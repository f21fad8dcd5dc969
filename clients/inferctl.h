/* inferctl: the parts its commands share. */
#ifndef INFERCTL_H
#define INFERCTL_H

#include "inferd_client.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses, as --help documents them. */
enum {
    EXIT_OK = 0,
    EXIT_ANSWER = 1,    /* the daemon answered, but not with success */
    EXIT_NO_DAEMON = 2, /* cannot connect, no answer in time, connection lost */
    EXIT_USAGE = 3,     /* bad usage, or a local file could not be read */
};

struct ctl_args {
    const char *address;
    int timeout_ms;
    const char *command;
    const char *file; /* infer: the image file */
    const char *model;
    int topk;
    bool json;
    int raw_format; /* INFERD_CLIENT_IMAGE_RGB8/_BGR8 for --rgb/--bgr, else 0 */
    uint32_t raw_width, raw_height;
    int concurrency;
    long requests;
    long warmup;
    int depth; /* bench: requests in flight per connection (Unix sockets) */
    const char *image;
};

/* The exit status a library failure code calls for. */
int ctl_exit_for(int rc);

/* Reads a whole file (at most max bytes) into *buf (malloc'd). Prints the
 * reason and returns EXIT_USAGE on failure. */
int ctl_file_read(const char *path, size_t max, uint8_t **buf, size_t *len);

int ctl_bench(const struct ctl_args *a);

#endif
