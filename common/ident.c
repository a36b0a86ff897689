/*
 * ident.c - see ident.h.
 */
#include "common/ident.h"

#include <string.h>

static int
ident_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int
ident_is_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > IDENT_MAX || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!ident_char_ok(s[i]))
            return 0;
    return 1;
}

void
ident_sanitize(const char *s, char *out)
{
    size_t n = 0;
    for (; s[n] != '\0' && n < IDENT_MAX; n++)
        out[n] = ident_char_ok(s[n]) ? s[n] : '-';
    out[n] = '\0';
    if (n == 0)
        strcpy(out, "job");
    else if (out[0] == '.')
        out[0] = '_';
}
