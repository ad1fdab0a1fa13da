/* inotify watcher of the preset file (see play_watch.h). */
#include "play_watch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

struct PlayWatch {
    int fd;
    int wd;
    char name[NAME_MAX + 1]; /* the preset's file name in its directory */
};

PlayWatch *play_watch_open(const char *path)
{
    PlayWatch *watch = calloc(1, sizeof *watch);
    if (!watch)
        return NULL;
    char directory[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1; /* "/x.json" */
        if (n >= sizeof directory)
            n = sizeof directory - 1;
        memcpy(directory, path, n);
        directory[n] = '\0';
        snprintf(watch->name, sizeof watch->name, "%s", slash + 1);
    } else {
        snprintf(directory, sizeof directory, ".");
        snprintf(watch->name, sizeof watch->name, "%s", path);
    }
    watch->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (watch->fd < 0) {
        fprintf(stderr, "sprung play: cannot watch %s for changes: %s\n", path, strerror(errno));
        free(watch);
        return NULL;
    }
    watch->wd = inotify_add_watch(watch->fd, directory,
                                  IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY);
    if (watch->wd < 0) {
        fprintf(stderr, "sprung play: cannot watch %s for changes: %s\n", directory,
                strerror(errno));
        close(watch->fd);
        free(watch);
        return NULL;
    }
    return watch;
}

int play_watch_fd(const PlayWatch *watch)
{
    return watch ? watch->fd : -1;
}

int play_watch_changed(PlayWatch *watch)
{
    if (!watch)
        return 0;
    int changed = 0;
    _Alignas(struct inotify_event) char buffer[8192];
    for (;;) {
        ssize_t n = read(watch->fd, buffer, sizeof buffer);
        if (n <= 0)
            break;
        for (char *p = buffer; p < buffer + n;) {
            const struct inotify_event *event = (const struct inotify_event *)p;
            if (event->len && !strcmp(event->name, watch->name))
                changed = 1;
            p += sizeof *event + event->len;
        }
    }
    return changed;
}

void play_watch_close(PlayWatch *watch)
{
    if (!watch)
        return;
    close(watch->fd);
    free(watch);
}
