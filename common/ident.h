/*
 * ident.h - names that become path components on the share (job ids, node
 * names): 1..IDENT_MAX characters of [A-Za-z0-9._-], not starting with '.'.
 * Pure.
 */
#ifndef FF_IDENT_H
#define FF_IDENT_H

#define IDENT_MAX 63

int ident_is_valid(const char *s); /* 1 valid, 0 not */
/* Turn any string into a valid ident (bad characters become '-');
 * out must hold IDENT_MAX + 1 bytes. Empty input gives "job". */
void ident_sanitize(const char *s, char *out);

#endif
