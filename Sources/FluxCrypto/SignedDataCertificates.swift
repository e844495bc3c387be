import Foundation

/// Removes the `certificates` field from a CMS SignedData.
///
/// OpenSSL 3.0 decodes the public key of every certificate while it parses a signature, through
/// its provider decoders: for an AS2 message that is most of the signature check and about 5% of
/// the gateway's CPU. A partner that signs with its pinned certificate needs none of them, so
/// `CMSVerifier` first tries the signature without them.
enum SignedDataCertificates {
    /// id-signedData (1.2.840.113549.1.7.2), as a whole DER element.
    private static let signedDataOID: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02]
    private static let certificatesTag: UInt8 = 0xA0

    /// `der` without its certificates; nil when it has none, or when the three enclosing elements
    /// (ContentInfo, its [0], SignedData) are not definite-length (BER from a streaming sender:
    /// verified as it came), or when it is not SignedData at all (the full parse says why).
    static func removing(from der: Data) -> Data? {
        der.withUnsafeBytes { raw -> Data? in
            typealias Tag = BERReader.Tag
            do {
                var reader = BERReader(raw)
                try reader.descendDefinite(Tag.sequence)
                guard try reader.readObjectIdentifier() == "1.2.840.113549.1.7.2" else { return nil }
                try reader.descendDefinite(Tag.context0Constructed)
                try reader.descendDefinite(Tag.sequence)
                let start = reader.position
                try reader.skip(Tag.integer)        // version
                try reader.skip(Tag.set)            // digestAlgorithms
                try reader.skip(Tag.sequence)       // encapContentInfo
                guard reader.nextTag == certificatesTag else { return nil }
                let certificatesStart = reader.position
                try reader.skip(certificatesTag)
                let certificatesEnd = reader.position
                // crls [1] (rare) and signerInfos: copied as they are. Bounded: each skip
                // consumes at least two bytes.
                while !reader.atEnd { try reader.skip() }
                let end = reader.position

                let signedDataLength = (certificatesStart - start) + (end - certificatesEnd)
                let signedDataHeader = [Tag.sequence] + DERLength.octets(signedDataLength)
                let explicitLength = signedDataHeader.count + signedDataLength
                let explicitHeader = [Tag.context0Constructed] + DERLength.octets(explicitLength)
                let contentInfoLength = signedDataOID.count + explicitHeader.count + explicitLength
                var out = Data(capacity: contentInfoLength + 6)
                out.append(Tag.sequence)
                out.append(contentsOf: DERLength.octets(contentInfoLength))
                out.append(contentsOf: signedDataOID)
                out.append(contentsOf: explicitHeader)
                out.append(contentsOf: signedDataHeader)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<certificatesStart]))
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[certificatesEnd..<end]))
                return out
            } catch {
                return nil
            }
        }
    }
}
