import CQPDF
import FluxCore
import Foundation

/// The one Swift owner of a libqpdf `qpdf_data` (created by `qpdf_init`, freed by
/// `qpdf_cleanup` in `deinit`). Objects are lent out as `QPDFDocument.Object` values, indices
/// into qpdf's handle table that mean nothing without this document; no C pointer leaves.
///
/// qpdf runs in strict mode: no xref reconstruction. A damaged cross-reference table is
/// refused instead of repaired, because a repaired file can show a viewer one object graph and
/// us another (PDF/A requires a valid xref anyway). Nothing is written to stderr: a discarding
/// logger, `qpdf_silence_errors` and suppressed warnings; errors are read with
/// `qpdf_get_error` and `qpdf_get_error_full_text`.
///
/// Not `Sendable`: a `qpdf_data` must never be used from two threads at once.
final class QPDFDocument {
    /// A PDF object of this document (a qpdf object handle).
    struct Object: Equatable {
        fileprivate let handle: qpdf_oh
    }

    private var qpdf: qpdf_data?
    /// The input for `qpdf_read_memory` when this document owns a copy: qpdf reads it lazily
    /// for as long as `qpdf` lives, so it is freed only after `qpdf_cleanup`.
    private var memory: UnsafeMutableRawBufferPointer?
    /// The input's full path, shown as `pathLabel` (by default its last component) in error
    /// texts: refusal messages reach partners, the spool layout must not.
    private var path: String?
    private var pathLabel: String?

    /// qpdf's process-wide default logger, set once to discard everything: a logger of our
    /// own per document cost a `qpdflogger_create` and five calls each time.
    private static let silentLogger: Bool = {
        var logger = qpdflogger_default_logger()
        qpdflogger_set_info(logger, qpdf_log_dest_discard, nil, nil)
        qpdflogger_set_warn(logger, qpdf_log_dest_discard, nil, nil)
        qpdflogger_set_error(logger, qpdf_log_dest_discard, nil, nil)
        qpdflogger_set_save(logger, qpdf_log_dest_discard, nil, nil, 0)
        qpdflogger_cleanup(&logger)
        return true
    }()

    private init() {
        _ = Self.silentLogger
        qpdf = qpdf_init()
        if let qpdf {
            qpdf_silence_errors(qpdf)
            qpdf_set_suppress_warnings(qpdf, QPDF_TRUE)
            qpdf_set_attempt_recovery(qpdf, QPDF_FALSE)
        }
    }

    deinit { close() }

    /// Frees qpdf's state; the document answers nothing afterwards.
    private func close() {
        if qpdf != nil {
            // An error left unread makes qpdf_cleanup print "application did not handle error".
            if qpdf_has_error(qpdf) != QPDF_FALSE { _ = qpdf_get_error(qpdf) }
            qpdf_cleanup(&qpdf)
        }
        memory?.deallocate()
        memory = nil
    }

    /// Opens the PDF file at `path`. Throws IRR_EXTRAC when qpdf cannot read it or it is
    /// encrypted.
    /// `label` replaces the path in error texts (a spooled file's name is its digest, which
    /// means nothing to the partner).
    convenience init(path: String, label: String? = nil) throws(FluxError) {
        self.init()
        guard let qpdf else { throw FluxError("IRR_EXTRAC", "cannot allocate a PDF reader") }
        self.path = path
        pathLabel = label
        qpdf_read(qpdf, path, nil)
        try checkOpened()
    }

