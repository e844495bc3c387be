import Foundation

/// The invoice XML found in a Factur-X / ZUGFeRD / XRechnung PDF, with what the PDF says about it.
public struct FacturXAttachment: Sendable, Equatable {
    /// The attachment's file name as written in the PDF, e.g. "factur-x.xml".
    public var fileName: String
    /// `/AFRelationship` without the slash ("Data", "Source", "Alternative", …); nil when the
    /// file specification has none (older generators, name-tree-only attachments).
    public var relationship: String?
    /// The embedded file's `/Subtype` without the slash, e.g. "text/xml".
    public var mimeType: String?
    /// The embedded file's decoded bytes, exactly as embedded (a BOM is kept).
    public var xml: Data
    /// `ConformanceLevel` of the Factur-X / ZUGFeRD XMP schema (e.g. "EN 16931") when the
    /// catalog's XMP metadata is readable and has one; nil otherwise. Informative only: the
    /// XML's guideline id (BT-24) is authoritative.
    public var xmpConformanceLevel: String?

    /// Creates an attachment value (tests and callers that build one by hand).
    public init(fileName: String, relationship: String?, mimeType: String?, xml: Data, xmpConformanceLevel: String?) {
        self.fileName = fileName
        self.relationship = relationship
        self.mimeType = mimeType
        self.xml = xml
        self.xmpConformanceLevel = xmpConformanceLevel
    }
}
