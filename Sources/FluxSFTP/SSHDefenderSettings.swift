/// Per-address scoring of failed logins and bans, after SFTPGo's defender.
public struct SSHDefenderSettings: Sendable {
    /// Off: nothing is scored and nobody is banned.
    public var enabled = true
    /// Score of a login attempt on a user that does not exist.
    public var scoreInvalidUser = 2
    /// Score of a failed login on an existing user (wrong key, wrong password).
    public var scoreFailedAuth = 1
    /// Score of a connection refused for exceeding `maxUnauthenticatedPerAddress`.
    public var scoreTooManyConnections = 3
    /// Score within `observationWindow` at which the address is banned.
    public var threshold = 10
    /// Seconds over which scores add up.
    public var observationWindow: Double = 120
    /// Seconds of the first ban.
    public var banTime: Double = 300
    /// Each further ban of the same address (within `banMemory`) lasts this much longer than the previous one.
    public var banTimeIncrementPercent: Double = 50
    /// Seconds after a ban ends during which a new ban counts as a repeat.
    public var banMemory: Double = 86_400
    /// Addresses tracked at once; beyond it the oldest unbanned entries are forgotten.
    public var maxTrackedAddresses = 10_000

    /// Creates settings with SFTPGo-like defaults.
    public init(
        enabled: Bool = true,
        scoreInvalidUser: Int = 2,
        scoreFailedAuth: Int = 1,
        scoreTooManyConnections: Int = 3,
        threshold: Int = 10,
        observationWindow: Double = 120,
        banTime: Double = 300,
        banTimeIncrementPercent: Double = 50,
        banMemory: Double = 86_400,
        maxTrackedAddresses: Int = 10_000
    ) {
        self.enabled = enabled
        self.scoreInvalidUser = scoreInvalidUser
        self.scoreFailedAuth = scoreFailedAuth
        self.scoreTooManyConnections = scoreTooManyConnections
        self.threshold = threshold
        self.observationWindow = observationWindow
        self.banTime = banTime
        self.banTimeIncrementPercent = banTimeIncrementPercent
        self.banMemory = banMemory
        self.maxTrackedAddresses = maxTrackedAddresses
    }
}
