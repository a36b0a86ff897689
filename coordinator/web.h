/*
 * web.h - the dashboard page (web/dashboard.html: one self-contained
 * file, its CSS and script inline), compiled into the ambassador by
 * scripts/embed.sh at build time. Read-only; any thread.
 */
#ifndef FF_WEB_H
#define FF_WEB_H

#include <stddef.h>

extern const unsigned char web_dashboard[];
extern const size_t web_dashboard_len;

#endif
