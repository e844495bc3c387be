import FluxCore
import Testing

@Suite("Configuration value parsers")
struct ConfigValuesTests {
    @Test("bytes with binary and decimal units", arguments: [
        ("64MiB", Int64(64) << 20),
        ("64 MiB", Int64(64) << 20),
        ("1GiB", Int64(1) << 30),
        ("64KiB", Int64(64) << 10),
        ("2TiB", Int64(2) << 40),
        ("1GB", Int64(1_000_000_000)),
        ("10KB", Int64(10_000)),
        ("3MB", Int64(3_000_000)),
        ("1TB", Int64(1_000_000_000_000)),
        ("4K", Int64(4) << 10),
        ("4M", Int64(4) << 20),
        ("4G", Int64(4) << 30),
        ("512B", Int64(512)),
        ("10", Int64(10)),
        ("0", Int64(0)),
        ("  10  ", Int64(10)),
        ("9223372036854775807", Int64.max),
    ])
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

    @Test("seconds with units", arguments: [
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
    ])
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
