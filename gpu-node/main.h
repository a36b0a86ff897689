/*
 * main.h - the render node's program as a function: framefarm-node's main
 * (prog.c) calls it, and so does framefarm render in the processes it
 * forks for its nodes, which spares each loading and relocating the ~140
 * shared libraries of FFmpeg's build again (cli/render.c).
 */
#ifndef FF_NODE_MAIN_H
#define FF_NODE_MAIN_H

/* framefarm-node with argv (getopt's state reset by the caller: optind =
 * 0). The exit status; some paths exit() instead. */
int node_main(int argc, char **argv);

#endif
