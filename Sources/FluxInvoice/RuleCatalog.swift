/// The rule ids the native checks implement (official EN 16931 / FNFE ids plus the gateway's
/// own `FLUX-*` ones), for `validate --list-rules` and for measuring coverage.
public enum RuleCatalog {
    public static var implemented: [String] { RuleEngine.implementedRuleIDs.sorted() }
}
