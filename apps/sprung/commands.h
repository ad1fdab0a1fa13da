/* The subcommands of `sprung`, one file each. Each returns the process exit
 * code (0 success, 1 failure on input, 2 bad command line). */
#ifndef SPRUNG_APP_COMMANDS_H
#define SPRUNG_APP_COMMANDS_H

int sprung_cmd_render(int argc, char **argv);
int sprung_cmd_validate(int argc, char **argv);
int sprung_cmd_info(int argc, char **argv);
int sprung_cmd_bench(int argc, char **argv);
int sprung_cmd_backends(int argc, char **argv);
int sprung_cmd_play(int argc, char **argv);
int sprung_cmd_keeper(int argc, char **argv);

#endif