    /// Opens a PDF held in memory (copied: qpdf keeps reading it after this returns).
    convenience init(data: Data) throws(FluxError) {
        self.init()
        guard let qpdf else { throw FluxError("IRR_EXTRAC", "cannot allocate a PDF reader") }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 1)
        memory = buffer
        data.copyBytes(to: buffer.bindMemory(to: UInt8.self), count: data.count)
        guard let base = buffer.baseAddress else { throw FluxError("IRR_EXTRAC", "cannot allocate a PDF buffer") }
        qpdf_read_memory(qpdf, "PDF", base.assumingMemoryBound(to: CChar.self), UInt64(data.count), nil)
        try checkOpened()
    }

    /// Runs `body` on the PDF in `data` without copying it: the document reads `data`'s bytes
    /// in place and is closed before this returns, so it never outlives them. `body` must not
    /// keep the document.
    static func reading<R>(_ data: Data, _ body: (QPDFDocument) throws(FluxError) -> R) throws(FluxError) -> R {
        guard !data.isEmpty else { return try body(QPDFDocument(data: data)) }
        let result: Result<R, FluxError> = data.withUnsafeBytes { raw in
            let doc = QPDFDocument()
            defer { doc.close() }
            guard let qpdf = doc.qpdf, let base = raw.baseAddress else {
                return .failure(FluxError("IRR_EXTRAC", "cannot allocate a PDF reader"))
            }
            qpdf_read_memory(qpdf, "PDF", base.assumingMemoryBound(to: CChar.self), UInt64(raw.count), nil)
            do throws(FluxError) {
                try doc.checkOpened()
                return .success(try body(doc))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private func checkOpened() throws(FluxError) {
        if let error = takeError() {
            throw FluxError("IRR_EXTRAC", "the PDF cannot be read: \(error)")
        }
        if qpdf_is_encrypted(qpdf) != QPDF_FALSE {
            throw FluxError("IRR_EXTRAC", "the PDF is encrypted; a Factur-X PDF (PDF/A) must not be")
        }
    }

    /// The pending qpdf error, if any, as text; reading it clears it. Pending warnings are
    /// dropped too, so that a file provoking millions of them cannot grow the list unbounded.
    func takeError() -> String? {
        while qpdf_more_warnings(qpdf) != QPDF_FALSE { _ = qpdf_next_warning(qpdf) }
        guard qpdf_has_error(qpdf) != QPDF_FALSE, let e = qpdf_get_error(qpdf) else { return nil }
        guard let text = qpdf_get_error_full_text(qpdf, e) else { return "unknown qpdf error" }
        let message = String(cString: text)
        guard let path, !path.isEmpty else { return message }
        return message.replacingOccurrences(of: path, with: pathLabel ?? (path as NSString).lastPathComponent)
    }

    // MARK: - Objects

    /// The document catalog (trailer `/Root`).
    var root: Object? { nonNull(qpdf_get_root(qpdf)) }

    /// Every C API call goes through qpdf's exception trap and `std::function`, about as costly
    /// as the lookup itself: one type query answers "initialized and not null" and "dictionary
    /// or stream" at once.
    private func nonNull(_ h: qpdf_oh) -> Object? {
        let type = qpdf_oh_get_type_code(qpdf, h)
        guard type != ot_uninitialized, type != ot_null else { return nil }
        return Object(handle: h)
    }

    func isDictionary(_ o: Object) -> Bool { qpdf_oh_is_dictionary(qpdf, o.handle) != QPDF_FALSE }
    func isArray(_ o: Object) -> Bool { qpdf_oh_is_array(qpdf, o.handle) != QPDF_FALSE }
    func isStream(_ o: Object) -> Bool { qpdf_oh_is_stream(qpdf, o.handle) != QPDF_FALSE }

    /// The value of `key` (written with its slash, "/AF") of a dictionary or of a stream's
    /// dictionary; nil when absent, null or when `o` has no dictionary.
    func value(_ o: Object, _ key: String) -> Object? {
        let dict: qpdf_oh
        switch qpdf_oh_get_type_code(qpdf, o.handle) {
        case ot_stream: dict = qpdf_oh_get_dict(qpdf, o.handle)
        case ot_dictionary: dict = o.handle
        default: return nil
        }
        return nonNull(qpdf_oh_get_key(qpdf, dict, key))
    }

    /// The elements of an array (at most `limit`); empty when `o` is not an array.
    func items(_ o: Object, limit: Int) -> [Object] {
        guard isArray(o) else { return [] }
        let n = min(Int(qpdf_oh_get_array_n_items(qpdf, o.handle)), limit)
        guard n > 0 else { return [] }
        return (0..<n).map { Object(handle: qpdf_oh_get_array_item(qpdf, o.handle, Int32($0))) }
    }

    /// The array length, 0 when `o` is not an array.
    func count(_ o: Object) -> Int {
        isArray(o) ? Int(qpdf_oh_get_array_n_items(qpdf, o.handle)) : 0
    }

    /// A name without its leading slash ("/Data" → "Data"), nil when `o` is not a name.
    func name(_ o: Object) -> String? {
        var p: UnsafePointer<CChar>?
        var length = 0
        guard qpdf_oh_get_value_as_name(qpdf, o.handle, &p, &length) != QPDF_FALSE, let p else { return nil }
        let text = String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
        return text.hasPrefix("/") ? String(text.dropFirst()) : text
    }

    /// A text string decoded to UTF-8 (PDFDocEncoding or UTF-16 with BOM), nil when `o` is not
    /// a string.
    func text(_ o: Object) -> String? {
        var p: UnsafePointer<CChar>?
        var length = 0
        guard qpdf_oh_get_value_as_utf8(qpdf, o.handle, &p, &length) != QPDF_FALSE, let p else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
    }

    /// An integer, nil when `o` is not one.
    func integer(_ o: Object) -> Int64? {
        var v: Int64 = 0
        guard qpdf_oh_get_value_as_longlong(qpdf, o.handle, &v) != QPDF_FALSE else { return nil }
        return v
    }

    /// The object number of an indirect object, nil for a direct one. Used to notice loops and
    /// file specifications listed twice.
    func objectID(_ o: Object) -> Int32? {
        guard qpdf_oh_is_indirect(qpdf, o.handle) != QPDF_FALSE else { return nil }
        return qpdf_oh_get_object_id(qpdf, o.handle)
    }

    /// The names of a stream's filter chain (`/Filter`: one name or an array), without slashes;
    /// nil when the entry is malformed.
    func filters(_ stream: Object) -> [String]? {
        guard let f = value(stream, "/Filter") else { return [] }
        if let n = name(f) { return [n] }
        guard isArray(f), count(f) <= 16 else { return nil }
        var names: [String] = []
        for item in items(f, limit: 16) {
            guard let n = name(item) else { return nil }
            names.append(n)
        }
        return names
    }

    /// The bytes of a stream: raw (`decode == false`) or with qpdf's general-purpose filters
    /// undone (up to RunLength; never lossy image filters). Throws the qpdf error text when the data cannot be read or decoded.
    func streamData(_ stream: Object, decode: Bool) throws(StreamError) -> Data {
        _ = takeError()
        var buffer: UnsafeMutablePointer<UInt8>?
        var length = 0
        var filtered: QPDF_BOOL = QPDF_FALSE
        let rc = qpdf_oh_get_stream_data(qpdf, stream.handle, decode ? qpdf_dl_specialized : qpdf_dl_none,
                                         &filtered, &buffer, &length)
        _ = rc // the error, if any, is read below: it carries the text
        let error = takeError()
        guard error == nil, let buffer else {
            buffer.map { free($0) }
            throw StreamError(message: error ?? "the stream data cannot be read")
        }
        if decode && filtered == QPDF_FALSE {
            free(buffer)
            throw StreamError(message: "the stream uses a filter qpdf cannot decode")
        }
        // The Data takes ownership of qpdf's malloc'd buffer and frees it.
        return Data(bytesNoCopy: UnsafeMutableRawPointer(buffer), count: length, deallocator: .free)
    }

    /// A stream that could not be read, with qpdf's explanation.
    struct StreamError: Error {
        var message: String
    }
}
