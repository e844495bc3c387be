import FluxCore
import Foundation
import Testing

@Suite struct RandomIDTests {
    @Test("version 4 UUIDs in lowercase text, as Foundation reads them, all different")
    func shapeAndUniqueness() {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = RandomID.uuid()
            #expect(id.utf8.count == 36)
            #expect(id == id.lowercased())
            let parsed = UUID(uuidString: id)
            #expect(parsed?.uuidString.lowercased() == id)
            let chars = Array(id)
            #expect(chars[14] == "4")
            #expect("89ab".contains(chars[19]))
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }
}
