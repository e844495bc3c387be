#pragma once
#include <stdint.h>
#include <sys/types.h>

/// inotify event header fields, read from a raw buffer without Swift having to model the
/// flexible array member. Returns the total size of the event (header + name) or -1.
long flux_inotify_parse(const void *buf, long len, int32_t *wd, uint32_t *mask, const char **name);

/// AE_IFREG and friends are macros with casts Swift cannot import.
unsigned int flux_ae_ifreg(void);
unsigned int flux_ae_ifdir(void);

/// Takes and releases a read lease (F_SETLEASE needs _GNU_SOURCE): 0 when no one has the file
/// open for writing, else the errno (EAGAIN: a writer holds it; EACCES/EPERM: not our file).
int flux_try_read_lease(int fd);

/// sync_file_range(SYNC_FILE_RANGE_WRITE): starts writeback of a range without waiting (a GNU
/// extension the Glibc module does not show). Returns 0 on success.
int flux_start_writeback(int fd, long long offset, long long length);

/// syncfs(2): writes back everything dirty on the filesystem holding `fd` and waits for it (a
/// GNU extension the Glibc module does not show). Returns 0 on success, -1 with errno otherwise.
int flux_syncfs(int fd);

/// renameat2(2) with RENAME_NOREPLACE: fails with EEXIST instead of replacing `to`. Where the
/// filesystem does not support the flag (EINVAL), a plain rename(2). 0, or -1 with errno.
int flux_rename_noreplace(const char *from, const char *to);

/// statfs(2)'s f_type (the filesystem's magic number) for `path`; -1 when statfs fails.
long flux_fs_type(const char *path);

/// CRC-32 (the zlib/gzip polynomial) of `len` bytes continued from `crc` (0 to start), by
/// libdeflate (carry-less multiplication where the CPU has it).
uint32_t flux_crc32(uint32_t crc, const void *buf, size_t len);

/// Lowers the calling thread's scheduling priority to `nice_value` (Linux keeps a nice value per
/// thread) unless it is already that low. Returns 0 on success, -1 with errno otherwise.
int flux_nice_this_thread(int nice_value);

/// Names the calling thread as the kernel shows it (`top -H`, `perf`): at most 15 bytes.
/// Returns 0 or an errno value.
int flux_name_this_thread(const char *name);


/// memmem (a GNU extension the Glibc module does not show): the first `needle` in `hay`, or NULL.
const void *flux_memmem(const void *hay, size_t hay_len, const void *needle, size_t needle_len);
