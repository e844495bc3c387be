import FluxCore

/// Keeps the TOML layer's imports small: size and duration parsing live in FluxCore.
enum ConfigValuesBridge {
    static func bytes(_ s: String) -> Int64? { ConfigValues.parseBytes(s) }
    static func seconds(_ s: String) -> Double? { ConfigValues.parseSeconds(s) }
}
