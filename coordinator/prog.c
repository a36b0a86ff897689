/*
 * prog.c - framefarm-coordinator's entry point (the program is main.c).
 */
#include "coordinator/main.h"

int
main(int argc, char **argv)
{
    return coordinator_main(argc, argv, -1);
}
