import FluxCore
import FluxSFTP
import FluxStore
import Foundation
import Logging
import ServiceLifecycle

/// The embedded SFTP server as a service: libssh transport (one thread per session, bounded),
/// our SFTP v3 layer, one chroot per partner (`/inbox` → staging → intake, `/outbox` = the
/// receipts), the defender against brute force.
public final class SFTPService: Service, Sendable {
    let server: SSHServer
    let authenticator: SFTPPartnerAuthenticator
    let logger: Logger

    public init(settings s: SFTPSettings, config: @escaping @Sendable () -> GatewayConfig, processor: IntakeProcessor, intake: IntakeService,
                store: SQLiteStore, logger: Logger) throws {
        // Uploads cut by a crash left staging files: they never became deposits; drop them.
        for p in config().partners where p.sftp != nil {
            let removed = SFTPChrootFileSystem.removeStaleUploads(staging: config().sftpStaging(p.id))
            if removed > 0 { logger.notice("removed unfinished SFTP uploads left by a crash", metadata: ["flux_company": "\(p.id)", "count": "\(removed)"]) }
        }
        let fingerprints = try SSHHostKeys.ensure(paths: s.hostKeys)
        logger.notice("SFTP host keys", metadata: ["fingerprints": "\(fingerprints.joined(separator: ", "))"])
        let auth = SFTPPartnerAuthenticator(config())
        authenticator = auth
        self.logger = logger
        var defender = SSHDefenderSettings()
        defender.enabled = s.defenderEnabled
        defender.threshold = s.defenderThreshold
        defender.banTime = s.defenderBanTime
        defender.observationWindow = s.defenderWindow
        let settings = SSHServerSettings(host: s.listen.host, port: s.listen.port, hostKeyPaths: s.hostKeys, ciphers: s.ciphers, kex: s.kex,
                                         macs: s.macs, maxSessions: s.maxSessions, maxSessionsPerUser: s.maxSessionsPerUser,
                                         maxUnauthenticatedPerAddress: s.maxUnauthenticatedPerAddress, preAuthTimeout: s.preAuthTimeout,
                                         idleTimeout: s.idleTimeout, defender: defender)
        let minFree = s.minFreeDisk
        server = SSHServer(settings: settings, authenticator: auth, logger: logger, makeHandler: { partnerID, user, address in
            let c = config()
            guard let partner = c.partner(partnerID), let p = partner.sftp else { return nil }
            let staging = c.sftpStaging(partnerID)
            do {
                for d in [staging, c.outbox(partnerID), c.inbox(partnerID)] {
                    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
                }
            } catch {
                logger.error("cannot prepare the SFTP space", metadata: ["flux_company": "\(partnerID)", "error": "\(error)"])
                return nil
            }
            let uploads = SFTPUploadIntake(partner: partner, config: c, processor: processor, store: store, address: address,
                                           logger: logger, submit: { intake.submit($0) })
            let fs = SFTPChrootFileSystem(inbox: staging, outbox: c.outbox(partnerID), staging: staging,
                                          quota: SFTPQuota(maxFileBytes: p.maxFileSize, maxPendingBytes: p.quotaBytes,
                                                           maxPendingFiles: p.quotaFiles, minFreeDiskBytes: minFree),
                                          uploads: uploads)
            return SFTPChannelAdapter(session: SFTPSession(fileSystem: fs))
        }, onEvent: { event in
            SFTPService.log(event, logger: logger)
        })
    }

    /// Partners and keys changed (SIGHUP).
    public func reload(_ config: GatewayConfig) { authenticator.reload(config) }

    public var port: Int { server.boundPort }

    public func run() async throws {
        try server.start()
        logger.notice("SFTP server ready", metadata: ["listen": "\(server.settings.host):\(server.boundPort)"])
        try? await gracefulShutdown()
        server.stop()
        logger.notice("SFTP server stopped")
    }

    static func log(_ e: SSHEvent, logger: Logger) {
        switch e {
        case .loginSucceeded(let user, let partner, let address, let method, let fp):
            logger.info("SFTP login", metadata: ["user": "\(user)", "flux_company": "\(partner)", "address": "\(address)",
                                                 "method": "\(method.rawValue)", "key": "\(fp ?? "")"])
            Metrics.sftp("login_ok")
        case .loginFailed(let user, let address, let method, let fp, let known):
            logger.notice("SFTP login failed", metadata: ["user": "\(user)", "address": "\(address)", "method": "\(method.rawValue)",
                                                          "key": "\(fp ?? "")", "known_user": "\(known)"])
            Metrics.sftp(known ? "login_failed" : "login_unknown_user")
        case .banned(let address, let until):
            logger.warning("SFTP address banned", metadata: ["address": "\(address)", "until": "\(JournalTime.format(until))"])
            Metrics.sftp("ban")
        case .sessionClosed(let user, let partner, let address, let aborted, let reason):
            logger.info("SFTP session closed", metadata: ["user": "\(user ?? "")", "flux_company": "\(partner ?? "")", "address": "\(address)",
                                                          "aborted": "\(aborted)", "reason": "\(reason)"])
        case .refused(let address, let user, let reason, let detail):
            logger.notice("SFTP refused", metadata: ["address": "\(address)", "user": "\(user ?? "")", "reason": "\(reason.rawValue)",
                                                     "detail": "\(detail ?? "")"])
            Metrics.sftp("refused_\(reason.rawValue)")
        }
    }
}
