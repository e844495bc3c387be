import Foundation
import Testing

@testable import FluxCore

@Suite struct PathPartsTests {
    /// Foundation's answers are the oracle for absolute paths: `PathParts` replaces it on hot
    /// paths only. (Foundation 6.3's `deletingLastPathComponent` traps on some relative paths,
    /// so those are checked against literal answers below.)
    @Test(arguments: [
        "/var/spool/flux/outbox/acme/receipt.xml", "/a/b/", "/a//b", "/c", "/",
        "/var/x/.hidden.tmp", "/dir/name with spaces.xml", "/dir/été.pdf",
    ])
    func matchesFoundation(path: String) {
        #expect(PathParts.directory(of: path) == (path as NSString).deletingLastPathComponent)
        #expect(PathParts.lastComponent(of: path) == (path as NSString).lastPathComponent)
    }

    @Test func relativePaths() {
        #expect(PathParts.directory(of: "c") == "")
        #expect(PathParts.lastComponent(of: "c") == "c")
        #expect(PathParts.directory(of: "relative/dir/file") == "relative/dir")
        #expect(PathParts.lastComponent(of: "relative/dir/file") == "file")
        #expect(PathParts.directory(of: "") == "")
        #expect(PathParts.lastComponent(of: "") == "")
    }
}
