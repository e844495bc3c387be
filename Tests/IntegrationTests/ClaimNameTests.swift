@testable import FluxGateway
import Testing

@Suite struct ClaimNameTests {
    @Test func roundTripsWithAndWithoutCheck() {
        let plain = ClaimName(messageID: "0b6e2c1a-7d0e-4f57-9f0e-3c1f6a2b9d41", original: "facture__2026.xml")
        #expect(plain.fileName == "0b6e2c1a-7d0e-4f57-9f0e-3c1f6a2b9d41__facture__2026.xml")
        #expect(ClaimName(parsing: plain.fileName) == plain)
        let checked = ClaimName(messageID: "id-1", check: .init(size: 12, crc32: 0xAB_723A), original: "a~b.xml")
        #expect(checked.fileName == "id-1~12~00ab723a__a~b.xml")
        #expect(ClaimName(parsing: checked.fileName) == checked)
        for bad in ["no-separator.xml", "__x.xml", "id__", "id~12__x", "id~12~zzzzzzzz__x", "id~-1~00000000__x", "id~1~2~3__x", "id~12~abc__x"] {
            #expect(ClaimName(parsing: bad) == nil, "\(bad)")
        }
    }

    /// Claims used to fail (ENAMETOOLONG, "could not be stored") for names over 217 bytes.
    @Test func longNamesFitInNameMax() {
        let long = String(repeating: "é", count: 110) + "-x.tar.gz"   // 229 bytes
        let claim = ClaimName(messageID: "0b6e2c1a-7d0e-4f57-9f0e-3c1f6a2b9d41", check: .init(size: 16 << 20, crc32: 1), original: long)
        #expect(claim.fileName.utf8.count <= 255)
        #expect(claim.fileName.hasSuffix("-x.tar.gz"))
        let parsed = ClaimName(parsing: claim.fileName)
        #expect(parsed?.messageID == claim.messageID)
        #expect(parsed?.check == claim.check)
        #expect(parsed.map { long.hasPrefix(String($0.original.dropLast(9))) } == true)
        #expect(ClaimName(messageID: "m", original: "short.xml").fileName == "m__short.xml")
    }
}
