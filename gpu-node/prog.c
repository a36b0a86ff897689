/*
 * prog.c - framefarm-node's entry point (the program is main.c).
 */
#include "gpu-node/main.h"

int
main(int argc, char **argv)
{
    return node_main(argc, argv);
}
