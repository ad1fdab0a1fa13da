/* Watching the preset file for `sprung play`: inotify on its directory, so
 * editors that save by writing a new file and renaming it over the old one
 * are seen too. Main thread only. */
#ifndef SPRUNG_APP_PLAY_WATCH_H
#define SPRUNG_APP_PLAY_WATCH_H

typedef struct PlayWatch PlayWatch;

/* NULL (after printing why) when the file cannot be watched; play goes on. */
PlayWatch *play_watch_open(const char *path);

/* A descriptor that becomes readable when something changed (for poll). */
int play_watch_fd(const PlayWatch *watch);

/* Reads what happened; 1 when the preset was written, created or renamed
 * into place since the last call. Never blocks. */
int play_watch_changed(PlayWatch *watch);

void play_watch_close(PlayWatch *watch);

#endif
