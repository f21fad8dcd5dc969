/* inferd: the inference daemon's entry point. */
#include "inferd_config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage_print(FILE *f, const char *argv0)
{
    fprintf(f,
            "Usage: %s [OPTION]...\n"
            "Serve ONNX model inference to local processes over a Unix socket and nanomsg.\n"
            "\n"
            "  -c, --config FILE        configuration file (default: %s/inferd.json)\n"
            "      --check-config FILE  validate FILE and exit (0 when valid)\n"
            "  -h, --help               show this help and exit\n"
            "  -V, --version            show version and exit\n"
            "\n"
            "Backend plugins are loaded from %s.\n"
            "Signals: SIGTERM/SIGINT finish in-flight requests and exit; SIGHUP reloads the\n"
            "configuration.\n",
            argv0, INFERD_SYSCONFDIR, INFERD_PLUGINDIR);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", required_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': usage_print(stdout, argv[0]); return 0;
        case 'V': printf("inferd %s\n", INFERD_VERSION); return 0;
        case 'c':
        case 'C':
            fprintf(stderr, "inferd: serving is not implemented in this build yet\n");
            return 2;
        default: usage_print(stderr, argv[0]); return 2;
        }
    }
    fprintf(stderr, "inferd: serving is not implemented in this build yet\n");
    return 2;
}
