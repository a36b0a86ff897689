/*
 * cli.h - the user-facing `framefarm` program's commands. Each takes the
 * arguments after its name and returns the process exit status.
 */
#ifndef FF_CLI_H
#define FF_CLI_H

#define CLI_EXIT_USAGE 2

int cli_bench(int argc, char **argv);
int cli_render(int argc, char **argv);
int cli_sample(int argc, char **argv);
int cli_verify(int argc, char **argv);
/* The service's control client (ctl.c). */
int cli_submit(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_cancel(int argc, char **argv);
int cli_wait(int argc, char **argv);
/* One `ping` to the ambassador at hostport (NULL: 127.0.0.1:7700) with the
 * secret in secret_file (NULL: none): 0 with *reply (the caller deletes
 * it), or an exit status, the reason said on stderr as cmd's. */
struct cJSON;
int cli_ping(const char *cmd, const char *hostport, const char *secret_file,
             struct cJSON **reply);
/* Is a share usable from this machine (checkshare.c)? */
int cli_check_share(int argc, char **argv);

#endif
