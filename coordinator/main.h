/*
 * main.h - the ambassador's program as a function: framefarm-coordinator's
 * main (prog.c) calls it, and so does framefarm render in a process it
 * forks, which spares that process loading and relocating the ~140 shared
 * libraries of FFmpeg's build again (cli/render.c).
 */
#ifndef FF_COORD_MAIN_H
#define FF_COORD_MAIN_H

/* framefarm-coordinator with argv (getopt's state reset by the caller:
 * optind = 0). listen_fd: a socket already listening on --listen's
 * address, whose port --listen names, or -1 to listen here. The exit
 * status; some paths exit() instead. */
int coordinator_main(int argc, char **argv, int listen_fd);

#endif
