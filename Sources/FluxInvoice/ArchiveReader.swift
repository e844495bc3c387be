import CFluxShims
import CLibArchive
import FluxCore
import Foundation

/// Reads the members of a tar.gz or zip deposit with libarchive, enforcing the limits and
/// refusing anything that could escape or surprise: absolute paths, `..`, links, devices.
public enum ArchiveReader {
    public enum Format: String, Sendable { case tarGz = "tar.gz", zip }

    /// Calls `body` for every regular file member in order. Directories are skipped. Throws a
    /// `FluxError` whose code is the PPF reason (IRR_EXTRAC, IRR_TAILLE, IRR_TAILLE_F, IRR_VIDE).
    public static func read(path: String, format: Format, limits: FluxLimits,
                            _ body: (_ name: String, _ data: Data) throws -> Void) throws {
        guard let a = archive_read_new() else { throw FluxError("IRR_EXTRAC", "cannot allocate an archive reader") }
        defer { archive_read_free(a) }
        switch format {
        case .tarGz:
            archive_read_support_filter_gzip(a)
            archive_read_support_format_tar(a)
        case .zip:
            archive_read_support_format_zip(a)
        }
        let compressedSize = FileSize.of(path) ?? 0
        guard archive_read_open_filename(a, path, 64 * 1024) == ARCHIVE_OK else {
            throw FluxError("IRR_EXTRAC", "the \(format.rawValue) archive cannot be opened: \(errorString(a))")
        }
        var entries = 0
        var total: Int64 = 0
        let ratioBound = compressedSize * limits.maxCompressionRatio + (1 << 20)
        var entry: OpaquePointer?
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let r = archive_read_next_header(a, &entry)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let entry else {
                throw FluxError("IRR_EXTRAC", "the archive cannot be extracted: \(errorString(a))")
            }
            let name = archive_entry_pathname_utf8(entry).map { String(cString: $0) }
                ?? archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            let type = UInt32(archive_entry_filetype(entry))
            if type == flux_ae_ifdir() { continue }
            guard type == flux_ae_ifreg(), archive_entry_hardlink(entry) == nil, archive_entry_symlink(entry) == nil else {
                throw FluxError("IRR_EXTRAC", "member '\(name)' is not a regular file (links and devices are refused)")
            }
            if let why = unsafeName(name) {
                throw FluxError("IRR_EXTRAC", "member '\(name)' \(why)")
            }
            entries += 1
            if entries > limits.maxEntries {
                throw FluxError("IRR_TAILLE", "the archive has more than \(limits.maxEntries) files")
            }
            if archive_entry_size_is_set(entry) != 0 && archive_entry_size(entry) > limits.maxFileBytes {
                throw FluxError("IRR_TAILLE_F", "member '\(name)' is \(archive_entry_size(entry)) bytes, over the \(limits.maxFileBytes)-byte limit")
            }
            var data = Data()
            while true {
                let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                if n == 0 { break }
                guard n > 0 else { throw FluxError("IRR_EXTRAC", "member '\(name)' cannot be extracted: \(errorString(a))") }
                total += Int64(n)
                if Int64(data.count) + Int64(n) > limits.maxFileBytes {
                    throw FluxError("IRR_TAILLE_F", "member '\(name)' is over the \(limits.maxFileBytes)-byte limit")
                }
                if total > limits.maxFluxBytes {
                    throw FluxError("IRR_TAILLE", "the archive expands to more than \(limits.maxFluxBytes) bytes")
                }
                if total > ratioBound {
                    throw FluxError("IRR_EXTRAC", "the archive expands more than \(limits.maxCompressionRatio) times its size (decompression bomb?)")
                }
                data.append(buffer, count: n)
            }
            try body(name, data)
        }
        if entries == 0 { throw FluxError("IRR_VIDE", "the archive holds no file") }
    }

    /// Why a member name is refused, or nil when it is a plain relative path.
    static func unsafeName(_ name: String) -> String? {
        if name.isEmpty { return "has an empty name" }
        if name.hasPrefix("/") || name.hasPrefix("\\") { return "has an absolute path" }
        if name.utf8.contains(0) { return "has a NUL byte in its name" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "has a control character in its name" }
        if name.utf8.count > 1024 { return "has a name longer than 1024 bytes" }
        let parts = name.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        if parts.contains("..") { return "escapes the archive with '..'" }
        if let first = parts.first, first.count == 2, first.hasSuffix(":") { return "has a drive letter" }
        return nil
    }

    static func errorString(_ a: OpaquePointer) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
    }
}
