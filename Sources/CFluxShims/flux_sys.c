#define _GNU_SOURCE
#include "flux_sys.h"
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <stdio.h>
#include <libdeflate.h>
#include <string.h>
#include <pthread.h>
#include <archive_entry.h>

long flux_inotify_parse(const void *buf, long len, int32_t *wd, uint32_t *mask, const char **name) {
    if (len < (long)sizeof(struct inotify_event)) return -1;
    const struct inotify_event *ev = (const struct inotify_event *)buf;
    long total = (long)sizeof(struct inotify_event) + (long)ev->len;
    if (total > len) return -1;
    *wd = ev->wd;
    *mask = ev->mask;
    *name = ev->len > 0 ? ev->name : "";
    return total;
}

unsigned int flux_ae_ifreg(void) { return (unsigned int)AE_IFREG; }
unsigned int flux_ae_ifdir(void) { return (unsigned int)AE_IFDIR; }

#include <fcntl.h>
#include <errno.h>
int flux_try_read_lease(int fd) {
    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) { (void)fcntl(fd, F_SETLEASE, F_UNLCK); return 0; }
    return errno;
}

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int flux_nice_this_thread(int nice_value) {
    pid_t tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int current = getpriority(PRIO_PROCESS, (id_t)tid);
    if (errno != 0) return -1;
    if (current >= nice_value) return 0;
    return setpriority(PRIO_PROCESS, (id_t)tid, nice_value);
}

int flux_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)length, SYNC_FILE_RANGE_WRITE);
}

int flux_syncfs(int fd) {
    return syncfs(fd);
}

const void *flux_memmem(const void *hay, size_t hay_len, const void *needle, size_t needle_len) {
    return memmem(hay, hay_len, needle, needle_len);
}

long flux_fs_type(const char *path) {
    struct statfs s;
    if (statfs(path, &s) != 0) return -1;
    return (long)s.f_type;
}

uint32_t flux_crc32(uint32_t crc, const void *buf, size_t len) {
    return libdeflate_crc32(crc, buf, len);
}

int flux_name_this_thread(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

int flux_rename_noreplace(const char *from, const char *to) {
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL) return -1;
    return rename(from, to);
}
