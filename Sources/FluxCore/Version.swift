/// The software version written into every journal entry (the legal list must name it).
public enum FluxVersion {
    public static let string = "0.1.0"
    public static let product = "flux-gateway"
    public static var full: String { "\(product) \(string)" }
}
