/*
 * mkzip.c - test tool: builds zips with exactly the entry names a test asks
 * for, including hostile ones ("../x.jpg", "/abs.jpg") that zip(1) would
 * clean up. Usage: mkzip OUT.zip NAME=PATH|NAME=:TEXT ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "common/fsutil.h"

#define MKZIP_MAX_FILE (256u << 20)

int
main(int argc, char **argv)
{
    zip_t *za;
    int err = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: mkzip OUT.zip NAME=PATH|NAME=:TEXT ...\n");
        return 2;
    }
    za = zip_open(argv[1], ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (za == NULL) {
        fprintf(stderr, "mkzip: cannot create %s (%d)\n", argv[1], err);
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        char *data;
        size_t len;
        zip_source_t *src;

        if (eq == NULL) {
            fprintf(stderr, "mkzip: %s: expected NAME=PATH\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        if (eq[1] == ':') {
            data = strdup(eq + 2);
            len = strlen(eq + 2);
        } else if (fs_read_max(eq + 1, MKZIP_MAX_FILE, &data, &len) == -1) {
            perror(eq + 1);
            return 1;
        }
        if (len == 0) {
            /* libzip does not take (nor free) an empty buffer. */
            free(data);
            data = NULL;
        }
        src = zip_source_buffer(za, data, len, data != NULL);
        if (src == NULL ||
            zip_file_add(za, argv[i], src, ZIP_FL_ENC_UTF_8) < 0) {
            fprintf(stderr, "mkzip: add %s: %s\n", argv[i], zip_strerror(za));
            return 1;
        }
        zip_set_file_compression(za, (zip_uint64_t)(i - 2), ZIP_CM_STORE, 0);
    }
    if (zip_close(za) == -1) {
        fprintf(stderr, "mkzip: write %s: %s\n", argv[1], zip_strerror(za));
        return 1;
    }
    return 0;
}
