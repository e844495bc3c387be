/// Names the watcher never treats as deposits: client temp names, hidden files and triggers.
public enum DropZoneFile {
    public static let tempSuffixes = [".part", ".filepart", ".tmp", ".partial", ".crdownload"]

    public static func isTemporary(_ name: String) -> Bool {
        if name.isEmpty || name.hasPrefix(".") { return true }
        let lower = name.lowercased()
        return tempSuffixes.contains { lower.hasSuffix($0) }
    }

    /// A trigger file `NAME.ok` names `NAME` as complete (trigger mode).
    public static func triggerTarget(_ name: String) -> String? {
        guard name.hasSuffix(".ok"), name.count > 3 else { return nil }
        return String(name.dropLast(3))
    }
}
