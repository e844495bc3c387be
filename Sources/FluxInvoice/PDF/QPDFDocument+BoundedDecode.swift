import Foundation

extension QPDFDocument {
    /// Why `boundedData` gave up.
    enum DecodeFailure: Error {
        /// The decoded data would be larger than the limit.
        case tooLarge
        /// The stream cannot be read or decoded; the text says why.
        case unreadable(String)
    }

    /// Worst-case output/input ratio of the filters qpdf may decode for us. FlateDecode alone
    /// is decoded incrementally by `BoundedInflater`; in a chain it can expand 1032 times.
    private static let expansion: [String: Int] = [
        "ASCIIHexDecode": 1, "AHx": 1,
        "ASCII85Decode": 4, "A85": 4, // "z" stands for four zero bytes
        "RunLengthDecode": 64, "RL": 64,
        "LZWDecode": 4096, "LZW": 4096,
        "FlateDecode": 1032, "Fl": 1032,
    ]

    /// The decoded bytes of `stream`, refused as soon as they would exceed `limit` bytes.
    ///
    /// Unfiltered and plain FlateDecode streams (what every Factur-X generator writes) are
    /// bounded while decoding. Other chains of lossless filters go through qpdf only when their
    /// worst-case expansion of the raw size stays within the limit, since qpdf decodes the
    /// whole stream into memory before we can look at its size.
    func boundedData(_ stream: Object, limit: Int) throws(DecodeFailure) -> Data {
        guard isStream(stream) else { throw .unreadable("the embedded file is not a stream") }
        guard let filters = filters(stream) else { throw .unreadable("its /Filter entry is malformed") }
        let raw: Data
        do throws(StreamError) { raw = try streamData(stream, decode: false) } catch { throw .unreadable(error.message) }

        if filters.isEmpty {
            guard raw.count <= limit else { throw .tooLarge }
            return raw
        }
        if filters == ["FlateDecode"] || filters == ["Fl"], !hasPredictor(stream) {
            do throws(BoundedInflater.Failure) {
                return try BoundedInflater.inflateZlib(bytes: raw, maxOutput: limit)
            } catch {
                switch error {
                case .tooLarge: throw .tooLarge
                case .corrupt(let why): throw .unreadable("its FlateDecode data is corrupt: \(why)")
                }
            }
        }
        var bound = raw.count
        for f in filters {
            guard let ratio = Self.expansion[f] else {
                throw .unreadable("it uses the /\(f) filter, which is not accepted for an embedded file")
            }
            bound = bound.multipliedReportingOverflow(by: ratio).overflow ? Int.max : bound * ratio
        }
        guard bound <= limit else {
            throw .unreadable("its filter chain /\(filters.joined(separator: " /")) could expand \(raw.count) bytes beyond the \(limit)-byte limit; only a single FlateDecode is decoded incrementally")
        }
        let decoded: Data
        do throws(StreamError) { decoded = try streamData(stream, decode: true) } catch { throw .unreadable(error.message) }
        guard decoded.count <= limit else { throw .tooLarge }
        return decoded
    }

    /// Whether `/DecodeParms` asks for a PNG or TIFF predictor (undone by qpdf, not by us).
    private func hasPredictor(_ stream: Object) -> Bool {
        guard let parms = value(stream, "/DecodeParms") else { return false }
        let dicts = isArray(parms) ? items(parms, limit: 16) : [parms]
        return dicts.contains { d in
            guard isDictionary(d), let p = value(d, "/Predictor"), let n = integer(p) else { return false }
            return n > 1
        }
    }
}
