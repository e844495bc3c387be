import FluxCore
import FluxSFTP
import FluxStore
import Foundation
import Logging

/// What a partner's SFTP session does with a completed upload: claim it durably (rename into
/// the partner's claim directory under a new message id, fsync) and give it to the intake,
/// the same pipeline as the drop zones. With `reject_on_close` the deposit is processed before
/// the client's CLOSE is answered, so a refused flux fails the client's `put` with its reason.
final class SFTPUploadIntake: SFTPUploadHandler {
    let partner: PartnerConfig
    let config: GatewayConfig
    let processor: IntakeProcessor
    let submit: @Sendable (ClaimedFile) -> Void
    let store: SQLiteStore
    let logger: Logger
    let address: String

    /// Whether a closed upload can be claimed before its bytes are durable (see
    /// `uploadCompleted(stagingPath:name:unsynced:)`).
    let takesUnsyncedUploads: Bool

    init(partner: PartnerConfig, config: GatewayConfig, processor: IntakeProcessor, store: SQLiteStore, address: String,
         logger: Logger, submit: @escaping @Sendable (ClaimedFile) -> Void) {
        self.partner = partner; self.config = config; self.processor = processor; self.store = store
        self.address = address; self.logger = logger; self.submit = submit
        takesUnsyncedUploads = Spool.renameDurableWithFileSync(config.stateDir)
    }

    /// A fsynced upload: claimed by a rename made durable by the claim directory's fsync.
    func uploadCompleted(stagingPath: String, name: String) -> String? {
        // A client waits on this CLOSE (longer with reject_on_close): the intake stays narrow.
        processor.foreground.touch()
        let id = RandomID.uuid()
        let claimDir = config.claimDir(partner.id)
        let claimed = "\(claimDir)/\(ClaimName(messageID: id, original: name).fileName)"
        do {
            try FileManager.default.createDirectory(atPath: claimDir, withIntermediateDirectories: true)
            guard rename(stagingPath, claimed) == 0 else { throw FluxError("claim", "cannot claim the upload: \(errnoString())") }
            try Spool.fsyncDirectory(claimDir)
            CrashPoint.hit("sftp.claimed")
        } catch {
            logger.error("SFTP upload could not be handed to the intake", metadata: ["flux_company": "\(partner.id)", "flux_file": "\(name)", "error": "\(error)"])
            return "the upload could not be stored; try again later"
        }
        return handOver(claimed: claimed, id: id, name: name)
    }

    /// An upload closed but not yet fsynced: claimed first, under a name that carries its size and
    /// CRC-32 (`ClaimName`), then fsynced, which on this filesystem also makes the claim durable
    /// (`Spool.fileSyncCoversRename`): one flush before the CLOSE is answered instead of two. A
    /// crash between the two can leave a claim whose bytes did not all reach the disk; it was
    /// never acknowledged, and recovery drops it when its bytes fail the check.
    func uploadCompleted(stagingPath: String, name: String, unsynced upload: SFTPUnsyncedUpload) -> String? {
        processor.foreground.touch()
        let id = RandomID.uuid()
        let claimDir = config.claimDir(partner.id)
        let claimed = "\(claimDir)/\(ClaimName(messageID: id, check: .init(size: upload.size, crc32: upload.crc32), original: name).fileName)"
        do {
            if claimDirReady != claimDir {
                try FileManager.default.createDirectory(atPath: claimDir, withIntermediateDirectories: true)
                claimDirReady = claimDir
            }
            var renamed = rename(stagingPath, claimed) == 0
            if !renamed && errno == ENOENT {
                // The claim directory went away behind our back (the staging file would be a
                // second ENOENT, reported below).
                try FileManager.default.createDirectory(atPath: claimDir, withIntermediateDirectories: true)
                renamed = rename(stagingPath, claimed) == 0
            }
            guard renamed else { throw FluxError("claim", "cannot claim the upload: \(errnoString())") }
            if let failure = upload.sync() {
                unlink(claimed)
                throw FluxError("claim", "fsync failed: \(failure)")
            }
            CrashPoint.hit("sftp.claimed")
        } catch {
            logger.error("SFTP upload could not be handed to the intake", metadata: ["flux_company": "\(partner.id)", "flux_file": "\(name)", "error": "\(error)"])
            return "the upload could not be stored; try again later"
        }
        return handOver(claimed: claimed, id: id, name: name)
    }

    /// The claim directory this session has already made sure of.
    private var claimDirReady: String?

    /// A durable claim goes to the intake (with reject_on_close, through it before the answer).
    private func handOver(claimed: String, id: String, name: String) -> String? {
        logger.info("SFTP upload complete", metadata: ["flux_company": "\(partner.id)", "flux_file": "\(name)", "flux_message_id": "\(id)",
                                                       "address": "\(address)"])
        let file = ClaimedFile(path: claimed, partner: partner.id, messageID: id, fileName: name, channel: "sftp")
        guard partner.sftp?.rejectOnClose == true else {
            submit(file)
            return nil
        }
        do {
            guard let r = try processor.processClaimed(path: claimed, partner: partner.id, messageID: id, fileName: name, channel: "sftp") else {
                return nil
            }
            if !r.outcome.fluxAccepted {
                return "refused: " + r.outcome.fluxAnomalies.map { "\($0.reasonCode) \($0.message)" }.joined(separator: "; ")
            }
            return nil
        } catch {
            // The client is waiting for the verdict. Committed after all (only the receipt
            // failed): accepted, the receipt follows. Not committed (full disk, read-only
            // database): the put fails and the file is dropped, so the client's retry is the
            // only copy and nothing is taken twice.
            if (try? store.messageExists(id)) == true {
                logger.error("SFTP deposit recorded but its receipt failed; retried", metadata: ["flux_company": "\(partner.id)", "error": "\(error)"])
                return nil
            }
            unlink(claimed)
            logger.error("SFTP deposit refused: it could not be recorded", metadata: [
                "flux_company": "\(partner.id)", "flux_file": "\(name)", "error": "\(error)"])
            return "temporary failure: the deposit could not be recorded (\(error)); try again later"
        }
    }

    func uploadAborted(name: String, bytes: Int64) {
        logger.notice("SFTP upload aborted", metadata: ["flux_company": "\(partner.id)", "flux_file": "\(name)", "bytes": "\(bytes)",
                                                        "address": "\(address)"])
        do {
            try store.recordEvent(company: partner.id, draft: JournalDraft(
                at: Date(), direction: "received", channel: "sftp", kind: "upload", messageID: "sftp-abort-\(RandomID.uuid())",
                fileName: name, sha256: "", size: bytes, sender: partner.identity.journalParty, receiver: store.gatewayParty,
                status: "aborted", anomalies: ["SFTP-ABORTED: the upload of \(name) stopped after \(bytes) bytes; nothing was taken in"]))
        } catch {
            logger.error("cannot journal an aborted upload", metadata: ["error": "\(error)"])
        }
    }

    func event(_ what: String, path: String, detail: String?) {
        logger.info("SFTP \(what)", metadata: ["flux_company": "\(partner.id)", "path": "\(path)", "detail": "\(detail ?? "")", "address": "\(address)"])
    }
}

/// Bridges one SSH channel to one SFTP session.
final class SFTPChannelAdapter: SSHChannelHandler {
    let session: SFTPSession
    init(session: SFTPSession) { self.session = session }
    func received(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] { try session.receive(bytes) }
    func closed(aborted: Bool) { session.close() }
}
