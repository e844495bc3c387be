import CLibArchive
import FluxCore
import Foundation

/// Writes a batch as a tar.gz (manifest.json, manifest.p7s, invoices/…) with libarchive,
/// streaming each original from the spool.
public enum BatchArchiveWriter {
    public static func write(_ content: BatchContent, spool: Spool, to path: String) throws {
        guard let a = archive_write_new() else { throw FluxError("archive-write", "cannot allocate an archive writer") }
        defer { archive_write_free(a) }
        archive_write_add_filter_gzip(a)
        archive_write_set_format_pax_restricted(a)
        guard archive_write_open_filename(a, path) == ARCHIVE_OK else {
            throw FluxError("archive-write", "cannot create \(path): \(String(cString: archive_error_string(a)))")
        }
        try add(a, name: "manifest.json", data: content.manifest)
        try add(a, name: "manifest.p7s", data: content.signature)
        for f in content.files {
            guard let data = FileManager.default.contents(atPath: spool.path(for: f.sha256)) else {
                throw FluxError("spool-missing", "the original \(f.sha256) of \(f.name) is missing from the spool")
            }
            try add(a, name: f.name, data: data)
        }
        guard archive_write_close(a) == ARCHIVE_OK else {
            throw FluxError("archive-write", "cannot finish \(path): \(String(cString: archive_error_string(a)))")
        }
    }

    static func add(_ a: OpaquePointer, name: String, data: Data) throws {
        guard let e = archive_entry_new() else { throw FluxError("archive-write", "cannot allocate an entry") }
        defer { archive_entry_free(e) }
        archive_entry_set_pathname_utf8(e, name)
        archive_entry_set_size(e, la_int64_t(data.count))
        archive_entry_set_filetype(e, 0o100000)
        archive_entry_set_perm(e, 0o644)
        archive_entry_set_mtime(e, time(nil), 0)
        guard archive_write_header(a, e) == ARCHIVE_OK else {
            throw FluxError("archive-write", "cannot write \(name): \(String(cString: archive_error_string(a)))")
        }
        let n = data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
        guard n == data.count else { throw FluxError("archive-write", "short write for \(name)") }
    }
}
