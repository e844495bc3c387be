import FluxCore
import Testing

@Suite("Configuration value parsers")
struct ConfigValuesTests {
    static let byteCases: [(String, Int64)] = [
        ("64MiB", 67_108_864),
        ("64 MiB", 67_108_864),
        ("1GiB", 1_073_741_824),
        ("64KiB", 65_536),
        ("2TiB", 2_199_023_255_552),
        ("1GB", 1_000_000_000),
        ("10KB", 10_000),
        ("3MB", 3_000_000),
        ("1TB", 1_000_000_000_000),
        ("4K", 4_096),
        ("4M", 4_194_304),
        ("4G", 4_294_967_296),
        ("512B", 512),
        ("10", 10),
        ("0", 0),
        ("  10  ", 10),
        ("9223372036854775807", Int64.max),
    ]

    @Test("bytes with binary and decimal units", arguments: byteCases)
    func bytes(input: String, expected: Int64) {
        #expect(ConfigValues.parseBytes(input) == expected, "\(input)")
    }

    @Test("bytes: invalid and overflowing values are nil", arguments: [
        "x", "", "MiB", "-1", "-1KiB", "1.5MiB", "10 XB", "ten",
        "9223372036854775808",        // one past Int64.max
        "9000000000TiB",              // 9e9 × 2^40 overflows
        "9223372036854775807B2",
        "10000000000GB",              // 1e19 > Int64.max
    ])
    func badBytes(input: String) {
        #expect(ConfigValues.parseBytes(input) == nil, "\(input)")
    }

    static let secondCases: [(String, Double)] = [
        ("5m", 300.0),
        ("250ms", 0.25),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("30s", 30.0),
        ("30", 30.0),
        ("1.5", 1.5),
        ("0.5h", 1800.0),
        ("0", 0.0),
        (" 5m ", 300.0),
    ]

    @Test("seconds with units", arguments: secondCases)
    func seconds(input: String, expected: Double) {
        #expect(ConfigValues.parseSeconds(input) == expected, "\(input)")
    }

    @Test("seconds: invalid values are nil", arguments: [
        "-1", "-5m", "x", "", "m", "ms", "five minutes", "inf", "nan", "1e400", "5 minutes",
    ])
    func badSeconds(input: String) {
        #expect(ConfigValues.parseSeconds(input) == nil, "\(input)")
    }
}

@Suite("FluxError")
struct FluxErrorTests {
    @Test("code and message, described as code: message")
    func description() {
        let e = FluxError("not-found", "no batch B1")
        #expect(e.code == "not-found")
        #expect(e.message == "no batch B1")
        #expect(e.description == "not-found: no batch B1")
        #expect(e == FluxError("not-found", "no batch B1"))
        #expect(e != FluxError("not-claimed", "no batch B1"))
    }

    @Test("version string names the product")
    func version() {
        #expect(FluxVersion.full == "flux-gateway \(FluxVersion.string)")
        #expect(FluxVersion.string.split(separator: ".").count == 3)
    }
}
