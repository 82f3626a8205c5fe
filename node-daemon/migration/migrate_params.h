// The wire side of a live migration's options, beyond the 1:1 mapping in migrateRequest()
// (migration_reconciler.h) and the libvirt adapter:
//   - checkWireOptions: combinations libvirt/QEMU refuse, refused up front with a message the user
//     can act on (instead of libvirt's error halfway through);
//   - TLS certificates: the node-daemon's --migration-tls-dir in libvirt's pki layout, checked,
//     and handed to the source libvirtd as the target URI's `pkipath` (docs/migration.md, TLS).
// Thread-safety: plain functions; checkTlsDir/installTlsFiles touch only the given directories.
#pragma once

#include <string>
#include <vector>

#include "lib/api/vm_migration.h"
#include "lib/core/status.h"

namespace novacron::node::migration {

// InvalidArgument for option combinations that cannot work:
//   postCopy + Zstd: QEMU (7.2) refuses post-copy together with multifd, which Zstd needs.
[[nodiscard]] core::Status checkWireOptions(const api::MigrationOptions& options);

// Files of libvirt's pki layout (`pkipath`) that a migration source needs: the CA and the client
// certificate and key it presents to the target libvirtd.
const std::vector<std::string>& tlsClientFiles();
// The files a host needs to be a target as well: libvirtd's server certificate and key, and the
// same five under QEMU's names (ca-cert.pem, server-cert.pem, ...) for migrate_tls_x509_cert_dir.
const std::vector<std::string>& tlsHostFiles();

// OK when `dir` is a plain absolute path holding every file of tlsClientFiles(), readable;
// FailedPrecondition naming what is missing otherwise.
[[nodiscard]] core::Status checkTlsDir(const std::string& dir);

// Copies the certificates of `from` (libvirt's names: cacert.pem, servercert.pem, serverkey.pem,
// clientcert.pem, clientkey.pem — the keys of the Secret) into `to`, under libvirt's and QEMU's
// names, replacing each file atomically: keys 0640 with the group of `to` (give `to` the group QEMU
// runs as), certificates 0644. For a cluster, where the Secret is mounted into
// the node-daemon's pod but the host's libvirtd and QEMU read a host directory.
[[nodiscard]] core::Status installTlsFiles(const std::string& from, const std::string& to);

// `uri` with libvirt's pkipath parameter naming `pki_dir` (unchanged when pki_dir is empty).
std::string withPkiPath(const std::string& uri, const std::string& pki_dir);

}  // namespace novacron::node::migration
