import FluxCore
import FluxInvoice
import FluxStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Wires the daemon: identity, store, intake, maintenance and admin services in one
/// `ServiceGroup`; SIGTERM/SIGINT drain and stop, SIGHUP reloads partners and keys.
public enum GatewayRuntime {
    public static func serve(configFile: String, logger: Logger) async throws {
        let initial = try GatewayConfig.load(file: configFile)
        let configBox = Mutex(initial)
        let current: @Sendable () -> GatewayConfig = { configBox.withLock { $0 } }

        try FileManager.default.createDirectory(atPath: initial.stateDir, withIntermediateDirectories: true)
        let identity = try GatewayIdentity.loadOrGenerate(initial, logger: logger)
        let signerBox = Mutex(identity.signer)
        let token = try GatewayIdentity.adminToken(initial, logger: logger)
        let spool = try Spool(root: initial.spoolDir)
        let gatewayParty = JournalParty(code: "GATEWAY", name: initial.gatewayName, siren: initial.gatewaySIREN, address: nil, role: "platform")
        let store = try SQLiteStore(path: initial.databasePath, policy: initial.batching, gateway: gatewayParty) { data in
            try signerBox.withLock { $0 }.signDetached(data)
        }
        try store.syncPartners(initial.partners.map(\.identity))
        for p in initial.partners {
            try FileManager.default.createDirectory(atPath: initial.inbox(p.id), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: initial.outbox(p.id), withIntermediateDirectories: true)
        }
        let composerBox = Mutex(ReceiptComposer(signer: identity.receiptSigner, gatewayName: initial.gatewayName, gatewaySIREN: initial.gatewaySIREN))
        let xsd = initial.schemasDir.map(XSDValidator.init(directory:))
        if let xsd {
            for problem in xsd.preload() { logger.error("XSD schema unavailable", metadata: ["problem": "\(problem)"]) }
        }
        let inspector = FluxInspector(limits: initial.limits, xsd: xsd, parseBudget: ParseBudget(capacity: initial.parseBudget) { Metrics.parseBudgetWaited() })
        let processor = IntakeProcessor(spool: spool, store: store, inspector: inspector,
                                        composer: { composerBox.withLock { $0 } }, config: current,
                                        deliverer: ReceiptDeliverer(logger: logger),
                                        understandingAtOnce: initial.intakeConcurrency, logger: logger)
        let intake = IntakeService(processor: processor, quietPeriod: initial.quietPeriod, concurrency: initial.intakeConcurrency,
                                   targets: { Self.targets(current()) }, logger: logger)
        let maintenance = MaintenanceService(store: store, processor: processor, intake: intake,
                                             interval: min(1.0, max(0.1, initial.batching.maxAge / 4)), logger: logger)
        var services: [any Service] = [intake, maintenance]
        // AS2: keys and partner certificates parsed once, swapped whole on SIGHUP.
        let as2Box = Mutex<AS2Context?>(nil)
        var as2Server: AS2Server?
        if let a = initial.as2 {
            let ctx = try AS2Context.load(initial, settings: a, identity: identity)
            as2Box.withLock { $0 = ctx }
            let mdnSender = AsyncMDNService(store: store, settings: { as2Box.withLock { $0?.settings } }, logger: logger)
            let as2Processor = AS2Processor(spool: spool, store: store, intake: processor, context: { as2Box.withLock { $0 } },
                                            config: current, logger: logger, asyncQueued: { mdnSender.poke() })
            let pinned = initial.partners.contains { !($0.as2?.tlsClientCertificates.isEmpty ?? true) }
            let server = try AS2Server(settings: a, processor: as2Processor, requestClientCertificates: pinned, logger: logger)
            as2Server = server
            services.append(server)
            services.append(mdnSender)
        }
        let sftpService = try initial.sftp.map {
            try SFTPService(settings: $0, config: current, processor: processor, intake: intake, store: store, logger: logger)
        }
        if let svc = sftpService { services.append(svc) }
        if let admin = initial.adminListen {
            services.append(AdminServer.build(address: admin, token: token, store: store, spool: spool,
                                              maxConnections: initial.adminMaxConnections, requestTimeout: initial.adminRequestTimeout,
                                              ready: { intake.ready.load(ordering: .acquiring) }, logger: logger))
        }
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))

        // SIGHUP: reload partners (new drop zones, partner file) and the identity without
        // dropping anything in flight. An invalid new config is refused and the old one kept.
        let reloadedAS2Server = as2Server
        signal(SIGHUP, SIG_IGN)
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hup.setEventHandler {
            do {
                let fresh = try GatewayConfig.load(file: configFile)
                let newIdentity = try GatewayIdentity.loadOrGenerate(fresh, logger: logger)
                signerBox.withLock { $0 = newIdentity.signer }
                composerBox.withLock { $0 = ReceiptComposer(signer: newIdentity.receiptSigner, gatewayName: fresh.gatewayName, gatewaySIREN: fresh.gatewaySIREN) }
                if let a = fresh.as2 {
                    // The listener's address stays as started; its TLS certificate (renewed
                    // files or new paths), keys, partners and policies change now.
                    let ctx = try AS2Context.load(fresh, settings: a, identity: newIdentity)
                    try reloadedAS2Server?.reloadTLS(cert: a.tlsCert, key: a.tlsKey)
                    as2Box.withLock { old in
                        var c = ctx
                        if let o = old { c.settings.listen = o.settings.listen }
                        old = c
                    }
                }
                configBox.withLock { $0 = fresh }
                sftpService?.reload(fresh)
                try store.syncPartners(fresh.partners.map(\.identity))
                for p in fresh.partners {
                    try FileManager.default.createDirectory(atPath: fresh.inbox(p.id), withIntermediateDirectories: true)
                    try FileManager.default.createDirectory(atPath: fresh.outbox(p.id), withIntermediateDirectories: true)
                }
                try intake.reload()
                logger.notice("configuration reloaded", metadata: ["partners": "\(fresh.partners.count)"])
            } catch {
                logger.error("reload refused, the previous configuration stays in force", metadata: ["error": "\(error)"])
            }
        }
        hup.resume()

        logger.notice("flux-gateway started", metadata: [
            "version": "\(FluxVersion.string)", "state_dir": "\(initial.stateDir)", "partners": "\(initial.partners.count)",
            "admin": "\(initial.adminListen?.description ?? "disabled")",
            "as2": "\(initial.as2.map { "\($0.listen)\($0.path)" } ?? "disabled")",
            "sftp": "\(initial.sftp.map { "\($0.listen)" } ?? "disabled")",
        ])
        SystemdNotifier.notify("READY=1\nSTATUS=serving")
        try await group.run()
        hup.cancel()
        SystemdNotifier.notify("STOPPING=1")
        do { try store.close() } catch {
            logger.warning("the database did not close cleanly; its WAL is replayed at the next start", metadata: ["error": "\(error)"])
        }
        logger.notice("flux-gateway stopped")
    }

    /// Every watched directory: each partner's inbox and its extra directories.
    static func targets(_ c: GatewayConfig) -> [WatchTarget] {
        c.partners.flatMap { p in
            [WatchTarget(partner: p.id, directory: c.inbox(p.id), completion: p.completion)]
                + p.extraDirectories.map { WatchTarget(partner: p.id, directory: $0.path, completion: $0.completion) }
        }
    }
}
