// Writes the dev API server's files (keys, certificates, token, kubeconfig): the whole content
// appears at once (written to PATH.tmp, then renamed over PATH) and a file never has wider
// permissions than `mode`, not even for a moment: it is created with that mode (O_CREAT, then
// fchmod so the umask cannot leave it narrower than asked either), never chmod-ed after writing.
//
// Thread-safety: a free function; concurrent writers of one path are not supported.
#pragma once

#include <string>
#include <string_view>

#include <sys/types.h>

#include "lib/core/status.h"

namespace novacron::devapi {

// 0600: private keys, the bearer token, kubeconfigs with credentials.
inline constexpr mode_t kSecretFileMode = 0600;
// 0644: certificates.
inline constexpr mode_t kPublicFileMode = 0644;

[[nodiscard]] core::Status writeFileAtomically(const std::string& path, std::string_view data,
                                               mode_t mode);

}  // namespace novacron::devapi
