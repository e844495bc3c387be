import FluxCrypto
import Foundation
import Testing

@Suite struct DigestTests {
    @Test func knownVectors() {
        #expect(Digest.sha256Hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.sha256Hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256(Data("abc".utf8)).count == 32)
    }

    @Test func hexIsLowercaseTwoDigitsPerByte() {
        #expect(Digest.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Digest.hex([]) == "")
    }

    @Test func streamingInOddChunksEqualsOneShot() {
        let data = Data((0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let expected = Digest.sha256(data)
        for chunk in [1, 3, 7, 63, 64, 65, 4099] {
            var stream = SHA256Stream()
            var offset = 0
            while offset < data.count {
                let end = min(offset + chunk, data.count)
                stream.update(data.subdata(in: offset..<end))
                offset = end
            }
            #expect(stream.finalize() == expected, "chunk size \(chunk)")
        }
    }

    @Test func streamingRawBuffersAndEmptyUpdates() {
        var stream = SHA256Stream()
        stream.update(Data())
        let bytes: [UInt8] = Array("abc".utf8)
        bytes.withUnsafeBytes { stream.update($0) }
        stream.update(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(Digest.hex(stream.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
