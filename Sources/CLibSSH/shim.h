#ifndef FLUX_CLIBSSH_SHIM_H
#define FLUX_CLIBSSH_SHIM_H

// Only the public server-side headers: sftp.h is left out on purpose (we speak SFTP ourselves).
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/callbacks.h>

// `ssh_callbacks_init` is a macro; these set the `size` field libssh checks before calling
// any callback in the struct (a zero size makes libssh ignore the whole struct).
static inline void flux_ssh_server_callbacks_init(struct ssh_server_callbacks_struct *cb) {
    cb->size = sizeof(*cb);
}

static inline void flux_ssh_channel_callbacks_init(struct ssh_channel_callbacks_struct *cb) {
    cb->size = sizeof(*cb);
}

#endif
