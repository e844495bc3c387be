/// What an open handle refers to.
enum SFTPHandle {
    case upload(SFTPUpload)
    case outboxFile(SFTPOutboxFile)
    case directory(SFTPDirectoryListing)
}
